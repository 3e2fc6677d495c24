"""OCR engines that send the MRZ as text lines: Honeywell imagers, Access-IS OCR modules (CDC)."""
