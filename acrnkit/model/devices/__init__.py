"""One module per ``-s`` emulation family (the file name says which grammar it holds).

Each module registers its emulations with ``@register``. Modules are imported on first use
(``base.lookup``) so that starting the fake costs only the devices its argv names; the names
below load their module when first touched.
"""

from __future__ import annotations

from acrnkit._lazy import lazy_exports
from acrnkit.model.devices.base import (
    MODULE_OF,
    REGISTRY,
    DeviceInitError,
    FileRef,
    Line,
    ParseContext,
    load_all,
    lookup,
)

_EXPORTS = {
    "HostBridge": "hostbridge", "SimpleDevice": "hostbridge", "Lpc": "lpc", "LpcPort": "lpc",
    "VhostVsock": "vhost_vsock", "VirtioBlk": "virtio_blk", "Discard": "virtio_blk",
    "SectorSize": "virtio_blk", "VirtioConsole": "virtio_console",
    "ConsolePort": "virtio_console", "VirtioNet": "virtio_net", "default_mac": "virtio_net",
}


__getattr__ = lazy_exports(
    __name__, {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})


__all__ = [
    "MODULE_OF", "REGISTRY", "DeviceInitError", "FileRef", "Line", "ParseContext", "load_all",
    "lookup", *_EXPORTS,
]
