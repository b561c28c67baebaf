"""acrnkit.kata.config and acrnkit.kata.launch against kata-containers acrn_arch_base.go @cdaaf708.

No Go test ever asserted an argv; the expected vectors below are derived from the source.
"""

from __future__ import annotations

import dataclasses

import pytest

from acrnkit.errors import ConfigError
from acrnkit.kata import (
    CONSOLE_BE,
    FILE,
    MACVTAP,
    PTY,
    SERIAL_BE,
    SOCKET,
    STDIO,
    TAP,
    TTY,
    BlockDevice,
    BridgeDevice,
    ConsoleDevice,
    KataConfig,
    Kernel,
    LPCDevice,
    Memory,
    NetDevice,
    VSOCKDevice,
    go_fields,
    launch_argv,
)
from acrnkit.kata.launch import INVALID_INDEX_MESSAGE, SLOT2_MESSAGE

# --- constants -----------------------------------------------------------------------------------


def test_backend_constants_keep_the_stdio_quirk() -> None:
    assert (SOCKET, STDIO, FILE, TTY, PTY) == ("socket", "console", "file", "tty", "pty")
    assert (SERIAL_BE, CONSOLE_BE) == (0, 1)
    assert (TAP, MACVTAP) == ("tap", "macvtap")


def test_go_field_mapping() -> None:
    assert go_fields(BridgeDevice) == {
        "emul": ("Emul", "string"), "config": ("Config", "string"), "function": ("Function", "int"),
    }
    assert go_fields(LPCDevice) == {"emul": ("Emul", "string"), "function": ("Function", "int")}
    assert go_fields(ConsoleDevice) == {
        "name": ("Name", "string"), "path": ("Path", "string"),
        "backend": ("Backend", "ConsoleDeviceBackend"), "port_type": ("PortType", "BEPortType"),
    }
    assert go_fields(VSOCKDevice) == {"context_id": ("ContextID", "uint64")}
    assert go_fields(NetDevice) == {
        "type": ("Type", "NetDeviceType"), "ifname": ("IFName", "string"),
        "mac_address": ("MACAddress", "string"),
    }
    assert go_fields(BlockDevice) == {
        "file_path": ("FilePath", "string"), "index": ("Index", "int")}
    assert go_fields(Kernel) == {
        "path": ("Path", "string"), "image_path": ("ImagePath", "string"),
        "params": ("Params", "string"),
    }
    assert go_fields(Memory) == {"size": ("Size", "string")}
    assert {k: v[0] for k, v in go_fields(KataConfig).items()} == {
        "devices": "Devices", "path": "Path", "ctl_path": "CtlPath", "name": "Name",
        "apic_id": "ApicID", "kernel": "Kernel", "memory": "Memory", "acpi_virt": "ACPIVirt",
    }


def test_devices_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BlockDevice("x", 1).index = 2  # type: ignore[misc]


# --- BridgeDevice --------------------------------------------------------------------------------


def test_bridge_valid_and_params() -> None:
    dev = BridgeDevice(emul="hostbridge", config="ignored", function=0)
    assert dev.valid()
    assert dev.acrn_params(0) == ["-s", "0:0,hostbridge"]  # Config is never used


@pytest.mark.parametrize("dev", [
    BridgeDevice(emul="hostbridge", function=1),
    BridgeDevice(emul="pci-bridge", function=0),
    BridgeDevice(),
])
def test_bridge_invalid(dev: BridgeDevice) -> None:
    assert not dev.valid()
    assert dev.invalid_reason()


def test_bridge_params_render_even_when_invalid() -> None:
    assert BridgeDevice(emul="x", function=3).acrn_params(7) == ["-s", "7:3,x"]


# --- LPCDevice -----------------------------------------------------------------------------------


def test_lpc_renders_three_elements_with_joined_l() -> None:
    dev = LPCDevice(emul="lpc", function=0)
    assert dev.valid()
    assert dev.acrn_params(1) == ["-s", "1:0,lpc", "-lcom1,stdio"]


def test_lpc_function_is_not_checked() -> None:
    dev = LPCDevice(emul="lpc", function=9)
    assert dev.valid()
    assert dev.acrn_params(1) == ["-s", "1:9,lpc", "-lcom1,stdio"]


def test_lpc_invalid_emul() -> None:
    assert not LPCDevice(emul="igd-lpc").valid()
    assert not LPCDevice().valid()


