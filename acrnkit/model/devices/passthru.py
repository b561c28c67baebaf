"""passthru: ``<bus>/<slot>/<func>[,option...]`` -- a host PCI function given to the guest.

Sources: ``devicemodel/hw/pci/passthrough.c`` (``passthru_init``, ``parse_vmsix_on_msi_bar_id``)
and ``devicemodel/hw/pci/core.c`` (``parse_bdf``, ``pci_emul_alloc_pbar``) at v1.6, v2.7, v3.0,
v3.2 and v3.3 (e.g. "v3.2 devicemodel/hw/pci/passthrough.c").

* No config: ``Empty passthru options``.
* The first token is the host BDF, read by ``parse_bdf(.., 16)``: fields split on any of ``:``,
  ``/``, ``.``; one field is the slot, two slot.func, three bus/slot/func (more are ignored);
  each field is a base-16 ``strtol`` (``0x`` prefix, sign and leading blanks allowed, trailing
  junk ignored) that must consume a digit, else ``Invalid passthru BDF options:<token>``.
  Nothing checks the ranges: a function that does not exist on the host is
  ``No physical PCI device %x:%x.%x!`` after the options are read.
* Options are matched by prefix (``strncmp`` with the keyword's length), first match wins:
  ``keep_gsi``, ``no_reset``; v1.6 ``gpu`` (adds ``31,igd-lpc`` itself); from v2.x
  ``d3hot_reset``, ``vmsix_on_msi`` (consumes the next token as a decimal BAR index; missing or
  not a number: ``faild to parse msix emulation bar id``), ``enable_ptm``; v3.2 ``romfile=<path>``
  (at most 255 bytes: ``romfile path too long, max supported path length is 255``); v3.3
  ``irq=<n>`` (decimal; else ``Input IRQ number cannnot be recognized.``, on success the warning
  ``IRQ %d might be shared by multiple devices!``) and ``dsdt=<path>`` (at most 255 bytes:
  ``dsdt file path too long, max supported path length is 255``).
* Anything else only warns: ``Invalid passthru options:<token>``; acrnkit keeps such tokens in
  ``ignored`` so the argv round-trips.
* v1.6 prints through ``warnx`` (stderr, ``acrn-dm: `` prefix); later releases use ``pr_err`` /
  ``pr_warn`` (stdout).
* v3.2+ ``pci_emul_alloc_pbar`` rejects a BAR index above 5 (``vmsix_on_msi``); v2.7/v3.0 do not
  check it (undefined behaviour).
"""

from __future__ import annotations

import re

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError
from acrnkit.model.devices.base import DeviceInitError, FileRef, Line, ParseContext, register
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from typing import ClassVar

#: ``char rom_file[256]`` / ``char dsdt_path[256]``: a path of at most 255 bytes.
PATH_MAX_BYTES = 255
PCI_BARMAX = 5
PCI_ROMBAR = 6
PCIBAR_MEM32 = 2  # enum pcibar_type, printed by pci_emul_alloc_pbar
MAX_BUS, MAX_SLOT, MAX_FUNC = 0xFF, 0x1F, 0x7
MAX_IRQ = 256  # phys_pin > 256 fails ("has wrong phys_pin")

#: Option keywords and their ``strncmp`` length; matched in acrn-dm's order.
_KEYWORDS: tuple[tuple[str, str | None], ...] = (
    ("keep_gsi", None),
    ("no_reset", None),
    ("gpu", "passthru.gpu"),
    ("d3hot_reset", "passthru.d3hot_vmsix"),
    ("vmsix_on_msi", "passthru.d3hot_vmsix"),
    ("enable_ptm", "passthru.enable_ptm"),
    ("romfile=", "passthru.romfile"),
    ("irq=", "passthru.irq_dsdt"),
    ("dsdt=", "passthru.irq_dsdt"),
)
_WS = " \t\n\v\f\r"


def c_strtol(text: str | None, base: int) -> tuple[int, str] | None:
    """``dm_strtol``: C ``strtol(text, &end, base)``; None when no digit is read or on ERANGE."""
    if text is None:
        return None
    rest = text.lstrip(_WS)
    sign = 1
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if base == 16 and re.match(r"0[xX][0-9a-fA-F]", rest):
        rest = rest[2:]
    m = re.match(r"[0-9a-fA-F]+" if base == 16 else r"[0-9]+", rest)
    if not m:
        return None
    value = sign * int(m.group(0), base)
    if not -(1 << 63) <= value < (1 << 63):
        return None
    return value, rest[m.end():]


