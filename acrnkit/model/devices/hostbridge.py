"""Devices whose config string acrn-dm ignores: hostbridge, amd_hostbridge, dummy, and the
daemon- or kernel-backed virtio devices (audio, ipu, hyper_dmabuf, coreu, hdcp) and pci-gvt.

Sources: ``devicemodel/hw/pci/hostbridge.c``, ``hw/pci/core.c`` (dummy), ``hw/pci/gvt.c``,
``hw/pci/virtio/virtio_audio.c``, ``virtio_ipu.c``, ``virtio_hyper_dmabuf.c``,
``virtio_coreu.c``, ``virtio_hdcp.c`` at v1.6 .. v3.3. The config is kept verbatim so argv
round-trips, but acrn-dm never reads it. coreu, hdcp and pci-gvt are rejected by ``-s`` from
v3.0 (see acrnkit.releases.emulations).
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.model.devices.base import FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

#: Host resources these devices need at init (they pass on a healthy host; the fake can be
#: told to be strict).
HOST_NEEDS: dict[str, str] = {
    "virtio-audio": "/dev/vbs_k_audio",
    "virtio-ipu": "/dev/vbs_ipu",
    "virtio-hyper_dmabuf": "/dev/vbs_hyper_dmabuf",
    "virtio-coreu": "/var/run/coreu",
    "virtio-hdcp": "/var/run/hdcp",
}


@register("hostbridge", "amd_hostbridge", "dummy", "virtio-audio", "virtio-ipu",
          "virtio-hyper_dmabuf", "virtio-coreu", "virtio-hdcp", "pci-gvt")
@dataclass(frozen=True)
class SimpleDevice:
    """A device configured by its name alone. ``config`` is carried but ignored by acrn-dm."""

    EMULS: ClassVar[tuple[str, ...]] = (
        "hostbridge", "amd_hostbridge", "dummy", "virtio-audio", "virtio-ipu",
        "virtio-hyper_dmabuf", "virtio-coreu", "virtio-hdcp", "pci-gvt")

    emul: str = "hostbridge"
    config: str | None = None

    def render_config(self) -> str | None:
        return self.config

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> SimpleDevice:
        return cls(emul, config)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        if self.config:
            return [(f"{self.emul}.config", self.config, "acrn-dm ignores this config")]
        return []

    def files(self) -> list[FileRef]:
        need = HOST_NEEDS.get(self.emul)
        return [FileRef(self.emul, need, "host")] if need else []


def HostBridge(config: str | None = None) -> SimpleDevice:
    return SimpleDevice("hostbridge", config)
