"""vhost-vsock (ACRN 3.0+): ``cid=<n>``.

Source: ``devicemodel/hw/pci/virtio/vhost_vsock.c`` at v3.0 .. v3.3. The CID is read with
``strtoul`` base 10 only when the config starts with ``cid=`` (trailing junk ignored); anything
else leaves it 0. ``cid <= 2 || cid >= 0xffffffff`` fails with
``vsock: guest_cid has to be 0x2~0xffffffff.``; no config fails with
``vsock: must have a valid guest_cid.``. Init then needs ``/dev/vhost-vsock``.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import number_prefix, skip_space
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

MIN_CID = 3
MAX_CID = 0xFFFFFFFE
_RANGE_MSG = "vsock: guest_cid has to be 0x2~0xffffffff."


def _unsigned_prefix(text: str) -> tuple[int, int] | None:
    """Decimal digits after C whitespace and an optional ``+`` (a ``-`` reads as nothing)."""
    if text.startswith("-", skip_space(text)):
        return None
    return number_prefix(text, 10)


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
            found = _unsigned_prefix(config[4:])
            if found is not None:
                cid, end = found
                if end != len(config) - 4:
                    ctx.warn("vhost-vsock.cid", f"vhost-vsock: '{config}' read as cid={cid}")
        if not MIN_CID <= cid <= MAX_CID:
            raise DeviceInitError("vhost-vsock.cid", config, _RANGE_MSG)
        return cls(cid)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        return []

    def files(self) -> list[FileRef]:
        return [FileRef("vhost-vsock", "/dev/vhost-vsock", "host")]
