"""virtio-rpmb: ``physical_rpmb`` for the physical RPMB, anything else for the simulated one.

Source: ``virtio_rpmb_init`` in v3.2 devicemodel/hw/pci/virtio/virtio_rpmb.c (same at v1.6,
v2.7, v3.0, v3.3); ``RPMB_PHY_PATH_NAME``/``RPMB_SIM_PATH_NAME`` in v3.2
devicemodel/include/rpmb.h.

* The *whole* config string is compared with ``strncmp(opts, "physical_rpmb",
  sizeof("physical_rpmb"))``: the terminating NUL is included, so only exactly
  ``physical_rpmb`` selects the physical mode (``/dev/rpmbmux``). Anything else, commas and
  case variants included, and no config at all, is the simulated mode (file
  ``/data/rpmbfile``, created when missing).
* The failures of either mode are logged with ``DPRINTF`` only (silent unless debugging); a
  failure to get the User VM key even returns 0. Nothing in the config can make init fail.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.model.devices.base import FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

PHYSICAL = "physical_rpmb"
PHYSICAL_DEVICE = "/dev/rpmbmux"
SIMULATED_FILE = "/data/rpmbfile"


@register("virtio-rpmb")
@dataclass(frozen=True)
class VirtioRpmb:
    """virtio-rpmb; ``physical`` selects the host RPMB (via ``/dev/rpmbmux``)."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-rpmb",)

    physical: bool = False

    emul: ClassVar[str] = "virtio-rpmb"

    def render_config(self) -> str | None:
        return PHYSICAL if self.physical else None

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioRpmb:
        physical = config == PHYSICAL
        if config is not None and not physical:
            ctx.warn("virtio-rpmb", f"virtio-rpmb: '{config}' is not exactly '{PHYSICAL}': "
                     "acrn-dm uses the simulated RPMB")
        return cls(physical)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        return []

    def files(self) -> list[FileRef]:
        # Neither mode fails init when its file is missing (DPRINTF only; the simulated file
        # is created), so nothing is listed for the checker.
        return []
