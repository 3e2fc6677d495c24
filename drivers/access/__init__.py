"""Access-IS (HID Global) readers in Standard Access Configuration or Raw Data mode (barcodes)."""
