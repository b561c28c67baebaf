"""acrnkit.kata.sandbox against kata-containers acrn.go / acrn_arch_base.go @cdaaf708.

Tests named ``test_go_*`` restate Kata's own Go unit tests (acrn_test.go, acrn_arch_base_test.go);
the argv vectors are derived from the source (no Go test asserted one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acrnkit.errors import ConfigError
from acrnkit.kata import (
    CONSOLE_BE,
    SERIAL_BE,
    BlockDevice,
    BlockDrive,
    BridgeDevice,
    ConsoleDevice,
    HypervisorConfig,
    LPCDevice,
    MacvtapEndpoint,
    Memory,
    NetDevice,
    NetworkInterface,
    Param,
    SandboxSpec,
    VethEndpoint,
    VSock,
    VSOCKDevice,
    build_sandbox,
    create_vm,
    loads_sandbox_spec,
    run_build_kata_sandbox,
)
from acrnkit.kata.sandbox import (
    ACRNCTL_PATH,
    DEFAULT_VM_STORE_PATH,
    AcrnArch,
    Socket,
    acrn_kernel_parameters,
    append_block_device,
    append_bridges,
    append_console,
    append_image,
    append_lpc,
    append_network,
    append_socket,
    append_vsock,
    capabilities,
    go_clean,
    go_join,
    go_parse_mac,
    memory_topology,
    new_acrn_arch,
    serialize_params,
    vm_console_path,
)

KERNEL = "/usr/share/kata-containers/vmlinuz.container"
IMAGE = "/usr/share/kata-containers/kata-containers.img"
BASE = ("tsc=reliable no_timer_check nohpet console=tty0 console=ttyS0 console=hvc0 "
        "log_buf_len=16M consoleblank=0 root=/dev/vda1 rw rootwait")
NON_DEBUG = BASE + " quiet systemd.show_status=false panic=1 maxcpus=1"
DEBUG = (BASE + " debug systemd.show_status=true systemd.log_level=debug "
         "systemd.log_target=kmsg printk.devkmsg=on panic=1 maxcpus=1")
NODISKS = [x for i in range(5, 13) for x in ("-s", f"{i},virtio-blk,nodisk")]


def abc_spec(**hc: Any) -> dict[str, Any]:
    """The §2.3 sandbox: id abc, default config, non-debug, cid 3, one veth (macvtap), APIC 0."""
    config: dict[str, Any] = {
        "KernelPath": KERNEL, "ImagePath": IMAGE, "HypervisorPath": "/usr/bin/acrn-dm",
        "HypervisorCtlPath": "/usr/bin/acrnctl", "VMStorePath": "/run/vc/vm",
        "MemorySize": 2048, "DefaultMaxVCPUs": 1, "Debug": False, "KernelParams": [],
    }
    config.update(hc)
    return {
        "id": "abc",
        "hypervisor_config": config,
        "ApicID": "0",
        "vsock": {"ContextID": 3},
        "endpoints": [{
            "type": "VethEndpoint",
            "NetPair": {
                "TAPIface": {"Name": "tap0_kata", "HardAddr": "02:42:ac:11:00:02"},
                "VirtIface": {"Name": "eth0", "HardAddr": "02:00:ca:fe:00:04"},
                "NetInterworkingModel": "macvtap",
            },
        }],
    }


ABC_ARGV = [
    "-A", "-m", "2048M",
    "-s", "0:0,hostbridge",
    "-s", "1:0,lpc", "-lcom1,stdio",
    "-s", "3,virtio-console,@socket:console0=/run/vc/vm/abc/console.sock",
    "-s", "4,virtio-blk,/usr/share/kata-containers/kata-containers.img",
    *NODISKS,
    "-s", "13,vhost-vsock,cid=3",
    "-s", "14,virtio-net,tap0_kata,mac=02:42:ac:11:00:02",
    "--cpu_affinity", "0",
    "-k", "/usr/share/kata-containers/vmlinuz.container",
    "-B", NON_DEBUG,
    "sbx-abc",
]


def sandbox_of(doc: dict[str, Any]) -> Any:
    return build_sandbox(loads_sandbox_spec(json.dumps(doc)))


# --- the §2.3 sandbox ----------------------------------------------------------------------------


def test_full_sandbox_argv_for_abc() -> None:
    sb = sandbox_of(abc_spec())
    assert list(sb.argv) == ABC_ARGV
    assert sb.program == "/usr/bin/acrn-dm"
    assert sb.vm_name == "sbx-abc"
    assert sb.console_path == "/run/vc/vm/abc/console.sock"
    assert sb.launch.block_slots == (4, 5, 6, 7, 8, 9, 10, 11, 12)
    assert sb.launch.skipped == ()
    assert sb.launch.log == ("Slot 2 is assigned for GVT-g in acrn, so skipping this slot",)
    assert sb.config.acpi_virt is True
    assert sb.config.ctl_path == "/usr/bin/acrnctl"


def test_defaults_for_empty_paths() -> None:
    sb = sandbox_of(abc_spec(HypervisorPath="", HypervisorCtlPath="", VMStorePath=""))
    assert list(sb.argv) == ABC_ARGV
    assert sb.program == "/usr/bin/acrn-dm"
    assert sb.config.ctl_path == "/usr/bin/acrnctl"
    assert sb.blkrescan_argv("/dev/dm-3", 1)[0] == "/usr/bin/acrnctl"


def test_debug_kernel_params() -> None:
    sb = sandbox_of(abc_spec(Debug=True))
    assert sb.argv[-2] == DEBUG
    assert list(sb.argv[:-2]) == ABC_ARGV[:-2]


def test_non_debug_kernel_params() -> None:
    assert sandbox_of(abc_spec(Debug=False)).argv[-2] == NON_DEBUG


def test_user_kernel_params_are_appended_last() -> None:
    params = [["foo", "bar"], ["quiet", ""], ["", ""], ["", "lone"], ["maxcpus", "4"]]
    sb = sandbox_of(abc_spec(KernelParams=params, DefaultMaxVCPUs=8))
    assert sb.argv[-2] == (BASE + " quiet systemd.show_status=false panic=1 maxcpus=8"
                           " foo=bar quiet lone maxcpus=4")


def test_memory_and_vsock_and_slots_follow_input() -> None:
    doc = abc_spec(MemorySize=4096)
    doc["vsock"] = None
    doc["ApicID"] = ""
    sb = sandbox_of(doc)
    assert sb.argv[:3] == ("-A", "-m", "4096M")
    assert "--cpu_affinity" not in sb.argv
    assert "-s" in sb.argv and "13,virtio-net,tap0_kata,mac=02:42:ac:11:00:02" in sb.argv


def test_invalid_vsock_consumes_no_slot() -> None:
    doc = abc_spec()
    doc["vsock"] = {"ContextID": 2}
    sb = sandbox_of(doc)
    assert "13,virtio-net,tap0_kata,mac=02:42:ac:11:00:02" in sb.argv
    assert [s.device for s in sb.launch.skipped] == [VSOCKDevice(2)]


def test_several_endpoints_and_models() -> None:
    doc = abc_spec()
    doc["endpoints"] = [
        {"type": "VethEndpoint", "NetPair": {
            "TAPIface": {"Name": "tap0_kata", "HardAddr": "02:42:AC:11:00:02"},
            "NetInterworkingModel": "tcfilter"}},
        {"type": "VethEndpoint", "NetPair": {"TAPIface": {"Name": "tap1_kata", "HardAddr": ""}}},
        {"type": "MacvtapEndpoint", "Iface": {"Name": "macvtap0",
                                              "HardwareAddr": "02-42-AC-11-00-03",
                                              "Index": 7, "Type": "macvtap"}},
    ]
    sb = sandbox_of(doc)
    assert list(sb.argv) == [
        *ABC_ARGV[:30],
        "-s", "14,virtio-net,tap0_kata,mac=02:42:AC:11:00:02",  # veth HardAddr: as given
        # the veth without a MAC is !Valid(): skipped, no slot
        "-s", "15,virtio-net,macvtap0,mac=02:42:ac:11:00:03",  # net.HardwareAddr.String()
        *ABC_ARGV[-7:],
    ]
    assert ABC_ARGV[28:30] == ["-s", "13,vhost-vsock,cid=3"]
    assert [s.device for s in sb.launch.skipped] == [NetDevice("tap", "tap1_kata", "")]


def test_cli_output_shape() -> None:
    out = json.loads(run_build_kata_sandbox(json.dumps(abc_spec()),
                                            [("/dev/dm-3", 1), ("/dev/dm-4", 7)]))
    assert out == {
        "program": "/usr/bin/acrn-dm",
        "argv": ABC_ARGV,
        "blkrescan": [["/usr/bin/acrnctl", "blkrescan", "sbx-abc", "5,/dev/dm-3"],
                      ["/usr/bin/acrnctl", "blkrescan", "sbx-abc", "11,/dev/dm-4"]],
    }
    assert "\n" not in run_build_kata_sandbox(json.dumps(abc_spec()))


def test_cli_hotplug_error_names_the_pair() -> None:
    with pytest.raises(ConfigError) as info:
        run_build_kata_sandbox(json.dumps(abc_spec()), [("/dev/dm-3", 1), ("/dev/dm-4", 8)])
    assert info.value.field == "hotplug[1].drive.Index"
    assert info.value.reason == ("Empty filepath or invalid drive index, Dive ID:, "
                                 "Drive Index:8")


# --- CreateVM errors -----------------------------------------------------------------------------


def test_go_create_vm_with_eleven_char_id() -> None:
    # TestAcrnCreateVM: id "testSandbox" (11) gives the 15-character name sbx-testSandbox.
    doc = abc_spec()
    doc["id"] = "testSandbox"
    assert sandbox_of(doc).vm_name == "sbx-testSandbox"


@pytest.mark.parametrize(("sandbox_id", "length"), [("testSandbox1", 16), ("a" * 64, 68)])
def test_name_too_long(sandbox_id: str, length: int) -> None:
    doc = abc_spec()
    doc["id"] = sandbox_id
    with pytest.raises(ConfigError) as info:
        sandbox_of(doc)
    assert info.value.field == "id"
    assert info.value.reason == (f"VM Name len is {length} but ACRN supports max VM name len "
                                 "of 15.")


def test_name_length_counts_bytes() -> None:
    doc = abc_spec()
    doc["id"] = "é" * 6  # 12 bytes
    with pytest.raises(ConfigError, match="VM Name len is 16 "):
        sandbox_of(doc)


def test_empty_image_path() -> None:
    with pytest.raises(ConfigError) as info:
        sandbox_of(abc_spec(ImagePath=""))
    assert info.value.reason == "Image Path should not be empty: "


def test_console_path_too_long() -> None:
    store = "/run/" + "x" * 90
    with pytest.raises(ConfigError) as info:
        sandbox_of(abc_spec(VMStorePath=store))
    path = f"{store}/abc/console.sock"
    assert info.value.reason == f"path too long (got {len(path)}, max 107): {path}"


def test_console_path_limit_is_inclusive() -> None:
    store = "/" + "s" * (107 - len("/abc/console.sock") - 1)
    path = vm_console_path(store, "abc")
    assert len(path) == 107


def test_empty_image_is_reported_before_long_console_path() -> None:
    with pytest.raises(ConfigError, match="Image Path should not be empty"):
        sandbox_of(abc_spec(ImagePath="", VMStorePath="/" + "x" * 200))


def test_long_console_path_is_reported_before_long_name() -> None:
    doc = abc_spec(VMStorePath="/" + "x" * 200)
    doc["id"] = "x" * 20
    with pytest.raises(ConfigError, match="path too long"):
        sandbox_of(doc)


def test_check_paths(tmp_path: Path) -> None:
    files = {n: tmp_path / n for n in ("kernel", "image", "hypervisor", "hypervisorctl")}
    for f in files.values():
        f.write_text("")
    hc = HypervisorConfig(kernel_path=str(files["kernel"]), image_path=str(files["image"]),
                          hypervisor_path=str(files["hypervisor"]),
                          hypervisor_ctl_path=str(files["hypervisorctl"]),
                          memory_size=2048, default_max_vcpus=8)
    sb = build_sandbox(SandboxSpec(id="testSandbox", hypervisor_config=hc), check_paths=True)
    assert sb.program == str(files["hypervisor"])

    missing = str(tmp_path / "missing")
    bad = HypervisorConfig(image_path=missing, hypervisor_path=missing)
    with pytest.raises(ConfigError) as info:
        create_vm(SandboxSpec(id="x", hypervisor_config=bad), check_paths=True)
    assert info.value.reason == f"stat {missing}: no such file or directory"

    bad = HypervisorConfig(image_path=str(files["image"]), hypervisor_path=missing)
    with pytest.raises(ConfigError) as info:
        create_vm(SandboxSpec(id="x", hypervisor_config=bad), check_paths=True)
    assert info.value.reason == f"acrn path ({missing}) does not exist"

    bad = HypervisorConfig(image_path=str(files["image"]),
                           hypervisor_path=str(files["hypervisor"]),
                           hypervisor_ctl_path=missing)
    with pytest.raises(ConfigError) as info:
        create_vm(SandboxSpec(id="x", hypervisor_config=bad), check_paths=True)
    assert info.value.reason == f"acrnctl path ({missing}) does not exist"


def test_paths_are_not_checked_by_default() -> None:
    hc = HypervisorConfig(image_path="/nonexistent/img", hypervisor_path="/nonexistent/dm")
    assert create_vm(SandboxSpec(id="x", hypervisor_config=hc)).path == "/nonexistent/dm"


def test_create_vm_has_no_agent_or_network_devices() -> None:
    hc = HypervisorConfig(kernel_path="/k", image_path="/img", memory_size=2048,
                          default_max_vcpus=1)
    cfg = create_vm(SandboxSpec(id="abc", hypervisor_config=hc, vsock=VSock(3)))
    assert cfg.devices == (
        BridgeDevice("hostbridge", "", 0), LPCDevice("lpc", 0),
        ConsoleDevice("console0", "/run/vc/vm/abc/console.sock", "socket", CONSOLE_BE),
        BlockDevice("/img", 0), *(BlockDevice("nodisk", i) for i in range(1, 9)),
    )


# --- blkrescan (updateBlockDevice) ---------------------------------------------------------------


@pytest.mark.parametrize(("index", "slot"), [(1, 5), (2, 6), (7, 11), (0, 4)])
def test_blkrescan_slots(index: int, slot: int) -> None:
    sb = sandbox_of(abc_spec())
    assert sb.blkrescan_argv("/dev/dm-3", index) == (
        "/usr/bin/acrnctl", "blkrescan", "sbx-abc", f"{slot},/dev/dm-3")


def test_blkrescan_uses_configured_ctl_path() -> None:
    sb = sandbox_of(abc_spec(HypervisorCtlPath="/opt/acrn/acrnctl"))
    assert sb.blkrescan_argv("/dev/dm-3", 1)[0] == "/opt/acrn/acrnctl"
    assert sb.acrnctl_path == "/opt/acrn/acrnctl"
    assert ACRNCTL_PATH == "/usr/bin/acrnctl"


@pytest.mark.parametrize(("file", "index", "field", "text"), [
    # TestAcrnUpdateBlockDeviceInvalidPath / TestAcrnUpdateBlockDeviceInvalidIdx
    ("", 1, "drive.File", "Empty filepath or invalid drive index, Dive ID:, Drive Index:1"),
    ("/tmp/test.img", 9, "drive.Index",
     "Empty filepath or invalid drive index, Dive ID:, Drive Index:9"),
    ("/tmp/test.img", 8, "drive.Index",  # index 8 (slot 12) is unusable: ">="
     "Empty filepath or invalid drive index, Dive ID:, Drive Index:8"),
])
def test_go_update_block_device_errors(file: str, index: int, field: str, text: str) -> None:
    sb = sandbox_of(abc_spec())
    with pytest.raises(ConfigError) as info:
        sb.blkrescan_argv(file, index)
    assert info.value.field == field
    assert info.value.reason == text


def test_blkrescan_drive_id_swap_and_negative() -> None:
    sb = sandbox_of(abc_spec())
    with pytest.raises(ConfigError, match="Dive ID:drive-7, Drive Index:8"):
        sb.blkrescan_argv("/x", 8, drive_id="drive-7")
    with pytest.raises(ConfigError, match="Acrn doesn't support swap"):
        sb.blkrescan_argv("/x", 1, swap=True)
    with pytest.raises(ConfigError, match="panic"):
        sb.blkrescan_argv("/x", -1)


# --- Go unit tests: acrn_arch_base_test.go -------------------------------------------------------

TEST_ARCH = AcrnArch(path="/usr/bin/acrn", ctl_path="/usr/bin/acrnctl",
                     kernel_params=(Param("root", "/dev/vda"),),
                     kernel_params_debug=(Param("debug"),),
                     kernel_params_non_debug=(Param("quiet"),))


def test_go_arch_base_acrn_paths() -> None:
    assert (TEST_ARCH.path, TEST_ARCH.ctl_path) == ("/usr/bin/acrn", "/usr/bin/acrnctl")
    assert (new_acrn_arch("").path, new_acrn_arch("").ctl_path) == (
        "/usr/bin/acrn-dm", "/usr/bin/acrnctl")


def test_go_arch_base_kernel_parameters() -> None:
    assert TEST_ARCH.kernel_parameters(True) == (Param("root", "/dev/vda"), Param("debug", ""))
    assert TEST_ARCH.kernel_parameters(False) == (Param("root", "/dev/vda"), Param("quiet", ""))


def test_kernel_parameters_do_not_alias() -> None:
    arch = new_acrn_arch("/img")
    debug = arch.kernel_parameters(True)
    arch.kernel_parameters(False)
    assert debug[9] == Param("debug", "")
    assert len(arch.kernel_params) == 9


def test_arch_without_image_has_no_root_or_systemd() -> None:
    assert acrn_kernel_parameters(new_acrn_arch(""), debug=False, default_max_vcpus=1) == (
        "tsc=reliable no_timer_check nohpet console=tty0 console=ttyS0 console=hvc0 "
        "log_buf_len=16M consoleblank=0 quiet panic=1 maxcpus=1")
    assert acrn_kernel_parameters(new_acrn_arch(""), debug=True, default_max_vcpus=1).endswith(
        "consoleblank=0 debug panic=1 maxcpus=1")


def test_go_arch_base_capabilities() -> None:
    caps = capabilities()
    assert caps.block_device and caps.block_device_hotplug and caps.network_device_hotplug
    assert not caps.fs_sharing


@pytest.mark.parametrize(("mb", "size"), [(8192, "8192M"), (1000, "1000M")])
def test_go_memory_topology(mb: int, size: str) -> None:
    assert memory_topology(mb) == Memory(size)


def test_go_arch_base_append_consoles() -> None:
    path = f"{DEFAULT_VM_STORE_PATH}/test/console.sock"
    assert append_console((), path) == (
        ConsoleDevice(name="console0", backend="socket", port_type=CONSOLE_BE, path=path),)


def test_go_arch_base_append_image(tmp_path: Path) -> None:
    img = tmp_path / "img"
    img.write_text("")
    assert append_image((), str(img)) == (BlockDevice(file_path=str(img), index=0),)
    with pytest.raises(ConfigError):
        append_image((), str(tmp_path / "missing"))


def test_go_arch_base_append_bridges_and_lpc() -> None:
    assert append_bridges(()) == (BridgeDevice(function=0, emul="hostbridge", config=""),)
    assert append_lpc(()) == (LPCDevice(function=0, emul="lpc"),)


@pytest.mark.parametrize(("host_path", "name"), [
    ("/tmp/archserial.sock", "archserial.test"),  # TestAcrnArchBaseAppendSocket
    ("/tmp/serial.sock", "serial.test"),  # TestAcrnAddDeviceSerialPortDev
])
def test_go_append_socket(host_path: str, name: str) -> None:
    dev = ConsoleDevice(name=name, backend="socket", port_type=SERIAL_BE, path=host_path)
    assert append_socket((), Socket(host_path=host_path, name=name)) == (dev,)
    assert launch_slot_text(dev) == f"3,virtio-console,socket:{name}={host_path}"


def launch_slot_text(dev: ConsoleDevice) -> str:
    return dev.acrn_params(3)[1]


@pytest.mark.parametrize(("file", "index"), [
    ("/tmp/archtest.img", 5),  # TestAcrnArchBaseAppendBlockDevice
    ("/tmp/test.img", 1),  # TestAcrnAddDeviceBlockDev
])
def test_go_append_block_device(file: str, index: int) -> None:
    assert append_block_device((), BlockDrive(file=file, index=index)) == (
        BlockDevice(file, index),)


def test_append_block_device_drops_empty_file() -> None:
    assert append_block_device((), BlockDrive(file="", index=3)) == ()


def test_go_arch_base_append_network() -> None:
    veth = VethEndpoint(tap_iface=NetworkInterface("tap0_kata", ""),
                        virt_iface=NetworkInterface("eth0", "02:00:ca:fe:00:04"),
                        net_interworking_model="tcfilter")
    macvtap = MacvtapEndpoint(type="macvtap")
    devices = append_network(append_network((), veth), macvtap)
    assert devices == (NetDevice("tap", "tap0_kata", ""), NetDevice("macvtap", "", ""))
    assert not any(d.valid() for d in devices)


def test_network_model_mapping() -> None:
    for model, kind in [("macvtap", "macvtap"), ("tcfilter", "tap"), ("default", "tap"),
                        ("none", "tap")]:
        ep = VethEndpoint(NetworkInterface("t", "m"), net_interworking_model=model)
        assert append_network((), ep) == (NetDevice(kind, "t", "m"),)


def test_append_vsock() -> None:
    assert append_vsock((), VSock(1234)) == (VSOCKDevice(1234),)


# --- Go unit tests: acrn_test.go -----------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_go_acrn_kernel_parameters_with_empty_arch(debug: bool) -> None:
    params = (Param("foo", "foo"), Param("bar", "bar"))
    assert acrn_kernel_parameters(AcrnArch(), debug=debug, default_max_vcpus=8,
                                  user_params=params) == "panic=1 maxcpus=8 foo=foo bar=bar"


def test_go_get_sandbox_console() -> None:
    assert vm_console_path(DEFAULT_VM_STORE_PATH, "testSandboxID") == (
        "/run/vc/vm/testSandboxID/console.sock")


def test_serialize_params() -> None:
    params = [Param("a", "1"), Param("b"), Param("", ""), Param("", "v"), Param("c", "x y")]
    assert serialize_params(params) == ["a=1", "b", "v", "c=x y"]
    assert serialize_params([Param("a", "1")], "") == ["a", "1"]


# --- Go helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("parts", "joined"), [
    (("/run/vc/vm/", "abc", "console.sock"), "/run/vc/vm/abc/console.sock"),
    (("//run//vc/", "abc", "console.sock"), "/run/vc/abc/console.sock"),
    (("/run/vc/vm", "../x", "console.sock"), "/run/vc/x/console.sock"),
    (("/run/vc/vm", "", "console.sock"), "/run/vc/vm/console.sock"),
    (("", "abc", "console.sock"), "abc/console.sock"),
    (("", ""), ""),
])
def test_go_join(parts: tuple[str, ...], joined: str) -> None:
    assert go_join(*parts) == joined


def test_go_clean() -> None:
    assert go_clean("") == "."
    assert go_clean("/..") == "/"
    assert go_clean("../a/./b/..") == "../a"
    assert go_clean("a/..") == "."


def test_console_path_cleaned_like_go() -> None:
    sb = sandbox_of(abc_spec(VMStorePath="/run/vc/vm/"))
    assert sb.console_path == "/run/vc/vm/abc/console.sock"


@pytest.mark.parametrize(("text", "mac"), [
    ("", ""),
    ("02:42:AC:11:00:02", "02:42:ac:11:00:02"),
    ("02-42-ac-11-00-02", "02:42:ac:11:00:02"),
    ("0242.ac11.0002", "02:42:ac:11:00:02"),
    ("02:00:5e:10:00:00:00:01", "02:00:5e:10:00:00:00:01"),
])
def test_go_parse_mac(text: str, mac: str) -> None:
    assert go_parse_mac(text) == mac


@pytest.mark.parametrize("text", ["2:42:ac:11:0:2", "02:42:ac:11:00", "02:42-ac:11:00:02",
                                  "zz:42:ac:11:00:02", "02.42.ac.11.00.02"])
def test_go_parse_mac_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid MAC address"):
        go_parse_mac(text)


# --- sandbox JSON --------------------------------------------------------------------------------


def test_spec_from_json() -> None:
    spec = loads_sandbox_spec(json.dumps(abc_spec(KernelParams=[["a", "b"]])))
    assert spec.id == "abc"
    assert spec.apic_id == "0"
    assert spec.vsock == VSock(3)
    assert spec.hypervisor_config.kernel_params == (Param("a", "b"),)
    assert spec.hypervisor_config.memory_size == 2048
    assert spec.endpoints == (VethEndpoint(NetworkInterface("tap0_kata", "02:42:ac:11:00:02"),
                                           NetworkInterface("eth0", "02:00:ca:fe:00:04"),
                                           "macvtap"),)


def test_spec_minimal_json_uses_zero_values() -> None:
    spec = loads_sandbox_spec('{"id": "a", "hypervisor_config": {"ImagePath": "/i"}}')
    assert spec.vsock is None and spec.endpoints == ()
    sb = build_sandbox(spec)
    assert sb.argv[:3] == ("-A", "-m", "0M")
    assert sb.argv[-1] == "sbx-a"
    assert "-k" not in sb.argv and "-B" not in sb.argv  # no kernel path: no -B either


def test_vsock_port_is_accepted() -> None:
    spec = loads_sandbox_spec('{"vsock": {"ContextID": 5, "Port": 1024}}')
    assert spec.vsock == VSock(5)


@pytest.mark.parametrize(("doc", "field"), [
    ({"Id": "x"}, "$.Id"),
    ({"hypervisor_config": {"MemorySize": -1}}, "$.hypervisor_config.MemorySize"),
    ({"hypervisor_config": {"MemorySize": 1 << 32}}, "$.hypervisor_config.MemorySize"),
    ({"hypervisor_config": {"Debug": "yes"}}, "$.hypervisor_config.Debug"),
    ({"hypervisor_config": {"KernelParams": ["a=b"]}}, "$.hypervisor_config.KernelParams[0]"),
    ({"hypervisor_config": {"KernelParams": [["a", 1]]}}, "$.hypervisor_config.KernelParams[0]"),
    ({"hypervisor_config": {"NumVCPUs": 1}}, "$.hypervisor_config.NumVCPUs"),
    ({"vsock": {"ContextID": -3}}, "$.vsock.ContextID"),
    ({"vsock": 3}, "$.vsock"),
    ({"endpoints": [{"type": "TapEndpoint"}]}, "$.endpoints[0].type"),
    ({"endpoints": [{"NetPair": {}}]}, "$.endpoints[0].type"),
    ({"endpoints": [{"type": "VethEndpoint", "NetPair": {"NetInterworkingModel": "bridged"}}]},
     "$.endpoints[0].NetPair.NetInterworkingModel"),
    ({"endpoints": [{"type": "VethEndpoint", "NetPair": {"TAPIface": {"Mac": "x"}}}]},
     "$.endpoints[0].NetPair.TAPIface.Mac"),
    ({"endpoints": [{"type": "MacvtapEndpoint", "Iface": {"HardwareAddr": "bogus"}}]},
     "$.endpoints[0].Iface.HardwareAddr"),
    ({"endpoints": [{"type": "MacvtapEndpoint", "Iface": {"Index": "7"}}]},
     "$.endpoints[0].Iface.Index"),
    ({"endpoints": {}}, "$.endpoints"),
])
def test_spec_json_errors(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads_sandbox_spec(json.dumps(doc))
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_spec_json_must_be_an_object() -> None:
    with pytest.raises(ConfigError) as info:
        loads_sandbox_spec("[]")
    assert info.value.field == "$"
    with pytest.raises(ConfigError, match="invalid JSON"):
        loads_sandbox_spec("{")


def test_unsupported_endpoint_error_mentions_go_panic() -> None:
    with pytest.raises(ConfigError, match="baselogger"):
        loads_sandbox_spec('{"endpoints": [{"type": "IPVlanEndpoint"}]}')
