"""acrn-dm's verdicts per release: exit status, message, stream, and every diagnostic."""

from __future__ import annotations

import pytest

from acrnkit.argv.check import CheckResult, check, usage_text
from acrnkit.argv.host import LocalHost
from acrnkit.model.devices.base import Line
from acrnkit.releases.versions import VERSIONS

BASE = ["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", "/k"]
BASE16 = ["-s", "0:0,hostbridge", "-k", "/k"]


KERNEL_NOTICE = "SW_LOAD: get kernel path "


def out(result: CheckResult) -> list[Line]:
    """The output after acrn_parse_kernel()'s notice for the argv's ``-k`` (when acrn-dm got
    that far); test_loader_notices covers the notice itself."""
    lines = list(result.output)
    return lines[1:] if lines and lines[0].text.startswith(KERNEL_NOTICE) else lines


def base(version: str) -> list[str]:
    return list(BASE16 if version == "1.6" else BASE)


@pytest.mark.parametrize("version", VERSIONS)
def test_minimal_vm_runs(version: str) -> None:
    result = check([*base(version), "-m", "1G", "vm1"], version)
    assert result.ok, result.diagnostics
    assert result.action == "run"
    assert result.vm is not None and result.vm.name == "vm1"


@pytest.mark.parametrize("version", VERSIONS)
def test_memsize_without_unit_is_rejected_with_errx(version: str) -> None:
    result = check([*base(version), "-m", "2048", "vm1"], version)
    assert result.exit_status == 64
    assert result.message == "acrn-dm: invalid memsize '2048'"
    assert result.stream == "stderr"
    assert result.fatal is not None and result.fatal.index == len(base(version)) + 1


@pytest.mark.parametrize(("text", "ok"), [
    ("2048M", True), ("2g", True), ("0x800M", True), ("2048MB", True), ("131072k", True),
    ("2048b", False), ("127M", False), ("M", False), ("", False)])
def test_memsize_grammar(text: str, ok: bool) -> None:
    result = check([*BASE, "-m", text, "vm1"], "3.2")
    assert result.ok is ok
    if not ok:
        assert result.message == f"acrn-dm: invalid memsize '{text}'"


def test_negative_memsize_is_a_documented_crash() -> None:
    result = check([*BASE, "-m", "-1G", "vm1"], "3.2")
    assert result.exit_status == 1
    assert result.fatal is not None and result.fatal.crash


@pytest.mark.parametrize("version", ["3.0", "3.2", "3.3"])
def test_ssram_swallows_the_vm_name(version: str) -> None:
    result = check([*BASE, "--ssram", "vm1"], version)
    assert result.exit_status == 64
    assert result.message == "acrn-dm: invalid vSSRAM buffer size param vm1"
    assert any("swallowed 'vm1'" in d.message for d in result.warnings)


def test_ssram_is_a_flag_on_2_7() -> None:
    result = check([*BASE, "--ssram", "vm1"], "2.7")
    assert result.ok
    assert result.vm is not None and result.vm.ssram is True


@pytest.mark.parametrize(("version", "limit"), [("1.6", 127), ("2.7", 15), ("3.0", 15),
                                                ("3.2", 15), ("3.3", 15)])
def test_name_limit(version: str, limit: int) -> None:
    assert check([*base(version), "v" * limit], version).ok
    too_long = check([*base(version), "v" * (limit + 1)], version)
    assert too_long.exit_status == 1
    expected = ("vmname size exceed 128" if version == "1.6"
                else "The name of the VM exceeds the maximum length: 15")
    assert too_long.message == expected
    assert too_long.stream == "stdout"


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_name_is_usage(version: str) -> None:
    result = check(base(version), version)
    assert result.exit_status == 1
    streams = [line.stream for line in result.output]
    assert streams[-1] == "stderr" and result.output[-1].text.startswith("Usage: acrn-dm")
    has_message = any(line.text.startswith("You must provide the name") for line in result.output)
    assert has_message is (version != "1.6")


def test_two_names_is_usage() -> None:
    result = check([*BASE, "vm1", "vm2"], "3.2")
    assert result.exit_status == 1
    assert result.fatal is not None and result.fatal.index == 7


@pytest.mark.parametrize(("version", "opens"), [("2.7", True), ("3.0", False), ("3.2", False)])
def test_old_virtio_net_syntax(version: str, opens: bool) -> None:
    result = check([*BASE, "-s", "3,virtio-net,tap0", "vm1"], version)
    assert result.ok
    warned = any("opens no tap" in d.message for d in result.warnings)
    assert warned is not opens