# --- ConsoleDevice -------------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "port_type", "expected"), [
    ("socket", CONSOLE_BE, "3,virtio-console,@socket:console0=/run/c.sock"),
    ("socket", SERIAL_BE, "3,virtio-console,socket:console0=/run/c.sock"),
    ("pty", CONSOLE_BE, "3,virtio-console,@pty:pty_port"),
    ("pty", SERIAL_BE, "3,virtio-console,pty:pty_port"),
    ("tty", CONSOLE_BE, "3,virtio-console,@tty:tty_port=/run/c.sock"),
    ("file", SERIAL_BE, "3,virtio-console,file:file_port=/run/c.sock"),
    # Stdio == "console": valid, but no switch case matches -> a bare "@" / nothing.
    ("console", CONSOLE_BE, "3,virtio-console,@"),
    ("console", SERIAL_BE, "3,virtio-console,"),
])
def test_console_backends(backend: str, port_type: int, expected: str) -> None:
    dev = ConsoleDevice(name="console0", path="/run/c.sock", backend=backend, port_type=port_type)
    assert dev.valid()
    assert dev.acrn_params(3) == ["-s", expected]


def test_console_stdio_backend_is_unreachable() -> None:
    dev = ConsoleDevice(name="c", path="/p", backend="stdio", port_type=CONSOLE_BE)
    assert not dev.valid()
    reason = dev.invalid_reason()
    assert reason is not None and "'console'" in reason
    # AcrnParams itself still has the branch: only Valid() makes it unreachable.
    assert dev.acrn_params(3) == ["-s", "3,virtio-console,@stdio:stdio_port"]
    launch = launch_argv(KataConfig(devices=(dev,)))
    assert launch.argv == ()
    assert [s.device for s in launch.skipped] == [dev]


@pytest.mark.parametrize("dev", [
    ConsoleDevice(name="c", path="", backend="pty", port_type=CONSOLE_BE),  # Path even for pty
    ConsoleDevice(name="c", path="/p", backend="socket", port_type=2),
    ConsoleDevice(name="c", path="/p", backend="SOCKET", port_type=0),
    ConsoleDevice(name="c", path="/p", backend="", port_type=0),
])
def test_console_invalid(dev: ConsoleDevice) -> None:
    assert not dev.valid()


# --- VSOCKDevice ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("cid", "valid"), [
    (0, False), (2, False), (3, True), (4294967295, True), (4294967296, False), (1 << 63, False),
])
def test_vsock_bounds(cid: int, valid: bool) -> None:
    assert VSOCKDevice(cid).valid() is valid


def test_vsock_params() -> None:
    assert VSOCKDevice(3).acrn_params(13) == ["-s", "13,vhost-vsock,cid=3"]
    assert VSOCKDevice(4294967295).acrn_params(13) == ["-s", "13,vhost-vsock,cid=4294967295"]
    # uint32(ContextID): only visible when rendering an invalid device directly.
    assert VSOCKDevice((1 << 32) + 5).acrn_params(13) == ["-s", "13,vhost-vsock,cid=5"]


# --- NetDevice -----------------------------------------------------------------------------------


def test_tap_and_macvtap_render_identically() -> None:
    tap = NetDevice(type="tap", ifname="tap0_kata", mac_address="02:42:ac:11:00:02")
    mvt = NetDevice(type="macvtap", ifname="tap0_kata", mac_address="02:42:ac:11:00:02")
    assert tap.valid() and mvt.valid()
    expected = ["-s", "14,virtio-net,tap0_kata,mac=02:42:ac:11:00:02"]
    assert tap.acrn_params(14) == expected
    assert mvt.acrn_params(14) == expected
    assert tap.acrn_netdev_param() == ["tap0_kata", ",mac=02:42:ac:11:00:02"]


@pytest.mark.parametrize("mac", ["02:42:AC:11:0:2", "not-a-mac", "01:00:5e:00:00:01",
                                 "00:00:00:00:00:00"])
def test_mac_is_printed_as_given(mac: str) -> None:
    dev = NetDevice(type="tap", ifname="tap0", mac_address=mac)
    assert dev.valid()
    assert dev.acrn_params(5) == ["-s", f"5,virtio-net,tap0,mac={mac}"]