def c_int(value: int) -> int:
    """``(int)`` of a ``long``: keep the low 32 bits, signed."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


def dm_strtoi(text: str | None, base: int) -> tuple[int, str] | None:
    parsed = c_strtol(text, base)
    return None if parsed is None else (c_int(parsed[0]), parsed[1])


def parse_host_bdf(text: str) -> tuple[int, int, int] | None:
    """``parse_bdf(text, .., 16)``: (bus, slot, func) as C ints, or None when it fails."""
    parts = re.split(r"[:/.]", text)
    fields = parts[:3]
    values = [dm_strtoi(part, 16) for part in fields]
    if any(v is None for v in values):
        return None
    nums = [v[0] for v in values if v is not None]
    if len(nums) == 1:
        return 0, nums[0], 0
    if len(nums) == 2:
        return 0, nums[0], nums[1]
    return nums[0], nums[1], nums[2]


def _hex(value: int) -> str:
    """``%x`` of a C int."""
    return f"{value & 0xFFFFFFFF:x}"


def _path_ok(field_name: str, value: str) -> None:
    if "," in value:
        raise ConfigError(field_name, value, "a ',' cannot be represented inside a -s config")
    if len(value.encode()) > PATH_MAX_BYTES:
        raise ConfigError(field_name, value, f"at most {PATH_MAX_BYTES} bytes")


@register("passthru")
@dataclass(frozen=True)
class Passthru:
    """A passed-through host PCI function ``bus:slot.func`` and its options."""

    EMULS: ClassVar[tuple[str, ...]] = ("passthru",)

    #: the host's PCI address (not the guest slot, which is the ``-s`` bdf)
    host_bus: int
    host_slot: int
    host_func: int = 0
    keep_gsi: bool = False
    no_reset: bool = False
    d3hot_reset: bool = False  # v2.x+
    vmsix_on_msi: int | None = None  # BAR index 0..5, v2.x+
    enable_ptm: bool = False  # v2.5+
    romfile: str | None = None  # v3.2+
    irq: int | None = None  # v3.3
    dsdt: str | None = None  # v3.3
    gpu: bool = False  # v1.6 (up to v2.5)
    #: tokens acrn-dm warns about (``Invalid passthru options:``) and ignores
    ignored: tuple[str, ...] = ()

    emul: ClassVar[str] = "passthru"

    def __post_init__(self) -> None:
        for name, value, top in (("bus", self.host_bus, MAX_BUS),
                                 ("slot", self.host_slot, MAX_SLOT),
                                 ("func", self.host_func, MAX_FUNC)):
            if not 0 <= value <= top:
                raise ConfigError(f"passthru.{name}", value, f"must be 0..{top:#x}")
        if self.vmsix_on_msi is not None and not 0 <= self.vmsix_on_msi <= PCI_BARMAX:
            raise ConfigError("passthru.vmsix_on_msi", self.vmsix_on_msi,
                              f"a BAR index is 0..{PCI_BARMAX}")
        if self.irq is not None and not 0 <= self.irq <= MAX_IRQ:
            raise ConfigError("passthru.irq", self.irq, f"must be 0..{MAX_IRQ}")
        if self.romfile is not None:
            _path_ok("passthru.romfile", self.romfile)
        if self.dsdt is not None:
            _path_ok("passthru.dsdt", self.dsdt)
        for tok in self.ignored:
            if "," in tok:
                raise ConfigError("passthru.ignored", tok, "a ',' cannot be represented")
            if tok.startswith(("keep_gsi", "no_reset")):
                raise ConfigError("passthru.ignored", tok,
                                  "every release reads this token as an option")

    @property
    def host_bdf(self) -> str:
        """The host address as sysfs spells it: ``0000:BB:SS.F``."""
        return f"0000:{self.host_bus:02x}:{self.host_slot:02x}.{self.host_func:x}"

    def render_config(self) -> str:
        out = [f"{self.host_bus:x}/{self.host_slot:x}/{self.host_func:x}"]
        if self.keep_gsi:
            out.append("keep_gsi")
        if self.no_reset:
            out.append("no_reset")
        if self.d3hot_reset:
            out.append("d3hot_reset")
        if self.vmsix_on_msi is not None:
            out += ["vmsix_on_msi", str(self.vmsix_on_msi)]
        if self.enable_ptm:
            out.append("enable_ptm")
        if self.romfile is not None:
            out.append(f"romfile={self.romfile}")
        if self.irq is not None:
            out.append(f"irq={self.irq}")
        if self.dsdt is not None:
            out.append(f"dsdt={self.dsdt}")
        if self.gpu:
            out.append("gpu")
        out.extend(self.ignored)
        return ",".join(out)

    @classmethod
    def parse_config(cls, emul: str, config: str | None, ctx: ParseContext) -> Passthru:
        rel = ctx.release

        def line(text: str) -> Line:
            # v1.6 passthru_init uses warnx(): stderr, program-name prefix.
            if rel.has("passthru.warnx"):
                return Line(f"acrn-dm: {text}", "stderr")
            return Line(text)

        def warn(field_name: str, text: str) -> None:
            out = line(text)
            ctx.say(field_name, out.text, out.stream)

        if config is None:
            raise DeviceInitError("passthru", None, line("Empty passthru options"))
        tokens = config.split(",")
        bdf = parse_host_bdf(tokens[0])
        if bdf is None:
            raise DeviceInitError("passthru.bdf", tokens[0],
                                  line(f"Invalid passthru BDF options:{tokens[0]}"))
        fields: dict[str, object] = {}
        ignored: list[str] = []
        bar_id = -1
        i = 1
        while i < len(tokens):
            opt = tokens[i]
            i += 1
            keyword = next((k for k, feat in _KEYWORDS
                            if opt.startswith(k) and (feat is None or rel.has(feat))), None)
            if keyword is None:
                warn("passthru.option", f"Invalid passthru options:{opt}")
                ignored.append(opt)
                continue
            if keyword == "vmsix_on_msi":
                value = tokens[i] if i < len(tokens) else None
                i += 1
                parsed = dm_strtoi(value, 10)
                if parsed is None:
                    raise DeviceInitError("passthru.vmsix_on_msi", value,
                                          line("faild to parse msix emulation bar id"))
                bar_id = parsed[0]
                if parsed[1] or value != str(bar_id):
                    ctx.warn("passthru.vmsix_on_msi",
                             f"passthru: BAR index '{value}' is read as {bar_id}")
            elif keyword == "romfile=":
                path = opt[len(keyword):]
                if len(path.encode()) > PATH_MAX_BYTES:
                    raise DeviceInitError(
                        "passthru.romfile", path,
                        line("romfile path too long, max supported path length is 255"))
                fields["romfile"] = path
            elif keyword == "irq=":
                parsed = dm_strtoi(opt[4:], 10)
                if parsed is None:
                    raise DeviceInitError("passthru.irq", opt[4:],
                                          line("Input IRQ number cannnot be recognized."))
                fields["irq"] = parsed[0]
                warn("passthru.irq", f"IRQ {parsed[0]} might be shared by multiple devices!")
                if parsed[1]:
                    ctx.warn("passthru.irq", f"passthru: '{opt}' is read as irq={parsed[0]}")
            elif keyword == "dsdt=":
                path = opt[len(keyword):]
                if len(path.encode()) > PATH_MAX_BYTES:
                    raise DeviceInitError(
                        "passthru.dsdt", path,
                        line("dsdt file path too long, max supported path length is 255"))
                fields["dsdt"] = path
            else:
                fields[keyword] = True
                if opt != keyword:
                    ctx.warn(f"passthru.{keyword}",
                             f"passthru: '{opt}' is read as {keyword} (prefix match)")
        bus, slot, func = bdf
        if not (0 <= bus <= MAX_BUS and 0 <= slot <= MAX_SLOT and 0 <= func <= MAX_FUNC):
            # libpciaccess never reports such a function: the host lookup fails.
            raise DeviceInitError(
                "passthru.bdf", tokens[0],
                line(f"No physical PCI device {_hex(bus)}:{_hex(slot)}.{_hex(func)}!"))
        if bar_id != -1:
            _check_bar_id(bar_id, rel)
            fields["vmsix_on_msi"] = bar_id
        irq = fields.get("irq")
        if isinstance(irq, int) and not 0 <= irq <= MAX_IRQ:
            # phys_pin = irq on the INTx path; -1 and > 256 are refused there.
            lines = [line(f"ptdev {_hex(bus)}/{_hex(slot)}/{_hex(func)} has wrong phys_pin "
                          f"{irq}, likely fail!")] if irq == -1 or irq > MAX_IRQ else []
            raise DeviceInitError("passthru.irq", irq, *lines)
        try:
            return cls(bus, slot, func, ignored=tuple(ignored), **fields)  # type: ignore[arg-type]
        except ConfigError as err:
            raise DeviceInitError(err.field, err.value) from err

    def missing_device_lines(self, release: Release) -> tuple[Line, ...]:
        """What acrn-dm ``release`` prints when the host has no such PCI function."""
        text = f"No physical PCI device {self.host_bus:x}:{self.host_slot:x}.{self.host_func:x}!"
        if release.has("passthru.warnx"):
            return (Line(f"acrn-dm: {text}", "stderr"),)
        return (Line(text),)

    def problems(self, release: Release) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        gated = (("d3hot_reset", self.d3hot_reset, "passthru.d3hot_vmsix"),
                 ("vmsix_on_msi", self.vmsix_on_msi is not None, "passthru.d3hot_vmsix"),
                 ("enable_ptm", self.enable_ptm, "passthru.enable_ptm"),
                 ("romfile", self.romfile is not None, "passthru.romfile"),
                 ("irq", self.irq is not None, "passthru.irq_dsdt"),
                 ("dsdt", self.dsdt is not None, "passthru.irq_dsdt"),
                 ("gpu", self.gpu, "passthru.gpu"))
        for name, used, feature in gated:
            if used and not release.has(feature):
                out.append((f"passthru.{name}", getattr(self, name),
                            f"ACRN {release} does not know '{name}' (Invalid passthru options)"))
        for tok in self.ignored:
            known = next((k for k, feat in _KEYWORDS
                          if tok.startswith(k) and (feat is None or release.has(feat))), None)
            if known is not None:
                out.append(("passthru.ignored", tok,
                            f"ACRN {release} reads this token as '{known}'"))
            else:
                out.append(("passthru.ignored", tok, "acrn-dm ignores this token"))
        if self.gpu and release.has("passthru.gpu"):
            out.append(("passthru.gpu", True,
                        "acrn-dm adds igd-lpc at 0:31.0 for this device; keep slot 31 free"))
        if self.romfile is not None and release.has("passthru.romfile"):
            out.append(("passthru.romfile", self.romfile,
                        "acrn-dm loads a ROM file only for a display-class device"))
        return out

    def files(self) -> list[FileRef]:
        refs = [FileRef("passthru.bdf", f"/sys/bus/pci/devices/{self.host_bdf}", "host")]
        if self.gpu:
            refs.append(FileRef("passthru.gpu", "/sys/bus/pci/devices/0000:00:1f.0/config",
                                "host"))
        return refs


def _check_bar_id(bar_id: int, rel: Release) -> None:
    """``pci_emul_alloc_pbar(dev, bar_id, 0, PCIBAR_MEM32, 4096)`` after the device is found
    (v3.2 devicemodel/hw/pci/core.c; its messages are pr_err)."""
    if 0 <= bar_id <= PCI_BARMAX:
        return
    if rel.has("pci.bar_index_check") and bar_id > PCI_ROMBAR:
        raise DeviceInitError(
            "passthru.vmsix_on_msi", bar_id,
            f"pci_emul_alloc_pbar: invalid bar number {bar_id} for PCI bar type")
    if rel.has("pci.bar_index_check") and bar_id == PCI_ROMBAR:
        raise DeviceInitError(
            "passthru.vmsix_on_msi", bar_id,
            f"pci_emul_alloc_pbar: invalid bar type {PCIBAR_MEM32} for PCI ROM")
    # Older releases (and negative indexes everywhere) index past the BAR table.
    raise DeviceInitError("passthru.vmsix_on_msi", bar_id)
