"""The real acrn-dm's checks, in its order, for one release.

``check(argv, release, host)`` walks argv the way ``devicemodel/core/main.c`` does:

1. the getopt loop, acting on each option as it is met (``errx`` → exit 64 on stderr, image
   checks → exit 10/11, ``-s`` slot errors → exit 1 on stdout, getopt errors → usage, exit 1);
2. after the loop: iasl (3.1+), exactly one VM name, ``--lapic_pt`` without ``--rtvm`` (3.0+),
   the name length, hugetlb and VM creation (pass on a healthy host; 1.6 validates ``-U`` here);
3. vm_init_vdevs(): the power-management channel and the VM monitor socket, then device init
   in acrn-dm's order (bus by bus; passthru first, then slot/func ascending), where each ``-s``
   config string is parsed and the files it names are opened;
4. the MP table (no device off bus 0 unless 1.6/2.7 ``-Y``), ACPI build (3.x needs a usable
   ``--cpu_affinity``) and loading the boot image.

It reports *every* problem with its argv index (``diagnostics``), and separately what the real
acrn-dm would print and exit with: it stops at the first fatal problem (``output`` and
``exit_status``). The fake, ``acrnkit check`` and the conformance runner all call this function.

Where the real acrn-dm crashes or hangs instead of answering (``-m -1G``, an AHCI port it cannot
open on 3.x, ``--pm_notify_channel uart`` without a vuart node, no device on PCI bus 0, a
``--logger_setting`` element without a comma, ...), the output is the real one's up to that
point plus one ``acrnkit:`` line (:func:`crash_note`), exit 1, and ``crash=True`` on the
diagnostic; docs/crashes.md lists them.
"""

from __future__ import annotations

from acrnkit._memo import bounded_cache
from acrnkit._records import TYPE_CHECKING, dataclass, field
from acrnkit.argv.getopt import GetoptFailure, Opt, Positional, scan
from acrnkit.argv.host import StaticHost
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import DECIMAL, number_prefix, skip_space
from acrnkit.model.devices.base import DeviceInitError, Line, ParseContext, lookup
from acrnkit.model.devices.blockif import open_failed_line
from acrnkit.model.devices.lpc import LpcPort
from acrnkit.model.slots import Bdf
from acrnkit.model.values import MIN_MEMSIZE, UNIT_SHIFT, c_strtoul
from acrnkit.model.vm import FIELD_CODECS, VM, PciDevice
from acrnkit.releases.emulations import EmulSupport
from acrnkit.releases.options import Support
from acrnkit.releases.profile import Release, get_release
from acrnkit.releases.versions import DEFAULT_VERSION

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from acrnkit.argv.host import Host

    _Built = tuple[int, Bdf, Any, bool]  # argv index, address, device model, boot flag

EX_USAGE = 64
_ONE_DIGIT = frozenset(DECIMAL)
STR_LEN = 1024  # devicemodel/include/sw_load.h STR_LEN: -k/-r/-E path limit
BOOT_ARG_LEN = 2048  # devicemodel/core/sw_load_common.c (v1.1+)


@dataclass(frozen=True)
class Diagnostic:
    """One problem. ``index`` is the argv position (argv[0] excluded) or None for the whole argv.

    ``exit_status`` is what acrn-dm exits with when this problem is the first it meets (None for
    warnings and notes). ``lines`` is what it prints for it, with streams.
    """

    severity: str  # "error" | "warning" | "note"
    index: int | None
    field: str
    value: object
    message: str
    lines: tuple[Line, ...] = ()
    exit_status: int | None = None
    crash: bool = False

    def __str__(self) -> str:
        where = f"argv[{self.index}]" if self.index is not None else "argv"
        return f"{where}: {self.severity}: {self.field}={self.value!r}: {self.message}"


@dataclass(frozen=True, eq=False)
class CheckResult:
    release: Release
    argv: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]
    #: what the real acrn-dm prints before it exits (or before the guest starts), in order
    output: tuple[Line, ...]
    #: acrn-dm's exit status, or None when it would go on to run the guest
    exit_status: int | None
    #: "run", "help", "version" or "reject"
    action: str
    #: builds the model on first use of ``vm``: validation alone never pays for it
    _vm_factory: Callable[[], VM | None] = field(repr=False, compare=False)

    @property
    def vm(self) -> VM | None:
        """The typed model of the argv, or None when it cannot be represented (built once, on
        first use)."""
        try:
            vm: VM | None = object.__getattribute__(self, "_vm")
        except AttributeError:
            vm = self._vm_factory()
            object.__setattr__(self, "_vm", vm)  # a memo, not a field: the record stays frozen
        return vm

    @property
    def ok(self) -> bool:
        return self.exit_status is None

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    @property
    def fatal(self) -> Diagnostic | None:
        return next((d for d in self.diagnostics if d.exit_status is not None), None)

    @property
    def message(self) -> str | None:
        """The key line acrn-dm prints for its rejection (the first error line), if any."""
        fatal = self.fatal
        if fatal is None:
            return None
        for line in fatal.lines:
            if not line.text.startswith("Usage:"):
                return line.text
        return None

    @property
    def stream(self) -> str | None:
        fatal = self.fatal
        if fatal is None or not fatal.lines:
            return None
        return fatal.lines[0].stream


def usage_text(release: Release, prog: str = "acrn-dm") -> str:
    """acrn-dm's usage screen for ``release``, byte for byte as ``usage()`` prints it (without the
    final newline). ``prog`` is argv[0]; ``usage()`` prints its ``basename`` and pads by it."""
    # imported here: the usage table is 14 KB of text that a passing argv never needs
    from acrnkit.releases.usage import USAGE_TEMPLATES, render_usage

    return render_usage(USAGE_TEMPLATES[release.version], prog)[:-1]


def version_text(release: Release) -> str:
    """What ``acrn-dm -v`` prints for a build of this release (build fields are acrnkit's)."""
    if release.has("version.v32_format"):
        return (f"DM: release_{release.version}-acrnkit-fake (tag: v{release.version}) "
                "build by acrnkit@fake")
    return (f"DM version is: {release.version}-acrnkit (daily tag:v{release.version}), "
            "build by acrnkit@fake")


