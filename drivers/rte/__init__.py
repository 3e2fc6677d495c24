"""3M / Gemalto / Thales RTE swipe and OCR readers: RTE Native, Interrupt and Polled modes."""
