"""virtio-rnd: no options, or ``<anything>=on`` for the VBS-K (kernel) backend.

Source: ``virtio_rnd_init`` and ``virtio_rnd_kernel_init`` in v3.2
devicemodel/hw/pci/virtio/virtio_rnd.c; the same option loop at v1.6 (``printf``), v2.7, v3.0
and v3.3 (``pr_err``): stdout both ways.

* The config is cut at ``,``; in each part only what follows the first ``=`` is read: when it
  *starts with* ``on`` (``strncmp(.., "on", 2)``) VBS-K is requested. The name before ``=`` is
  never looked at (the docs write ``kernel=on``), and parts without ``=`` are ignored.
* Every part with ``=`` (``=off`` too) prints ``virtio_rnd: VBS-K initializing...`` (without a
  newline, so the next message continues the line).
* VBS-K opens ``/dev/vbs_rng``; when that fails acrn-dm prints ``Failed to open
  /dev/vbs_k_rng!`` and ``virtio_rnd: VBS-K init failed,error <n>!`` and falls back to the
  user-space backend: not fatal.
* ``/dev/random`` must open (``virtio_rnd: open failed: /dev/random ``).
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.model.devices.base import FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

VBSK_NOTICE = "virtio_rnd: VBS-K initializing..."
VBSK_DEVICE = "/dev/vbs_rng"


@register("virtio-rnd")
@dataclass(frozen=True)
class VirtioRnd:
    """virtio-rnd; ``vbs_k`` asks for the kernel backend (written ``kernel=on``)."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-rnd",)

    vbs_k: bool = False

    emul: ClassVar[str] = "virtio-rnd"

    def render_config(self) -> str | None:
        return "kernel=on" if self.vbs_k else None

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioRnd:
        vbs_k = False
        for part in [] if config is None else config.split(","):
            _, eq, value = part.partition("=")
            if not eq:
                ctx.warn("virtio-rnd", f"virtio-rnd: acrn-dm ignores '{part}'")
                continue
            ctx.warn("virtio-rnd", VBSK_NOTICE)
            if value.startswith("on"):
                vbs_k = True
            elif not vbs_k:
                ctx.warn("virtio-rnd", f"virtio-rnd: '{part}' does not ask for VBS-K")
        return cls(vbs_k)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        if self.vbs_k:
            return [("virtio-rnd.vbs_k", True,
                     f"VBS-K needs {VBSK_DEVICE} in the Service VM kernel; without it acrn-dm "
                     "falls back to the user-space backend")]
        return []

    def files(self) -> list[FileRef]:
        return [FileRef("virtio-rnd", "/dev/random", "host")]