@pytest.mark.parametrize("dev", [
    NetDevice(type="tap", ifname="", mac_address="02:00:00:00:00:01"),
    NetDevice(type="tap", ifname="tap0", mac_address=""),
    NetDevice(type="vhost-user", ifname="tap0", mac_address="02:00:00:00:00:01"),
])
def test_net_invalid(dev: NetDevice) -> None:
    assert not dev.valid()


def test_net_default_branch_only_reachable_directly() -> None:
    dev = NetDevice(type="bridge", ifname="br0", mac_address="02:00:00:00:00:01")
    assert dev.acrn_netdev_param() == ["br0"]
    assert dev.acrn_params(4) == ["-s", "4,virtio-net,br0"]


# --- BlockDevice ---------------------------------------------------------------------------------


def test_block() -> None:
    assert BlockDevice("/img", 0).acrn_params(4) == ["-s", "4,virtio-blk,/img"]
    assert BlockDevice("nodisk", 3).valid()
    assert not BlockDevice("", 3).valid()


# --- launch_argv ---------------------------------------------------------------------------------


def test_empty_config_gives_empty_argv() -> None:
    launch = launch_argv(KataConfig())
    assert launch.argv == ()
    assert launch.block_slots == (0,) * 9
    assert launch.skipped == ()
    assert launch.log == ()
    assert launch.program == "acrn-dm"
    assert launch.command == ("acrn-dm",)


def test_full_order() -> None:
    cfg = KataConfig(
        devices=(BridgeDevice("hostbridge"), LPCDevice("lpc"),
                 ConsoleDevice("console0", "/run/c.sock", "socket", CONSOLE_BE),
                 BlockDevice("/img", 0)),
        path="/usr/bin/acrn-dm", ctl_path="/usr/bin/acrnctl", name="vm1", apic_id="2",
        kernel=Kernel("/boot/bzImage", "/img", "console=hvc0 root=/dev/vda1"),
        memory=Memory("1024M"), acpi_virt=True,
    )
    launch = launch_argv(cfg)
    assert list(launch.argv) == [
        "-A", "-m", "1024M",
        "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-lcom1,stdio",
        "-s", "3,virtio-console,@socket:console0=/run/c.sock",
        "-s", "4,virtio-blk,/img",
        "--cpu_affinity", "2",
        "-k", "/boot/bzImage", "-B", "console=hvc0 root=/dev/vda1",
        "vm1",
    ]
    assert launch.program == "/usr/bin/acrn-dm"
    assert launch.command[0] == "/usr/bin/acrn-dm"
    assert launch.log == (SLOT2_MESSAGE,)
    assert launch.block_slots == (4, 0, 0, 0, 0, 0, 0, 0, 0)


def test_acpi_and_memory_are_optional() -> None:
    assert launch_argv(KataConfig(acpi_virt=False, memory=Memory(""), name="n")).argv == ("n",)
    assert launch_argv(KataConfig(memory=Memory("2G"))).argv == ("-m", "2G")


def test_no_dash_b_without_kernel_path() -> None:
    launch = launch_argv(KataConfig(kernel=Kernel(path="", params="console=hvc0"), name="vm"))
    assert launch.argv == ("vm",)


def test_kernel_path_without_params() -> None:
    assert launch_argv(KataConfig(kernel=Kernel(path="/k"))).argv == ("-k", "/k")


def test_kernel_params_is_one_element() -> None:
    argv = launch_argv(KataConfig(kernel=Kernel("/k", "", "a=1 b c=3"))).argv
    assert argv == ("-k", "/k", "-B", "a=1 b c=3")


def test_name_is_last_and_cpu_affinity_before_kernel() -> None:
    argv = launch_argv(KataConfig(name="sbx-x", apic_id="6", kernel=Kernel("/k", "", "p"))).argv
    assert argv == ("--cpu_affinity", "6", "-k", "/k", "-B", "p", "sbx-x")


def test_invalid_devices_are_skipped_and_consume_no_slot() -> None:
    bad_net = NetDevice(type="tap", ifname="tap0", mac_address="")
    bad_blk = BlockDevice("", 1)
    cfg = KataConfig(devices=(
        bad_net, BridgeDevice("hostbridge"), bad_blk, LPCDevice("lpc"), VSOCKDevice(2),
        BlockDevice("/a", 1),
    ))
    launch = launch_argv(cfg)
    assert list(launch.argv) == [
        "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-lcom1,stdio", "-s", "3,virtio-blk,/a",
    ]
    assert [(s.position, s.device) for s in launch.skipped] == [
        (0, bad_net), (2, bad_blk), (4, VSOCKDevice(2)),
    ]
    assert all(s.reason for s in launch.skipped)
    assert "MACAddress" in launch.skipped[0].reason
    assert launch.block_slots[1] == 3


