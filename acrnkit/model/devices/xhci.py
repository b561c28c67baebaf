"""xhci: ``[<bus>-<port>...][,tablet][,log=<level>][,cap=apl]`` -- the emulated USB 3 controller.

Sources: ``devicemodel/hw/pci/xhci.c`` (``pci_xhci_init``, ``pci_xhci_parse_opts``,
``pci_xhci_parse_bus_port``, ``pci_xhci_parse_tablet``, ``pci_xhci_parse_log_level``,
``pci_xhci_parse_extcap``, ``pci_xhci_device_usage``), ``devicemodel/hw/usb_core.c``
(``usb_native_is_bus_existed``, ``usb_native_is_port_existed``, ``usb_parse_log_level``) and
``devicemodel/include/usb_core.h`` at v1.6, v2.7, v3.0, v3.2, v3.3 (e.g. "v3.2
devicemodel/hw/pci/xhci.c").

* No config: fails (``fail to parse xHCI options, rc=-1``, no usage text).
* The config is cut into tokens at every ``,`` and ``:`` (``strtok_r``: empty tokens vanish, so
  an empty config is a controller with nothing assigned).
* A token starting with a digit is ``<bus>-<port>`` (``dm_strtoi`` base 10 each, junk after
  the port ignored), a host root-hub port given to the guest. Up to v3.2 ``bus`` must be below
  ``USB_NATIVE_NUM_BUS`` (4 in v1.6, 5 later) and ``port`` below 20; v3.3 dropped that check.
  The host must have ``/sys/bus/usb/devices/usb<bus>`` and ``maxchild >= port``. A failure
  makes the whole init fail (``rc=-3``).
* Other tokens are matched by prefix against ``tablet``, ``log`` and ``cap``; anything else
  fails (``rc=-4``). Their own failures are *not* fatal: ``tablet`` must be exactly ``tablet``
  (else ``fail to parse tablet, rc=-2``); ``log`` needs ``=``, then only the next character
  counts (``F W I D V``, either case; anything else means F), else
  ``USB: fail to set log level, rc=-2``; ``cap`` needs ``=`` (else
  ``USB: fail to set vendor capability, rc=-1``) and then ``apl``; any other value dereferences
  a NULL capability table and crashes acrn-dm, unless an earlier ``cap=apl`` set one.
* On a fatal error acrn-dm prints ``fail to parse xHCI options, rc=<rc>``,
  ``error: invalid options: "<config>"``, the usage text and ``pci_xhci_init fail, error=<rc>``
  through ``UPRINTF``: ``printf`` with an ``xHCI: `` tag in v1.6, ``pr_dbg`` (not shown at the
  default log level) from v2.x. The ``USB: ...`` lines are ``pr_err`` in every release.
"""

from __future__ import annotations

import re

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import ClassVar, Literal

LOG_LEVELS = "FWIDVfwidv"
#: usb_core.h LFTL..LVRB, by level character
_LEVEL_NUM = {"F": 0, "W": 1, "I": 2, "D": 3, "V": 4}
NATIVE_NUM_PORT = 20
MAX_U8 = 0xFF
LOG_TAG = "xHCI: "
USAGE = (
    "usage:",
    " -s <n>,xhci,[bus1-port1,bus2-port2]:[tablet]:[log=x]:[cap=x]",
    " eg: -s 8,xhci,1-2,2-2",
    " eg: -s 7,xhci,tablet:log=D",
    " eg: -s 7,xhci,1-2,2-2:tablet",
    " eg: -s 7,xhci,1-2,2-2:tablet:log=D:cap=apl",
    " Note: please follow the board hardware design, assign the  ports according to the "
    "receptacle connection",
)
_WS = " \t\n\v\f\r"