@pytest.mark.parametrize("slot", [2, 31])
def test_reserved_slots_warn(slot: int) -> None:
    result = check([*BASE, "-s", f"{slot},virtio-rnd", "vm1"], "3.2")
    assert result.ok
    assert any(f"slot {slot} is reserved" in d.message for d in result.warnings)


@pytest.mark.parametrize(("argv", "message"), [
    (["-s", "3"], 'Invalid PCI slot info field "3"'),
    (["-s", "32,virtio-rnd"], 'Invalid PCI slot info field "32,virtio-rnd"'),
    (["-s", "3:8,virtio-rnd"], 'Invalid PCI slot info field "3:8,virtio-rnd"'),
    (["-s", "x,virtio-rnd"], 'Invalid PCI slot info field "x,virtio-rnd"'),
    (["-s", "3,nope"], 'pci slot 3:0: unknown device "nope"'),
    (["-s", "0:0,virtio-rnd"], "pci slot 0:0 already occupied!"),
    (["-s", "4,pci-gvt"], 'The "pci-gvt" parameter is obsolete and ignored'),
])
def test_slot_errors_print_on_stdout_and_exit_1(argv: list[str], message: str) -> None:
    result = check([*BASE, *argv, "vm1"], "3.2")
    assert (result.exit_status, result.message, result.stream) == (1, message, "stdout")


@pytest.mark.parametrize("version", ["1.6", "2.7"])
def test_pci_gvt_is_a_device_before_3_0(version: str) -> None:
    assert check([*base(version), "-s", "2,pci-gvt", "-G", "10 64 0", "vm1"], version).ok


@pytest.mark.parametrize(("version", "status"), [("1.6", None), ("2.7", 1), ("3.2", 1)])
def test_uuid_option(version: str, status: int | None) -> None:
    result = check([*base(version), "-U", "a7ada506-1ab0-4b6b-a0da-e513ca9b8c2f", "vm1"], version)
    assert result.exit_status == status
    if status:  # 2.7+: the letter is in optstr with no case -> usage(1), no message line
        assert out(result)[0].text.startswith("Usage:")


def test_invalid_uuid_fails_at_vm_create_on_1_6() -> None:
    result = check([*BASE16, "-U", "nodashes", "vm1"], "1.6")
    assert (result.exit_status, result.message) == (1, "vm_create failed")


@pytest.mark.parametrize(("version", "status"), [("1.6", 1), ("2.7", 1), ("3.2", 1)])
def test_c_option_is_invalid_everywhere(version: str, status: int) -> None:
    result = check([*base(version), "-c", "2", "vm1"], version)
    assert result.exit_status == status
    assert out(result)[0].text == "acrn-dm: invalid option -- 'c'"


def test_getopt_message_uses_argv0_as_given() -> None:
    result = check(["--bogus", "vm1"], "3.2", prog="/usr/bin/acrn-dm")
    assert result.output[0].text == "/usr/bin/acrn-dm: unrecognized option '--bogus'"
    assert result.output[1].text.startswith("Usage: acrn-dm ")  # usage() prints basename


@pytest.mark.parametrize("version", ["3.0", "3.2", "3.3"])
def test_obsolete_options_are_accepted_with_notices(version: str) -> None:
    result = check([*BASE, "-A", "-Y", "-i", "/x", "--vsbl", "/v", "-G", "bad", "vm1"], version)
    assert result.ok
    texts = [line.text for line in out(result)]
    assert texts[0] == ("The '-A' parameter is obsolete and ignored. Virtual ACPI tables are "
                        "always enabled.")
    assert 'The "-Y, --mptgen" parameter is obsolete and ignored' in texts
    assert 'The "-G, --gvtargs" parameter is obsolete and ignored' in texts


def test_gvtargs_validated_before_3_0() -> None:
    result = check([*BASE, "-G", "bad", "vm1"], "2.7")
    assert (result.exit_status, result.message) == (64, "acrn-dm: invalid GVT param bad")


@pytest.mark.parametrize(("version", "value", "status"), [
    ("1.6", "ioc123", None), ("2.7", "ioc123", 64), ("3.2", "ioc123", 64),
    ("2.7", "uart,allow_trigger_s5", 1), ("1.6", "uartx", 1), ("3.2", "uart", 1)])
