"""The LPC bridge (``-s N,lpc`` / ``igd-lpc``) and its COM ports (``-l``).

Sources: ``devicemodel/hw/pci/lpc.c`` (``lpc_device_parse``, ``lpc_init``) and
``devicemodel/hw/uart_core.c`` (``uart_set_backend``) at v1.6 .. v3.3.

``-l <COMn>[,<backend>]``: the device name is matched case-insensitively against COM1, COM2
(up to v3.2) and COM1..COM5 (v3.3, where COM5 is the S5 UART ``com5,<backend>[,<port>,<irq>]``).
Anything else is ``errx(EX_USAGE, "invalid lpc device configuration '%s'")`` at parse time.
For COM1..COM4 everything after the first comma is the backend. Backends are opened at LPC init,
and only when an ``lpc`` slot exists: none (a port with no backend), ``stdio``, ``tcp:<port>``,
or a tty path (``uart: open failed: <path>``, ``uart: not a tty: <path>``).
The lpc slot's own config is ignored. ``Only one LPC bridge is allowed.`` and
``LPC bridge can be present only on bus 0.`` are init-time errors.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import number_prefix
from acrnkit.model.devices.base import FileRef, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

_COM_ALL = ("com1", "com2", "com3", "com4", "com5")


def com_names(release: Release) -> tuple[str, ...]:
    return _COM_ALL if release.has("lpc.com3_5") else _COM_ALL[:2]


@register("lpc", "igd-lpc")
@dataclass(frozen=True)
class Lpc:
    EMULS: ClassVar[tuple[str, ...]] = ("lpc", "igd-lpc")

    emul: str = "lpc"
    config: str | None = None  # ignored by acrn-dm, kept for round trips

    def render_config(self) -> str | None:
        return self.config

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> Lpc:
        return cls(emul, config)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        return [(f"{self.emul}.config", self.config, "acrn-dm ignores this config")] \
            if self.config else []

    def files(self) -> list[FileRef]:
        if self.emul == "igd-lpc":
            return [FileRef("igd-lpc", "/sys/bus/pci/devices/0000:00:1f.0/config", "host")]
        return []


@dataclass(frozen=True)
class LpcPort:
    """One ``-l`` argument. ``port`` keeps the case it was written in (``com1``, ``COM2``)."""

    port: str
    backend: str | None = None
    s5_io_port: int | None = None
    s5_irq: int | None = None

    def __post_init__(self) -> None:
        if self.port.lower() not in _COM_ALL:
            raise ConfigError("lpc.port", self.port, "must be COM1..COM5")
        if self.backend == "":
            raise ConfigError("lpc.backend", self.backend, "empty backend; omit it instead")
        if self.port.lower() == "com5":
            if self.backend is not None and "," in self.backend:
                raise ConfigError("lpc.backend", self.backend, "a COM5 backend has no ','")
        elif self.s5_io_port is not None or self.s5_irq is not None:
            raise ConfigError("lpc.s5_io_port", self.s5_io_port, "only COM5 takes port/irq")
        if (self.s5_io_port is None) != (self.s5_irq is None):
            raise ConfigError("lpc.s5_irq", self.s5_irq, "give both the I/O port and the irq")
        if self.s5_io_port is not None and self.backend is None:
            raise ConfigError("lpc.backend", None, "COM5 port/irq need a backend before them")

    @property
    def backend_kind(self) -> str:
        if self.backend is None:
            return "none"
        if self.backend.startswith("tcp"):
            return "tcp"
        if self.backend == "stdio":
            return "stdio"
        return "tty"

    def render(self) -> str:
        parts = [self.port]
        if self.backend is not None:
            parts.append(self.backend)
        if self.s5_io_port is not None and self.s5_irq is not None:
            parts += [hex(self.s5_io_port), str(self.s5_irq)]
        return ",".join(parts)

    @classmethod
    def parse(cls, text: str, release: Release) -> LpcPort:
        """Parse one ``-l`` value; raises ConfigError (field ``lpc``) where acrn-dm errx()s."""
        name, comma, rest = text.partition(",")
        if name.lower() not in com_names(release):
            raise ConfigError("lpc", text, "invalid lpc device configuration")
        if name.lower() != "com5":
            return cls(name, rest if comma else None)
        tokens = rest.split(",") if comma else []
        backend = tokens[0] if tokens else None
        io_port = irq = None
        if len(tokens) >= 2:
            io_port = _c_ulong(tokens[1])
            irq = _c_ulong(",".join(tokens[2:])) if len(tokens) >= 3 else None
            if io_port is None or irq is None:
                raise ConfigError("lpc", text, "invalid lpc device configuration")
        if not io_port or not irq:
            io_port = irq = None  # acrn-dm remaps only when both are non-zero
        return cls(name, backend, io_port, irq)

    def files(self) -> list[FileRef]:
        if self.backend_kind == "tty" and self.backend is not None:
            return [FileRef("lpc.backend", self.backend, "tty")]
        return []


def _c_ulong(text: str) -> int | None:
    """``dm_strtoul(.., 0, ..)``: base prefix allowed, at least one digit, junk after ignored."""
    found = number_prefix(text, signed=False)
    return None if found is None else found[0]
