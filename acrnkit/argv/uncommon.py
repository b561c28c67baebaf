"""acrn-dm's handling of the options a usual launch line does not use (OVMF, vSBL, the monitors,
pass-through, vSSRAM, the logger, power management...), one function per ``case`` of the
getopt ``switch`` in ``main()``.

Kept apart from :mod:`acrnkit.argv.check` so that the fake acrn-dm's start-up does not load them:
``check._HANDLERS`` imports this module the first time such an option is seen.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING
from acrnkit.argv.check import (
    EX_USAGE,
    Diagnostic,
    _State,
    _store,
    _store_parsed,
    crash_note,
)
from acrnkit.model.ctext import number_prefix
from acrnkit.model.devices.base import Line
from acrnkit.model.values import ULONG_MAX, c_strtoul

if TYPE_CHECKING:
    from typing import Any

    from acrnkit.argv.getopt import Opt


def _h_ovmf(st: _State, opt: Opt) -> None:
    assert opt.value is not None
    if "vsbl" in st.values:  # acrn-dm ignores --ovmf after --vsbl (main.c)
        st.diags.append(Diagnostic("warning", opt.at, opt.spelled, opt.value,
                                   "--ovmf is ignored after --vsbl"))
    images_ok = "vsbl" in st.values or _ovmf_images(st, opt.value)
    ok = _store_parsed(st, opt)
    if ok:
        ovmf = st.values["ovmf"]
        # without --vsbl, _ovmf_images() has already sized every image the model names
        ok = images_ok if "vsbl" not in st.values else all(st.host.size(p) for p in ovmf.paths())
        if not ok:
            st.diags.append(Diagnostic("error", opt.value_index, opt.spelled, opt.value,
                                       "OVMF image missing or empty"))
    else:
        st.broken = True
    if not ok:
        st.diags.pop()
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid ovmf param {opt.value}")


#: check_image() size limits of acrn_parse_ovmf (v2.7-v3.3 devicemodel/core/sw_load_ovmf.c)
_OVMF_LIMITS = {"": 2 << 20, "code": (2 << 20) - (128 << 10), "vars": 128 << 10}


def _ovmf_images(st: _State, text: str) -> bool:
    """The lines acrn_parse_ovmf() prints while it walks the ``,`` tokens: check_image()'s error
    and a stop at the first bad image, or ``get ovmf [code |vars ]path P, size 0x..``."""
    for token in text.split(","):
        if token == "w":
            continue
        kind = ""
        if st.release.has("ovmf.code_vars") and token.startswith(("code=", "vars=")):
            kind, token = token[:4], token[5:]
        size = st.host.size(token)
        if size is None:
            st.emit(Line("SW_LOAD ERR: image file failed to open"))
            return False
        if size == 0 or size > _OVMF_LIMITS[kind]:
            st.emit(Line(f"SW_LOAD ERR: file is {'too large' if size else 'empty'}"))
            return False
        label = f"ovmf {kind} path" if kind else "ovmf path"
        st.emit(Line(f"SW_LOAD: get {label} {token}, size 0x{size:x}"))
    return True


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


def _c_uint_fields(text: str, count: int) -> bool:
    """``count`` dm_strtoui() numbers separated by ``,`` (strtoul: C blanks and a sign allowed;
    a value past ULONG_MAX is ERANGE); anything may follow the last one."""
    rest = text
    for i in range(count):
        found = number_prefix(rest, 10)
        if found is None or abs(found[0]) > ULONG_MAX:
            return False
        rest = rest[found[1]:]
        if i < count - 1:
            if not rest.startswith(","):
                return False
            rest = rest[1:]
    return True


def _h_intr_monitor(st: _State, opt: Opt) -> None:
    """``acrn_parse_intr_monitor()`` (v1.6-v3.3 devicemodel/core/monitor.c)."""
    assert opt.value is not None
    if _c_uint_fields(opt.value, 4):
        if not _store_parsed(st, opt):
            st.diags.pop()  # acrn-dm takes it (junk after the fourth, a sign): no model for it
            st.diags.append(Diagnostic("warning", opt.value_index, opt.spelled, opt.value,
                                       "acrn-dm reads the first four numbers (as unsigned) "
                                       "and ignores the rest"))
        return
    st.emit(Line(f"{opt.value}: not correct, it should be like: --intr_monitor 10000,10,1,100, "
                 "please check!"))
    st.errx(opt.value_index, opt.spelled, opt.value, f"invalid intr-monitor params {opt.value}")
    st.broken = True


def _h_path(message: str, limit: int, notice: str) -> Any:
    """A path option whose parser only checks ``strnlen(arg, limit) < limit`` (an empty one
    passes) and prints ``notice`` with it: --iasl (v3.2 hw/platform/acpi/acpi.c, MAXPATHLEN,
    pr_info) and --cmd_monitor (v3.0+ core/cmd_monitor/cmd_monitor.c, UNIX_SOCKET_PATH_MAX 1024,
    pr_notice; its misspelling is acrn-dm's)."""
    def handler(st: _State, opt: Opt) -> None:
        assert opt.value is not None
        if len(opt.value) >= limit:
            st.errx(opt.value_index, opt.spelled, opt.value, f"{message} {opt.value}")
        elif notice and st.release.has(f"{opt.key}.notice"):
            st.emit(Line(notice + opt.value))
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
    """v2.7-v3.2 ``create_pt_acpidev()`` (devicemodel/hw/mmio/core.c): the only matcher is TPM2's
    ``is_hid_tpm2_device()`` (hw/platform/tpm/tpm.c), which wants a HID whose sysfs modalias has
    MSFT0101; anything else prints "Unrecognized or unsupported ACPI device HID" and errx. A
    healthy host has the TPM, so MSFT0101 passes unless the host is strict and lacks it."""
    assert opt.value is not None
    if "vtpm2" in st.values:
        st.errx(opt.value_index, opt.spelled, opt.value, f"invalid pt acpi dev param {opt.value}")
    elif not st.release.has("acpidev_pt.generic"):
        hid = opt.value.split(",", 1)[0]
        if hid != "MSFT0101" or (st.host.strict and not st.host.host_resource(
                f"/sys/bus/acpi/devices/{hid}:00/modalias")):
            st.fail(opt.value_index, opt.spelled, opt.value,
                    f"no ACPI device to pass through for HID {hid!r}",
                    [Line(f"Unrecognized or unsupported ACPI device HID: {opt.value}"),
                     Line(f"{st.prog.rsplit('/', 1)[-1]}: invalid pt acpi dev param "
                          f"{opt.value}", "stderr")], EX_USAGE)
    _store(st, opt, opt.value)


def _h_mmiodev_pt(st: _State, opt: Opt) -> None:
    """``create_pt_mmiodev()`` (v2.7-v3.3 devicemodel/hw/mmio/core.c): ``base,size`` read with
    dm_strtoul(.., 16) (``0x`` optional, junk after the size ignored); a bad value is reported
    and the option still succeeds."""
    assert opt.value is not None
    base = number_prefix(opt.value, 16)
    good = base is not None and abs(base[0]) <= ULONG_MAX and \
        opt.value[base[1]:base[1] + 1] == "," and \
        number_prefix(opt.value[base[1] + 1:], 16) is not None
    if not good:
        st.note(opt.value_index, opt.spelled, opt.value,
                f"create_pt_mmiodev, {opt.value} invalid, please check!", severity="warning")
    _store(st, opt, opt.value)


_VSSRAM_MAX_SIZE = 0x00800000  # v3.0-v3.3 devicemodel/include/pci_core.h


_CACHE_LEVELS = {"L2": 2, "l2": 2, "L3": 3, "l3": 3}  # vssram.c L2_CACHE / L3_CACHE


def _vssram_params(text: str) -> tuple[list[str], str]:
    """``parse_vssram_buf_params()`` (v3.0-v3.3 devicemodel/hw/platform/vssram/vssram.c), step
    by step: the lines it prints and ``"ok"``, ``"error"`` or ``"crash"`` (a strsep() that
    returns NULL is then dereferenced: ``L2`` alone, ``L2,vcpu``)."""
    lines: list[str] = []
    for index, elem in enumerate(text.split(";")):
        if elem == "":
            break
        level_str, comma, elem = elem.partition(",")
        if level_str not in _CACHE_LEVELS:
            return [*lines, f"invalid SSRAM buffer level:{level_str}."], "error"
        if not comma:
            return lines, "crash"
        vcpu_str, equals, elem = elem.partition("=")
        if vcpu_str != "vcpu":
            return [*lines, f"{vcpu_str} is invalid, 'vcpu' must be specified."], "error"
        if not equals:
            return lines, "crash"
        at = elem.find("size=")
        if at < 0:
            return [*lines, f"invalid size parameter: {elem}"], "error"
        # *(size_str - 1) = '\0' cuts the vcpu list just before "size="
        vcpus, size_text = (elem[:at - 1] if at else elem), elem[at + 5:]
        mask = 0
        for item in vcpus.split(","):
            if item == "":
                break
            if item in ("all", "ALL"):
                mask = (1 << 64) - 1
                break
            found = number_prefix(item, 10)
            if found is None or abs(found[0]) > ULONG_MAX:
                return [*lines, f"invalid '{item}' to specify vcpu ID."], "error"
            bit = (found[0] % (1 << 32)) & 31  # (1 << vcpu_id) on a 32-bit int, as x86 shifts
            mask |= (1 << bit) if bit < 31 else 0xFFFFFFFF80000000
        if mask == 0:
            return [*lines, "vCPU bitmask of ssram region is not set."], "error"
        if size_text == "":
            return [*lines, "invalid size configuration."], "error"
        parsed = c_strtoul(size_text)
        value, rest = parsed if parsed is not None else (0, size_text)
        shift = {"m": 20, "k": 10}.get(rest[:1].lower())
        if shift is None:
            return [*lines, f"invalid size of '{size_text}', only 'K','k'(KB) or 'M','m'(MB) "
                            "can be suffixed!"], "error"
        size = (value << shift) % (1 << 64)
        if size == 0 or size % 4096 or size > _VSSRAM_MAX_SIZE:
            return [*lines, f"size 0x{size:x} is invalid, 0 or not page-aligned, or too "
                            "large."], "error"
        lines.append(f"config index[{index}]: cache level:{_CACHE_LEVELS[level_str]}, "
                     f"size:{size:x}, vcpumask:{mask:x}")
    return lines, "ok"


def _h_ssram(st: _State, opt: Opt) -> None:
    if opt.value is None:  # v2.5-v2.7: a flag
        _store(st, opt, True)
        return
    lines, verdict = _vssram_params(opt.value)
    st.emit(*(Line(text) for text in lines))
    if verdict == "crash":
        st.fail(opt.value_index, opt.spelled, opt.value,
                f"--ssram {opt.value!r}: the real acrn-dm {st.release} crashes (SIGSEGV) "
                "parsing it", [Line("acrnkit: the real acrn-dm crashes parsing --ssram here",
                                    "stderr")], 1, crash=True, structural=True)
        return
    if verdict == "error":
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
            # strsep() leaves the level NULL and strncmp() dereferences it: SIGSEGV with nothing
            # printed but the elements before (v1.6-v3.3 devicemodel/log/log.c)
            st.fail(opt.value_index, opt.spelled, opt.value,
                    "a logger_setting element without ',' crashes acrn-dm (NULL dereference)",
                    [*lines, crash_note(st.release, "SIGSEGV in init_logger_setting, an "
                                        "element without ','")], 1, crash=True, structural=True)
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


def _h_mac_seed(st: _State, opt: Opt) -> None:
    if st.release.has("obsolete_notices"):
        st.note(opt.at, opt.spelled, opt.value, 'The "--mac_seed" parameter is obsolete',
                severity="warning")
        st.note(opt.at, opt.spelled, opt.value,
                'Please use the "virtio-net,<device_type>=<name> mac_seed=<seed_string>"',
                severity="warning")
    _store(st, opt, opt.value)


_h_cmd_monitor = _h_path("invalid command monitor params", 1024,
                         "Command monitor: using soket path ")
_h_iasl = _h_path("invalid iasl param", 4096, "iasl path is given by --iasl at run time: ")
