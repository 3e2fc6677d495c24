"""Cameras: frames from V4L2 or video files; barcodes and portraits found in them."""
