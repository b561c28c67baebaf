"""wdt-i6300esb: the Intel 6300ESB watchdog; its config string is ignored.

Source: ``pci_wdt_init`` in v3.2 devicemodel/hw/pci/wdt_i6300esb.c (same at v1.6, v2.7, v3.0,
v3.3). There may be only one: a second one fails init with ``wdt can't be initialized twice,
please check!`` (printed with ``pr_err`` and no newline, so acrn-dm's next message,
``pci wdt-i6300esb init failed``, continues that line). The checker enforces it.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.model.devices.base import FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

TWICE = "wdt can't be initialized twice, please check!"


@register("wdt-i6300esb")
@dataclass(frozen=True)
class WdtI6300esb:
    """The watchdog. ``config`` is carried so argv round-trips; acrn-dm never reads it."""

    EMULS: ClassVar[tuple[str, ...]] = ("wdt-i6300esb",)

    config: str | None = None

    emul: ClassVar[str] = "wdt-i6300esb"

    def render_config(self) -> str | None:
        return self.config

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> WdtI6300esb:
        return cls(config)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        if self.config is not None:
            return [("wdt-i6300esb.config", self.config, "acrn-dm ignores this config")]
        return []

    def files(self) -> list[FileRef]:
        return []
