"""Serial barcode scanners (CDC-ACM, RS-232): prefix, code id, suffix, Honeywell commands."""
