"""Transports: bytes in and out of a device, whatever carries them.

Transport                the contract (`base.py`)
├── SerialTransport      a tty: /dev/ttyACM*, /dev/ttyUSB*, /dev/serial/by-id/..., a pty
└── SocketTransport      socket://host:port (a serial-over-TCP bridge or a simulator)

Families with other carriers (pyusb HID reports, evdev key events) bring their own Transport.
`fdwait.FdWaiter` is the selector wait a close() ends (serial ports and evdev nodes).
"""

from drivers.transports.base import SerialSettings, Transport, open_transport

__all__ = ["SerialSettings", "Transport", "open_transport"]
