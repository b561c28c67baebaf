"""What the real acrn-dm says about Kata's argv, release by release (docs/kata-quirks.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from acrnkit import check, parse
from acrnkit.kata.cli import run_build_kata
from acrnkit.kata.sandbox import build_sandbox, loads_sandbox_spec


def sandbox_argv(**overrides: Any) -> list[str]:
    spec: dict[str, Any] = {
        "id": "abc",
        "hypervisor_config": {
            "KernelPath": "/k", "ImagePath": "/img", "VMStorePath": "/run/vc/vm",
            "MemorySize": 2048, "DefaultMaxVCPUs": 1, "Debug": False, "KernelParams": []},
        "ApicID": "0",
        "vsock": {"ContextID": 3},
        "endpoints": [{"type": "VethEndpoint", "NetPair": {
            "TAPIface": {"Name": "tap0_kata", "HardAddr": "02:42:ac:11:00:02"},
            "VirtIface": {"Name": "eth0", "HardAddr": "02:00:ca:fe:00:04"},
            "NetInterworkingModel": "macvtap"}}],
    }
    spec.update(overrides)
    return list(build_sandbox(loads_sandbox_spec(json.dumps(spec))).argv)


def kata_argv(devices: list[dict[str, Any]]) -> list[str]:
    config = {"ACPIVirt": True, "Memory": {"Size": "2048M"}, "ApicID": "0", "Name": "sbx-abc",
              "Kernel": {"Path": "/k", "Params": "quiet"}, "Devices": devices}
    return list(json.loads(run_build_kata(json.dumps(config))))


BRIDGE_LPC = [{"type": "BridgeDevice", "Emul": "hostbridge"}, {"type": "LPCDevice", "Emul": "lpc"}]


@pytest.mark.parametrize("version", ["3.0", "3.2", "3.3"])
def test_kata_sandbox_starts_on_3x_but_opens_no_tap(version: str) -> None:
    result = check(sandbox_argv(), version)
    assert result.ok, result.diagnostics
    assert any("opens no tap" in d.message for d in result.warnings)
    vm = parse(sandbox_argv(), version)
    nic = vm.devices_of("virtio-net")[0].device
    assert nic.mac == "02:42:ac:11:00:02" and nic.opens_tap(result.release) is None


def test_kata_sandbox_fails_on_2_7_because_of_vsock() -> None:
    result = check(sandbox_argv(), "2.7")
    assert (result.exit_status, result.message) == (
        1, 'pci slot 13:0: unknown device "vhost-vsock"')


def test_kata_lpc_element_is_accepted_as_attached_argument() -> None:
    vm = parse(sandbox_argv(), "3.2")
    assert [p.render() for p in vm.lpc] == ["com1,stdio"]


@pytest.mark.parametrize("version", ["2.7", "3.2", "3.3"])
def test_bare_at_console_is_rejected(version: str) -> None:
    argv = kata_argv([*BRIDGE_LPC, {"type": "ConsoleDevice", "Name": "c", "Path": "/p",
                                    "Backend": "console", "PortType": 1}])
    assert "3,virtio-console,@" in argv
    result = check(argv, version)
    assert result.exit_status == 1
    assert result.message == "vtcon: invalid backend !"
    assert [line.text for line in result.output][-2:] == [
        "pci virtio-console init failed", "Unable to init vdev (22)"]


def test_cid_accepted_by_kata_but_not_by_acrn_dm() -> None:
    argv = kata_argv([*BRIDGE_LPC, {"type": "VSOCKDevice", "ContextID": 4294967295}])
    assert "3,vhost-vsock,cid=4294967295" in argv
    result = check(argv, "3.2")
    assert result.message == "vsock: guest_cid has to be 0x2~0xffffffff."


def test_unvalidated_mac_is_rejected_at_init() -> None:
    argv = kata_argv([*BRIDGE_LPC, {"type": "NetDevice", "Type": "tap", "IFName": "tap0",
                                    "MACAddress": "01:00:5e:00:00:01"}])
    assert "3,virtio-net,tap0,mac=01:00:5e:00:00:01" in argv
    assert check(argv, "3.2").message == "Invalid MAC 01:00:5e:00:00:01"


def test_kata_name_limit_matches_acrn_dm() -> None:
    argv = sandbox_argv(id="abcdefghijk")
    assert argv[-1] == "sbx-abcdefghijk"
    assert check(argv, "3.2").ok


def test_no_bootargs_without_kernel() -> None:
    config = {"Name": "sbx-x", "Kernel": {"Path": "", "Params": "quiet"}, "Devices": BRIDGE_LPC}
    argv = json.loads(run_build_kata(json.dumps(config)))
    assert "-B" not in argv
    assert check(argv, "3.2").message == "mpt_build_proc_entries,Err: Invalid guest_pcpu_bitmask."
