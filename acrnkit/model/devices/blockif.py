"""The ``blockif_open()`` options that virtio-blk and AHCI ports share.

Source: ``devicemodel/hw/block_if.c`` (``blockif_open``) at v1.6 .. v3.3. After the path come
``writeback``, ``writethru`` (default), ``ro``, ``discard[=max_sectors:max_seg:alignment]``,
``sectorsize=<logical>[/<physical>]`` and ``range=<start_lba>/<size>``; v3.3 adds ``nocache``,
``no_bst_block`` and ``aio=threads|io_uring``. Anything else: ``Invalid device option "<opt>"``.
A malformed discard, sectorsize or range fails with no message of its own ("goto err").
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import number_prefix
from acrnkit.model.devices.base import DeviceInitError, Line
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from collections.abc import Iterable

def leading_int(text: str) -> tuple[int, str] | None:
    """``dm_strtoi``: a base-10 number at the start, and what follows it."""
    found = number_prefix(text, 10)
    if found is None:
        return None
    return found[0], text[found[1]:]


@dataclass(frozen=True)
class Discard:
    max_sectors: int
    max_segments: int
    alignment: int


@dataclass(frozen=True)
class SectorSize:
    logical: int
    physical: int | None = None

    def __post_init__(self) -> None:
        phys = self.physical if self.physical is not None else self.logical
        for name, value in (("logical", self.logical), ("physical", phys)):
            if value < 512 or value & (value - 1):
                raise ConfigError(f"sectorsize.{name}", value,
                                  "must be a power of 2 and at least 512")
        if self.logical > phys:
            raise ConfigError("sectorsize", f"{self.logical}/{phys}",
                              "logical size must not exceed the physical size")


def parse_options(options: Iterable[str], release: Release, field: str) -> dict[str, object]:
    """The option tokens after the path, as model fields (``writeback``, ``ro``, ...)."""
    v33 = release.has("blk.v33_options")
    fields: dict[str, object] = {}
    for opt in options:
        if opt == "writeback":
            fields["writeback"] = True
        elif opt == "writethru":
            fields["writeback"] = False
        elif opt == "ro":
            fields["ro"] = True
        elif v33 and opt == "nocache":
            fields["nocache"] = True
        elif v33 and opt == "no_bst_block":
            fields["no_bst_block"] = True
        elif opt.startswith("discard"):
            fields["discard"] = parse_discard(opt, field)
        elif opt.startswith("sectorsize"):
            fields["sectorsize"] = parse_sectorsize(opt, field)
        elif opt.startswith("range"):
            fields["range"] = parse_range(opt, field)
        elif v33 and opt.startswith("aio"):
            value = opt.split("=", 1)[1] if "=" in opt else None
            if value is not None:
                if value.startswith("threads"):
                    fields["aio"] = "threads"
                elif value.startswith("io_uring"):
                    fields["aio"] = "io_uring"
                else:
                    raise DeviceInitError(
                        f"{field}.aio", value,
                        f'Invalid aio option, only support threads or io_uring "{value}"')
        else:
            raise DeviceInitError(f"{field}.option", opt, f'Invalid device option "{opt}"')
    return fields


def open_failed_line(path: str, release: Release) -> Line:
    """blockif_open()'s line when ``open()`` of the backing file fails (devicemodel/hw/block_if.c,
    v1.6-v3.3): v1.6 ``warn()``s it (stderr, program name and errno text; ENOENT assumed);
    v2.7+ ``pr_err()``s it without a newline, so the caller's next line runs on
    (``Could not open backing file: /xpci ahci init failed``)."""
    if release.has("blk.open_warn"):
        return Line(f"acrn-dm: Could not open backing file: {path}: No such file or directory",
                    "stderr")
    return Line(f"Could not open backing file: {path}", end="")


def render_options(*, writeback: bool | None, ro: bool, discard: Discard | bool,
                   sectorsize: SectorSize | None, range_: tuple[int, int] | None,
                   nocache: bool, no_bst_block: bool, aio: str | None) -> list[str]:
    out: list[str] = []
    if writeback is not None:
        out.append("writeback" if writeback else "writethru")
    if ro:
        out.append("ro")
    if isinstance(discard, Discard):
        out.append(f"discard={discard.max_sectors}:{discard.max_segments}:{discard.alignment}")
    elif discard:
        out.append("discard")
    if sectorsize is not None:
        out.append(f"sectorsize={sectorsize.logical}" if sectorsize.physical is None
                   else f"sectorsize={sectorsize.logical}/{sectorsize.physical}")
    if range_ is not None:
        out.append(f"range={range_[0]}/{range_[1]}")
    if nocache:
        out.append("nocache")
    if no_bst_block:
        out.append("no_bst_block")
    if aio is not None:
        out.append(f"aio={aio}")
    return out


def parse_discard(opt: str, field: str = "blk") -> Discard | bool:
    if "=" not in opt:
        return True
    raw = opt.split("=", 1)[1]
    parts = raw.split(":")
    values = [leading_int(p) for p in parts[:3]]
    if len(parts) < 3 or any(v is None for v in values):
        raise DeviceInitError(f"{field}.discard", raw)
    a, b, c = (v[0] for v in values if v is not None)
    return Discard(a, b, c)


def parse_sectorsize(opt: str, field: str = "blk") -> SectorSize:
    raw = opt.split("=", 1)[1] if "=" in opt else ""
    logical = leading_int(raw)
    if logical is None:
        raise DeviceInitError(f"{field}.sectorsize", raw)
    physical: int | None = None
    rest = logical[1]
    if rest.startswith("/"):
        p = leading_int(rest[1:])
        if p is None:
            raise DeviceInitError(f"{field}.sectorsize", raw)
        physical = p[0]
    phys = physical if physical is not None else logical[0]
    try:
        return SectorSize(logical[0], physical)
    except ConfigError:
        raise DeviceInitError(f"{field}.sectorsize", raw,
                              f"Invalid sector size {logical[0]}/{phys}") from None


def parse_range(opt: str, field: str = "blk") -> tuple[int, int]:
    raw = opt.split("=", 1)[1] if "=" in opt else ""
    start = leading_int(raw)
    if start is None or not start[1].startswith("/"):
        raise DeviceInitError(f"{field}.range", raw)
    size = leading_int(start[1][1:])
    if size is None:
        raise DeviceInitError(f"{field}.range", raw)
    return (start[0], size[0])
