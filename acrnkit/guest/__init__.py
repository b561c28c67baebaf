"""A small real Linux guest built from Debian packages, for the QEMU target.

``build_guest(out_dir) -> GuestImage`` makes it (``acrnkit guest build``); ``load_guest(dir)``
finds a finished one. See ``docs/qemu-target.md``.
"""

from __future__ import annotations

from acrnkit.guest.build import GuestBuildError, build_guest
from acrnkit.guest.image import GuestImage, GuestImageError, default_guest_dir, load_guest

__all__ = [
    "GuestBuildError", "GuestImage", "GuestImageError", "build_guest", "default_guest_dir",
    "load_guest",
]