def test_pm_notify_channel(version: str, value: str, status: int | None) -> None:
    result = check([*base(version), "--pm_notify_channel", value, "vm1"], version)
    assert result.exit_status == status
    if value.startswith("uart"):  # no --pm_by_vuart node: the assert in pm_by_vuart_init
        assert result.fatal is not None and result.fatal.crash


@pytest.mark.parametrize(("version", "value", "ok"), [
    ("2.7", "1,3,4-6", True), ("2.7", "1-0", False), ("3.2", "4-6", True), ("3.2", "1,3", True),
    ("2.7", "0-", False), ("2.7", "x", True)])
def test_cpu_affinity_grammar(version: str, value: str, ok: bool) -> None:
    result = check(["-s", "0:0,hostbridge", "-k", "/k", "--cpu_affinity", value, "vm"], version)
    assert result.ok is ok
    if not ok:
        assert result.message == f"acrn-dm: invalid pcpu param {value}"


@pytest.mark.parametrize("version", ["3.0", "3.2", "3.3"])
def test_3x_needs_cpu_affinity(version: str) -> None:
    result = check(["-s", "0:0,hostbridge", "-k", "/k", "vm"], version)
    assert result.exit_status == 1
    assert [line.text for line in out(result)] == [
        "mpt_build_proc_entries,Err: Invalid guest_pcpu_bitmask.",
        "basl_fwrite_madt,Err: Invalid guest_pcpu_bitmask.", "acpi_build failed, error=-1"]


def test_no_boot_image() -> None:
    result = check(["-s", "0:0,hostbridge", "--cpu_affinity", "1", "vm"], "3.2")
    assert (result.exit_status, result.message) == (1, "acrn_sw_load failed, error=-1")


def test_help_and_version() -> None:
    helped = check(["-h", "--bogus"], "3.2")
    assert (helped.exit_status, helped.action, helped.output[0].stream) == (0, "help", "stderr")
    version = check(["-v", "--bogus"], "3.2")
    assert (version.exit_status, version.action, version.output[0].stream) == (
        0, "version", "stdout")
    assert version.output[0].text.startswith("DM: ")
    assert check(["-v"], "2.7").output[0].text.startswith("DM version is: ")


def test_usage_text_lists_release_options() -> None:
    # usage() in devicemodel/core/main.c per tag; tests/test_usage.py checks every byte
    v32 = usage_text(check(["-h"], "3.2").release).split("\n")
    v27 = usage_text(check(["-h"], "2.7").release).split("\n")
    assert "       --virtio_msi: force virtio to use single-vector MSI" in v32
    assert "       -W: force virtio to use single-vector MSI" in v27
    assert not any("--virtio_msi" in line for line in v27)
    assert not any(line.startswith("       -W:") for line in v32)


def test_image_checks_use_exit_10_and_11(tmp_path: object) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    kernel = tmp / "k"
    kernel.write_bytes(b"x" * 10)
    empty = tmp / "empty"
    empty.write_bytes(b"")
    host = LocalHost()
    missing = check(["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", str(tmp / "nope"),
                     "vm"], "3.2", host)
    assert missing.exit_status == 10
    assert [line.text for line in out(missing)] == [
        "SW_LOAD ERR: image file failed to open",
        f"SW_LOAD: check_image failed for '{tmp / 'nope'}'"]
    initrd = check(["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", str(kernel), "-r",
                    str(empty), "vm"], "3.2", host)
    assert initrd.exit_status == 11
    assert out(initrd)[0].text == "SW_LOAD ERR: file is empty"


def test_virtio_blk_backing_file_is_checked(tmp_path: object) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    (tmp / "k").write_bytes(b"k")
    odd = tmp / "odd.img"
    odd.write_bytes(b"\0" * 1000)
    good = tmp / "good.img"
    good.write_bytes(b"\0" * 1024)
    argv = ["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", str(tmp / "k")]
    host = LocalHost()
    assert check([*argv, "-s", f"3,virtio-blk,{good}", "vm"], "3.2", host).ok
    bad = check([*argv, "-s", f"3,virtio-blk,{odd}", "vm"], "3.2", host)
    assert bad.exit_status == 1
    assert out(bad)[0].text == f"{odd} size not corret, should be multiple of 512"
    assert out(bad)[1].text == "pci virtio-blk init failed"
    gone = check([*argv, "-s", f"3,virtio-blk,{tmp / 'gone'}", "vm"], "3.2", host)
    assert gone.message == f"Could not open backing file: {tmp / 'gone'}"


