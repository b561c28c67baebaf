"""The real acrn-dm's checks, in its order, for one release.

``check(argv, release, host)`` walks argv the way ``devicemodel/core/main.c`` does:

1. the getopt loop, acting on each option as it is met (``errx`` → exit 64 on stderr, image
   checks → exit 10/11, ``-s`` slot errors → exit 1 on stdout, getopt errors → usage, exit 1);
2. after the loop: iasl (3.1+), exactly one VM name, ``--lapic_pt`` without ``--rtvm`` (3.0+),
   the name length, hugetlb and VM creation (pass on a healthy host; 1.6 validates ``-U`` here);
3. device init in acrn-dm's order (passthru first, then bus/slot/func ascending), where each
   ``-s`` config string is parsed and the files it names are opened;
4. ACPI build (3.x needs a usable ``--cpu_affinity``) and loading the boot image.

It reports *every* problem with its argv index (``diagnostics``), and separately what the real
acrn-dm would print and exit with: it stops at the first fatal problem (``output`` and
``exit_status``). The fake, ``acrnkit check`` and the conformance runner all call this function.

Where the real acrn-dm crashes or hangs instead of answering (``-m -1G``, an AHCI disk that does
not exist on 3.2+, ``--pm_notify_channel uart`` on 3.x, no ``-s`` device on 3.2+, a
``--logger_setting`` element without a comma), the verdict is a clear rejection with exit 1 and
``crash=True`` on the diagnostic; docs/crashes.md lists them.
"""

from __future__ import annotations

from acrnkit._memo import bounded_cache
from acrnkit._records import TYPE_CHECKING, dataclass, field, replace
from acrnkit.argv.getopt import GetoptFailure, Opt, Positional, scan
from acrnkit.argv.host import StaticHost
from acrnkit.errors import ConfigError
from acrnkit.model.ctext import DECIMAL, number_prefix, skip_space
from acrnkit.model.devices.base import DeviceInitError, Line, ParseContext, lookup
from acrnkit.model.devices.lpc import LpcPort
from acrnkit.model.slots import Bdf
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


#: The flag cluster on the first usage line (``usage()`` in devicemodel/core/main.c per tag).
USAGE_FLAGS = {"1.6": "hAWYv", "2.7": "hAWYv", "3.0": "hYv", "3.2": "hYv", "3.3": "hYv"}


def usage_text(release: Release, prog: str = "acrn-dm") -> str:
    """acrn-dm's usage screen for ``release``: the synopsis line as acrn-dm prints it, then the
    options of this release (acrnkit's own wording, generated from the option table).
    ``prog`` is ``basename(argv[0])``, as ``usage()`` prints it."""
    prog = prog.rsplit("/", 1)[-1]
    flags = USAGE_FLAGS[release.version]
    lines = [f"Usage: {prog} [-{flags}] [-B bootargs] [-E elf_image_path]"]
    pad = " " * (len(prog) + 7)
    opts = []
    for letter, (takes, key) in sorted(release.shorts.items()):
        if takes and key and letter not in "BE" and release.support.get(key) == Support.OK:
            opts.append(f"[-{letter} {key}]")
    for opt in release.longs:
        if release.short_for(opt.key) is None:
            opts.append(f"[--{opt.name}{' ' + opt.name if opt.takes_arg else ''}]")
    row = ""
    for item in opts + ["<vm>"]:
        if len(row) + len(item) > 70:
            lines.append(pad + row.rstrip())
            row = ""
        row += item + " "
    lines.append(pad + row.rstrip())
    return "\n".join(lines)


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
            st.usage(event.at, "argv", argv[event.at], event.message,
                     [Line(f"{prog}: {event.message}", "stderr")])
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
    devices = _init_devices(st)
    _late_checks(st, devices)
    return _result(st, lambda: _build_vm(st, positionals, devices))


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
    _store(st, opt, opt.value)


