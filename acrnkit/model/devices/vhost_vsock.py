"""vhost-vsock (ACRN 3.0+): ``cid=<n>``.

Source: ``devicemodel/hw/pci/virtio/vhost_vsock.c`` at v3.0 .. v3.3. The CID is read with
``strtoul`` base 10 only when the config starts with ``cid=`` (trailing junk ignored); anything
else leaves it 0. ``cid <= 2 || cid >= 0xffffffff`` fails with
``vsock: guest_cid has to be 0x2~0xffffffff.``; no config fails with
``vsock: must have a valid guest_cid.``. Init then needs ``/dev/vhost-vsock``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, register
from acrnkit.releases.profile import Release

MIN_CID = 3
MAX_CID = 0xFFFFFFFE
_RANGE_MSG = "vsock: guest_cid has to be 0x2~0xffffffff."


@register("vhost-vsock")
@dataclass(frozen=True)
class VhostVsock:
    EMULS: ClassVar[tuple[str, ...]] = ("vhost-vsock",)

    cid: int

    emul: ClassVar[str] = "vhost-vsock"

    def __post_init__(self) -> None:
        if not MIN_CID <= self.cid <= MAX_CID:
            raise ConfigError("vhost-vsock.cid", self.cid, f"must be {MIN_CID}..{MAX_CID:#x}")

    def render_config(self) -> str:
        return f"cid={self.cid}"

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VhostVsock:
        if config is None:
            raise DeviceInitError("vhost-vsock.cid", None, "vsock: must have a valid guest_cid.")
        cid = 0
        if config.startswith("cid="):
            m = re.match(r"\s*\+?(\d+)", config[4:])
            if m:
                cid = int(m.group(1))
                if m.end() != len(config) - 4:
                    ctx.warn("vhost-vsock.cid", f"vhost-vsock: '{config}' read as cid={cid}")
        if not MIN_CID <= cid <= MAX_CID:
            raise DeviceInitError("vhost-vsock.cid", config, _RANGE_MSG)
        return cls(cid)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        return []

    def files(self) -> list[FileRef]:
        return [FileRef("vhost-vsock", "/dev/vhost-vsock", "host")]
