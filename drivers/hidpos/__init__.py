"""USB HID POS barcode scanners: 64-byte input reports, output reports 4 and 253."""