def _strtoi(text: str) -> tuple[int, str] | None:
    """``dm_strtoi(text, &end, 10, &v)``: (int value, rest) or None (no digit or ERANGE)."""
    rest = text.lstrip(_WS)
    sign = 1
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    m = re.match(r"[0-9]+", rest)
    if not m:
        return None
    value = sign * int(m.group(0))
    if not -(1 << 63) <= value < (1 << 63):
        return None
    value &= 0xFFFFFFFF
    return (value - (1 << 32) if value >= 1 << 31 else value), rest[m.end():]


def native_num_bus(release: Release) -> int:
    """``USB_NATIVE_NUM_BUS`` of ``release`` (only meaningful with ``xhci.native_range_check``)."""
    return 4 if release.has("xhci.four_native_buses") else 5


@dataclass(frozen=True, order=True)
class UsbPort:
    """A host root-hub port ``<bus>-<port>`` (acrn-dm looks them up as ``uint8_t``)."""

    bus: int
    port: int

    def __post_init__(self) -> None:
        for name, value in (("bus", self.bus), ("port", self.port)):
            if not 0 <= value <= MAX_U8:
                raise ConfigError(f"xhci.{name}", value, f"must be 0..{MAX_U8}")

    def render(self) -> str:
        return f"{self.bus}-{self.port}"