def _h_memsize(st: _State, opt: Opt) -> None:
    """``vm_parse_memsize()``: errx(EX_USAGE) on a bad size; a negative one wraps in strtoul and
    hangs (1.6) or crashes (2.7+) the real acrn-dm."""
    assert opt.value is not None
    sign = skip_space(opt.value)
    digit = skip_space(opt.value, sign + 1)
    if opt.value.startswith("-", sign) and opt.value[digit:digit + 1] in _ONE_DIGIT:
        what = "hangs" if st.release.has("memsize.negative_hangs") else "crashes"
        st.fail(opt.value_index, opt.spelled, opt.value,
                f"negative memory size: acrn-dm {st.release} {what}",
                [Line(f"acrn-dm: invalid memsize '{opt.value}' (acrnkit: the real acrn-dm "
                      f"{st.release} {what} on a negative size)", "stderr")], 1, crash=True,
                structural=True)
        return
    try:
        _store(st, opt, FIELD_CODECS["memsize"].parse(opt.value, st.release))
    except ConfigError as err:
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid memsize '{opt.value}'")
        st.diags[-1] = replace(st.diags[-1], message=f"invalid memsize: {err.reason}")
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
    st.slots.append((idx if idx is not None else -1, bdf, emul, config, boot))
    if (bdf.slot == 2 or bdf.slot == 31) and bdf.bus == 0 and emul not in ("lpc", "igd-lpc"):
        st.diags.append(Diagnostic(
            "warning", idx, "-s", text,
            f"slot {bdf.slot} is reserved by convention "
            + ("(GVT-g; Kata and ACRN scripts skip it)" if bdf.slot == 2 else
               "(igd-lpc / LPC devices)")))


