"""What keeps ``fake-acrn-dm`` in check mode within its start-up budget (issue 3: under 1.5x
``python3 -c pass``; bench/bench_fake.py measures it). Timing is the bench's job; these tests
pin down the structure the figure depends on:

* on a Kata-sized argv the check path imports none of the standard modules that cost more than
  the whole budget (``re``, ``typing``, ``enum``, ``dataclasses``, ``functools``, ...);
* the executable ends with ``os._exit`` after a check (no interpreter teardown), with its output
  and record complete, and with the cyclic collector paused;
* after a guest ran, it exits normally, and the guest ran with the collector on.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from acrnkit.launch.sample import kata_sized_argv as kata_argv

FAKE = shutil.which("fake-acrn-dm", path=os.path.dirname(sys.executable)) or shutil.which(
    "fake-acrn-dm")

#: Standard modules that a Kata-sized check must not import: each costs from 1 to 15 ms, against
#: a budget of about 4 ms for all of acrnkit's own work.
HEAVY = {"re", "typing", "enum", "dataclasses", "functools", "collections", "inspect",
         "importlib.util", "json", "hashlib", "contextlib", "ast", "dis", "tokenize", "copy",
         "weakref", "pathlib", "subprocess", "socket", "selectors", "threading", "signal"}


def check_env(d: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update({"ACRNKIT_DM_MODE": "check", "ACRNKIT_RUN_DIR": str(d),
                "ACRNKIT_ACRN_VERSION": "3.2", **extra})
    return env


def imported(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line} - {"package"}


@pytest.mark.skipif(FAKE is None, reason="fake-acrn-dm is not installed")
def test_kata_sized_check_imports_no_heavy_standard_module(tmp_path: Path) -> None:
    assert FAKE is not None
    done = subprocess.run([sys.executable, "-X", "importtime", FAKE, *kata_argv(tmp_path)],
                          env=check_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    # what the interpreter's own start-up loads here (site, .pth files of an editable install)
    # is not the fake's doing
    baseline = imported(subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"],
                                       capture_output=True, text=True, timeout=30).stderr)
    modules = imported(done.stderr) - baseline
    # the check really ran through the model: the device grammars were loaded
    assert {"acrnkit.argv.check", "acrnkit.model.devices.virtio_net",
            "acrnkit.model.devices.virtio_blk", "acrnkit.model.devices.vhost_vsock"} <= modules
    assert sorted(modules & HEAVY) == []
    # nor the handlers of options a Kata-sized line does not use, nor the usage table
    assert "acrnkit.argv.uncommon" not in modules and "acrnkit.releases.usage" not in modules
    # the -A notice is acrn-dm's output: it must be there although the process skipped teardown
    assert "The '-A' parameter is obsolete" in done.stdout + done.stderr


@pytest.mark.skipif(FAKE is None, reason="fake-acrn-dm is not installed")
def test_a_rarely_used_device_may_load_re_and_still_checks(tmp_path: Path) -> None:
    # xhci's grammar uses regular expressions: allowed, as the device module loads only then
    assert FAKE is not None
    argv = ["-s", "0:0,hostbridge", "-s", "3,xhci,1-2", "--cpu_affinity", "0",
            "-k", str(kata_argv(tmp_path)[-4]),
            "vm1"]
    done = subprocess.run([sys.executable, "-X", "importtime", FAKE, *argv],
                          env=check_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "acrnkit.model.devices.xhci" in imported(done.stderr)


@pytest.mark.skipif(FAKE is None, reason="fake-acrn-dm is not installed")
def test_record_and_exit_status_survive_the_fast_exit(tmp_path: Path) -> None:
    assert FAKE is not None
    record = tmp_path / "record.jsonl"
    argv = kata_argv(tmp_path)
    done = subprocess.run([FAKE, *argv[:-1], "x" * 200], capture_output=True, text=True,
                          env=check_env(tmp_path, ACRNKIT_RECORD=str(record)), timeout=30)
    assert done.returncode != 0  # a VM name that is too long
    ok = subprocess.run([FAKE, *argv], capture_output=True, text=True,
                        env=check_env(tmp_path, ACRNKIT_RECORD=str(record)), timeout=30)
    assert ok.returncode == 0
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert [r["exit_status"] for r in rows] == [done.returncode, 0]
    assert [r["verdict"] for r in rows] == ["reject", "check"]


class _Exited(Exception):
    def __init__(self, how: str, status: Any) -> None:
        super().__init__(how, status)
        self.how, self.status = how, status


def test_console_main_check_pauses_gc_and_exits_without_teardown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from acrnkit.fakes.acrn_dm import main as fake_main

    def fast_exit(status: int) -> None:
        raise _Exited("_exit", status)

    monkeypatch.setattr(fake_main.os, "_exit", fast_exit)
    monkeypatch.setattr(fake_main, "_guest_ran", False)
    monkeypatch.setattr(fake_main, "_gc_paused", False)
    monkeypatch.setattr(sys, "argv", ["acrn-dm", *kata_argv(tmp_path)])
    for key, value in check_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    was_enabled = gc.isenabled()
    try:
        with pytest.raises(_Exited) as exited:
            fake_main.console_main()
        assert gc.isenabled() is False
    finally:
        if was_enabled:
            gc.enable()
    assert (exited.value.how, exited.value.status) == ("_exit", 0)


def test_console_main_after_a_guest_turns_gc_back_on_and_exits_normally(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from acrnkit.fakes.acrn_dm import main as fake_main
    from acrnkit.fakes.acrn_dm import sim

    seen: dict[str, bool] = {}

    class Outcome:
        status, signal = 0, None

    def fake_run(*_args: object) -> Outcome:
        seen["gc_enabled"] = gc.isenabled()
        return Outcome()

    def fast_exit(status: int) -> None:
        raise _Exited("_exit", status)

    monkeypatch.setattr(sim, "run", fake_run)
    monkeypatch.setattr(fake_main.os, "_exit", fast_exit)
    monkeypatch.setattr(fake_main, "_guest_ran", False)
    monkeypatch.setattr(fake_main, "_gc_paused", False)
    monkeypatch.setattr(sys, "argv", ["acrn-dm", *kata_argv(tmp_path)])
    for key, value in check_env(tmp_path, ACRNKIT_DM_MODE="run").items():
        monkeypatch.setenv(key, value)
    was_enabled = gc.isenabled()
    try:
        with pytest.raises(SystemExit) as exited:
            fake_main.console_main()
    finally:
        if was_enabled:
            gc.enable()
    assert exited.value.code == 0
    assert seen == {"gc_enabled": True}