@register("xhci")
@dataclass(frozen=True)
class Xhci:
    """The xHCI controller: host ports to give the guest, an emulated tablet, options."""

    EMULS: ClassVar[tuple[str, ...]] = ("xhci",)

    ports: tuple[UsbPort, ...] = ()
    tablet: bool = False
    log_level: str | None = None  # one of F W I D V (either case)
    cap: Literal["apl"] | None = None

    emul: ClassVar[str] = "xhci"

    def __post_init__(self) -> None:
        if self.log_level is not None and (len(self.log_level) != 1
                                           or self.log_level not in LOG_LEVELS):
            raise ConfigError("xhci.log_level", self.log_level,
                              "must be one of F, W, I, D, V (either case)")
        if self.cap not in (None, "apl"):
            raise ConfigError("xhci.cap", self.cap, "the only vendor capability is 'apl'")

    def render_config(self) -> str:
        out = [p.render() for p in self.ports]
        if self.tablet:
            out.append("tablet")
        if self.log_level is not None:
            out.append(f"log={self.log_level}")
        if self.cap is not None:
            out.append(f"cap={self.cap}")
        return ",".join(out)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> Xhci:
        rel = ctx.release
        printed = rel.has("xhci.uprintf_stdout")
        usb_level = 0  # usb_log_level starts at LFTL; log= changes it while parsing

        def uprintf(level: int, text: str) -> list[Line]:
            return [Line(LOG_TAG + text)] if printed and level <= usb_level else []

        def fail(rc: int, fld: str, value: object,
                 pre: Sequence[Line] = ()) -> DeviceInitError:
            lines = list(pre) + uprintf(0, f"fail to parse xHCI options, rc={rc}")
            if config is not None:
                lines += uprintf(0, f'error: invalid options: "{config}"')
                if printed:
                    lines += [Line(LOG_TAG + USAGE[0])] + [Line(text) for text in USAGE[1:]]
            lines += uprintf(0, f"pci_xhci_init fail, error={rc}")
            return DeviceInitError(fld, value, *lines)

        if config is None:
            raise fail(-1, "xhci", None)
        ports: list[UsbPort] = []
        fields: dict[str, object] = {}
        for tok in (t for t in re.split(r"[,:]", config) if t):
            if tok[0] in "0123456789":
                port = _parse_bus_port(tok, rel, ctx)
                if port is None:
                    raise fail(-3, "xhci.port", tok,
                               uprintf(1, "pci_xhci_parse_bus_port fails, rc=-1"))
                if port in ports:
                    ctx.warn("xhci.port", f"xhci: {port.render()} is given twice")
                ports.append(port)
            elif tok.startswith("tablet"):
                if tok != "tablet":
                    ctx.warn("xhci.tablet", (uprintf(0, "fail to parse tablet, rc=-2") or [
                        Line(f"xhci: '{tok}' is not 'tablet': no tablet is added")])[0].text)
                    continue
                if fields.get("tablet"):
                    ctx.warn("xhci.tablet", "xhci: tablet is given twice")
                fields["tablet"] = True
            elif tok.startswith("log"):
                eq = tok.find("=")
                if eq < 0:
                    ctx.warn("xhci.log_level", "USB: fail to set log level, rc=-2")
                    continue
                char = tok[eq + 1:eq + 2]
                level = char if char and char in LOG_LEVELS else "F"
                if tok[:eq] != "log" or tok[eq + 1:] != level:
                    ctx.warn("xhci.log_level", f"xhci: '{tok}' is read as log={level}")
                fields["log_level"] = level
                usb_level = _LEVEL_NUM[level.upper()]
            elif tok.startswith("cap"):
                eq = tok.find("=")
                if eq < 0:
                    ctx.warn("xhci.cap", "USB: fail to set vendor capability, rc=-1")
                    continue
                value = tok[eq + 1:]
                if value.startswith("apl"):
                    if tok != "cap=apl":
                        ctx.warn("xhci.cap", f"xhci: '{tok}' is read as cap=apl")
                    fields["cap"] = "apl"
                elif fields.get("cap") is None:
                    raise DeviceInitError(
                        "xhci.cap", value,
                        Line("acrnkit: the real acrn-dm crashes here (NULL extended capability "
                             "table in pci_xhci_parse_extcap)", "stderr"))
                else:
                    ctx.warn("xhci.cap", "USB: fail to set vendor capability, rc=-2")
            else:
                raise fail(-4, "xhci.option", tok)
        return cls(tuple(ports), **fields)  # type: ignore[arg-type]

    def missing_port_lines(self, release: Release) -> tuple[Line, ...]:
        """What acrn-dm ``release`` prints when the host lacks one of ``ports`` (rc -2)."""
        if not release.has("xhci.uprintf_stdout"):
            return ()
        return (Line(LOG_TAG + "fail to parse xHCI options, rc=-3"),
                Line(LOG_TAG + f'error: invalid options: "{self.render_config()}"'),
                Line(LOG_TAG + USAGE[0]), *(Line(text) for text in USAGE[1:]),
                Line(LOG_TAG + "pci_xhci_init fail, error=-3"))

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        seen: set[UsbPort] = set()
        for port in self.ports:
            if release.has("xhci.native_range_check") and (
                    port.bus >= native_num_bus(release) or port.port >= NATIVE_NUM_PORT):
                out.append(("xhci.port", port.render(),
                            f"ACRN {release} accepts bus < {native_num_bus(release)} and "
                            f"port < {NATIVE_NUM_PORT} only"))
            if port.port == 0:
                out.append(("xhci.port", port.render(), "root-hub ports are numbered from 1"))
            if port in seen:
                out.append(("xhci.port", port.render(), "given twice"))
            seen.add(port)
        return out

    def files(self) -> list[FileRef]:
        return [FileRef("xhci.port", f"/sys/bus/usb/devices/usb{p.bus}/maxchild", "host")
                for p in self.ports]


def _parse_bus_port(tok: str, rel: Release, ctx: ParseContext) -> UsbPort | None:
    """``pci_xhci_parse_bus_port`` up to the host lookup; None where it returns -1."""
    bus = _strtoi(tok)
    if bus is None or not bus[1].startswith("-"):
        return None
    port = _strtoi(bus[1][1:])
    if port is None:
        return None
    if rel.has("xhci.native_range_check") and (
            bus[0] >= native_num_bus(rel) or port[0] >= NATIVE_NUM_PORT):
        return None
    # The host lookup takes uint8_t bus and port numbers.
    found = UsbPort(bus[0] & MAX_U8, port[0] & MAX_U8)
    if found.render() != tok:
        ctx.warn("xhci.port", f"xhci: '{tok}' is read as {found.render()}")
    return found