def _h_cpu_affinity(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if not _store_parsed(st, opt):
        st.diags.pop()
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid pcpu param {opt.value}")
        st.broken = True
        return
    affinity = st.values["cpu_affinity"]
    seen: set[int] = set()
    for cpu in affinity.ids:
        if cpu in seen:  # add_one_pcpu(): reported, not fatal
            st.note(opt.value_index, opt.spelled, opt.value,
                    f"add_one_pcpu: pcpu_id {cpu} has been allocated to this VM.",
                    severity="warning")
        seen.add(cpu)
    if affinity.raw is not None:
        st.diags.append(Diagnostic(
            "warning", opt.value_index, opt.spelled, opt.value,
            f"acrn-dm {st.release} reads this as {affinity.render_canonical() or 'no CPU'}"))


def _h_ovmf(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if "vsbl" in st.values:  # acrn-dm ignores --ovmf after --vsbl (main.c)
        st.diags.append(Diagnostic("warning", opt.at, opt.spelled, opt.value,
                                   "--ovmf is ignored after --vsbl"))
    ok = _store_parsed(st, opt)
    if ok:
        ovmf = st.values["ovmf"]
        ok = all(st.host.size(p) for p in ovmf.paths())
        if not ok:
            st.diags.append(Diagnostic("error", opt.value_index, opt.spelled, opt.value,
                                       "OVMF image missing or empty"))
    else:
        st.broken = True
    if not ok:
        st.diags.pop()
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid ovmf param {opt.value}")


def _h_vsbl(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if not st.host.size(opt.value):
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid vsbl param {opt.value}")
    _store(st, opt, opt.value)


def _h_part_info(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if not st.host.size(opt.value):
        st.errx(opt.value_index, opt.spelled, opt.value,
                f"invalid guest partition info param {opt.value}")
    _store(st, opt, opt.value)


def _h_virtio_poll(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    from acrnkit.model.values import c_strtoul

    parsed = c_strtoul(opt.value)
    value = parsed[0] if parsed else 0
    if not 1 <= value <= 10_000_000:
        st.errx(opt.value_index, opt.spelled, opt.value,
                f"invalid virtio poll interval {opt.value}")
        st.broken = True
        return
    if parsed and (parsed[1] or str(value) != opt.value):
        _store(st, opt, value)  # written in hex or with junk: keep the number
        st.broken = True  # the model would render it differently
        return
    _store(st, opt, value)


def _h_intr_monitor(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if not _store_parsed(st, opt):
        st.diags.pop()
        pre = Line(f"{opt.value}: not correct, it should be like: --intr_monitor 10000,10,1,100,"
                   " please check!")
        st.fail(opt.value_index, opt.spelled, opt.value, f"invalid intr-monitor params {opt.value}",
                [pre, Line(f"acrn-dm: invalid intr-monitor params {opt.value}", "stderr")],
                EX_USAGE, structural=True)


def _h_text_limit(message: str) -> Any:
    def handler(st: _State, opt: Opt) -> None:
        assert opt.value is not None
        if len(opt.value) >= STR_LEN or opt.value == "":
            st.errx(opt.value_index, opt.spelled, opt.value, f"{message} {opt.value}")
        _store(st, opt, opt.value)
    return handler


def _h_vtpm2(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if any(v.startswith("MSFT0101") for v in st.values.get("acpidev_pt", [])):
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid vtpm2 param {opt.value}")
    elif not opt.value.startswith("sock_path="):
        st.diags.append(Diagnostic("warning", opt.value_index, opt.spelled, opt.value,
                                   "acrn-dm wants sock_path=<path>; a bare path leaves the "
                                   "socket unset"))
    _store(st, opt, opt.value)


def _h_acpidev_pt(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if "vtpm2" in st.values:
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid pt acpi dev param {opt.value}")
    _store(st, opt, opt.value)


def _h_mmiodev_pt(st: _State, opt: Opt) -> None:
    import re  # only for this rarely used option: re is off the usual start-up path
    assert opt.value is not None
    if not re.fullmatch(r"0[xX][0-9a-fA-F]+,0[xX][0-9a-fA-F]+", opt.value):
        base, _, size = opt.value.partition(",")
        st.note(opt.value_index, opt.spelled, opt.value,
                f"{base}, {size} invalid, please check!", severity="warning")
    _store(st, opt, opt.value)


def _h_ssram(st: _State, opt: Opt) -> None:
    import re  # only for this rarely used option: re is off the usual start-up path
    if opt.value is None:
        _store(st, opt, True)
        return
    if not re.fullmatch(r"L\d,vcpu=(all|\d+(:\d+)*),size=\d+[KM](;L\d,vcpu=(all|\d+(:\d+)*),"
                        r"size=\d+[KM])*", opt.value):
        st.errx(opt.value_index, opt.spelled, opt.value,
                f"invalid vSSRAM buffer size param {opt.value}")
        st.broken = True
        if opt.value_index == len(st.argv) - 1:
            st.diags.append(Diagnostic(
                "warning", opt.value_index, opt.spelled, opt.value,
                f"--ssram takes an argument since ACRN 3.0 and swallowed '{opt.value}', "
                "which looks like the VM name"))
        return
    _store(st, opt, opt.value)


def _h_logger(st: _State, opt: Opt) -> None:
    """``init_logger_setting()`` (v3.2 devicemodel/log/log.c): ``name,level=N[;...]``; each good
    element prints ``logger: name=..., level=...`` on stdout; junk after N is allowed."""
    import re  # only for this rarely used option: re is off the usual start-up path
    assert opt.value is not None
    lines: list[Line] = []
    for elem in opt.value.split(";"):
        name, comma, level = elem.partition(",")
        if not comma:
            st.fail(opt.value_index, opt.spelled, opt.value,
                    "a logger_setting element without ',' crashes acrn-dm (NULL dereference)",
                    [*lines, Line(f"acrn-dm: invalid logger setting params {opt.value} (acrnkit: "
                                  "the real acrn-dm crashes here)", "stderr")], 1, crash=True,
                    structural=True)
            return
        m = re.match(r"level=\s*\+?(\d+)", level)
        if not m:
            st.fail(opt.value_index, opt.spelled, opt.value,
                    f"invalid logger setting params {opt.value}",
                    [*lines, Line(f"logger setting param error: {level}, please check!", "stderr"),
                     Line(f"acrn-dm: invalid logger setting params {opt.value}", "stderr")],
                    EX_USAGE, structural=True)
            return
        lines.append(Line(f"logger: name={name}, level={int(m.group(1))}"))
    st.emit(*lines)
    _store(st, opt, opt.value)


def _h_pm_notify(st: _State, opt: Opt) -> None:
    value = opt.value
    assert value is not None
    if st.release.has("pm_notify.strict"):
        if value not in ("ioc", "power_button", "uart", "uart,allow_trigger_s5"):
            st.errx(opt.value_index, opt.spelled, value, f"invalid pm_notify_channel: {value}")
            _store(st, opt, value)
            return
    elif not any(value.startswith(p) for p in ("ioc", "power_button", "uart")):
        st.diags.append(Diagnostic("warning", opt.value_index, opt.spelled, value,
                                   "acrn-dm 1.6 silently ignores an unknown channel"))
    if st.release.has("obsolete_notices"):
        st.note(opt.value_index, opt.spelled, value,
                'The "--pm_notify_channel" parameter is obsolete', severity="warning")
    _store(st, opt, value)


def _h_pm_by_vuart(st: _State, opt: Opt) -> None:
    value = opt.value
    assert value is not None
    kind, comma, node = value.partition(",")
    if kind.lower() not in ("pty", "tty") or not comma or not node:
        st.errx(opt.value_index, opt.spelled, value, f"invalid pm-by-vuart params {value}")
    _store(st, opt, value)


def _h_gvtargs(st: _State, opt: Opt) -> None:
    import re  # only for this rarely used option: re is off the usual start-up path
    value = opt.value
    assert value is not None
    if len(re.findall(r"[+-]?\d+", value)) < 3 or not re.fullmatch(
            r"\s*[+-]?\d+\s+[+-]?\d+\s+[+-]?\d+.*", value):
        st.errx(opt.value_index, opt.spelled, value, f"invalid GVT param {value}")
    _store(st, opt, value)


def _h_acpi(st: _State, opt: Opt) -> None:
    if st.release.has("obsolete_notices"):
        st.note(opt.at, opt.spelled, None,
                "The '-A' parameter is obsolete and ignored. Virtual ACPI tables are always "
                "enabled.")
    _store(st, opt, True)


def _h_mac_seed(st: _State, opt: Opt) -> None:
    if st.release.has("obsolete_notices"):
        st.note(opt.at, opt.spelled, opt.value, 'The "--mac_seed" parameter is obsolete',
                severity="warning")
        st.note(opt.at, opt.spelled, opt.value,
                'Please use the "virtio-net,<device_type>=<name> mac_seed=<seed_string>"',
                severity="warning")
    _store(st, opt, opt.value)


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
    "ovmf": _h_ovmf,
    "vsbl": _h_vsbl,
    "part_info": _h_part_info,
    "virtio_poll": _h_virtio_poll,
    "intr_monitor": _h_intr_monitor,
    "cmd_monitor": _h_text_limit("invalid command monitor params"),
    "iasl": _h_text_limit("invalid iasl param"),
    "vtpm2": _h_vtpm2,
    "acpidev_pt": _h_acpidev_pt,
    "mmiodev_pt": _h_mmiodev_pt,
    "ssram": _h_ssram,
    "logger_setting": _h_logger,
    "pm_notify_channel": _h_pm_notify,
    "pm_by_vuart": _h_pm_by_vuart,
    "gvtargs": _h_gvtargs,
    "mac_seed": _h_mac_seed,
}


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
    uuid = st.values.get("uuid")
    if uuid is not None and not _is_uuid(str(uuid)):
        st.fail(None, "-U", uuid, "invalid UUID: vm_create fails", [Line("vm_create failed")], 1)


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
    order = sorted(st.slots, key=lambda s: (s[2] != "passthru", s[1].key))
    counts: dict[str, int] = {}
    stdio_owner: str | None = None
    lpc_seen = False
    for idx, bdf, emul, config, boot in order:
        cls_parser = lookup(emul)
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
            _init_fail(st, idx, emul, config, list(err.lines),
                       f"{err.field}={err.value!r}: " + (str(err) if err.lines else
                                                          "rejected at device init"))
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
            _init_fail(st, idx, emul, config, lines[1], lines[0], crash="crashes" in lines[0])
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
               why: str, *, crash: bool = False) -> None:
    full = [*lines, Line(f"pci {emul} init failed"),
            Line("Unable to init vdev (22)")]
    st.fail(idx, "-s", f"{emul},{config}" if config is not None else emul,
            f"{emul}: {why}", full, 1, crash=crash)


def _file_lines(st: _State, idx: int, emul: str, device: Any, config: str | None,
                slot: int = 0, func: int = 0) -> tuple[str, list[Line]] | None:
    host = st.host
    for ref in device.files():
        if ref.kind == "blk":
            size = host.size(ref.path)
            if size is None:
                if emul.startswith("ahci") and st.release.has("ahci.missing_ok"):
                    st.diags.append(Diagnostic(
                        "warning", idx, ref.field, ref.path,
                        f"cannot open {ref.path}: acrn-dm {st.release} starts with the port "
                        "empty"))
                    continue
                if emul.startswith("ahci"):
                    return (f"missing AHCI disk {ref.path}: the real acrn-dm {st.release} "
                            "crashes (SIGSEGV)",
                            [Line(f"Could not open backing file: {ref.path}"),
                             Line("acrnkit: the real acrn-dm crashes here", "stderr")])
                if st.release.has("blk.open_warn"):
                    return (f"cannot open {ref.path}",
                            [Line(f"acrn-dm: Could not open backing file: {ref.path}: "
                                  "No such file or directory", "stderr")])
                # pr_err without a newline: the next line runs on
                return (f"cannot open {ref.path}",
                        [Line(f"Could not open backing file: {ref.path}", end="")])
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


def _late_checks(st: _State, devices: list[_Built]) -> None:
    rel = st.release
    if rel.has("iasl") and not st.slots:
        st.fail(None, "-s", None, f"no -s device: the real acrn-dm {rel} crashes (SIGSEGV)",
                [Line("acrnkit: no PCI device given; the real acrn-dm crashes here", "stderr")],
                1, crash=True)
    if rel.has("obsolete_notices") and st.values.get("pm_notify_channel", "").startswith("uart"):
        st.fail(None, "--pm_notify_channel", st.values["pm_notify_channel"],
                f"--pm_notify_channel uart aborts acrn-dm {rel} (SIGABRT: --pm_by_vuart is "
                "ignored, so the vuart it needs never exists)",
                [Line("acrnkit: the real acrn-dm aborts here (pm-by-vuart assert)", "stderr")],
                1, crash=True)
    if rel.has("obsolete_notices") and (
            "cpu_affinity" not in st.values or not st.values["cpu_affinity"].ids):
        st.fail(None, "--cpu_affinity", None,
                f"acrn-dm {rel} needs --cpu_affinity: without it ACPI build fails",
                [Line("Invalid guest_pcpu_bitmask"), Line("acpi_build failed, error=-1")], 1)
    boot = [k for k in ("vsbl", "ovmf", "kernel", "elf_file") if k in st.values]
    if not boot:
        st.fail(None, "boot image", None, "no boot image: give -k, -E, --ovmf or --vsbl",
                [Line("acrn_sw_load failed, error=-1")], 1)
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
