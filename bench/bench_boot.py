"""Boot cycles: launch -> login -> command -> poweroff, on the fake and (when built) on QEMU.

Prints figures; asserts nothing. Targets: fake under 300 ms per cycle and 20 cycles in parallel
on 2 cores without a timeout (issue 5); QEMU/TCG under 5 s per full cycle (issue 7), with
boot-to-shell and full-cycle times measured in the same run for both targets.

    python bench/bench_boot.py [--cycles 10] [--parallel 20] [--qemu-cycles 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def cycle(fake: str, run_dir: Path, env: dict[str, str], version: str = "3.2",
          boot_timeout: float = 30.0) -> tuple[float, float]:
    """(boot-to-shell seconds, full-cycle seconds) for one VM of the sample argv."""
    from acrnkit.launch.sample import sample_argv
    from acrnkit.launch.vm import start_vm

    argv = sample_argv(version, run_dir)
    start = time.perf_counter()
    vm = start_vm(argv, acrn_dm=fake, run_dir=run_dir, version=version, env=env,
                  boot_timeout=boot_timeout)
    try:
        booted = time.perf_counter() - start
        vm.shell.run_check("cat /proc/cmdline")
        vm.shell.poweroff(timeout=30)
        vm.wait(30)
    finally:
        vm.stop()
    return booted, time.perf_counter() - start


def series(fake: str, env: dict[str, str], n: int, timeout: float) -> list[tuple[float, float]]:
    out = []
    for _ in range(n):
        with tempfile.TemporaryDirectory(prefix="acrn-b-") as tmp:
            out.append(cycle(fake, Path(tmp), env, boot_timeout=timeout))
    return out


def show(label: str, results: list[tuple[float, float]]) -> None:
    boot = statistics.median(r[0] for r in results) * 1000
    full = statistics.median(r[1] for r in results) * 1000
    worst = max(r[1] for r in results) * 1000
    print(f"{label:28} boot-to-shell {boot:8.1f} ms   full cycle {full:8.1f} ms "
          f"(median of {len(results)}, worst {worst:.1f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--parallel", type=int, default=20)
    ap.add_argument("--qemu-cycles", type=int, default=3)
    args = ap.parse_args()
    fake = shutil.which("fake-acrn-dm")
    if fake is None:
        raise SystemExit("fake-acrn-dm is not installed")
    env: dict[str, str] = {}
    show("fake (simulated guest)", series(fake, env, args.cycles, 30))

    def one(_: int) -> tuple[float, float]:
        with tempfile.TemporaryDirectory(prefix="acrn-p-") as tmp:
            return cycle(fake, Path(tmp), env, boot_timeout=60)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        results = list(pool.map(one, range(args.parallel)))
    wall = time.perf_counter() - start
    print(f"{args.parallel} fake cycles in parallel:   {wall * 1000:8.1f} ms wall, all "
          f"{len(results)} completed, slowest cycle {max(r[1] for r in results) * 1000:.1f} ms")

    if shutil.which("qemu-system-x86_64") is None:
        print("qemu: skipped (qemu-system-x86_64 not installed)")
        return
    from acrnkit.guest.image import default_guest_dir, load_guest

    try:
        load_guest(default_guest_dir())
    except Exception as err:
        print(f"qemu: skipped (no guest image: {err})")
        return
    qenv = {"ACRNKIT_DM_BACKEND": "qemu", "ACRNKIT_GUEST_DIR": str(default_guest_dir()),
            **{k: v for k, v in os.environ.items() if k.startswith("ACRNKIT_DM_QEMU")}}
    show("qemu (real kernel, TCG)", series(fake, qenv, args.qemu_cycles, 120))


if __name__ == "__main__":
    main()
