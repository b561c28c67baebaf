"""acrn-dm's verdicts per release: exit status, message, stream, and every diagnostic."""

from __future__ import annotations

import pytest

from acrnkit.argv.check import check, usage_text
from acrnkit.argv.host import LocalHost
from acrnkit.releases.versions import VERSIONS

BASE = ["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", "/k"]
BASE16 = ["-s", "0:0,hostbridge", "-k", "/k"]


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
        assert result.output[0].text.startswith("Usage:")


def test_invalid_uuid_fails_at_vm_create_on_1_6() -> None:
    result = check([*BASE16, "-U", "nodashes", "vm1"], "1.6")
    assert (result.exit_status, result.message) == (1, "vm_create failed")


@pytest.mark.parametrize(("version", "status"), [("1.6", 1), ("2.7", 1), ("3.2", 1)])
def test_c_option_is_invalid_everywhere(version: str, status: int) -> None:
    result = check([*base(version), "-c", "2", "vm1"], version)
    assert result.exit_status == status
    assert result.output[0].text == "acrn-dm: invalid option -- 'c'"


def test_getopt_message_uses_argv0_as_given() -> None:
    result = check(["--bogus", "vm1"], "3.2", prog="/usr/bin/acrn-dm")
    assert result.output[0].text == "/usr/bin/acrn-dm: unrecognized option '--bogus'"
    assert result.output[1].text.startswith("Usage: acrn-dm ")  # usage() prints basename


@pytest.mark.parametrize("version", ["3.0", "3.2", "3.3"])
def test_obsolete_options_are_accepted_with_notices(version: str) -> None:
    result = check([*BASE, "-A", "-Y", "-i", "/x", "--vsbl", "/v", "-G", "bad", "vm1"], version)
    assert result.ok
    texts = [line.text for line in result.output]
    assert texts[0] == ("The '-A' parameter is obsolete and ignored. Virtual ACPI tables are "
                        "always enabled.")
    assert 'The "-Y, --mptgen" parameter is obsolete and ignored' in texts
    assert 'The "-G, --gvtargs" parameter is obsolete and ignored' in texts


def test_gvtargs_validated_before_3_0() -> None:
    result = check([*BASE, "-G", "bad", "vm1"], "2.7")
    assert (result.exit_status, result.message) == (64, "acrn-dm: invalid GVT param bad")


@pytest.mark.parametrize(("version", "value", "status"), [
    ("1.6", "ioc123", None), ("2.7", "ioc123", 64), ("3.2", "ioc123", 64),
    ("2.7", "uart,allow_trigger_s5", None), ("3.2", "uart", 1)])
def test_pm_notify_channel(version: str, value: str, status: int | None) -> None:
    result = check([*base(version), "--pm_notify_channel", value, "vm1"], version)
    assert result.exit_status == status
    if version == "3.2" and value == "uart":
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
    assert [line.text for line in result.output] == [
        "Invalid guest_pcpu_bitmask", "acpi_build failed, error=-1"]


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
    assert "--virtio_msi" in usage_text(check(["-h"], "3.2").release)
    assert "--virtio_msi" not in usage_text(check(["-h"], "2.7").release)


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
    assert [line.text for line in missing.output] == [
        "SW_LOAD ERR: image file failed to open",
        f"SW_LOAD: check_image failed for '{tmp / 'nope'}'"]
    initrd = check(["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", str(kernel), "-r",
                    str(empty), "vm"], "3.2", host)
    assert initrd.exit_status == 11
    assert initrd.output[0].text == "SW_LOAD ERR: file is empty"


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
    assert bad.output[0].text == f"{odd} size not corret, should be multiple of 512"
    assert bad.output[1].text == "pci virtio-blk init failed"
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


@pytest.mark.parametrize("version", ["3.2", "3.3"])
def test_no_device_crashes_3_2_and_later(version: str) -> None:
    result = check(["--cpu_affinity", "1", "-k", "/k", "vm"], version)
    assert result.exit_status == 1 and result.fatal is not None and result.fatal.crash


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
    assert [line.text for line in result.output] == [
        "logger: name=console, level=4", "logger: name=kmsg, level=3"]


def test_logger_setting_error_prints_the_level_part() -> None:
    result = check([*BASE, "--logger_setting", "console,levl=4", "vm1"], "3.2")
    assert result.exit_status == 64
    assert result.output[0].text == "logger setting param error: levl=4, please check!"
    assert result.output[0].stream == "stderr"


def test_missing_backing_file_line_has_no_newline(tmp_path: object) -> None:
    from pathlib import Path

    kernel = Path(str(tmp_path)) / "k"
    kernel.write_bytes(b"k")
    argv = ["-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k", str(kernel), "-s",
            "3,virtio-blk,/nonexistent.img", "vm"]
    result = check(argv, "3.2", LocalHost())
    text = "".join(line.text + line.end for line in result.output)
    assert text.startswith("Could not open backing file: /nonexistent.imgpci virtio-blk init "
                           "failed\n")
    old = check(["-s", "0:0,hostbridge", "-k", str(kernel), "-s", "3,virtio-blk,/nonexistent.img",
                 "vm"], "1.6", LocalHost())
    assert old.output[0] == type(old.output[0])(
        "acrn-dm: Could not open backing file: /nonexistent.img: No such file or directory",
        "stderr")


@pytest.mark.parametrize(("backend", "ok"), [("tcp:4444", True), ("tcp", False),
                                             ("tcp:x", False)])
def test_lpc_tcp_backend_needs_a_port(backend: str, ok: bool) -> None:
    result = check([*BASE, "-s", "1,lpc", "-l", f"com2,{backend}", "vm"], "3.2")
    assert result.ok is ok
    if not ok:
        assert result.output[0].text == "pci lpc init failed"


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
