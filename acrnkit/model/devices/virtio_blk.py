"""virtio-blk: ``[iothread[=opts],][mq=N,]<path>|nodisk[,option...]``.

Sources: ``devicemodel/hw/pci/virtio/virtio_block.c`` (leading iothread/mq tokens, ``nodisk``)
and ``devicemodel/hw/block_if.c`` (``blockif_open`` options) at v1.6, v2.7, v3.0, v3.2, v3.3.

* NULL config: ``virtio_blk: backing device required``.
* ``nodisk`` anywhere in the string makes a dummy backend for ``acrnctl blkrescan``.
* v3.2 (v3.1+): a first token starting with ``iothread`` enables the iothread. v3.3 adds
  ``iothread=N[@cpu:cpu...]`` and ``mq=N`` (N > 0) before the path, and the blockif options
  ``nocache``, ``no_bst_block`` and ``aio=threads|io_uring``.
* blockif options after the path: ``writeback``, ``writethru``, ``ro``,
  ``discard[=max_sectors:max_seg:alignment]``, ``sectorsize=<l>[/<p>]``,
  ``range=<start_lba>/<size>``; anything else: ``Invalid device option "<opt>"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import (
    DeviceInitError,
    FileRef,
    ParseContext,
    no_comma,
    register,
)
from acrnkit.releases.profile import Release

NODISK = "nodisk"
_INT = re.compile(r"\s*[+-]?\d+")


def _leading_int(text: str) -> tuple[int, str] | None:
    m = _INT.match(text)
    if not m:
        return None
    return int(m.group(0)), text[m.end():]


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
                raise ConfigError(f"virtio-blk.sectorsize.{name}", value,
                                  "must be a power of 2 and at least 512")
        if self.logical > phys:
            raise ConfigError("virtio-blk.sectorsize", f"{self.logical}/{phys}",
                              "logical size must not exceed the physical size")


@register("virtio-blk")
@dataclass(frozen=True)
class VirtioBlk:
    """A virtio-blk disk. ``path`` is the backing file or device, or ``"nodisk"``."""

    EMULS: ClassVar[tuple[str, ...]] = ("virtio-blk",)

    path: str
    writeback: bool | None = None  # None = acrn-dm's default (writethru), not written
    ro: bool = False
    discard: Discard | bool = False
    sectorsize: SectorSize | None = None
    range: tuple[int, int] | None = None
    iothread: bool = False
    iothread_options: str | None = None  # v3.3 "N@cpu:cpu/cpu"
    mq: int | None = None
    nocache: bool = False
    no_bst_block: bool = False
    aio: str | None = None

    emul: ClassVar[str] = "virtio-blk"

    def __post_init__(self) -> None:
        no_comma("virtio-blk.path", self.path)
        if self.mq is not None and self.mq <= 0:
            raise ConfigError("virtio-blk.mq", self.mq, "must be a positive number of queues")
        if self.aio not in (None, "threads", "io_uring"):
            raise ConfigError("virtio-blk.aio", self.aio, "must be 'threads' or 'io_uring'")
        if self.iothread_options is not None:
            no_comma("virtio-blk.iothread", self.iothread_options)
            if not self.iothread:
                raise ConfigError("virtio-blk.iothread", self.iothread_options,
                                  "iothread options need iothread=True")
        if self.range is not None and (self.range[0] < 0 or self.range[1] <= 0):
            raise ConfigError("virtio-blk.range", self.range, "need start >= 0 and size > 0")

    @property
    def is_nodisk(self) -> bool:
        return self.path == NODISK

    def render_config(self) -> str:
        out: list[str] = []
        if self.iothread:
            out.append("iothread" if self.iothread_options is None
                       else f"iothread={self.iothread_options}")
        if self.mq is not None:
            out.append(f"mq={self.mq}")
        out.append(self.path)
        if self.writeback is not None:
            out.append("writeback" if self.writeback else "writethru")
        if self.ro:
            out.append("ro")
        if isinstance(self.discard, Discard):
            d = self.discard
            out.append(f"discard={d.max_sectors}:{d.max_segments}:{d.alignment}")
        elif self.discard:
            out.append("discard")
        if self.sectorsize is not None:
            s = self.sectorsize
            out.append(f"sectorsize={s.logical}" if s.physical is None
                       else f"sectorsize={s.logical}/{s.physical}")
        if self.range is not None:
            out.append(f"range={self.range[0]}/{self.range[1]}")
        if self.nocache:
            out.append("nocache")
        if self.no_bst_block:
            out.append("no_bst_block")
        if self.aio is not None:
            out.append(f"aio={self.aio}")
        return ",".join(out)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> VirtioBlk:
        if config is None:
            raise DeviceInitError("virtio-blk", None, "virtio_blk: backing device required")
        tokens = config.split(",")
        if NODISK in config:
            # acrn-dm ignores everything else once "nodisk" appears (virtio_block.c).
            if config != NODISK:
                ctx.warn("virtio-blk", f"virtio-blk: '{config}' is treated as nodisk")
            return cls(path=NODISK)
        rel = ctx.release
        fields: dict[str, object] = {}
        # Leading iothread / mq tokens (v3.2: only an exact "iothread"; v3.3: prefixes).
        while tokens:
            tok = tokens[0]
            if rel.has("blk.v33_options") and tok.startswith("iothread"):
                fields["iothread"] = True
                if "=" in tok:
                    fields["iothread_options"] = tok.split("=", 1)[1]
                tokens.pop(0)
            elif rel.has("blk.iothread") and not rel.has("blk.v33_options") and tok == "iothread":
                fields["iothread"] = True
                tokens.pop(0)
                break  # v3.2 looks at the first token only
            elif rel.has("blk.v33_options") and tok.startswith("mq"):
                if "=" in tok:
                    raw = tok.split("=", 1)[1]
                    parsed = _leading_int(raw)
                    if parsed is None or parsed[0] <= 0:
                        raise DeviceInitError("virtio-blk.mq", raw,
                                              f"virtio_blk_init: incorrect num queues {raw}")
                    fields["mq"] = parsed[0]
                tokens.pop(0)
            else:
                break
        if not tokens:
            raise DeviceInitError("virtio-blk.path", "", "Could not open backing file: ")
        path, options = tokens[0], tokens[1:]
        v33 = rel.has("blk.v33_options")
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
                fields["discard"] = _parse_discard(opt)
            elif opt.startswith("sectorsize"):
                fields["sectorsize"] = _parse_sectorsize(opt)
            elif opt.startswith("range"):
                fields["range"] = _parse_range(opt)
            elif v33 and opt.startswith("aio"):
                value = opt.split("=", 1)[1] if "=" in opt else None
                if value is not None:
                    if value.startswith("threads"):
                        fields["aio"] = "threads"
                    elif value.startswith("io_uring"):
                        fields["aio"] = "io_uring"
                    else:
                        raise DeviceInitError(
                            "virtio-blk.aio", value,
                            f'Invalid aio option, only support threads or io_uring "{value}"')
            else:
                raise DeviceInitError("virtio-blk.option", opt, f'Invalid device option "{opt}"')
        if path == "":
            raise DeviceInitError("virtio-blk.path", path, "Could not open backing file: ")
        try:
            return cls(path=path, **fields)  # type: ignore[arg-type]
        except ConfigError as err:
            # blockif_open's "goto err" paths print nothing of their own.
            raise DeviceInitError(err.field, err.value) from err

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        if self.iothread and not release.has("blk.iothread"):
            out.append(("virtio-blk.iothread", True, f"iothread needs ACRN 3.1+, not {release}"))
        if self.iothread_options is not None and not release.has("blk.v33_options"):
            out.append(("virtio-blk.iothread", self.iothread_options, "needs ACRN 3.3"))
        v33_only = (("mq", self.mq is not None), ("nocache", self.nocache),
                    ("no_bst_block", self.no_bst_block), ("aio", self.aio is not None))
        for name, used in v33_only:
            if used and not release.has("blk.v33_options"):
                out.append((f"virtio-blk.{name}", True, f"needs ACRN 3.3, not {release}"))
        return out

    def files(self) -> list[FileRef]:
        return [] if self.is_nodisk else [FileRef("virtio-blk.path", self.path, "blk")]


def _parse_discard(opt: str) -> Discard | bool:
    if "=" not in opt:
        return True
    raw = opt.split("=", 1)[1]
    parts = raw.split(":")
    values = [_leading_int(p) for p in parts[:3]]
    if len(parts) < 3 or any(v is None for v in values):
        raise DeviceInitError("virtio-blk.discard", raw)  # silent "goto err" in block_if.c
    a, b, c = (v[0] for v in values if v is not None)
    return Discard(a, b, c)


def _parse_sectorsize(opt: str) -> SectorSize:
    raw = opt.split("=", 1)[1] if "=" in opt else ""
    logical = _leading_int(raw)
    if logical is None:
        raise DeviceInitError("virtio-blk.sectorsize", raw)
    physical: int | None = None
    rest = logical[1]
    if rest.startswith("/"):
        p = _leading_int(rest[1:])
        if p is None:
            raise DeviceInitError("virtio-blk.sectorsize", raw)
        physical = p[0]
    phys = physical if physical is not None else logical[0]
    try:
        return SectorSize(logical[0], physical)
    except ConfigError:
        raise DeviceInitError("virtio-blk.sectorsize", raw,
                              f"Invalid sector size {logical[0]}/{phys}") from None


def _parse_range(opt: str) -> tuple[int, int]:
    raw = opt.split("=", 1)[1] if "=" in opt else ""
    start = _leading_int(raw)
    if start is None or not start[1].startswith("/"):
        raise DeviceInitError("virtio-blk.range", raw)
    size = _leading_int(start[1][1:])
    if size is None:
        raise DeviceInitError("virtio-blk.range", raw)
    return (start[0], size[0])