@dataclass
class _State:
    release: Release
    host: Host
    prog: str
    argv: Sequence[str]
    diags: list[Diagnostic] = field(default_factory=list)
    out: list[Line] = field(default_factory=list)
    exit_status: int | None = None
    action: str = "run"
    values: dict[str, Any] = field(default_factory=dict)
    slots: list[tuple[int, Bdf, str, str | None, bool]] = field(default_factory=list)
    seen_bdf: set[tuple[int, int, int]] = field(default_factory=set)
    broken: bool = False  # the model cannot be built
    host_checks: bool = True  # False on StaticHost: every file is fine, skip the lookups
    #: -m that acrn-dm accepts but no host can give: (index, spelled, value, reason)
    memsize_unusable: tuple[int | None, str, str, str] | None = None
    #: a negative -m, which acrn-dm takes and dies on later: (index, spelled, value)
    memsize_negative: tuple[int | None, str, str] | None = None
    #: an AHCI port blockif_open() refused: init_pci() stopped there (index, emul, config)
    ahci_failed: tuple[int, str, str | None] | None = None

    @property
    def stopped(self) -> bool:
        return self.exit_status is not None

    def emit(self, *lines: Line) -> None:
        if not self.stopped:
            self.out.extend(lines)

    def note(self, index: int | None, fld: str, value: object, text: str,
             stream: str = "stdout", severity: str = "note") -> None:
        line = Line(text, stream)
        self.diags.append(Diagnostic(severity, index, fld, value, text, (line,)))
        self.emit(line)

    def fail(self, index: int | None, fld: str, value: object, message: str,
             lines: Sequence[Line], status: int, *, crash: bool = False,
             structural: bool = False) -> None:
        self.diags.append(Diagnostic("error", index, fld, value, message, tuple(lines),
                                     status if not self.stopped else None, crash))
        if structural:
            self.broken = True
        if not self.stopped:
            self.out.extend(lines)
            self.exit_status = status
            self.action = "reject"

    def errx(self, index: int | None, fld: str, value: object, text: str) -> None:
        # errx() prefixes program_invocation_short_name, i.e. basename(argv[0])
        short = self.prog.rsplit("/", 1)[-1]
        self.fail(index, fld, value, text, [Line(f"{short}: {text}", "stderr")], EX_USAGE)

    def usage(self, index: int | None, fld: str, value: object, message: str,
              pre: Sequence[Line] = ()) -> None:
        lines = [*pre, Line(usage_text(self.release, self.prog), "stderr")]
        self.fail(index, fld, value, message, lines, 1)


def check(argv: Sequence[str], release: Release | str = DEFAULT_VERSION,
          host: Host | None = None, prog: str = "acrn-dm") -> CheckResult:
    """Judge ``argv`` (without argv[0]) as acrn-dm ``release`` would on ``host``."""
    rel = get_release(release)
    the_host = host or StaticHost()
    st = _State(rel, the_host, prog, argv, host_checks=not isinstance(the_host, StaticHost))
    positionals: list[Positional] = []
    getopt_failed = False
    for event in scan(argv, rel, positionals):
        if isinstance(event, GetoptFailure):
            # glibc prints argv[0], which basename() has already cut at its trailing slashes
            st.usage(event.at, "argv", argv[event.at], event.message,
                     [Line(f"{_argv0_after_basename(prog)}: {event.message}", "stderr")])
            st.broken = True
            getopt_failed = True
            break
        _option(st, event)
        if st.action in ("help", "version"):
            break
    if st.action in ("help", "version"):
        return _result(st, lambda: None)
    if not getopt_failed:
        _after_options(st, positionals)
    _vdevs_before_pci(st, positionals)
    devices = _init_devices(st)
    _late_checks(st, devices)
    return _result(st, lambda: _build_vm(st, positionals, devices))


def _argv0_after_basename(prog: str) -> str:
    from acrnkit.releases.usage import argv0_after_basename

    return argv0_after_basename(prog)


def _result(st: _State, factory: Callable[[], VM | None]) -> CheckResult:
    return CheckResult(st.release, tuple(st.argv), tuple(st.diags), tuple(st.out),
                       st.exit_status, st.action, factory)


# --- the getopt loop -------------------------------------------------------------------------

def _option(st: _State, opt: Opt) -> None:
    rel = st.release
    key = opt.key
    support = rel.support.get(key)
    if support is Support.OK and key != "help" and key != "version":
        handler = _HANDLERS.get(key)
        if handler is not None:
            handler(st, opt)
        else:
            _store_parsed(st, opt)
        return
    if not key or support == Support.USAGE:
        # a letter left in optstr without a case: default: usage(1), no message of its own
        st.usage(opt.at, opt.spelled, opt.value,
                 f"{opt.spelled} is not handled by acrn-dm {rel} (usage, exit 1)")
        st.broken = True
        return
    if key in ("help", "version") and st.stopped:
        return  # an earlier option already ended acrn-dm (errx/exit); getopt never got here
    if key == "help":
        st.out.append(Line(usage_text(rel, st.prog), "stderr"))
        st.exit_status = 0
        st.action = "help"
        return
    if key == "version":
        st.out.append(Line(version_text(rel), "stdout"))
        st.exit_status = 0
        st.action = "version"
        return
    if support == Support.OBSOLETE:
        names = {"ioc_node": "-i, --ioc_node", "mptgen": "-Y, --mptgen",
                 "gvtargs": "-G, --gvtargs"}
        label = names.get(key, f"--{key}")
        st.note(opt.at, opt.spelled, opt.value,
                f'The "{label}" parameter is obsolete and ignored', severity="warning")
        _store(st, opt, opt.value if opt.value is not None else True)
        return
    handler = _HANDLERS.get(key)
    if handler is not None:
        handler(st, opt)
    else:
        _store_parsed(st, opt)


def _store(st: _State, opt: Opt, value: object) -> None:
    codec = FIELD_CODECS.get(opt.key)
    if codec is not None and codec.kind == "list":
        st.values.setdefault(opt.key, []).append(value)
        return
    if opt.key in st.values and opt.key not in ("acpi",):
        st.diags.append(Diagnostic("warning", opt.at, opt.spelled, opt.value,
                                   f"{opt.spelled} given again; the last one wins"))
    st.values[opt.key] = value


def _store_parsed(st: _State, opt: Opt) -> bool:
    codec = FIELD_CODECS[opt.key]
    if codec.kind == "flag":
        _store(st, opt, True)
        return True
    assert opt.value is not None
    try:
        _store(st, opt, codec.parse(opt.value, st.release))
    except ConfigError as err:
        st.broken = True
        st.diags.append(Diagnostic("error", opt.value_index, opt.spelled, opt.value, err.reason))
        return False
    return True


