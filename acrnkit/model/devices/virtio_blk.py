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

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import (
    DeviceInitError,
    FileRef,
    ParseContext,
    no_comma,
    register,
)
from acrnkit.model.devices.blockif import (
    Discard,
    SectorSize,
    leading_int,
    parse_options,
    render_options,
)
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

NODISK = "nodisk"


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
        if NODISK in self.path and self.path != NODISK:
            raise ConfigError("virtio-blk.path", self.path,
                              "acrn-dm reads any config containing 'nodisk' as a placeholder")
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
        out += render_options(writeback=self.writeback, ro=self.ro, discard=self.discard,
                              sectorsize=self.sectorsize, range_=self.range,
                              nocache=self.nocache, no_bst_block=self.no_bst_block, aio=self.aio)
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
                    parsed = leading_int(raw)
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
        fields.update(parse_options(options, rel, "virtio-blk"))
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