def test_every_problem_is_reported_with_its_index() -> None:
    argv = ["-m", "2048", "-s", "3,virtio-console,@", "-s", "3,virtio-rnd", "--cpu_affinity",
            "1", "-k", "/k", "a-very-long-vm-name"]
    result = check(argv, "3.2")
    indices = {d.index for d in result.errors}
    assert indices == {1, 3, 5, 10}  # memsize, console init, duplicate slot, name
    assert result.exit_status == 64  # the first one acrn-dm meets wins


def test_device_init_errors_are_ordered_by_slot() -> None:
    argv = [*BASE, "-s", "9,virtio-console,@", "-s", "4,vhost-vsock,cid=1", "vm"]
    result = check(argv, "3.2")
    assert result.message == "vsock: guest_cid has to be 0x2~0xffffffff."
    assert len(result.errors) == 2


def test_stdio_can_back_only_one_device() -> None:
    argv = [*BASE, "-s", "1:0,lpc", "-l", "com1,stdio", "-s", "5,virtio-console,@stdio:c0", "vm"]
    result = check(argv, "3.2")
    assert result.message == "vtcon: stdio is used by other device"
    swapped = [*BASE, "-s", "6:0,lpc", "-l", "com1,stdio", "-s", "5,virtio-console,@stdio:c0",
               "vm"]
    assert check(swapped, "3.2").message == "uart: stdio is used by other device"


def test_only_one_lpc_bridge() -> None:
    result = check([*BASE, "-s", "1,lpc", "-s", "5,lpc", "vm"], "3.2")
    assert result.message == "Only one LPC bridge is allowed."


@pytest.mark.parametrize(("version", "ok"), [("3.2", False), ("3.3", True)])
def test_lpc_com3_needs_3_3(version: str, ok: bool) -> None:
    result = check([*BASE, "-s", "1,lpc", "-l", "com3,stdio", "vm"], version)
    assert result.ok is ok
    if not ok:
        assert result.message == "acrn-dm: invalid lpc device configuration 'com3,stdio'"


@pytest.mark.parametrize(("version", "ok"), [("1.6", False), ("2.7", True), ("3.2", True)])
def test_ivshmem_exists_from_2_7(version: str, ok: bool) -> None:
    argv = [*base(version), "-s", "6,ivshmem,dm:/shm,2", "vm"]
    result = check(argv, version)
    if ok:
        assert result.message != 'pci slot 6:0: unknown device "ivshmem"'
    else:
        assert result.message == 'pci slot 6:0: unknown device "ivshmem"'


def test_ivshmem_doc_example_reuses_slot_6() -> None:
    argv = [*BASE, "-s", "6,ivshmem,dm:/shm_region_0,2", "-s", "6,ivshmem,dm:/shm_region_1,2",
            "vm"]
    result = check(argv, "2.7")
    assert result.message == "pci slot 6:0 already occupied!"


@pytest.mark.parametrize("version", VERSIONS)
def test_no_device_on_bus_0_crashes(version: str) -> None:
    # init_pci() dereferences pci_businfo[0] in every release (hw/pci/core.c v1.6-v3.3)
    for devices in ([], ["-s", "1:0:0,virtio-rnd"]):
        argv = [a for a in base(version) if a not in ("-s", "0:0,hostbridge")]
        result = check([*devices, *argv, "vm"], version)
        assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash
        assert out(result) == [Line(f"acrnkit: the real acrn-dm {version} stops here: SIGSEGV "
                                    "in init_pci, no device on PCI bus 0", "stderr")]


def test_lapic_pt_without_rtvm_warns_on_3x() -> None:
    result = check([*BASE, "--lapic_pt", "vm"], "3.2")
    assert result.ok
    assert any("Only a Realtime VM can use local APIC pass through" in line.text
               for line in result.output)
    assert not any("Only a Realtime" in line.text
                   for line in check([*BASE, "--lapic_pt", "--rtvm", "vm"], "3.2").output)


def test_new_net_syntax_opens_no_tap_on_2_7() -> None:
    result = check([*BASE, "-s", "3,virtio-net,tap=tap0", "vm1"], "2.7")
    assert result.ok
    assert any("opens no tap" in d.message for d in result.warnings)


def test_logger_setting_prints_each_element_and_allows_trailing_junk() -> None:
    result = check([*BASE, "--logger_setting", "console,level=4x;kmsg,level=3", "vm1"], "3.2")
    assert result.ok
    assert [line.text for line in out(result)] == [
        "logger: name=console, level=4", "logger: name=kmsg, level=3"]


