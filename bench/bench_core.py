"""Core throughput: render + parse + validate of a Kata-sized argv, and import cost.

Prints figures; asserts nothing. Targets (issue 2): >= 20,000 validations/s on one core;
``import acrnkit`` < 50 ms and without scapy or pexpect.

    python bench/bench_core.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

KATA_ARGV = [
    "-A", "-m", "2048M", "-s", "0:0,hostbridge", "-s", "1:0,lpc", "-l", "com1,stdio",
    "-s", "3,virtio-console,@socket:console0=/run/vc/vm/abc/console.sock",
    "-s", "4,virtio-blk,/usr/share/kata-containers/kata-containers.img",
    *[x for i in range(5, 13) for x in ("-s", f"{i},virtio-blk,nodisk")],
    "-s", "13,vhost-vsock,cid=3", "-s", "14,virtio-net,tap=tap0_kata,mac=02:42:ac:11:00:02",
    "--cpu_affinity", "0", "-k", "/usr/share/kata-containers/vmlinuz.container",
    "-B", "tsc=reliable no_timer_check nohpet console=tty0 console=ttyS0 console=hvc0 "
    "log_buf_len=16M consoleblank=0 root=/dev/vda1 rw rootwait quiet "
    "systemd.show_status=false panic=1 maxcpus=1", "sbx-abc",
]


def rate(fn: object, seconds: float) -> float:
    call = fn  # type: ignore[assignment]
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            call()  # type: ignore[operator]
        n += 50
    return n / (time.perf_counter() - start)


def import_ms(stmt: str, runs: int = 15) -> float:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    code = ("import time,sys; t=time.perf_counter(); " + stmt + "; "
            "print((time.perf_counter()-t)*1000, 'scapy' in sys.modules, 'pexpect' in sys.modules)")
    samples = []
    heavy = set()
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
        samples.append(float(out[0]))
        if out[1] == "True":
            heavy.add("scapy")
        if out[2] == "True":
            heavy.add("pexpect")
    return statistics.median(samples), heavy  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    from acrnkit import check, parse, render

    vm = parse(KATA_ARGV, "3.2")
    print(f"argv: {len(KATA_ARGV)} elements, {len(vm.devices)} devices (Kata sandbox shape)")
    secs = args.seconds
    print(f"validate (check):           {rate(lambda: check(KATA_ARGV, '3.2'), secs):9.0f} argv/s")
    print(f"parse:                      {rate(lambda: parse(KATA_ARGV, '3.2'), secs):9.0f} argv/s")
    print(f"render:                     {rate(lambda: render(vm, '3.2'), secs):9.0f} argv/s")

    # The same argv again hits the per-string parse caches; distinct argvs show the cold cost.
    fresh = [[a.replace("abc", f"{i:x}").replace("cid=3", f"cid={i + 3}")
              .replace("02:42:ac:11:00:02", f"02:42:ac:11:{i >> 8 & 255:02x}:{i & 255:02x}")
              .replace("4,virtio-blk,/usr", f"4,virtio-blk,/v{i}/usr")
              for a in KATA_ARGV] for i in range(20000)]
    it = iter(fresh)
    start = time.perf_counter()
    done = 0
    while time.perf_counter() - start < secs and done < len(fresh):
        check(next(it), "3.2")
        done += 1
    print(f"validate, every argv new:   {done / (time.perf_counter() - start):9.0f} argv/s "
          "(distinct ids, MACs, CIDs and paths)")

    def cycle() -> None:
        back = parse(render(vm, "3.2"), "3.2")
        check(render(back, "3.2"), "3.2")

    print(f"render+parse+validate:      {rate(cycle, args.seconds):9.0f} cycles/s")
    for stmt in ("import acrnkit", "from acrnkit import check, VMBuilder"):
        ms, heavy = import_ms(stmt)
        print(f"{stmt!r:40} {ms:6.1f} ms (median of 15)  heavy modules: {sorted(heavy) or 'none'}")


if __name__ == "__main__":
    main()