def _image(st: _State, opt: Opt, status: int) -> None:
    assert opt.value is not None
    if len(opt.value) >= STR_LEN:
        st.fail(opt.value_index, opt.spelled, opt.value, f"path longer than {STR_LEN - 1}", [], 1)
        return
    size = st.host.size(opt.value)
    if not size:
        why = "SW_LOAD ERR: image file failed to open" if size is None else \
            "SW_LOAD ERR: file is empty"
        lines = [Line(why)]
        if opt.key == "elf_file":
            st.fail(opt.value_index, opt.spelled, opt.value, why, lines, 1)
        else:
            lines.append(Line(f"SW_LOAD: check_image failed for '{opt.value}'"))
            st.fail(opt.value_index, opt.spelled, opt.value,
                    f"{why.split(': ', 1)[1]}: {opt.value}", lines, status)
        return
    # acrn_parse_kernel/_ramdisk (sw_load_bzimage.c), acrn_parse_elf (sw_load_elf.c): printf in
    # v1.6, pr_notice from v2.x; both reach the console at the default log level
    what = {"kernel": "kernel", "ramdisk": "ramdisk", "elf_file": "elf"}[opt.key]
    st.emit(Line(f"SW_LOAD: get {what} path {opt.value}"))
    _store(st, opt, opt.value)


def _h_kernel(st: _State, opt: Opt) -> None:
    _image(st, opt, 10)


def _h_ramdisk(st: _State, opt: Opt) -> None:
    _image(st, opt, 11)


def _h_elf(st: _State, opt: Opt) -> None:
    _image(st, opt, 1)


