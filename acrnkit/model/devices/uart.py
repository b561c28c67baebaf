"""uart: a PCI 16550 ``uart[,<backend>]`` or, from v2.x, a hypervisor vUART ``uart,vuart_idx:<n>``.

Sources: ``devicemodel/hw/pci/uart.c`` (``pci_uart_init``) and ``devicemodel/hw/uart_core.c``
(``uart_set_backend``, ``uart_open_backend``) at v1.6, v2.7, v3.0, v3.2, v3.3
(e.g. "v3.2 devicemodel/hw/pci/uart.c").

* No config: a UART without a backend (the guest sees the device, nothing is connected).
* The backend is read as for ``-l``: a config starting with ``tcp`` is a TCP listener and needs
  ``:<port>`` (``dm_strtol`` base 10, trailing junk ignored, the port is ``htons()``-truncated to
  16 bits); exactly ``stdio`` is the terminal; anything else is a tty path that must open and be
  a tty (``uart: open failed: <p>`` / ``uart: not a tty: <p>``, then
  ``uart: open_backend failed``). Every backend failure ends with
  ``Unable to initialize backend '<config>' for pci uart at <slot>:<func>``.
* v2.5+ (``uart.vuart_idx``): a config starting with ``vuart_idx`` (``strncmp``) asks the
  hypervisor for the vUART ``<n>`` after ``:`` (``dm_strtoui`` base 10). Without ``:`` acrn-dm
  prints ``pci vuart miss vuart_idx value!!!!``, with a bad number ``wrong vuart_idx value!!!!``;
  neither fails by itself: the whole config is then opened as a tty path.
* uart_core messages are ``printf`` in v1.6 and ``pr_err`` later: stdout either way.
"""

from __future__ import annotations

import re

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

STDIO = "stdio"
TCP = "tcp"
VUART_IDX = "vuart_idx"
MAX_PORT = 0xFFFF
MAX_VUART_IDX = 0xFFFFFFFF  # uint32_t vuart_idx
_WS = " \t\n\v\f\r"


def _c_strtol(text: str, *, unsigned: bool = False) -> tuple[int, str] | None:
    """C ``strtol``/``strtoul`` base 10: (value, rest) or None (no digit, or ERANGE)."""
    rest = text.lstrip(_WS)
    sign = 1
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    m = re.match(r"[0-9]+", rest)
    if not m:
        return None
    magnitude = int(m.group(0))
    if unsigned:
        if magnitude >= 1 << 64:
            return None
        return (sign * magnitude) % (1 << 64), rest[m.end():]
    value = sign * magnitude
    if not -(1 << 63) <= value < (1 << 63):
        return None
    return value, rest[m.end():]


