"""Tests a runtime writes with acrnkit's fixtures."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from runtime import build_argv, launch


@pytest.mark.acrn_version(">=3.0")
def test_runtime_launches_a_valid_acrn_dm(acrn_bin_dir: Path, acrn_record: Any,
                                          acrn_vm_argv: list[str]) -> None:
    proc = launch(str(acrn_bin_dir / "acrn-dm"), acrn_vm_argv)
    try:
        time.sleep(0.3)  # the fake VM is up once its manager socket exists
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # acrn-dm shuts the guest down on SIGINT
        proc.wait(10)
    acrn_record.assert_launched_valid()


def test_guest_sees_the_runtime_mac(acrn_vm: Any) -> None:
    assert acrn_vm.shell.run_check("cat /sys/class/net/eth0/address").strip() == (
        "02:42:ac:11:00:02")


@pytest.mark.acrn_hw
def test_only_on_hardware(acrn_vm: Any) -> None:
    assert acrn_vm.shell.logged_in


def test_runtime_argv_matches_release(acrn_vm_argv: list[str]) -> None:
    from acrnkit import check

    assert check(acrn_vm_argv, "3.2").ok
    assert build_argv("x", Path("/k"), Path("/i"), "t", "02:00:00:00:00:01")[-1] == "x"