def _h_bootargs(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if len(opt.value) >= BOOT_ARG_LEN:
        st.fail(opt.value_index, opt.spelled, len(opt.value),
                f"boot arguments are at most {BOOT_ARG_LEN - 1} characters (exit 1, no message)",
                [], 1)
    else:
        st.emit(Line(f"SW_LOAD: get bootargs {opt.value}"))  # sw_load_common.c
    _store(st, opt, opt.value)


def _h_memsize(st: _State, opt: Opt) -> None:
    """``vm_parse_memsize()`` (v1.6-v3.3 devicemodel/core/vmmapi.c): ``strtoul(.., 0)``, a K/M/G
    unit (``b`` and none fall through to "unrecognized"), ``value << shift`` in 64 bits, and
    errx(EX_USAGE) when that is under 128 MB. A negative number wraps to a huge size that
    passes, then hangs (1.6) or crashes (2.7+) the real acrn-dm; a size that only wraps past
    2**64 passes too and fails later, in ``vm_setup_memory`` (see _after_options)."""
    assert opt.value is not None
    try:  # the usual case first: a size the model takes is one acrn-dm takes as it is
        _store(st, opt, FIELD_CODECS["memsize"].parse(opt.value, st.release))
        return
    except ConfigError as err:
        reason = err.reason
    parsed = c_strtoul(opt.value)
    value, rest = parsed if parsed is not None else (0, opt.value)
    shift = UNIT_SHIFT.get(rest[:1].lower())
    if shift is None or (value << shift) % (1 << 64) < MIN_MEMSIZE:
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid memsize '{opt.value}'")
        st.broken = True
        return
    sign = skip_space(opt.value)
    if opt.value.startswith("-", sign):
        # parsing passes without a word; 1.6 hangs in vm_setup_memory (_vdevs_before_pci),
        # 2.7+ crash loading the boot image (_late_checks)
        st.memsize_negative = (opt.value_index, opt.spelled, opt.value)
        st.broken = True
        return
    # acrn-dm takes it (the shifted value wrapped to >= 128 MB); guest memory of that size cannot
    # be set up later
    st.memsize_unusable = (opt.value_index, opt.spelled, opt.value, reason)
    st.broken = True


def _h_lpc(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    try:
        _store(st, opt, LpcPort.parse(opt.value, st.release))
    except ConfigError:
        st.errx(opt.value_index, opt.spelled, opt.value,
                f"invalid lpc device configuration '{opt.value}'")
        st.broken = True


@bounded_cache(maxsize=4096)
def _slot_syntax(text: str, version: str
                 ) -> tuple[str | None, Bdf | None, str, str | None, bool, EmulSupport | None]:
    """The state-free part of ``pci_parse_slot()``: (error line, bdf, emul, config, boot,
    support). Pure, so a repeated ``-s`` string is split once."""
    rel = get_release(version)
    bdf_text, comma, rest = text.partition(",")
    if not comma:
        return f'Invalid PCI slot info field "{text}"', None, "", None, False, None
    emul, comma2, tail = rest.partition(",")
    config: str | None = tail if comma2 else None
    boot = False
    if config is not None and config.startswith("b,"):
        boot, config = True, config[2:]
    support = rel.emulations.get(emul)
    if support == EmulSupport.OBSOLETE_REJECTED:
        return f'The "{emul}" parameter is obsolete and ignored', None, emul, config, boot, support
    try:
        bdf = Bdf.parse(bdf_text)
    except ConfigError:
        return f'Invalid PCI slot info field "{text}"', None, emul, config, boot, support
    return None, bdf, emul, config, boot, support


def _h_slot(st: _State, opt: Opt) -> None:
    """``pci_parse_slot()``: runs at getopt time; failures print on stdout and exit 1."""
    text = opt.value
    assert text is not None
    idx = opt.value_index
    error, bdf, emul, config, boot, support = _slot_syntax(text, st.release.version)
    if error is not None or bdf is None:
        assert error is not None
        why = error
        if support == EmulSupport.OBSOLETE_REJECTED:
            why = f"{error} (and acrn-dm {st.release} exits 1)"
        st.fail(idx, "-s", text, why, [Line(error)], 1, structural=True)
        return
    if bdf.key in st.seen_bdf:
        msg = f"pci slot {bdf.slot}:{bdf.func} already occupied!"
        st.fail(idx, "-s", text, msg, [Line(msg)], 1, structural=True)
        return
    if support is None:
        msg = f'pci slot {bdf.slot}:{bdf.func}: unknown device "{emul}"'
        st.fail(idx, "-s", text, msg, [Line(msg)], 1, structural=True)
        return
    st.seen_bdf.add(bdf.key)
    if emul == "virtio-gpu":
        st.emit(Line("pci_parse_slot: virtio-gpu device found, activating virtual display."))
        if config is None:
            # pci_parse_slot() hands the config to vdpy_parse_cmd_option() at once, which
            # strcasestr()s (v3.0) / strdup()s (v3.2, v3.3) it: NULL, SIGSEGV while the options
            # are parsed (devicemodel/hw/pci/core.c, hw/vdisplay_sdl.c)
            st.fail(idx, "-s", text, f"virtio-gpu without a config crashes acrn-dm {st.release}",
                    [crash_note(st.release, "SIGSEGV in vdpy_parse_cmd_option, virtio-gpu "
                                "without a config")], 1, crash=True, structural=True)
            return
        from acrnkit.model.devices.virtio_gpu import option_lines

        st.emit(*(Line(line) for line in option_lines(config, st.release)))
    st.slots.append((idx if idx is not None else -1, bdf, emul, config, boot))
    if (bdf.slot == 2 or bdf.slot == 31) and bdf.bus == 0 and emul not in ("lpc", "igd-lpc"):
        st.diags.append(Diagnostic(
            "warning", idx, "-s", text,
            f"slot {bdf.slot} is reserved by convention "
            + ("(GVT-g; Kata and ACRN scripts skip it)" if bdf.slot == 2 else
               "(igd-lpc / LPC devices)")))


def _h_cpu_affinity(st: _State, opt: Opt) -> None:
    """``acrn_parse_cpu_affinity()`` (v2.7-v3.3 devicemodel/core/vmmapi.c): ids go into one
    bitmap for the whole command line, so a repeated option adds to it, and ``add_one_pcpu()``
    reports an id given twice (across options too) and goes on."""
    assert opt.value is not None
    before = st.values.pop("cpu_affinity", None)
    if not _store_parsed(st, opt):
        st.diags.pop()
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid pcpu param {opt.value}")
        st.broken = True
        return
    affinity = st.values["cpu_affinity"]
    seen: set[int] = set(before.ids) if before is not None else set()
    for cpu in affinity.ids:
        if cpu in seen:
            st.note(opt.value_index, opt.spelled, opt.value,
                    f"add_one_pcpu: pcpu_id {cpu} has been allocated to this VM.",
                    severity="warning")
        seen.add(cpu)
    if before is not None:
        merged = before.items + tuple(i for i in affinity.items if i not in before.items)
        affinity = type(affinity)(merged) if merged else affinity
        st.values["cpu_affinity"] = affinity
        st.diags.append(Diagnostic("warning", opt.value_index, opt.spelled, opt.value,
                                   "--cpu_affinity given again: acrn-dm adds these CPUs to "
                                   "the earlier ones"))
    if affinity.raw is not None:
        st.diags.append(Diagnostic(
            "warning", opt.value_index, opt.spelled, opt.value,
            f"acrn-dm {st.release} reads this as {affinity.render_canonical() or 'no CPU'}"))


def _h_acpi(st: _State, opt: Opt) -> None:
    if st.release.has("obsolete_notices"):
        st.note(opt.at, opt.spelled, None,
                "The '-A' parameter is obsolete and ignored. Virtual ACPI tables are always "
                "enabled.")
    _store(st, opt, True)


def _uncommon(name: str) -> Any:
    """A handler in acrnkit/argv/uncommon.py, imported when its option first turns up."""
    def handler(st: _State, opt: Opt) -> None:
        from acrnkit.argv import uncommon

        getattr(uncommon, name)(st, opt)
    return handler


_HANDLERS: dict[str, Any] = {
    "acpi": _h_acpi,
    "kernel": _h_kernel,
    "ramdisk": _h_ramdisk,
    "elf_file": _h_elf,
    "bootargs": _h_bootargs,
    "memsize": _h_memsize,
    "lpc": _h_lpc,
    "pci_slot": _h_slot,
    "cpu_affinity": _h_cpu_affinity,
    **{key: _uncommon(f"_h_{name}") for key, name in (
        ("ovmf", "ovmf"), ("vsbl", "vsbl"), ("part_info", "part_info"),
        ("virtio_poll", "virtio_poll"), ("intr_monitor", "intr_monitor"),
        ("cmd_monitor", "cmd_monitor"), ("iasl", "iasl"), ("vtpm2", "vtpm2"),
        ("acpidev_pt", "acpidev_pt"), ("mmiodev_pt", "mmiodev_pt"), ("ssram", "ssram"),
        ("logger_setting", "logger"), ("pm_notify_channel", "pm_notify"),
        ("pm_by_vuart", "pm_by_vuart"), ("gvtargs", "gvtargs"), ("mac_seed", "mac_seed"))},
}


def crash_note(release: Release, why: str) -> Line:
    """The line acrnkit adds where the real acrn-dm crashes, aborts or hangs (stderr): what comes
    before it is what the real one prints up to that point; the exit status is 1 and the
    diagnostic has ``crash=True`` (docs/crashes.md)."""
    return Line(f"acrnkit: the real acrn-dm {release} stops here: {why}", "stderr")


# --- after the getopt loop --------------------------------------------------------------------

def _is_uuid(text: str) -> bool:
    """8-4-4-4-12 hex digits, as ``uuid_parse()`` wants."""
    groups = text.split("-")
    return [len(g) for g in groups] == [8, 4, 4, 4, 12] and \
        all(g.strip("0123456789abcdefABCDEF") == "" for g in groups)


def _after_options(st: _State, positionals: list[Positional]) -> None:
    rel = st.release
    if rel.has("iasl") and "iasl" in st.values and st.host.strict and \
            not st.host.size(str(st.values["iasl"])):
        msg = 'Cannot find Intel ACPI ASL compiler tool "iasl".'
        st.fail(None, "--iasl", st.values["iasl"], msg, [Line(msg)], 1)
    if len(positionals) != 1:
        pre = []
        if rel.has("name.missing_message"):
            pre.append(Line("You must provide the name of the Virtual Machine (VM) you want to "
                            "start. Exiting."))
        what = "no VM name" if not positionals else \
            f"{len(positionals)} non-option arguments: " + " ".join(p.value for p in positionals)
        index = positionals[1].at if len(positionals) > 1 else None
        st.usage(index, "name", [p.value for p in positionals],
                 f"{what}; acrn-dm wants exactly one VM name", pre)
    if rel.has("lapic_pt.needs_rtvm") and st.values.get("lapic_pt") and not st.values.get("rtvm"):
        st.note(None, "--lapic_pt", True,
                "Only a Realtime VM can use local APIC pass through, '--lapic_pt' is invalid "
                "here.", severity="warning")
    if positionals:
        name = positionals[0]
        if len(name.value) > rel.name_max:
            st.fail(name.at, "name", name.value,
                    f"VM name is {len(name.value)} characters; ACRN {rel} allows "
                    f"{rel.name_max}", [Line(rel.name_error)], 1)
        if name.value == "":
            st.diags.append(Diagnostic("warning", name.at, "name", "", "empty VM name"))
    gpu = next((slot for slot in st.slots if slot[2] == "virtio-gpu"), None)
    if gpu is not None and rel.has("gpu.vscreens") and gpu[3] is not None:
        from acrnkit.model.devices.virtio_gpu import GFX_FAILED, NO_GEOMETRY, option_lines

        if not any(line.startswith("virtual display:") for line in option_lines(gpu[3], rel)):
            # gfx_ui_init() runs before vm_create() (v3.2 core/main.c): with no screen parsed it
            # fails and acrn-dm exits 1; no device is initialised (hw/vdisplay_sdl.c)
            st.fail(gpu[0], "-s", f"virtio-gpu,{gpu[3]}", f"virtio-gpu: {NO_GEOMETRY}",
                    [Line(NO_GEOMETRY), Line(GFX_FAILED)], 1)
    uuid = st.values.get("uuid")
    if uuid is not None and not _is_uuid(str(uuid)):
        st.fail(None, "-U", uuid, "invalid UUID: vm_create fails", [Line("vm_create failed")], 1)
    unusable = st.memsize_unusable
    if unusable is not None:
        # vm_setup_memory() (v3.2 devicemodel/core/main.c) fails with ENOMEM for a size no host
        # has: "Unable to setup memory (12)", exit 1
        index, spelled, text, reason = unusable
        st.fail(index, spelled, text, f"acrn-dm accepts it, then cannot set up the memory: "
                f"{reason}", [Line("Unable to setup memory (12)")], 1)


# --- vm_setup_memory() and vm_init_vdevs() before the PCI devices ------------------------------

#: ``N`` in ``create_new_server: Failed to bind fd N``: the monitor socket's descriptor. It is
#: the lowest free one, so it counts what acrn-dm opened before: hugetlb memfds (one per huge
#: page size the kernel offers), the hugetlb lock file, the HSM device, the mevent and iothread
#: epolls and the timerfds of the vRTC/vPIT/vHPET. The argv does not change it, but the host
#: and every descriptor the launcher leaks into acrn-dm do (one leaked descriptor gives 36).
#: 35 is what a v3.2 build (with the HSM answered by a stand-in) printed when started with only
#: stdin, stdout and stderr open, on a kernel with 2 MB and 1 GB pages; acrnkit prints it for
#: every release.
MONITOR_SOCKET_FD = 35
#: Directories that exist whenever acrn-dm reaches monitor_init(): it creates /run/acrn and
#: /run/acrn/mngr itself (check_dir(.., CHK_CREAT)) and nothing below them.
_MONITOR_DIRS = frozenset({"", "/run", "/run/acrn", "/run/acrn/mngr"})


def _monitor_dir_missing(name: str) -> bool:
    """Whether bind() of ``/run/acrn/mngr/<name>.monitor.<pid>.socket`` fails with ENOENT: a
    ``/`` in the VM name puts the socket in a directory under /run/acrn/mngr that nobody made
    (``vm/1``); ``.``, ``..`` and empty components only move between existing directories."""
    parts = ["run", "acrn", "mngr"]
    for part in name.split("/")[:-1]:
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
        if "/" + "/".join(parts) not in _MONITOR_DIRS:
            return True
    return False


def _vdevs_before_pci(st: _State, positionals: list[Positional]) -> None:
    """What runs between VM creation and the PCI devices (devicemodel/core/main.c main() and
    vm_init_vdevs(), v1.6-v3.3): guest memory, the power-management channel, the VM monitor."""
    rel = st.release
    short = st.prog.rsplit("/", 1)[-1]
    negative = st.memsize_negative
    if negative is not None and rel.has("memsize.negative_hangs"):
        # v1.6 core/hugetlb.c: vm_setup_memory() walks the wrapped size page by page
        index, spelled, text = negative
        st.fail(index, spelled, text, f"negative memory size: acrn-dm {rel} hangs",
                [crash_note(rel, "it hangs in vm_setup_memory, the negative -m wrapped to a "
                            "huge size")], 1, crash=True)
    channel = st.values.get("pm_notify_channel")
    if isinstance(channel, str) and channel.startswith("uart"):
        # guest_pm_notify_init() -> pm_by_vuart_init() asserts node_index < MAX_NODE_CNT; only
        # a --pm_by_vuart sets it, and from v3.0 that option is ignored (v1.6-v3.3
        # devicemodel/core/pm_vuart.c and core/main.c; seen on v3.2)
        ignored = rel.support.get("pm_by_vuart") != Support.OK
        if ignored or "pm_by_vuart" not in st.values:
            line = 296 if rel.has("src.v16_line_numbers") else 271
            why = ("--pm_by_vuart is ignored" if ignored else "no --pm_by_vuart given")
            st.fail(None, "--pm_notify_channel", channel,
                    f"--pm_notify_channel uart aborts acrn-dm {rel} (SIGABRT: {why}, so the "
                    "vuart it needs never exists)",
                    [Line(f"{short}: core/pm_vuart.c:{line}: pm_by_vuart_init: Assertion "
                          "`node_index < MAX_NODE_CNT' failed.", "stderr"),
                     crash_note(rel, f"SIGABRT in pm_by_vuart_init, {why}")], 1, crash=True)
    if len(positionals) == 1 and _monitor_dir_missing(positionals[0].value):
        # monitor_init() (v1.6-v3.3 devicemodel/core/monitor.c) -> mngr_open_un() ->
        # create_new_server() (v1.6 misc/acrn-manager/acrn_mngr.c, v2.x+
        # misc/services/acrn_manager/acrn_mngr.c) printf()s the bind error; monitor_init()
        # pr_err()s its __LINE__ with "\r\n", vm_init_vdevs() fails and main() prints errno,
        # ENOENT (seen on v3.2)
        name = positionals[0]
        line = 484 if rel.has("src.v16_line_numbers") else 483
        st.fail(name.at, "name", name.value,
                f"the VM name puts the monitor socket /run/acrn/mngr/{name.value}.monitor.<pid>"
                ".socket in a directory that does not exist",
                [Line(f"create_new_server: Failed to bind fd {MONITOR_SOCKET_FD}, err: No such "
                      "file or directory"),
                 Line(f"monitor_init {line}", end="\r\n"),
                 Line("Unable to init vdev (2)")], 1)


# --- device init ------------------------------------------------------------------------------

_SINGLETON = {
    # v3.2 devicemodel/hw/pci/wdt_i6300esb.c prints this without a newline.
    "wdt-i6300esb": "wdt can't be initialized twice, please check!",
    # v3.2 devicemodel/hw/pci/npk.c; a second virtio-gpio fails init without a line of its own.
    "npk": "NPK is already in use",
    "virtio-gpio": "",
    "virtio-gpu": "virtio_gpu_init: only 1 virtio-gpu device can be created.",
    "xhci": "controller already defined",
}


def _init_devices(st: _State) -> list[_Built]:
    rel = st.release
    built: list[_Built] = []
    # init_pci() (hw/pci/core.c, v1.6-v3.3): bus by bus; on each, passthru devices first, then
    # the others, by slot and function
    order = sorted(st.slots, key=lambda s: (s[1].bus, s[2] != "passthru", s[1].key))
    counts: dict[str, int] = {}
    stdio_owner: str | None = None
    lpc_seen = False
    for idx, bdf, emul, config, boot in order:
        cls_parser = lookup(emul)
        if st.ahci_failed is not None:
            # init_pci() stopped at the AHCI failure: acrn-dm never looks at the devices after
            # it; acrnkit parses them for the model only, silently
            if cls_parser is not None:
                later = _parse_device(emul, config, rel.version, bdf.slot, bdf.func)
                if later[1] is None:
                    built.append((idx, bdf, later[0], boot))
            continue
        if emul == "lpc":
            if lpc_seen:
                _init_fail(st, idx, emul, config, [Line("Only one LPC bridge is allowed.")],
                           "only one LPC bridge")
                continue
            lpc_seen = True
            if bdf.bus != 0:
                _init_fail(st, idx, emul, config,
                           [Line("LPC bridge can be present only on bus 0.")], "LPC on bus != 0")
                continue
        if emul in _SINGLETON:
            counts[emul] = counts.get(emul, 0) + 1
            if counts[emul] > 1:
                text = _SINGLETON[emul]
                end = "" if emul == "wdt-i6300esb" else "\n"
                _init_fail(st, idx, emul, config, [Line(text, end=end)] if text else [],
                           f"a second {emul}")
                continue
        if cls_parser is None:
            st.diags.append(Diagnostic("warning", idx, "-s", emul,
                                       f"acrnkit has no model for {emul}; its config is not "
                                       "checked"))
            st.broken = True
            continue
        device, err, warnings, problems, said = _parse_device(emul, config, rel.version,
                                                              bdf.slot, bdf.func)
        for fld, line in said:
            st.note(idx, fld, config, line.text, line.stream, severity="warning")
        if err is not None:
            why = f"{err.field}={err.value!r}: " + (str(err) if err.lines else
                                                     "rejected at device init")
            if emul in _AHCI:
                _ahci_fail(st, idx, emul, config, list(err.lines), why)
            else:
                _init_fail(st, idx, emul, config, list(err.lines), why)
            st.broken = True
            continue
        for fld, line in warnings:
            if (fld, line) not in said:  # said lines became notes above
                st.diags.append(Diagnostic("warning", idx, fld, config, line.text))
        # stdio may back only one device: LPC COM ports open at the lpc slot's init.
        wants_stdio = False
        if emul == "lpc":
            wants_stdio = any(p.backend == "stdio" for p in st.values.get("lpc", []))
        elif emul == "virtio-console":
            wants_stdio = any(p.kind == "stdio" for p in device.ports)
        elif emul == "uart":
            wants_stdio = getattr(device, "backend", None) == "stdio"
        if wants_stdio:
            if stdio_owner is not None:
                msg = ("vtcon: stdio is used by other device" if emul == "virtio-console"
                       else "uart: stdio is used by other device")
                _init_fail(st, idx, emul, config, [Line(msg)],
                           f"stdio already used by {stdio_owner}")
                continue
            stdio_owner = emul
        lines = (_file_lines(st, idx, emul, device, config, bdf.slot, bdf.func)
                 if st.host_checks else None)
        if lines is not None:
            if emul in _AHCI:
                _ahci_fail(st, idx, emul, config, lines[1], lines[0])
                built.append((idx, bdf, device, boot))  # the model is fine; the host is not
            else:
                # a backing file that does not open leaves ENOENT in errno for main()'s line
                errno = 2 if lines[0].startswith("cannot open ") else 22
                _init_fail(st, idx, emul, config, lines[1], lines[0], errno)
            continue
        if emul == "lpc":
            bad = _lpc_port_files(st)
            if bad is not None:
                _init_fail(st, idx, emul, config, bad[1], bad[0])
                continue
        for fld, value, reason in problems:
            st.diags.append(Diagnostic("warning", idx, fld, value, reason))
        built.append((idx, bdf, device, boot))
    return built


@bounded_cache(maxsize=4096)
def _parse_device(emul: str, config: str | None, version: str, slot: int, func: int,
                  ) -> tuple[Any, DeviceInitError | None, tuple[tuple[str, Line], ...],
                             tuple[tuple[str, object, str], ...], tuple[tuple[str, Line], ...]]:
    """A device's config string, parsed as its init would: a pure function of its inputs, so
    repeated strings (eight ``nodisk`` placeholders, the same argv checked again) parse once."""
    found = lookup(emul)
    assert found is not None
    ctx = ParseContext(get_release(version), slot, func)
    try:
        device = found[1](emul, config, ctx)
    except DeviceInitError as err:
        return None, err, tuple(ctx.warnings), (), tuple(ctx.said)
    return (device, None, tuple(ctx.warnings), tuple(device.problems(ctx.release)),
            tuple(ctx.said))


def _init_fail(st: _State, idx: int, emul: str, config: str | None, lines: list[Line],
               why: str, errno: int = 22) -> None:
    """A device init that returns < 0: init_pci() prints ``pci <emul> init failed`` and fails,
    main() prints ``Unable to init vdev (errno)`` and exits 1. A device model whose last line
    is an acrnkit stderr note (``acrnkit: ...``) means the real init crashes there instead:
    nothing follows the lines before it."""
    value = f"{emul},{config}" if config is not None else emul
    if lines and lines[-1].stream == "stderr" and lines[-1].text.startswith("acrnkit: "):
        st.fail(idx, "-s", value, f"{emul}: {why}", lines, 1, crash=True)
        return
    full = [*lines, Line(f"pci {emul} init failed"),
            Line(f"Unable to init vdev ({errno})")]
    st.fail(idx, "-s", value, f"{emul}: {why}", full, 1)


_AHCI = frozenset({"ahci", "ahci-hd", "ahci-cd"})


def _ahci_fail(st: _State, idx: int, emul: str, config: str | None, lines: list[Line],
               why: str) -> None:
    """blockif_open() refused a port: pci_ahci_init() returns 1, init_pci() prints
    ``pci <emul> init failed``, initialises no further device and returns 1, which
    vm_init_vdevs() takes for success (it tests ``< 0``) (v1.6-v3.3 hw/pci/ahci.c,
    hw/pci/core.c, core/main.c). 1.6 and 2.7 then run the VM; 3.x die later (_late_checks)."""
    rel = st.release
    out = (*lines, Line(f"pci {emul} init failed"))
    survives = rel.has("ahci.missing_ok")
    st.ahci_failed = (idx, emul, config)
    st.diags.append(Diagnostic(
        "warning" if survives else "error", idx, "-s",
        f"{emul},{config}" if config is not None else emul,
        f"{emul}: {why}: acrn-dm {rel} initialises no device after it and "
        + ("runs the VM anyway" if survives else "dies later (docs/crashes.md)"), out))
    st.emit(*out)


def _file_lines(st: _State, idx: int, emul: str, device: Any, config: str | None,
                slot: int = 0, func: int = 0) -> tuple[str, list[Line]] | None:
    host = st.host
    for ref in device.files():
        if ref.kind == "blk":
            # blockif opens read-write: a directory fails there like a missing file
            size = None if host.is_dir(ref.path) else host.size(ref.path)
            if size is None:
                # blockif_open() (hw/block_if.c), for virtio-blk and AHCI alike; v2.7+ print
                # it without a newline, so "pci <emul> init failed" runs on
                lines = [open_failed_line(ref.path, st.release)]
                if emul == "virtio-blk":
                    # virtio_blk_init() adds its own line, without a newline either
                    # (v1.6-v3.3 hw/pci/virtio/virtio_block.c)
                    lines.append(Line("Could not open backing file", end=""))
                return (f"cannot open {ref.path}", lines)
            if host.is_regular(ref.path) and (size < 512 or size % 512):
                return (f"{ref.path} is {size} bytes, not a multiple of 512",
                        [Line(f"{ref.path} size not corret, should be multiple of 512")])
        elif ref.kind == "tty":
            if not host.is_tty(ref.path):
                if hasattr(device, "backend_failure_lines"):
                    return (f"{ref.path} is not a tty",
                            list(device.backend_failure_lines("not a tty", slot, func)))
                prefix = "vtcon" if emul == "virtio-console" else "uart"
                return (f"{ref.path} is not a tty", [Line(f"{prefix}: not a tty: {ref.path}")])
        elif ref.kind == "socket-client":
            if not host.is_socket(ref.path):
                return (f"client socket {ref.path} does not exist",
                        [Line(f"{ref.path} not exist")])
        elif ref.kind == "host" and not host.host_resource(ref.path):
            # devices that know acrn-dm's own words for a missing host resource say them
            for method in ("missing_device_lines", "missing_port_lines"):
                if hasattr(device, method):
                    lines = list(getattr(device, method)(st.release))
                    return (f"host resource {ref.path} missing (strict host)", lines)
            return (f"host resource {ref.path} missing (strict host)",
                    [Line(f"{emul}: {ref.path} not available")])
    return None


def _lpc_port_files(st: _State) -> tuple[str, list[Line]] | None:
    for port in st.values.get("lpc", []):
        backend = port.backend or ""
        if port.backend_kind == "tcp" and not (
                backend.startswith("tcp") and ":" in backend
                and number_prefix(backend.partition(":")[2], 10) is not None):
            # uart_set_backend(): "tcp" needs ":<port>" (dm_strtol), else the LPC init fails
            # with no line of its own (v3.2 devicemodel/hw/uart_core.c)
            return (f"-l {port.render()}: tcp backend without a port number", [])
        for ref in port.files():
            if not st.host.is_tty(ref.path):
                return (f"{ref.path} is not a tty", [Line(f"uart: not a tty: {ref.path}")])
    return None


_KERNEL_LOAD_OFF = 16 << 20  # v1.6-v3.3 devicemodel/core/sw_load_bzimage.c KERNEL_LOAD_OFF
_LOWMEM_LIMIT = 0x80000000  # PCI_EMUL_MEMBASE32 (include/pci_core.h): lowmem ends at 2 GB


def _kernel_fits(st: _State) -> None:
    """acrn_prepare_kernel() (sw_load_bzimage.c): the kernel is loaded at 16 MB and must end
    below the ramdisk, which sits at the top of low memory (``roundup(ramdisk + 8K, 4K)`` below
    it from v2.x; a fixed 4 MB in v1.6). A directory given to -k opens and "sizes" like a huge
    file on ext4, and fails here."""
    kernel = st.host.size(str(st.values["kernel"])) or 0
    ramdisk = st.host.size(str(st.values["ramdisk"])) or 0 if "ramdisk" in st.values else 0
    memsize = st.values["memsize"].bytes if "memsize" in st.values else 256 << 20
    lowmem = min(memsize, _LOWMEM_LIMIT)
    reserved = 4 << 20 if st.release.has("dm.v16_messages") else -(-(ramdisk + 8192) // 4096) * 4096
    if kernel + _KERNEL_LOAD_OFF > lowmem - reserved:
        st.fail(None, "-k", st.values["kernel"],
                f"a {kernel}-byte kernel does not fit below the ramdisk in {lowmem >> 20} MB of "
                "low memory", [Line("SW_LOAD ERR: need big system memory to fit image"),
                                Line("acrn_sw_load failed, error=-1")], 1)


#: mptable_build() (v1.6-v3.3 devicemodel/core/mptbl.c), when pci_bus_configured() for a bus
#: other than 0: pr_err()s ending in "\r\n" (stdout), then main() exits 1 (seen on v3.2)
_MPTABLE_LINES = (
    Line("MPtable is incompatible with multiple PCI hierarchies.", end="\r\n"),
    Line("MPtable generation can be disabled by passing the -Y option to acrn-dm.", end="\r\n"),
)


def _teardown(st: _State, lines: list[Line]) -> tuple[list[Line], bool]:
    """A failure after init_pci(): main() tears the VM down. After an AHCI failure on a
    release that dies of it, deinit_pci() frees again the devices init_pci() already freed
    (pci_emul_deinit() leaves fi_devi dangling) and glibc aborts (seen on v3.2 with glibc's
    tcache check). Returns the lines and whether it is a crash."""
    if st.ahci_failed is None or st.release.has("ahci.missing_ok"):
        return lines, False
    return [*lines, Line("free(): double free detected in tcache 2", "stderr"),
            crash_note(st.release, "SIGABRT, a double free in deinit_pci after the failed "
                       "AHCI init")], True


def _late_checks(st: _State, devices: list[_Built]) -> None:
    """main() after vm_init_vdevs() (core/main.c, v1.6-v3.3): the end of init_pci(), then
    mptable_build(), acpi_build() and acrn_sw_load()."""
    rel = st.release
    # one pass over the slots: is bus 0 used, and the first device on another bus
    on_bus0 = False
    other_bus = None
    for slot in st.slots:
        bdf = slot[1]
        if bdf.bus == 0:
            on_bus0 = True
        elif other_bus is None:
            other_bus = bdf
    if st.ahci_failed is None and not on_bus0:
        # init_pci() (hw/pci/core.c) reads pci_businfo[0]->memlimit32 after the devices are up:
        # NULL when no -s device sits on bus 0 (none at all, or all on other buses)
        st.fail(None, "-s", None, f"no device on PCI bus 0: the real acrn-dm {rel} crashes "
                "(SIGSEGV)", [crash_note(rel, "SIGSEGV in init_pci, no device on PCI bus 0")],
                1, crash=True)
    # -Y (mptgen = 0) skips the MP table in 1.6 and 2.7; from 3.0 -Y is obsolete and ignored
    # and main() always calls mptable_build() (v1.6-v3.3 devicemodel/core/main.c)
    if other_bus is not None and not (rel.support.get("mptgen") == Support.OK
                                      and st.values.get("mptgen")):
        lines, died = _teardown(st, list(_MPTABLE_LINES))
        st.fail(None, "-s", str(other_bus),
                f"a device on PCI bus {other_bus.bus}: acrn-dm {rel} cannot build its MP table"
                + ("" if rel.support.get("mptgen") != Support.OK else " (add -Y)"),
                lines, 1, crash=died)
    if rel.has("obsolete_notices") and (
            "cpu_affinity" not in st.values or not st.values["cpu_affinity"].ids):
        lines, died = _teardown(st, [
            # v3.0-v3.3 core/mptbl.c mpt_build_proc_entries() reports and goes on, then
            # hw/platform/acpi/acpi.c basl_fwrite_madt() fails the ACPI build
            Line("mpt_build_proc_entries,Err: Invalid guest_pcpu_bitmask."),
            Line("basl_fwrite_madt,Err: Invalid guest_pcpu_bitmask."),
            Line("acpi_build failed, error=-1")])
        st.fail(None, "--cpu_affinity", None,
                f"acrn-dm {rel} needs --cpu_affinity: without it ACPI build fails",
                lines, 1, crash=died)
    ahci = st.ahci_failed
    if ahci is not None and not rel.has("ahci.missing_ok"):
        index, emul, config = ahci
        st.fail(index, "-s", f"{emul},{config}" if config is not None else emul,
                f"{emul} init failed, so acrn-dm {rel} crashes building the ACPI tables",
                [crash_note(rel, f"SIGSEGV in acpi_build after the failed {emul} init")], 1,
                crash=True)
    boot = [k for k in ("vsbl", "ovmf", "kernel", "elf_file") if k in st.values]
    negative = st.memsize_negative
    if not boot:
        st.fail(None, "boot image", None, "no boot image: give -k, -E, --ovmf or --vsbl",
                [Line("acrn_sw_load failed, error=-1")], 1)
    elif negative is not None:
        # the wrapped size passes vm_setup_memory() (1.6 hangs there: _vdevs_before_pci);
        # loading the boot image into it crashes (seen on v3.2 with the HSM answered by a
        # stand-in; 2.7 per acrn-dm-cli.md §8)
        at, spelled, text = negative
        st.fail(at, spelled, text, f"negative memory size: acrn-dm {rel} crashes",
                [crash_note(rel, "SIGSEGV in acrn_sw_load, the negative -m wrapped to a huge "
                            "size")], 1, crash=True)
    elif boot == ["kernel"] and st.host_checks:
        _kernel_fits(st)
    if "bootargs" in st.values and "kernel" not in st.values:
        st.diags.append(Diagnostic("warning", None, "-B", st.values["bootargs"],
                                   "-B without -k: acrn-dm accepts it but nothing reads it"))


def _build_vm(st: _State, positionals: list[Positional], devices: list[_Built]) -> VM | None:
    if st.broken or len(devices) != len(st.slots):
        return None
    kwargs: dict[str, Any] = {}
    for key, value in st.values.items():
        if key not in FIELD_CODECS and key != "ssram":
            continue
        codec = FIELD_CODECS.get(key)
        kwargs[key] = tuple(value) if codec is not None and codec.kind == "list" else value
    by_argv = sorted(devices, key=lambda item: item[0])
    try:
        kwargs["devices"] = tuple(PciDevice(bdf, dev, boot) for _, bdf, dev, boot in by_argv)
    except ConfigError as err:
        st.diags.append(Diagnostic("error", None, err.field, err.value, err.reason))
        return None
    if len(positionals) == 1:
        kwargs["name"] = positionals[0].value
    try:
        return VM(**kwargs)
    except ConfigError as err:
        st.diags.append(Diagnostic("error", None, err.field, err.value, err.reason))
        return None
