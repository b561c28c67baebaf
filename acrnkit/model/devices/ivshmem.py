"""ivshmem (v2.2+ grammar): ``hv:/<name>,<MB>`` or ``dm:/<name>,<MB>``, v3.3 ``[,<region_id>]``.

Sources: ``devicemodel/hw/pci/ivshmem.c`` (``pci_ivshmem_init``, ``create_ivshmem_from_dm``,
``create_ivshmem_from_hv``) at v2.7, v3.0, v3.2 and v3.3 (e.g. "v3.2
devicemodel/hw/pci/ivshmem.c"); the emulation does not exist in v1.6. Every message is
``pr_warn`` (stdout).

* No config: ``strdup(NULL)`` -- acrn-dm crashes (SIGSEGV).
* The name token must start with ``hv:/`` (hypervisor-backed region, the name is passed to the
  hypervisor with its prefix, 32 bytes at most) or ``dm:/`` (a POSIX shm object the device
  model creates or joins; the prefix is cut off), else
  ``the ivshmem memory prefix name is incorrect``.
* The size is ``dm_strtoui`` base 10 in megabytes: no number is
  ``the shared memory size is incorrect, <text>`` (``(null)`` when there is no size at all).
  It is multiplied by 0x100000 in 32 bits and must then be a power of 2 in [2 MB, 512 MB], else
  ``Invalid shared memory size %u, the size range is [2MB,512MB], the unit is megabyte and the
  value must be a power of 2``. Up to v3.2 the whole rest of the string is the size token, so
  junk (and a region id) after the number is ignored.
* v3.3 (``ivshmem.region_id``): the size token ends at the next ``,``; what follows is the
  region id (``dm_strtoui``; a bad one warns ``shared memory region ID is incorrect, <text>, 0
  will used.`` and uses 0); it becomes the 16-bit PCI subsystem id.
* ``dm:/`` names go to glibc ``shm_open``: an empty name or one with a ``/`` after the leading
  slashes fails with ``failed to get <name> status, error Invalid argument``.
"""

from __future__ import annotations

import re

# Literal at run time: Land is a real alias, read by the JSON form. This module loads only for an
# argv with ivshmem, so it stays off the fake's usual start-up path.
from typing import Literal

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

Land = Literal["hv", "dm"]
MIN_MB = 2
MAX_MB = 512
MAX_REGION_ID = 0xFFFF  # pci_set_cfgdata16(PCIR_SUBDEV_0, (uint16_t)region_id)
#: ``strncpy(dev.args, shm_name, 32)``: what the hypervisor sees of ``hv:/<name>``.
HV_NAME_BYTES = 32
#: glibc limits a shm name to NAME_MAX (255) with its terminator; keep well inside.
DM_NAME_BYTES = 253
_WS = " \t\n\v\f\r"
_SIZE_MSG = ("Invalid shared memory size {}, the size range is [2MB,512MB], the unit is "
             "megabyte and the value must be a power of 2")


def _strtoul(text: str) -> tuple[int, str] | None:
    """C ``strtoul(text, &end, 10)`` (negation wraps): (value, rest) or None (no digit/ERANGE)."""
    rest = text.lstrip(_WS)
    negative = rest[:1] == "-"
    if rest[:1] in ("+", "-"):
        rest = rest[1:]
    m = re.match(r"[0-9]+", rest)
    if not m:
        return None
    value = int(m.group(0))
    if value >= 1 << 64:
        return None
    return (-value if negative else value) % (1 << 64), rest[m.end():]


def _shm_name_ok(name: str) -> bool:
    """Whether glibc ``shm_open`` accepts ``name`` (leading slashes are skipped)."""
    bare = name.lstrip("/")
    return bare not in ("", ".", "..") and "/" not in bare


