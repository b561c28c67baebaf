"""virtio-heci (the MEI/HECI emulation; there is no ``virtio-mei`` class): a comma list of
``<bus>:<slot>.<func>`` (hex) of the host MEI device and ``d<level>`` debug tokens.

Source: ``vmei_init`` and ``vmei_get_devname`` in v3.2 devicemodel/hw/pci/virtio/virtio_mei.c,
with ``parse_bdf`` (v3.2 devicemodel/hw/pci/core.c) and ``dm_strtoi`` (v3.2
devicemodel/lib/dm_string.c); the option loop is the same at v1.6, v2.7, v3.0 and v3.3.
Messages go through ``WPRINTF``: ``fprintf(stderr, "vmei: vmei_init: ...")``.

Each token is first tried as a PCI address, ``parse_bdf(tok, .., 16)``: fields split at ``:``,
``/`` or ``.`` (1 = slot, 2 = slot.func, 3 = bus:slot.func), each a base-16 ``strtol`` that must
read one digit (``0x`` allowed, trailing text ignored). ``parse_bdf`` zeroes bus, slot and func
first and stores every field it could read *even when another field fails*. Consequences,
all faithful to acrn-dm:

* ``d<N>`` alone is the PCI slot 0xdN, not a debug level (``d`` is a hex digit). The debug
  branch (``d`` prefix, ``strtoul`` of the rest, base 10) is reached only when a later field
  fails, e.g. ``d3:`` (func empty); it also leaves slot 0xd3 behind, so acrnkit writes the
  debug token first and the address after it. A level above 8 prints ``init: unknown debug
  flag <text>`` where ``<text>`` is the rest of the config after this token, from its second
  character (a bug: it prints ``opts + 1``); when the token is the last one that pointer is 1
  and acrn-dm crashes.
* Any other token prints ``Invalid option: <tok>`` (stderr) and, because ``parse_bdf`` already
  zeroed them, resets the address to 0:0.0. Tokens made of hex digits (``foo`` = slot 0xf) are
  addresses.
* The MEI device is the one directory under
  ``/sys/bus/pci/drivers/mei_me/0000:<bb>:<ss>.<f>/mei/``; when it is missing (always so for
  0:0.0, the default) ``init: fail to get mei path!`` is printed and ``mei0`` is used.
"""

from __future__ import annotations

import re

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext, register
from acrnkit.model.devices.virtio_i2c import c_strtol, dm_strtoi, to_int32
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

PREFIX = "vmei: vmei_init: "
MAX_DEBUG = 8
DEFAULT_DEVICE = "mei0"
NO_MEI_PATH = PREFIX + "init: fail to get mei path!"
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
#: an address written plainly: 1 to 3 hex fields
_CLEAN = re.compile(r"[0-9a-fA-F]{1,8}(?:[:.][0-9a-fA-F]{1,8}){0,2}")


@dataclass(frozen=True)
class MeiAddress:
    """The host MEI PCI function as acrn-dm holds it (C ints; not range-checked by acrn-dm)."""

    bus: int = 0
    slot: int = 0
    func: int = 0

    def __post_init__(self) -> None:
        for name in ("bus", "slot", "func"):
            value = getattr(self, name)
            if not _INT_MIN <= value <= _INT_MAX:
                raise ConfigError(f"virtio-heci.{name}", value, "must fit a C int")

    @property
    def is_zero(self) -> bool:
        return (self.bus, self.slot, self.func) == (0, 0, 0)

    @property
    def sysfs_dir(self) -> str:
        """``/sys/bus/pci/drivers/mei_me/0000:%02x:%02x.%1u/mei/`` (C unsigned formatting)."""
        b, s, f = (v % 2**32 for v in (self.bus, self.slot, self.func))
        return f"/sys/bus/pci/drivers/mei_me/0000:{b:02x}:{s:02x}.{f}/mei/"

    def render(self) -> str:
        return f"{self.bus:02x}:{self.slot:02x}.{self.func:x}"


