"""The JSON form and the ``acrnkit`` CLI (build, check, parse): real subprocess runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acrnkit import ConfigError, from_json, render, to_json

ACRNKIT = shutil.which("acrnkit")
CONFIG = {
    "name": "vm1", "memsize": "2G", "cpu_affinity": "1", "kernel": "/k", "bootargs": "quiet",
    "lpc": ["com1,stdio"],
    "devices": [
        {"slot": "0:0", "emul": "hostbridge"},
        {"slot": "1:0", "emul": "lpc"},
        {"slot": 3, "emul": "virtio-blk", "path": "/img", "ro": True,
         "sectorsize": {"logical": 512, "physical": 4096}},
        {"slot": 4, "emul": "virtio-net", "ifname": "tap0", "mac": "02:00:00:00:00:01"},
        {"slot": 5, "emul": "virtio-console",
         "ports": [{"backend": "pty", "name": "p0", "console": True}]},
        {"slot": 6, "emul": "virtio-blk", "config": "nodisk"},
        {"emul": "vhost-vsock", "cid": 3},
    ],
}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert ACRNKIT, "acrnkit console script not installed"
    return subprocess.run([ACRNKIT, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_json_form_round_trips() -> None:
    vm = from_json(CONFIG, "3.2")
    assert from_json(to_json(vm), "3.2") == vm
    assert vm.devices[-1].bdf.slot == 7  # allocated: 2 is reserved, 3..6 taken
    argv = render(vm, "3.2")
    assert "3,virtio-blk,/img,ro,sectorsize=512/4096" in argv


@pytest.mark.parametrize(("patch", "field"), [
    ({"memsize": 2048}, "memsize"),
    ({"bogus": 1}, "bogus"),
    ({"devices": [{"emul": "nope"}]}, "devices[0].emul"),
    ({"devices": [{"emul": "virtio-blk", "path": "/a", "ro": "yes"}]}, "devices[0].ro"),
    ({"devices": [{"emul": "virtio-blk", "path": "/a", "colour": 1}]}, "devices[0].colour"),
    ({"devices": [{"emul": "virtio-blk", "config": "/a,bogus"}]}, "devices[0].config"),
    ({"devices": [{"slot": 40, "emul": "virtio-rnd"}]}, "devices[0].slot"),
])
def test_json_errors_name_the_field(patch: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_json({**CONFIG, **patch}, "3.2")
    assert err.value.field == field


def test_cli_build(tmp_path: Path) -> None:
    path = tmp_path / "vm.json"
    path.write_text(json.dumps(CONFIG))
    done = run("build", "--acrn-version", "3.2", str(path))
    assert done.returncode == 0, done.stderr
    argv = json.loads(done.stdout)
    assert argv[-1] == "vm1" and "-m" in argv
    listed = run("build", "--acrn-version", "3.2", "-", stdin=json.dumps([CONFIG, CONFIG]))
    assert listed.returncode == 0 and json.loads(listed.stdout) == [argv, argv]


@pytest.mark.parametrize(("stdin", "needle"), [
    ("{", "json="),
    ('{"memsize": "12"}', "memsize='12'"),
    ('{"name": "vm1", "devices": [{"emul": "virtio-net", "ifname": "tap0", '
     '"mac": "01:00:00:00:00:01"}]}', "mac"),
])
def test_cli_build_errors_are_one_line(stdin: str, needle: str) -> None:
    done = run("build", "-", stdin=stdin)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and needle in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_build_missing_file() -> None:
    done = run("build", "/nonexistent/vm.json")
    assert done.returncode == 2 and "No such file" in done.stderr


def test_cli_check_valid_and_invalid() -> None:
    ok = run("check", "--acrn-version", "3.2", "--", "-s", "0:0,hostbridge", "--cpu_affinity",
             "1", "-k", "/k", "vm1")
    assert ok.returncode == 0 and "ok: acrn-dm 3.2 would start the guest" in ok.stdout
    bad = run("check", "--acrn-version", "3.2", "--", "-m", "2048", "-s", "0:0,hostbridge",
              "--cpu_affinity", "1", "-k", "/k", "vm1")
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert lines[0].startswith("argv[1]: error: -m='2048'")
    assert lines[-1] == "invalid: acrn-dm 3.2 exits 64: acrn-dm: invalid memsize '2048'"


def test_cli_check_json() -> None:
    done = run("check", "--json", "--acrn-version", "2.7", "--", "-W", "vm1")
    data = json.loads(done.stdout)
    assert data["version"] == "2.7" and data["exit_status"] == 1
    assert any(d["field"] == "boot image" for d in data["diagnostics"])


def test_cli_check_files(tmp_path: Path) -> None:
    done = run("check", "--files", "--", "-s", "0:0,hostbridge", "--cpu_affinity", "1", "-k",
               str(tmp_path / "missing"), "vm1")
    assert done.returncode == 1 and "exits 10" in done.stdout


def test_cli_parse() -> None:
    done = run("parse", "--acrn-version", "3.2", "--", "-m", "2G", "-s", "3,virtio-blk,/x,ro",
               "vm1")
    assert done.returncode == 0
    assert json.loads(done.stdout) == {
        "name": "vm1", "memsize": "2G",
        "devices": [{"slot": "3", "emul": "virtio-blk", "path": "/x", "ro": True}]}
    bad = run("parse", "--", "-s", "3,virtio-console,@", "vm1")
    assert bad.returncode == 2 and "argv[1]" in bad.stderr


def test_cli_kata(tmp_path: Path) -> None:
    config = {"ACPIVirt": True, "Memory": {"Size": "2048M"}, "Name": "sbx-abc",
              "Devices": [{"type": "BridgeDevice", "Emul": "hostbridge"},
                          {"type": "LPCDevice", "Emul": "lpc"},
                          {"type": "ConsoleDevice", "Name": "c", "Path": "/p",
                           "Backend": "console", "PortType": 1}]}
    done = run("build", "--kata", "-", stdin=json.dumps(config))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["-A", "-m", "2048M", "-s", "0:0,hostbridge", "-s",
                                       "1:0,lpc", "-lcom1,stdio", "-s", "3,virtio-console,@",
                                       "sbx-abc"]


def test_cli_usage_error_has_no_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "acrnkit.cli", "build", "--hotplug", "x"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
