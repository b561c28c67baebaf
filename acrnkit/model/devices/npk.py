"""npk (Intel Trace Hub / North Peak): ``<m_off>/<m_num>``, the software trace masters given to
the guest.

Source: ``pci_npk_init`` and ``valid_param`` in v2.7 devicemodel/hw/pci/npk.c and
``NPK_SW_MSTR_*`` in v2.7 devicemodel/include/npk.h; the same at v1.6. From v3.0
``pci_parse_slot`` rejects ``npk`` as obsolete (v3.0 devicemodel/hw/pci/core.c), which the
release table models; the init code is unchanged there.

* Both numbers are ``dm_strtoui`` base 10 (``strtoul``, then ``(unsigned int)``: a ``-`` sign
  wraps); the character right after ``m_off`` must be ``/``; text after ``m_num`` is ignored.
* Valid: both multiples of 8, both at least 8, and ``m_off + m_num <= 768`` computed in 32-bit
  unsigned arithmetic (so it can wrap). Anything else, and no config, silently becomes
  256/256; acrnkit notes it as a warning.
* Only one npk (``NPK is already in use``); init needs the ``intel_th_pci`` driver
  (``NPK driver not loaded``) and a host NPK device (``Cannot find NPK device``).
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import FileRef, ParseContext, register
from acrnkit.model.devices.virtio_i2c import c_strtol, to_uint32
from acrnkit.releases.emulations import EmulSupport
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

SW_MASTERS = 768  # NPK_SW_MSTR_NUM = NPK_SW_MSTR_STP (1024) - NPK_SW_MSTR_STRT (256)
DEFAULT = (256, 256)
DRIVER = "/sys/bus/pci/drivers/intel_th_pci"  # NPK_DRV_SYSFS_PATH
_UINT_MAX = 2**32 - 1


def valid_masters(m_off: int, m_num: int) -> bool:
    """``valid_param``: 8-aligned, at least 8, and the 32-bit sum within the 768 masters."""
    return (m_off % 8 == 0 and m_num % 8 == 0 and m_off >= 8 and m_num >= 8
            and to_uint32(m_off + m_num) <= SW_MASTERS)


def _dm_strtoui(text: str) -> tuple[int, int] | None:
    got = c_strtol(text, 10, unsigned=True)
    if got is None or got.erange:
        return None
    return to_uint32(got.value), got.end


@register("npk")
@dataclass(frozen=True)
class Npk:
    """npk; ``m_off``/``m_num`` None is acrn-dm's default 256/256."""

    EMULS: ClassVar[tuple[str, ...]] = ("npk",)

    m_off: int | None = None
    m_num: int | None = None

    emul: ClassVar[str] = "npk"

    def __post_init__(self) -> None:
        if (self.m_off is None) != (self.m_num is None):
            raise ConfigError("npk", (self.m_off, self.m_num), "give both m_off and m_num")
        if self.m_off is None or self.m_num is None:
            return
        for name, value in (("m_off", self.m_off), ("m_num", self.m_num)):
            if not 0 <= value <= _UINT_MAX:
                raise ConfigError(f"npk.{name}", value, "must fit a 32-bit unsigned int")
        if not valid_masters(self.m_off, self.m_num):
            raise ConfigError("npk", f"{self.m_off}/{self.m_num}",
                              f"multiples of 8, at least 8, m_off + m_num <= {SW_MASTERS} "
                              "(acrn-dm silently uses 256/256 otherwise)")

    @property
    def masters(self) -> tuple[int, int]:
        """The (offset, count) acrn-dm uses."""
        if self.m_off is None or self.m_num is None:
            return DEFAULT
        return self.m_off, self.m_num

    def render_config(self) -> str | None:
        if self.m_off is None:
            return None
        return f"{self.m_off}/{self.m_num}"

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> Npk:
        if config is None:
            return cls()
        off = _dm_strtoui(config)
        num = None
        if off is not None and config[off[1]:off[1] + 1] == "/":
            num = _dm_strtoui(config[off[1] + 1:])
        if off is None or num is None or not valid_masters(off[0], num[0]):
            ctx.warn("npk", f"npk: '{config}' is not a valid <m_off>/<m_num>; acrn-dm "
                     "silently uses 256/256")
            return cls()
        device = cls(off[0], num[0])
        if device.render_config() != config:
            ctx.warn("npk", f"npk: acrn-dm reads '{config}' as '{device.render_config()}'")
        return device

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        if release.emulations.get("npk") == EmulSupport.OBSOLETE_REJECTED:
            out.append(("npk", self.render_config(),
                        f"acrn-dm {release} rejects npk as obsolete"))
        if self.m_off is not None and self.m_num is not None \
                and self.m_off + self.m_num > SW_MASTERS:
            out.append(("npk", self.render_config(),
                        "m_off + m_num passes acrn-dm's check only by 32-bit wrap-around"))
        return out

    def files(self) -> list[FileRef]:
        return [FileRef("npk", DRIVER, "host")]