@register("virtio-heci")
@dataclass(frozen=True)
class VirtioHeci:
    """virtio-heci. ``address`` None is acrn-dm's 0:0.0 (no address: ``mei0``)."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-heci",)

    address: MeiAddress | None = None
    debug: int = 0

    emul: ClassVar[str] = "virtio-heci"

    def __post_init__(self) -> None:
        if self.address is not None and self.address.is_zero:
            raise ConfigError("virtio-heci.address", self.address.render(),
                              "0:0.0 is acrn-dm's 'no address'; use None")
        if not _INT_MIN <= self.debug <= MAX_DEBUG:
            raise ConfigError("virtio-heci.debug", self.debug,
                              f"acrn-dm resets a level above {MAX_DEBUG} to 0")

    def render_config(self) -> str | None:
        tokens: list[str] = []
        if self.debug:
            tokens.append(f"d{self.debug}:")  # "d<N>" alone would be PCI slot 0xdN
        if self.address is not None:
            tokens.append(self.address.render())
        elif self.debug:
            tokens.append("0:0.0")  # undo the slot the debug token leaves behind
        return ",".join(tokens) if tokens else None

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioHeci:
        addr = [0, 0, 0]
        debug = 0
        printed: list[Line] = []

        def warn(field: str, text: str) -> None:
            line = Line(PREFIX + text, "stderr")
            printed.append(line)
            ctx.say(field, line.text, "stderr")

        tokens = [] if config is None else config.split(",")
        addresses = 0
        for i, tok in enumerate(tokens):
            had_address = addr != [0, 0, 0]
            if _parse_bdf16(tok, addr):
                addresses += 1
                shown = MeiAddress(*addr).render()
                if tok[:1] in ("d", "D"):
                    ctx.warn("virtio-heci.debug", f"virtio-heci: '{tok}' is the PCI address "
                             f"{shown}, not a debug level (acrn-dm tries an address first)")
                elif not _CLEAN.fullmatch(tok):
                    ctx.warn("virtio-heci.address", f"virtio-heci: acrn-dm reads '{tok}' as "
                             f"the PCI address {shown}")
                continue
            if addr != [0, 0, 0] and not any(_parse_bdf16(t, [0, 0, 0])
                                             for t in tokens[i + 1:]):
                ctx.warn("virtio-heci.address", f"virtio-heci: '{tok}' leaves the PCI address "
                         f"{MeiAddress(*addr).render()} behind")
            elif had_address and addr == [0, 0, 0]:
                ctx.warn("virtio-heci.address",
                         f"virtio-heci: '{tok}' resets the PCI address to 0:0.0")
            if tok.startswith("d"):
                got = c_strtol(tok[1:], 10, unsigned=True)
                level = 0 if got is None else to_int32(got.value)
                if level > MAX_DEBUG:
                    level = 0
                    if i == len(tokens) - 1:
                        raise DeviceInitError(
                            "virtio-heci.debug", tok, *printed,
                            Line(f"acrnkit: debug level '{tok}' above {MAX_DEBUG} as the last "
                                 "option: the real acrn-dm crashes printing its warning "
                                 "(opts + 1 with opts NULL)", "stderr"))
                    rest = ",".join(tokens[i + 1:])
                    warn("virtio-heci.debug", f"init: unknown debug flag {rest[1:]}")
                debug = level
                continue
            warn("virtio-heci.option", f"Invalid option: {tok}")
        if addresses > 1:
            ctx.warn("virtio-heci.address", "virtio-heci: several PCI addresses; the last "
                     "one counts")
        address = MeiAddress(*addr)
        device = cls(None if address.is_zero else address, debug)
        if device.address is None:
            ctx.say("virtio-heci.address", NO_MEI_PATH, "stderr")
        return device

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        a = self.address
        if a is not None and not (0 <= a.bus <= 255 and 0 <= a.slot <= 31 and 0 <= a.func <= 7):
            out.append(("virtio-heci.address", a.render(),
                        f"not a PCI address; acrn-dm falls back to {DEFAULT_DEVICE}"))
        return out

    def files(self) -> list[FileRef]:
        if self.address is None:
            return [FileRef("virtio-heci", f"/dev/{DEFAULT_DEVICE}", "host")]
        return []


def _parse_bdf16(text: str, addr: list[int]) -> bool:
    """``parse_bdf(text, &bus, &slot, &func, 16)`` updating ``addr`` in place as acrn-dm does:
    zeroed first, then every field that reads is stored; True when all fields read."""
    addr[:] = [0, 0, 0]
    parts = re.split(r"[:/.]", text)
    if len(parts) == 1:
        fields = [(1, parts[0])]
    elif len(parts) == 2:
        fields = [(1, parts[0]), (2, parts[1])]
    else:
        fields = [(1, parts[1]), (2, parts[2]), (0, parts[0])]
    ok = True
    for index, field in fields:
        got = dm_strtoi(field, 16)
        if got is None:
            ok = False
        else:
            addr[index] = got[0]
    return ok
