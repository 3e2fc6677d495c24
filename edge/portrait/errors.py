"""Errors of the portrait analysis (under the daemon's root, `edge.errors.EdgeError`).

EdgeError
└── PortraitError        the frame is not an image, a cascade is missing, encoding failed

Messages name shapes, types and sizes only, never image content.
"""

from __future__ import annotations

from edge.errors import EdgeError


class PortraitError(EdgeError):
    """The portrait analysis cannot work with its input or its OpenCV installation."""
