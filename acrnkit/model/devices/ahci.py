"""ahci / ahci-hd / ahci-cd: a SATA controller, ``[hd:|cd:]<path>[,blockif option...]`` per port.

Sources: ``devicemodel/hw/pci/ahci.c`` (``pci_ahci_init``, ``pci_ahci_hd_init``,
``pci_ahci_atapi_init``, the ``DEFINE_PCI_DEVTYPE`` tables) and ``devicemodel/hw/block_if.c``
(``blockif_open``) at v1.6, v2.7, v3.0, v3.2, v3.3 (e.g. "v3.2 devicemodel/hw/pci/ahci.c").

* ``ahci`` and ``ahci-hd`` start with disk ports, ``ahci-cd`` with ATAPI (CD-ROM) ports.
* No config: a controller without disks.
* Ports are cut at the first ``,hd:`` or ``,cd:``; a port may start with ``hd:`` or ``cd:``,
  which sets its type *and the type of the following ports* (only the first port can go
  without a prefix, since the separator carries it). An empty port is skipped but keeps its
  port number. At most 32 ports (``MAX_PORTS``); acrn-dm silently ignores the rest.
* Each port is handed to ``blockif_open``: the path, then ``writeback``, ``writethru``, ``ro``,
  ``discard[=a:b:c]``, ``sectorsize=<l>[/<p>]``, ``range=<lba>/<size>``; v3.3 adds ``nocache``,
  ``no_bst_block`` and ``aio=threads|io_uring``. Anything else:
  ``Invalid device option "<opt>"``. The file must open (``Could not open backing file: ...``,
  without a newline from v2.x; v1.6 ``warn()``s it on stderr) and a regular file must be a
  multiple of 512 bytes.
* When ``blockif_open`` refuses a port, ``pci_ahci_init`` returns 1, not -1: acrn-dm prints
  ``pci ahci init failed``, initialises no further device and carries on (1.6, 2.7) or dies
  later (3.x). acrnkit's checker (``acrnkit/argv/check.py``) models that; see docs/crashes.md.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, ParseContext, no_comma, register

# blockif_open's option grammar is shared with virtio-blk (devicemodel/hw/block_if.c).
from acrnkit.model.devices.blockif import (
    Discard,
    SectorSize,
    open_failed_line,
    parse_options,
    render_options,
)
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

MAX_PORTS = 32
EMULS = ("ahci", "ahci-hd", "ahci-cd")
_PREFIXES = ("hd:", "cd:")


def default_cdrom(emul: str) -> bool:
    """``ahci`` and ``ahci-hd`` use ``pci_ahci_hd_init``; ``ahci-cd`` ``pci_ahci_atapi_init``."""
    return emul == "ahci-cd"


@dataclass(frozen=True)
class AhciPort:
    """One SATA port: a disk (or, with ``cdrom``, an ATAPI drive) and its blockif options."""

    path: str
    cdrom: bool = False
    writeback: bool | None = None  # None = acrn-dm's default (writethru), not written
    ro: bool = False
    discard: Discard | bool = False
    sectorsize: SectorSize | None = None
    range: tuple[int, int] | None = None
    nocache: bool = False  # v3.3
    no_bst_block: bool = False  # v3.3
    aio: str | None = None  # v3.3: "threads" | "io_uring"

    def __post_init__(self) -> None:
        no_comma("ahci.path", self.path)
        if self.aio not in (None, "threads", "io_uring"):
            raise ConfigError("ahci.aio", self.aio, "must be 'threads' or 'io_uring'")
        if self.range is not None and (self.range[0] < 0 or self.range[1] <= 0):
            raise ConfigError("ahci.range", self.range, "need start >= 0 and size > 0")

    def render(self) -> str:
        out = [self.path]
        out += render_options(writeback=self.writeback, ro=self.ro, discard=self.discard,
                              sectorsize=self.sectorsize, range_=self.range,
                              nocache=self.nocache, no_bst_block=self.no_bst_block, aio=self.aio)
        return ",".join(out)

    def v33_options(self) -> list[str]:
        used = (("nocache", self.nocache), ("no_bst_block", self.no_bst_block),
                ("aio", self.aio is not None))
        return [name for name, on in used if on]


@register(*EMULS)
@dataclass(frozen=True)
class Ahci:
    """An AHCI controller. ``ports[i]`` is SATA port ``i``; None is a skipped (empty) port."""

    EMULS: ClassVar[tuple[str, ...]] = EMULS

    emul: str = "ahci"
    ports: tuple[AhciPort | None, ...] = ()

    def __post_init__(self) -> None:
        if self.emul not in EMULS:
            raise ConfigError("ahci.emul", self.emul, f"must be one of {', '.join(EMULS)}")
        if len(self.ports) > MAX_PORTS:
            raise ConfigError("ahci.ports", len(self.ports),
                              f"at most {MAX_PORTS} ports; acrn-dm ignores the rest")

    def render_config(self) -> str | None:
        if not self.ports:
            return None
        out: list[str] = []
        for i, port in enumerate(self.ports):
            if port is None:
                out.append("" if i == 0 else "hd:")
                continue
            prefix = "cd:" if port.cdrom else "hd:"
            if i == 0 and port.cdrom == default_cdrom(self.emul) and \
                    not port.path.startswith(_PREFIXES):
                prefix = ""
            out.append(prefix + port.render())
        return ",".join(out)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> Ahci:
        ports: list[AhciPort | None] = []
        cdrom = default_cdrom(emul)
        rest = config
        while rest is not None and len(ports) < MAX_PORTS:
            opts = rest
            if opts.startswith("hd:"):
                cdrom, opts = False, opts[3:]
            elif opts.startswith("cd:"):
                cdrom, opts = True, opts[3:]
            cuts = [i for i in (opts.find(",hd:"), opts.find(",cd:")) if i >= 0]
            if cuts:
                rest, opts = opts[min(cuts) + 1:], opts[:min(cuts)]
            else:
                rest = None
            if opts == "":
                ports.append(None)
                continue
            ports.append(_parse_port(opts, cdrom, len(ports), ctx))
        if rest is not None:
            ctx.warn("ahci.ports", f"ahci: acrn-dm uses {MAX_PORTS} ports and ignores "
                     f"'{rest}'")
        return cls(emul, tuple(ports))

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        for i, port in enumerate(self.ports):
            if port is None:
                continue
            for name in port.v33_options():
                if not release.has("blk.v33_options"):
                    out.append((f"ahci.port[{i}].{name}", getattr(port, name),
                                f"needs ACRN 3.3, not {release}"))
        return out

    def files(self) -> list[FileRef]:
        return [FileRef(f"ahci.port[{i}].path", port.path, "blk")
                for i, port in enumerate(self.ports) if port is not None]


def _parse_port(opts: str, cdrom: bool, index: int, ctx: ParseContext) -> AhciPort:
    """``blockif_open(opts, ..)``'s option loop for port ``index``."""
    field = f"ahci.port[{index}]"
    path, *options = opts.split(",")
    try:
        fields = parse_options(options, ctx.release, field)
    except DeviceInitError as err:
        name = err.field.rsplit(".", 1)[-1]
        raise DeviceInitError(f"{field}.{name}", err.value, *err.lines) from None
    if path == "":
        # open("") fails; v2.7+ print it without a newline (blockif.open_failed_line)
        raise DeviceInitError(f"{field}.path", path, open_failed_line(path, ctx.release))
    try:
        return AhciPort(path, cdrom, **fields)  # type: ignore[arg-type]
    except ConfigError as err:
        raise DeviceInitError(err.field, err.value) from err