@register("uart")
@dataclass(frozen=True)
class Uart:
    """A PCI UART. ``backend``: None (none), ``"stdio"``, ``"tcp"`` (with ``tcp_port``) or a tty
    path; or ``vuart_idx`` for a hypervisor-emulated vUART (v2.5+)."""

    EMULS: ClassVar[tuple[str, ...]] = ("uart",)

    backend: str | None = None
    tcp_port: int | None = None
    vuart_idx: int | None = None

    emul: ClassVar[str] = "uart"

    def __post_init__(self) -> None:
        if self.vuart_idx is not None:
            if self.backend is not None or self.tcp_port is not None:
                raise ConfigError("uart.vuart_idx", self.vuart_idx,
                                  "a hypervisor vUART has no backend")
            if not 0 <= self.vuart_idx <= MAX_VUART_IDX:
                raise ConfigError("uart.vuart_idx", self.vuart_idx,
                                  f"must be 0..{MAX_VUART_IDX:#x}")
            return
        if self.backend == TCP:
            if self.tcp_port is None:
                raise ConfigError("uart.tcp_port", None, "a tcp backend needs a port")
            if not 0 <= self.tcp_port <= MAX_PORT:
                raise ConfigError("uart.tcp_port", self.tcp_port, f"must be 0..{MAX_PORT}")
            return
        if self.tcp_port is not None:
            raise ConfigError("uart.tcp_port", self.tcp_port, "only a tcp backend has a port")
        if self.backend is None or self.backend == STDIO:
            return
        if self.backend == "":
            raise ConfigError("uart.backend", "", "empty backend; use None for no backend")
        if "," in self.backend:
            raise ConfigError("uart.backend", self.backend,
                              "a ',' cannot be represented (acrn-dm opens the whole string)")
        if self.backend.startswith(TCP):
            raise ConfigError("uart.backend", self.backend,
                              "a tty path starting with 'tcp' is read as a tcp backend")

    @classmethod
    def stdio(cls) -> Uart:
        return cls(STDIO)

    @classmethod
    def tcp(cls, port: int) -> Uart:
        return cls(TCP, port)

    @classmethod
    def tty(cls, path: str) -> Uart:
        return cls(path)

    @classmethod
    def hv(cls, index: int) -> Uart:
        return cls(vuart_idx=index)

    @property
    def kind(self) -> str:
        """``"none"``, ``"stdio"``, ``"tcp"``, ``"tty"`` or ``"vuart"``."""
        if self.vuart_idx is not None:
            return "vuart"
        if self.backend is None:
            return "none"
        if self.backend in (STDIO, TCP):
            return self.backend
        return "tty"

    def render_config(self) -> str | None:
        if self.vuart_idx is not None:
            return f"{VUART_IDX}:{self.vuart_idx}"
        if self.backend == TCP:
            return f"{TCP}:{self.tcp_port}"
        return self.backend

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> Uart:
        if config is None:
            return cls()
        if ctx.release.has("uart.vuart_idx") and config.startswith(VUART_IDX):
            head, colon, value = config.partition(":")
            if not colon:
                ctx.say("uart.vuart_idx", "pci vuart miss vuart_idx value!!!!")
            else:
                parsed = _c_strtol(value, unsigned=True)
                if parsed is None:
                    ctx.say("uart.vuart_idx", "wrong vuart_idx value!!!!")
                else:
                    index = parsed[0] & MAX_VUART_IDX
                    if head != VUART_IDX or parsed[1] or value != str(index):
                        ctx.warn("uart.vuart_idx", f"uart: '{config}' is read as "
                                 f"{VUART_IDX}:{index}")
                    return cls(vuart_idx=index)
            # Neither message fails: pci_uart_init goes on with the whole string as a tty path.
        fail = Line(f"Unable to initialize backend '{config}' for pci uart at "
                    f"{ctx.slot}:{ctx.func}")
        if config.startswith(TCP):
            head, colon, value = config.partition(":")
            parsed = _c_strtol(value) if colon else None
            if parsed is None:
                raise DeviceInitError("uart.tcp_port", config, fail)
            port = parsed[0] & MAX_PORT  # htons((uint16_t)port)
            if head != TCP or parsed[1] or value != str(port):
                ctx.warn("uart.tcp_port", f"uart: '{config}' is read as {TCP}:{port}")
            return cls(TCP, port)
        if config == STDIO:
            return cls(STDIO)
        if config == "" or "," in config:
            # open() of "" fails (ENOENT); a ',' path is not what the user meant.
            raise DeviceInitError("uart.backend", config, f"uart: open failed: {config}",
                                  "uart: open_backend failed", fail)
        return cls(config)

    def backend_failure_lines(self, reason: str, slot: int, func: int) -> tuple[Line, ...]:
        """What acrn-dm prints when the tty backend cannot be used; ``reason`` is
        ``"open failed"`` or ``"not a tty"``."""
        return (Line(f"uart: {reason}: {self.backend}"), Line("uart: open_backend failed"),
                Line(f"Unable to initialize backend '{self.render_config()}' for pci uart at "
                     f"{slot}:{func}"))

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        has_vuart = release.has("uart.vuart_idx")
        if self.vuart_idx is not None and not has_vuart:
            out.append(("uart.vuart_idx", self.vuart_idx,
                        f"ACRN {release} has no vuart_idx: it opens '{self.render_config()}' "
                        "as a tty path"))
        if self.kind == "tty" and has_vuart and self.backend is not None and \
                self.backend.startswith(VUART_IDX):
            out.append(("uart.backend", self.backend,
                        f"ACRN {release} first reads a backend starting with '{VUART_IDX}' as "
                        "a hypervisor vUART index (and warns when it is not one)"))
        if self.kind == "tcp" and self.tcp_port == 0:
            out.append(("uart.tcp_port", 0, "port 0 listens on a port the kernel picks"))
        return out

    def files(self) -> list[FileRef]:
        if self.kind == "tty" and self.backend is not None:
            return [FileRef("uart.backend", self.backend, "tty")]
        return []