def test_logger_setting_error_prints_the_level_part() -> None:
    result = check([*BASE, "--logger_setting", "console,levl=4", "vm1"], "3.2")
    assert result.exit_status == 64
    assert out(result)[0].text == "logger setting param error: levl=4, please check!"
    assert out(result)[0].stream == "stderr"


def test_missing_backing_file_line_has_no_newline(tmp_path: object) -> None:
    from pathlib import Path

    kernel = Path(str(tmp_path)) / "k"
    kernel.write_bytes(b"k")
    argv = ["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", str(kernel), "-s",
            "3,virtio-blk,/nonexistent.img", "vm"]
    result = check(argv, "3.2", LocalHost())
    text = "".join(line.text + line.end for line in out(result))
    # blockif_open()'s line, then virtio_blk_init()'s, neither with a newline; errno is ENOENT
    assert text == ("Could not open backing file: /nonexistent.imgCould not open backing file"
                    "pci virtio-blk init failed\nUnable to init vdev (2)\n")
    old = check(["-s", "0:0,hostbridge", "-k", str(kernel), "-s", "3,virtio-blk,/nonexistent.img",
                 "vm"], "1.6", LocalHost())
    assert out(old)[0] == type(out(old)[0])(
        "acrn-dm: Could not open backing file: /nonexistent.img: No such file or directory",
        "stderr")


@pytest.mark.parametrize(("backend", "ok"), [("tcp:4444", True), ("tcp", False),
                                             ("tcp:x", False)])
def test_lpc_tcp_backend_needs_a_port(backend: str, ok: bool) -> None:
    result = check([*BASE, "-s", "1,lpc", "-l", f"com2,{backend}", "vm"], "3.2")
    assert result.ok is ok
    if not ok:
        assert out(result)[0].text == "pci lpc init failed"


def test_legacy_extra_tokens_zero_the_mac() -> None:
    from acrnkit import parse

    vm = parse([*BASE, "-s", "3,virtio-net,tap0,foo", "vm"], "2.7")
    nic = vm.devices_of("virtio-net")[0].device
    assert nic.effective_mac(3, 0, vm_release("2.7")) == "00:00:00:00:00:00"
    vm3 = parse([*BASE, "-s", "3,virtio-net,tap=tap0,foo", "vm"], "3.2")
    nic3 = vm3.devices_of("virtio-net")[0].device
    assert nic3.effective_mac(3, 0, vm_release("3.2")).startswith("00:16:3e:")


def vm_release(version: str):  # type: ignore[no-untyped-def]
    from acrnkit import get_release

    return get_release(version)


# --- option parsing as the v3.2 binary built from source does it (compared with the fake) -----

def texts(result: CheckResult) -> list[tuple[str, str]]:
    return [(line.stream, line.text) for line in result.output]


@pytest.mark.parametrize("version", VERSIONS)
def test_loader_notices(version: str, tmp_path: object) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    (tmp / "k").write_bytes(b"k" * 100)
    (tmp / "r").write_bytes(b"r" * 10)
    argv = [*base(version)[:-2], "-k", str(tmp / "k"), "-r", str(tmp / "r"), "-B", "quiet a=1",
            "vm1"]
    result = check(argv, version, LocalHost())
    assert result.exit_status is None
    assert texts(result)[:3] == [("stdout", f"SW_LOAD: get kernel path {tmp / 'k'}"),
                                 ("stdout", f"SW_LOAD: get ramdisk path {tmp / 'r'}"),
                                 ("stdout", "SW_LOAD: get bootargs quiet a=1")]


@pytest.mark.parametrize(("value", "status", "stream_text"), [
    ("1X", 64, ("stderr", "acrn-dm: invalid memsize '1X'")),
    ("-0M", 64, ("stderr", "acrn-dm: invalid memsize '-0M'")),  # strtoul gives 0: < 128 MB
    ("127M", 64, ("stderr", "acrn-dm: invalid memsize '127M'")),
    ("99999999999G", 1, ("stdout", "Unable to setup memory (12)")),  # wraps past 2**64
    ("2048M", None, None),
])
def test_memsize_as_vm_parse_memsize(value: str, status: int | None,
                                     stream_text: tuple[str, str] | None) -> None:
    result = check(["-m", value, *BASE, "vm1"], "3.2")
    assert result.exit_status == status
    if stream_text is not None:
        assert texts(result)[-1] == stream_text