def test_slot_two_is_skipped_once_and_logged() -> None:
    devices = tuple(BlockDevice(f"/d{i}", i) for i in range(6))
    launch = launch_argv(KataConfig(devices=devices))
    assert list(launch.argv) == [
        "-s", "0,virtio-blk,/d0", "-s", "1,virtio-blk,/d1", "-s", "3,virtio-blk,/d2",
        "-s", "4,virtio-blk,/d3", "-s", "5,virtio-blk,/d4", "-s", "6,virtio-blk,/d5",
    ]
    assert launch.log == ("Slot 2 is assigned for GVT-g in acrn, so skipping this slot",)
    assert launch.block_slots == (0, 1, 3, 4, 5, 6, 0, 0, 0)


def test_no_slot_two_message_with_two_devices() -> None:
    launch = launch_argv(KataConfig(devices=(BridgeDevice("hostbridge"), LPCDevice("lpc"))))
    assert launch.log == ()


def test_invalid_device_at_slot_two_does_not_trigger_skip() -> None:
    launch = launch_argv(KataConfig(devices=(
        BlockDevice("/a"), BlockDevice("/b"), BlockDevice(""),
    )))
    assert launch.log == ()
    assert launch.argv == ("-s", "0,virtio-blk,/a", "-s", "1,virtio-blk,/b")


def test_block_index_nine_is_logged_not_recorded() -> None:
    launch = launch_argv(KataConfig(devices=(BridgeDevice("hostbridge"), BlockDevice("/y", 9))))
    assert launch.argv == ("-s", "0:0,hostbridge", "-s", "1,virtio-blk,/y")
    assert launch.block_slots == (0,) * 9
    assert launch.log == (f"{INVALID_INDEX_MESSAGE} device=virtio-blk index=9",)
    assert launch.log == ("Invalid index device device=virtio-blk index=9",)


def test_block_index_eight_slot_table() -> None:
    launch = launch_argv(KataConfig(devices=(BridgeDevice("hostbridge"), BlockDevice("/x", 8))))
    assert launch.block_slots == (0, 0, 0, 0, 0, 0, 0, 0, 1)


def test_negative_block_index_is_go_panic() -> None:
    with pytest.raises(ConfigError) as info:
        launch_argv(KataConfig(devices=(BridgeDevice("hostbridge"), BlockDevice("/x", -1))))
    assert info.value.field == "Devices[1].Index"
    assert info.value.value == -1
    assert "panic" in str(info.value)


def test_negative_index_on_invalid_block_device_is_harmless() -> None:
    # AcrnParams (and its table write) never runs for a device that fails Valid().
    assert launch_argv(KataConfig(devices=(BlockDevice("", -1),))).argv == ()


def test_slot_table_is_per_configuration() -> None:
    # In Go, AcrnBlkdDevSlot is a package global: the second launch would still see index 3 -> 1.
    first = launch_argv(KataConfig(devices=(BridgeDevice("hostbridge"), BlockDevice("/a", 3))))
    second = launch_argv(KataConfig(devices=(BridgeDevice("hostbridge"), BlockDevice("/b", 4))))
    assert first.block_slots == (0, 0, 0, 1, 0, 0, 0, 0, 0)
    assert second.block_slots == (0, 0, 0, 0, 1, 0, 0, 0, 0)


def test_later_duplicate_index_overwrites() -> None:
    launch = launch_argv(KataConfig(devices=(BlockDevice("/a", 1), BlockDevice("/b", 1))))
    assert launch.block_slots[1] == 1


def test_slots_are_not_capped_at_31() -> None:
    devices = tuple(NetDevice("tap", f"tap{i}", "02:00:00:00:00:01") for i in range(34))
    argv = launch_argv(KataConfig(devices=devices)).argv
    assert argv[-2:] == ("-s", "34,virtio-net,tap33,mac=02:00:00:00:00:01")


def test_result_is_immutable_tuples() -> None:
    launch = launch_argv(KataConfig(devices=(BlockDevice("/a"),)))
    assert isinstance(launch.argv, tuple)
    assert isinstance(launch.block_slots, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        launch.argv = ()  # type: ignore[misc]
