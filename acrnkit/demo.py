"""``acrnkit demo``: the README's main job, on the embedded default (the fake acrn-dm).

It builds the argv Kata Containers' ACRN driver would launch for a sandbox, validates it for every
ACRN release profile, boots it on the fake acrn-dm, logs in on the console socket, shows
``/proc/cmdline`` and the devices the guest sees, and stops the VM through the manager socket,
printing a transcript of each step.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from acrnkit.errors import AcrnkitError, LaunchError
from acrnkit.releases.versions import VERSIONS


def _say(text: str = "") -> None:
    print(text, flush=True)


def _sandbox(workdir: Path) -> tuple[list[str], object]:
    from acrnkit.kata.sandbox import build_sandbox, loads_sandbox_spec

    kernel = workdir / "vmlinuz.container"
    kernel.write_bytes(b"demo kernel\n")
    image = workdir / "kata-containers.img"
    with open(image, "wb") as fh:
        fh.truncate(64 << 20)
    store = workdir / "vm"
    spec = {
        "id": "demo",
        "hypervisor_config": {
            "KernelPath": str(kernel), "ImagePath": str(image),
            "HypervisorPath": "/usr/bin/acrn-dm", "HypervisorCtlPath": "/usr/bin/acrnctl",
            "VMStorePath": str(store), "MemorySize": 2048, "DefaultMaxVCPUs": 1,
            "Debug": False, "KernelParams": []},
        "ApicID": "0",
        "vsock": {"ContextID": 3},
        "endpoints": [{"type": "VethEndpoint", "NetPair": {
            "TAPIface": {"Name": "tap0_kata", "HardAddr": "02:42:ac:11:00:02"},
            "VirtIface": {"Name": "eth0", "HardAddr": "02:00:ca:fe:00:04"},
            "NetInterworkingModel": "macvtap"}}],
    }
    sandbox = build_sandbox(loads_sandbox_spec(json.dumps(spec)))
    (store / "demo").mkdir(parents=True, exist_ok=True)  # Kata's StartVM does MkdirAll
    return list(sandbox.argv), sandbox


def run_demo(version: str) -> int:
    from acrnkit.argv.check import check
    from acrnkit.argv.host import LocalHost
    from acrnkit.launch.vm import start_vm

    fake = shutil.which("fake-acrn-dm")
    if fake is None:
        print("acrnkit: fake-acrn-dm is not on PATH (pip install acrnkit)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="acrnkit-demo-"))
    try:
        argv, _ = _sandbox(workdir)
        _say("== 1. The argv Kata's ACRN driver launches for sandbox 'demo' "
             "(acrnkit build --kata-sandbox)")
        _say("acrn-dm " + " ".join(_quote(a) for a in argv))
        _say()
        _say("== 2. What each ACRN release's acrn-dm says about it (acrnkit check --files)")
        for v in VERSIONS:
            result = check(argv, v, LocalHost())
            verdict = ("starts the guest" if result.ok else
                       f"exits {result.exit_status}: {result.message}")
            _say(f"  ACRN {v}: {verdict}")
            for diag in result.warnings:
                _say(f"      warning {diag.field}: {diag.message}")
        _say()
        _say(f"== 3. Boot it on the fake acrn-dm (ACRN {version}), log in on the console socket")
        started = time.monotonic()
        run_dir = workdir / "run"
        with start_vm(argv, acrn_dm=fake, run_dir=run_dir, version=version,
                      log_dir=workdir / "logs", boot_timeout=30) as vm:
            _say(f"  pid {vm.pid}, console {vm.console.kind} {vm.console.path}, logged in "
                 f"after {time.monotonic() - started:.3f} s")
            _say(f"  manager socket {vm.socket_path()}")
            for cmd in ("cat /proc/cmdline", "cat /proc/partitions", "ip -o link",
                        "cat /sys/class/net/eth0/address", "nproc", "free -m"):
                output, status = vm.shell.run(cmd)
                _say(f"  # {cmd}")
                for line in output.rstrip("\n").splitlines():
                    _say(f"    {line}")
            _say()
            _say("== 4. Stop it through the manager socket (acrnctl's protocol, DM_STOP force)")
            err = vm.manager().stop(force=True)
            status = vm.wait(10)
            _say(f"  DM_STOP answered err={err}; acrn-dm exited with status {status}; "
                 f"socket removed: {not vm.socket_path().exists()}")
            _say(f"  console log: {vm.log_path}")
        return 0
    except (AcrnkitError, LaunchError) as err:
        print(f"acrnkit demo: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