def test_errx_ends_acrn_dm_before_a_later_version_flag() -> None:
    result = check(["-m", "1X", "-v", *BASE, "vm1"], "3.2")
    assert (result.exit_status, texts(result)) == (
        64, [("stderr", "acrn-dm: invalid memsize '1X'")])


@pytest.mark.parametrize(("value", "ok"), [
    ("10000,10,1,100", True), ("1,1,1,1,1", True), ("-1,1,1,1", True), (" 1,2,3,4x", True),
    ("1,2,3", False), ("1,,2,3", False), ("a,1,1,1", False),
])
def test_intr_monitor_reads_four_numbers(value: str, ok: bool) -> None:
    result = check(["--intr_monitor", value, *BASE, "vm1"], "3.2")
    assert (result.exit_status is None) == ok
    if not ok:
        assert texts(result)[-2:] == [
            ("stdout", f"{value}: not correct, it should be like: --intr_monitor 10000,10,1,100, "
                       "please check!"),
            ("stderr", f"acrn-dm: invalid intr-monitor params {value}")]


@pytest.mark.parametrize(("value", "lines", "status"), [
    ("1", ["invalid SSRAM buffer level:1."], 64),
    ("", [], None),
    ("L2,vcpu=0,1,size=4K", ["config index[0]: cache level:2, size:1000, vcpumask:3"], None),
    ("L2,cpu=0,size=4K", ["cpu is invalid, 'vcpu' must be specified."], 64),
    ("L3,vcpu=all,size=3K", ["size 0xc00 is invalid, 0 or not page-aligned, or too large."], 64),
    ("L2,vcpu=x,size=4K", ["invalid 'x' to specify vcpu ID."], 64),
    ("L2", [], 1),  # strsep() hands back NULL and acrn-dm dereferences it
])
def test_ssram_as_parse_vssram_buf_params(value: str, lines: list[str],
                                          status: int | None) -> None:
    result = check(["--ssram", value, *BASE, "vm1"], "3.2")
    assert result.exit_status == status
    stdout = [t for stream, t in texts(result) if stream == "stdout"]
    assert [t for t in stdout if not t.startswith("SW_LOAD")] == lines
    if status == 64:
        assert texts(result)[-1] == ("stderr", f"acrn-dm: invalid vSSRAM buffer size param {value}")


@pytest.mark.parametrize("version", ["2.7", "3.0", "3.2"])
def test_acpidev_pt_wants_the_tpm2_hid(version: str) -> None:
    base_argv = [*base(version), "vm1"]
    assert check(["--acpidev_pt", "MSFT0101", *base_argv], version).exit_status is None
    for value in ("", "FOO", "PNP0501"):
        result = check(["--acpidev_pt", value, *base_argv], version)
        assert (result.exit_status, texts(result)) == (64, [
            ("stdout", f"Unrecognized or unsupported ACPI device HID: {value}"),
            ("stderr", f"acrn-dm: invalid pt acpi dev param {value}")])


@pytest.mark.parametrize(("value", "reported"), [
    ("fe000000,1000", False), ("0xfe000000,0x1000", False), ("foo", True), ("", True),
    ("fe000000", True),
])
def test_mmiodev_pt_reports_and_goes_on(value: str, reported: bool) -> None:
    result = check(["--mmiodev_pt", value, *BASE, "vm1"], "3.2")
    assert result.exit_status is None
    line = ("stdout", f"create_pt_mmiodev, {value} invalid, please check!")
    assert (line in texts(result)) == reported


def test_path_options_print_their_notice_and_take_an_empty_path() -> None:
    result = check(["--cmd_monitor", "", "--iasl", "/opt/iasl", *BASE, "vm1"], "3.2")
    assert result.exit_status is None
    assert texts(result)[:2] == [("stdout", "Command monitor: using soket path "),
                                 ("stdout", "iasl path is given by --iasl at run time: /opt/iasl")]
    assert check(["--cmd_monitor", "x" * 1024, *BASE, "vm1"], "3.2").exit_status == 64


def test_cpu_affinity_ids_add_up_across_options() -> None:
    result = check(["-s", "0:0,hostbridge", "--cpu", "1", "--cpu_affinity", "1,2", "-k", "/k",
                    "vm1"], "3.2")
    assert result.exit_status is None
    assert ("stdout", "add_one_pcpu: pcpu_id 1 has been allocated to this VM.") in texts(result)
    assert result.vm is not None and result.vm.cpu_affinity is not None
    assert result.vm.cpu_affinity.ids == (1, 2)


