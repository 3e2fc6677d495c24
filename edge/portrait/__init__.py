"""Portrait quality from camera frames: Haar face + eyes, ISO/BSI-style measures, crop, JPEG.

Pure analysis (`analyse`, `measures`, `score`, `select`, `crop`, `feedback`): numpy frames in,
msgspec structs and bytes out; the only I/O is loading the Haar cascades shipped with OpenCV
(`detect.FaceDetector.load`). Blocking: run it in a worker thread. `session` runs captures in
the daemon, `record` turns one into a record. Import the modules themselves: the settings
(`config`, `thresholds`) load without OpenCV, so reading the config stays fast.
"""