@register("ivshmem")
@dataclass(frozen=True)
class Ivshmem:
    """A shared-memory device: ``land`` ``"hv"`` (hypervisor region) or ``"dm"`` (POSIX shm)."""

    EMULS: ClassVar[tuple[str, ...]] = ("ivshmem",)

    land: Land
    name: str
    size_mb: int
    region_id: int | None = None  # v3.3

    emul: ClassVar[str] = "ivshmem"

    def __post_init__(self) -> None:
        if self.land not in ("hv", "dm"):
            raise ConfigError("ivshmem.land", self.land, "must be 'hv' or 'dm'")
        if self.name == "" or "," in self.name:
            raise ConfigError("ivshmem.name", self.name,
                              "must be non-empty and cannot contain ','")
        if self.land == "dm":
            if not _shm_name_ok(self.name):
                raise ConfigError("ivshmem.name", self.name,
                                  "shm_open refuses it: empty, '.', '..' or a '/' inside")
            if len(self.name.encode()) > DM_NAME_BYTES:
                raise ConfigError("ivshmem.name", self.name, f"at most {DM_NAME_BYTES} bytes")
        size = self.size_mb
        if not MIN_MB <= size <= MAX_MB or size & (size - 1):
            raise ConfigError("ivshmem.size_mb", size,
                              f"must be a power of 2 in {MIN_MB}..{MAX_MB} (MB)")
        if self.region_id is not None and not 0 <= self.region_id <= MAX_REGION_ID:
            raise ConfigError("ivshmem.region_id", self.region_id, f"must be 0..{MAX_REGION_ID}")

    @property
    def prefixed_name(self) -> str:
        return f"{self.land}:/{self.name}"

    def render_config(self) -> str:
        text = f"{self.prefixed_name},{self.size_mb}"
        if self.region_id is not None:
            text += f",{self.region_id}"
        return text

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> Ivshmem:
        rel = ctx.release
        if config is None:
            raise DeviceInitError(
                "ivshmem", None,
                Line("acrnkit: the real acrn-dm crashes here (strdup(NULL) in "
                     "pci_ivshmem_init)", "stderr"))
        name_tok, comma, rest = config.partition(",")
        land: Land
        if name_tok.startswith("hv:/"):
            land = "hv"
        elif name_tok.startswith("dm:/"):
            land = "dm"
        else:
            raise DeviceInitError("ivshmem.name", name_tok,
                                  "the ivshmem memory prefix name is incorrect")
        name = name_tok[4:]
        region_tok: str | None = None
        size_tok: str | None = rest if comma else None
        if rel.has("ivshmem.region_id") and size_tok is not None:
            size_tok, comma2, tail = size_tok.partition(",")
            region_tok = tail if comma2 else None
        parsed = None if size_tok is None else _strtoul(size_tok)
        if parsed is None:
            shown = "(null)" if size_tok is None else size_tok
            digits = None if size_tok is None else re.match(r"[ \t\n\v\f\r]*[+-]?\d+", size_tok)
            if size_tok is not None and digits:
                shown = size_tok[digits.end():]  # ERANGE: strtoul's end is past the digits
            raise DeviceInitError("ivshmem.size_mb", size_tok,
                                  f"the shared memory size is incorrect, {shown}")
        number, junk = parsed
        size = (number * 0x100000) & 0xFFFFFFFF
        if size < 0x200000 or size >= 0x40000000 or size & (size - 1):
            raise DeviceInitError("ivshmem.size_mb", size_tok,
                                  _SIZE_MSG.format(size // 0x100000))
        size_mb = size // 0x100000
        region_id: int | None = None
        old_region = None if rel.has("ivshmem.region_id") else re.fullmatch(r",(\d{1,5})", junk)
        if old_region and int(old_region.group(1)) <= MAX_REGION_ID:
            # Up to v3.2 ",<n>" is junk after the size; kept so the argv round-trips.
            region_id = int(old_region.group(1))
            ctx.warn("ivshmem.region_id", f"ivshmem: ACRN {rel} ignores the region id "
                     f"'{old_region.group(1)}' (needs ACRN 3.3)")
        elif junk or number != size_mb:
            ctx.warn("ivshmem.size_mb", f"ivshmem: size '{size_tok}' is read as {size_mb}")
        if region_tok is not None:
            region_id = _parse_region(region_tok, ctx)
        if land == "dm" and not _shm_name_ok(name):
            raise DeviceInitError("ivshmem.name", name,
                                  f"failed to get {name} status, error Invalid argument")
        if land == "hv" and name == "":
            raise DeviceInitError("ivshmem.name", name)  # no hypervisor region is named "hv:/"
        try:
            return cls(land, name, size_mb, region_id)
        except ConfigError as err:
            raise DeviceInitError(err.field, err.value) from err

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        if self.region_id is not None and not release.has("ivshmem.region_id"):
            out.append(("ivshmem.region_id", self.region_id,
                        f"ACRN {release} ignores the region id (needs ACRN 3.3)"))
        if self.land == "hv" and len(self.prefixed_name.encode()) > HV_NAME_BYTES:
            out.append(("ivshmem.name", self.name,
                        f"the hypervisor sees only the first {HV_NAME_BYTES} bytes of "
                        f"'{self.prefixed_name}'"))
        return out

    def files(self) -> list[FileRef]:
        return []


def _parse_region(text: str, ctx: ParseContext) -> int:
    parsed = _strtoul(text)
    if parsed is None:
        ctx.say("ivshmem.region_id", f"shared memory region ID is incorrect, {text}, 0 will used.")
        return 0
    value = (parsed[0] & 0xFFFFFFFF) & MAX_REGION_ID
    if parsed[1] or text != str(value):
        ctx.warn("ivshmem.region_id", f"ivshmem: region id '{text}' is read as {value}")
    return value