def test_empty_cpu_affinity_is_taken_then_fails_the_acpi_build() -> None:
    result = check(["-s", "0:0,hostbridge", "--cpu_affinity", "", "-k", "/k", "vm1"], "3.2")
    assert result.exit_status == 1
    assert texts(result)[-1] == ("stdout", "acpi_build failed, error=-1")


def test_kernel_directory_does_not_fit(tmp_path: object) -> None:
    result = check(["-s", "0:0,hostbridge", "--cpu_affinity", "0", "-k", str(tmp_path), "vm1"],
                   "3.2", LocalHost())
    # ext4 and most file systems size a directory hugely; tmpfs says 0 ("file is empty")
    assert result.exit_status in (1, 10)
    if result.exit_status == 1:
        assert [t for _, t in texts(result)][-2:] == [
            "SW_LOAD ERR: need big system memory to fit image", "acrn_sw_load failed, error=-1"]


# --- after VM creation: monitor, MP table, and the output up to a crash ----------------------

MPTABLE = [Line("MPtable is incompatible with multiple PCI hierarchies.", end="\r\n"),
           Line("MPtable generation can be disabled by passing the -Y option to acrn-dm.",
                end="\r\n")]


def note(version: str, why: str) -> Line:
    return Line(f"acrnkit: the real acrn-dm {version} stops here: {why}", "stderr")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("slot", ["1:0:0", "1:31:7", "255:0:0", "3:0:0:0"])
def test_device_off_bus_0_fails_the_mp_table(version: str, slot: str) -> None:
    # v1.6-v3.3 core/mptbl.c mptable_build(): after device init, before acpi_build
    result = check([*base(version), "-s", f"{slot},virtio-rnd", "vm1"], version)
    assert (result.exit_status, out(result)) == (1, MPTABLE)
    assert result.fatal is not None and not result.fatal.crash


@pytest.mark.parametrize(("version", "ok"), [("1.6", True), ("2.7", True), ("3.0", False),
                                             ("3.2", False), ("3.3", False)])
def test_minus_y_skips_the_mp_table_before_3_0(version: str, ok: bool) -> None:
    result = check([*base(version), "-Y", "-s", "1:0:0,virtio-rnd", "vm1"], version)
    assert result.ok is ok
    if not ok:  # "-Y" is obsolete and ignored from v3.0
        assert out(result)[-2:] == MPTABLE


def test_mp_table_comes_after_device_init_and_before_acpi() -> None:
    bad_dev = check([*BASE, "-s", "1:0:0,virtio-rnd", "-s", "1:1:0,virtio-blk", "vm1"], "3.2")
    assert bad_dev.message == "virtio_blk: backing device required"
    no_aff = check(["-s", "0:0,hostbridge", "-k", "/k", "-s", "1:0:0,virtio-rnd", "vm1"], "3.2")
    assert out(no_aff) == MPTABLE


@pytest.mark.parametrize(("version", "line"), [("1.6", 484), ("2.7", 483), ("3.2", 483)])
@pytest.mark.parametrize("name", ["vm/1", "a/../b", "vm/"])
def test_vm_name_with_a_directory_fails_the_monitor(version: str, line: int, name: str) -> None:
    # core/monitor.c monitor_init() -> create_new_server(): bind() in /run/acrn/mngr/vm/...
    result = check([*base(version), name], version)
    assert result.exit_status == 1
    assert out(result) == [
        Line("create_new_server: Failed to bind fd 35, err: No such file or directory"),
        Line(f"monitor_init {line}", end="\r\n"), Line("Unable to init vdev (2)")]


@pytest.mark.parametrize("name", ["../x", "./vm", "/", "../mngr/x"])
def test_vm_name_slashes_that_stay_in_existing_directories_are_fine(name: str) -> None:
    assert check([*BASE, name], "3.2").ok


def test_monitor_comes_before_device_init() -> None:
    result = check([*BASE, "-s", "3,virtio-blk", "vm/1"], "3.2")
    assert out(result)[0].text.startswith("create_new_server: ")


@pytest.mark.parametrize(("version", "line"), [("1.6", 296), ("2.7", 271), ("3.0", 271),
                                               ("3.2", 271), ("3.3", 271)])
