"""Keyboard-wedge MRZ readers and barcode scanners: evdev key events decoded with their layout."""
