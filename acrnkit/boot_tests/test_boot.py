"""acrnkit's boot suite: what every runtime's acrn-dm argv must do once it boots.

Run it on the fake (every CI run), on QEMU (``--acrn-target qemu``) or on a real ACRN Service VM
(``--acrn-target hw``, nightly) with ``pytest --pyargs acrnkit.boot_tests``. A runtime boots its
own argv by overriding the ``acrn_vm_argv`` fixture in its conftest.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from acrnkit.argv.check import check
from acrnkit.errors import ConsoleTimeoutError, KernelPanicError
from acrnkit.releases.profile import get_release


def _vm_model(argv: list[str], version: str) -> Any:
    vm = check(argv, version).vm
    assert vm is not None, f"the argv under test does not parse for ACRN {version}: {argv}"
    return vm


def test_boots_to_login(acrn_vm: Any) -> None:
    assert acrn_vm.shell.logged_in
    output, status = acrn_vm.shell.run("echo ready")
    assert (output, status) == ("ready\n", 0)


def test_proc_cmdline_equals_bootargs(acrn_vm: Any, acrn_vm_argv: list[str],
                                      acrn_options: Any) -> None:
    vm = _vm_model(acrn_vm_argv, acrn_options.version)
    output = acrn_vm.shell.run_check("cat /proc/cmdline")
    assert output.strip() == (vm.bootargs or "").strip()


def test_every_disk_is_visible(acrn_vm: Any, acrn_vm_argv: list[str], acrn_options: Any) -> None:
    vm = _vm_model(acrn_vm_argv, acrn_options.version)
    disks = [d for d in vm.devices if d.emul == "virtio-blk" and not d.device.is_nodisk]
    output = acrn_vm.shell.run_check("cat /proc/partitions")
    names = [line.split()[-1] for line in output.splitlines()[1:] if line.strip()]
    whole = [n for n in names if n.startswith("vd") and not n[-1].isdigit()]
    assert len(whole) == len(disks), f"argv has {len(disks)} disks, guest shows {whole}"


@pytest.mark.acrn_feature("default-mac")
def test_every_nic_has_its_mac(acrn_vm: Any, acrn_vm_argv: list[str],
                               acrn_options: Any) -> None:
    vm = _vm_model(acrn_vm_argv, acrn_options.version)
    rel = get_release(acrn_options.version)
    nics = sorted(vm.devices_of("virtio-net"), key=lambda d: d.bdf.key)
    expected = [d.device.effective_mac(d.bdf.slot, d.bdf.func, rel, vm.mac_seed) for d in nics]
    output = acrn_vm.shell.run_check("cat /sys/class/net/eth*/address")
    assert output.split() == expected


@pytest.mark.acrn_feature("blkrescan")
def test_block_hotplug_via_blkrescan(acrn_vm: Any, acrn_vm_argv: list[str], acrn_options: Any,
                                     acrn_run_dir: Path) -> None:
    vm = _vm_model(acrn_vm_argv, acrn_options.version)
    slots = [d.bdf.slot for d in vm.devices if d.emul == "virtio-blk" and d.device.is_nodisk]
    if not slots:
        pytest.skip("the argv under test has no nodisk placeholder to rescan")
    before = acrn_vm.shell.run_check("cat /proc/partitions")
    image = acrn_run_dir / "hotplug.img"
    with open(image, "wb") as fh:
        fh.truncate(4 << 20)
    assert acrn_vm.manager().blkrescan(slots[0], str(image)) == 0
    deadline = time.monotonic() + 10
    after = before
    while time.monotonic() < deadline and after == before:
        after = acrn_vm.shell.run_check("cat /proc/partitions")
    assert len(after.splitlines()) == len(before.splitlines()) + 1, after


@pytest.mark.acrn_feature("manager")
def test_stop_via_manager_socket(acrn_vm: Any) -> None:
    assert acrn_vm.manager().query() >= 0
    assert acrn_vm.manager().stop(force=True) == 0
    assert acrn_vm.wait(15) == 0
    assert not acrn_vm.socket_path().exists()


def test_poweroff_ends_the_vm(acrn_vm: Any) -> None:
    acrn_vm.shell.poweroff(timeout=30)
    status = acrn_vm.wait(30)
    assert status == 0


def _panic_setup(acrn_target: Any, argv: list[str]) -> tuple[list[str], dict[str, str]]:
    if "scenarios" in acrn_target.features:
        return argv, {"ACRNKIT_GUEST_SCENARIO": "panic"}
    out = list(argv)
    b = out.index("-B")
    out[b + 1] = out[b + 1].replace("root=", "oldroot=") + " root=/dev/nonexistent panic=1"
    return out, {}


def test_kernel_panic_is_reported(acrn_vm_factory: Any, acrn_vm_argv: list[str],
                                  acrn_target: Any) -> None:
    argv, env = _panic_setup(acrn_target, acrn_vm_argv)
    started = time.monotonic()
    with pytest.raises(KernelPanicError) as err:
        acrn_vm_factory(argv, env=env, boot_timeout=60)
    # a real kernel prints a call trace after the panic line, which can push it out of the tail
    assert "Kernel panic" in str(err.value) or "Kernel panic" in err.value.tail
    assert err.value.tail
    assert err.value.log_path and os.path.exists(err.value.log_path)
    assert time.monotonic() - started < 50


@pytest.mark.acrn_feature("scenarios")
def test_hang_is_a_boot_timeout_with_the_console_tail(acrn_vm_factory: Any,
                                                      acrn_vm_argv: list[str]) -> None:
    with pytest.raises(ConsoleTimeoutError) as err:
        acrn_vm_factory(acrn_vm_argv, env={"ACRNKIT_GUEST_SCENARIO": "hang"}, boot_timeout=1.5)
    assert "boot timeout" in str(err.value) or "timeout" in str(err.value)
    assert err.value.tail