def test_pm_uart_assert_line(version: str, line: int) -> None:
    result = check([*base(version), "--pm_notify_channel", "uart", "-s", "3,virtio-blk", "vm1"],
                   version, prog="/usr/bin/acrn-dm")
    assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash
    # glibc's assert message (program_invocation_short_name), before any device init
    assert Line(f"acrn-dm: core/pm_vuart.c:{line}: pm_by_vuart_init: Assertion "
                "`node_index < MAX_NODE_CNT' failed.", "stderr") in result.output
    assert result.output[-1].text.startswith("acrnkit: ")
    assert not any("virtio-blk" in x.text for x in result.output)


@pytest.mark.parametrize(("version", "ok"), [("1.6", True), ("2.7", True), ("3.2", False)])
def test_pm_by_vuart_gives_the_uart_channel_its_node_before_3_0(version: str, ok: bool) -> None:
    result = check([*base(version), "--pm_notify_channel", "uart", "--pm_by_vuart",
                    "pty,/run/acrn/life_mngr_vm1", "vm1"], version)
    assert result.ok is ok


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("value", ["", "console", "console,level=4;kmsg"])
def test_logger_crash_prints_no_acrn_dm_line(version: str, value: str) -> None:
    result = check([*base(version), "--logger_setting", value, "vm1"], version)
    assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash
    before = [Line("logger: name=console, level=4")] if ";" in value else []
    assert out(result) == [*before, note(version, "SIGSEGV in init_logger_setting, an element "
                                              "without ','")]


@pytest.mark.parametrize("version", ["3.0", "3.2", "3.3"])
def test_virtio_gpu_without_config_crashes_while_parsing(version: str) -> None:
    # pci_parse_slot() -> vdpy_parse_cmd_option(NULL): nothing after it runs, not even errx
    result = check([*BASE, "-s", "3,virtio-gpu", "-m", "bad", "vm1"], version)
    assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash
    assert out(result) == [
        Line("pci_parse_slot: virtio-gpu device found, activating virtual display."),
        note(version, "SIGSEGV in vdpy_parse_cmd_option, virtio-gpu without a config")]


@pytest.mark.parametrize("version", ["2.7", "3.2"])
def test_device_crash_prints_no_init_failed_lines(version: str) -> None:
    result = check([*BASE, "-s", "3,ivshmem", "vm1"], version)
    assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash
    assert [x.stream for x in out(result)] == ["stderr"]
    assert out(result)[0].text.startswith("acrnkit: ")


@pytest.mark.parametrize("version", ["2.7", "3.0", "3.2", "3.3"])
def test_negative_memsize_dies_loading_the_image(version: str) -> None:
    # parsing passes silently: later options still speak; the crash comes in acrn_sw_load
    result = check([*BASE, "-m", "-1G", "--logger_setting", "console,level=4", "vm1"], version)
    assert out(result) == [Line("logger: name=console, level=4"),
                           note(version, "SIGSEGV in acrn_sw_load, the negative -m wrapped to a "
                                         "huge size")]
    assert result.fatal is not None and result.fatal.crash
    # without a boot image acrn_sw_load fails first, cleanly (seen on v3.2)
    no_image = check(["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-m", "-1G", "vm1"],
                     version)
    assert out(no_image) == [Line("acrn_sw_load failed, error=-1")]
    assert no_image.fatal is not None and not no_image.fatal.crash


def test_negative_memsize_hangs_1_6_before_device_init() -> None:
    result = check([*BASE16, "-m", "-1G", "-s", "3,virtio-blk", "vm1"], "1.6")
    assert out(result) == [note("1.6", "it hangs in vm_setup_memory, the negative -m wrapped "
                                       "to a huge size")]
    assert result.fatal is not None and result.fatal.crash


def test_ovmf_images_are_checked_against_their_size_limits(tmp_path: object) -> None:
    from pathlib import Path

    image = Path(str(tmp_path)) / "OVMF.fd"
    image.write_bytes(b"x" * (1 << 20))  # fits the code limit, not the 128 KB vars limit
    argv = ["-s", "0:0,hostbridge", "--cpu_affinity", "0", "--ovmf",
            f"code={image},vars={image}", "vm1"]
    result = check(argv, "3.2", LocalHost())
    assert (result.exit_status, texts(result)) == (64, [
        ("stdout", f"SW_LOAD: get ovmf code path {image}, size 0x100000"),
        ("stdout", "SW_LOAD ERR: file is too large"),
        ("stderr", f"acrn-dm: invalid ovmf param code={image},vars={image}")])
    single = check([*argv[:-2], str(image), "vm1"], "3.2", LocalHost())
    assert (single.exit_status, texts(single)) == (
        None, [("stdout", f"SW_LOAD: get ovmf path {image}, size 0x100000")])
