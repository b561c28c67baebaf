"""Network figures: ICMP round trip through a GuestNic and through the fake acrn-dm on a tap,
and bring-up times.

Prints figures; asserts nothing. Needs root, CAP_NET_ADMIN, /dev/net/tun and iproute2 (prints
why and exits 0 otherwise). Everything runs inside throw-away namespaces on 169.254.0.0/16.

    python bench/bench_net.py [--pings 500] [--rounds 5]

Through the fake acrn-dm (``fake-acrn-dm`` started inside the namespace with
``write_launcher``, its guest NIC on the tap, served by the fake's reactor):

* rtt host -> fake guest: echo requests from a raw ICMP socket in the namespace (this process,
  one request in flight, no helper process), answered by the fake's guest NIC;
* rtt fake guest -> host: the guest shell's ``ping -A -c N`` (busybox's adaptive mode), the
  times it prints;
* bring-up: netns + tap, fake VM (process start to the login prompt: interpreter, argv check,
  device init with the tap attach, boot log, scapy imported by the guest NIC), first reply (the
  first echo request after the prompt, ARP included), and the total.

* rtt host -> GuestNic: ``acrnkit.net.ping`` (a raw ICMP socket in the namespace's kernel, one
  request in flight), the NIC served from a thread of this process.
* rtt GuestNic -> host: ``GuestNic.ping`` with interval 0, answered by the namespace's kernel.
* bring-up: netns + tap (``TestNetwork``), NIC (attach to the tap + ``GuestNic``), first reply
  (``acrnkit.net.ping`` until the NIC answers; includes starting the probe helper, i.e. an
  interpreter and scapy). The first round is cold (scapy imported by the NIC). The same
  bring-up is also timed to the first reply the NIC gets to its own ping (no helper process).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from acrnkit.net import PingStats, TestNetwork, privilege_problem, serve_in_thread, write_launcher
from acrnkit.net._probe import do_ping

GUEST_MAC = "02:ac:00:00:00:02"
FAKE = shutil.which("fake-acrn-dm", path=os.path.dirname(sys.executable)) or shutil.which(
    "fake-acrn-dm")
_TIME = re.compile(r"seq=\d+ ttl=\d+ time=(\d+\.\d+) ms")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def rtt_line(label: str, stats: PingStats) -> str:
    rtts = list(stats.rtts)
    if not rtts:
        return f"{label}: no replies ({stats.sent} sent)"
    return (f"{label}: median {ms(statistics.median(rtts))}  p99 {ms(p99(rtts))}  "
            f"min {ms(min(rtts))}  ({stats.received}/{stats.sent} replies)")


def bring_up() -> tuple[float, float, float]:
    """netns + tap, NIC, first reply to the host's probe."""
    t0 = time.perf_counter()
    with TestNetwork() as net:
        t1 = time.perf_counter()
        nic = net.guest_nic(GUEST_MAC)
        t2 = time.perf_counter()
        with serve_in_thread(nic):
            while net.ping(net.guest_ip, count=1, timeout=1.0).received == 0:
                pass
        t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def bring_up_in_process() -> float:
    """netns + tap + NIC + the first reply to the NIC's own ping (no helper process)."""
    t0 = time.perf_counter()
    with TestNetwork() as net:
        nic = net.guest_nic(GUEST_MAC)
        while nic.wait(nic.ping(net.host_ip, 1, 1.0)).received == 0:
            pass
        return time.perf_counter() - t0


# -- through the fake acrn-dm -----------------------------------------------------------------


class FakeVm:
    """``fake-acrn-dm`` inside ``net`` with one NIC on its tap and a stdio console (pexpect)."""

    def __init__(self, net: TestNetwork, workdir: Path) -> None:
        import pexpect

        assert FAKE is not None
        kernel = workdir / "bzImage"
        kernel.write_bytes(b"bench kernel")
        argv = ["-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:con",
                "-s", f"4,virtio-net,tap={net.tap},mac={GUEST_MAC}", "--cpu_affinity", "0",
                "-k", str(kernel), "-B", f"console=hvc0 {net.guest_ip_param()}", "vm1"]
        launcher = write_launcher(workdir / "acrn-dm", net, FAKE)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
        env["ACRNKIT_RUN_DIR"] = str(workdir / "run")
        self.child = pexpect.spawn(launcher, argv, env=env, timeout=30, encoding="utf-8",
                                   codec_errors="replace", dimensions=(50, 200))

    def wait_login(self) -> None:
        self.child.expect("vm1 login: ")

    def shell(self, command: str, timeout: float = 120) -> str:
        self.child.sendline(command)
        self.child.expect_exact("# ", timeout=timeout)
        return str(self.child.before).replace("\r", "")

    def close(self) -> None:
        import pexpect

        if self.child.isalive():
            self.child.sendline("poweroff")
            with contextlib.suppress(pexpect.ExceptionPexpect):
                self.child.expect(pexpect.EOF, timeout=10)
        self.child.close(force=True)


def host_pings(net: TestNetwork, count: int, timeout: float = 1.0) -> PingStats:
    """``count`` echo requests from a raw socket in the namespace, one in flight, in this
    process (no helper start-up in the figures)."""
    result: dict[str, Any] = net.call(do_ping, str(net.guest_ip), count, timeout, 0.0, 56)
    return PingStats(result["sent"], result["received"], tuple(result["rtts"]),
                     result["errors"])


def fake_rtts(pings: int) -> tuple[PingStats, PingStats]:
    """(host -> fake guest, fake guest -> host)."""
    with TestNetwork() as net, tempfile.TemporaryDirectory(prefix="acrnbench-") as tmp:
        vm = FakeVm(net, Path(tmp))
        try:
            vm.wait_login()
            vm.shell("root")
            host_pings(net, 5)  # warm: ARP resolved, caches hot
            host_to_guest = host_pings(net, pings)
            out = vm.shell(f"ping -A -c {pings} -W 1 {net.host_ip}")
            times = tuple(float(t) / 1000 for t in _TIME.findall(out))
            sent = re.search(r"(\d+) packets transmitted", out)
            guest_to_host = PingStats(int(sent.group(1)) if sent else 0, len(times), times)
        finally:
            vm.close()
    return host_to_guest, guest_to_host


def fake_bring_up() -> tuple[float, float, float]:
    """netns + tap, fake VM to its login prompt, first reply to the host."""
    with tempfile.TemporaryDirectory(prefix="acrnbench-") as tmp:
        t0 = time.perf_counter()
        with TestNetwork() as net:
            t1 = time.perf_counter()
            vm = FakeVm(net, Path(tmp))
            try:
                vm.wait_login()
                t2 = time.perf_counter()
                while host_pings(net, 1, 0.05).received == 0:
                    pass
                t3 = time.perf_counter()
            finally:
                vm.close()
    return t1 - t0, t2 - t1, t3 - t2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    problem = privilege_problem()
    if problem is not None:
        print(f"bench_net: skipped: {problem}")
        return 0

    rounds = [bring_up() for _ in range(max(args.rounds, 1))]
    local = [bring_up_in_process() for _ in range(max(args.rounds, 1))]
    with TestNetwork() as net:
        nic = net.guest_nic(GUEST_MAC)
        with serve_in_thread(nic):
            net.ping(net.guest_ip, count=5)  # warm: ARP resolved, caches hot
            host_to_guest = net.ping(net.guest_ip, count=args.pings, timeout=1.0)
        job = nic.ping(net.host_ip, count=args.pings, timeout=1.0, interval=0.0)
        guest_to_host = nic.wait(job, timeout=args.pings * 1.0 + 5)

    print(f"acrnkit.net bench: {args.pings} pings, {len(rounds)} bring-ups "
          f"(python {sys.version.split()[0]})")
    print(rtt_line("icmp rtt host -> GuestNic", host_to_guest))
    print(rtt_line("icmp rtt GuestNic -> host", guest_to_host))
    for index, label in enumerate(("netns + tap", "NIC (attach tap + GuestNic)",
                                   "first reply (probe helper start + ping)")):
        values = [r[index] for r in rounds]
        print(f"bring-up {label}: median {ms(statistics.median(values))}  "
              f"first {ms(values[0])}")
    totals = [sum(r) for r in rounds]
    print(f"bring-up netns + tap + NIC + first reply: median {ms(statistics.median(totals))}  "
          f"first (cold) {ms(totals[0])}")
    print(f"bring-up netns + tap + NIC + first reply to the NIC's own ping (in-process): "
          f"median {ms(statistics.median(local))}")
    if FAKE is None:
        print("fake acrn-dm: skipped: fake-acrn-dm is not installed")
        return 0
    fake_rounds = [fake_bring_up() for _ in range(max(args.rounds, 1))]
    to_fake, from_fake = fake_rtts(args.pings)
    print(rtt_line("icmp rtt host -> fake acrn-dm guest (raw socket, in-process)", to_fake))
    print(rtt_line("icmp rtt fake acrn-dm guest -> host (guest `ping -A`)", from_fake))
    for index, label in enumerate(("netns + tap", "fake VM (start to login prompt)",
                                   "first reply (ARP + echo)")):
        values = [r[index] for r in fake_rounds]
        print(f"bring-up (fake) {label}: median {ms(statistics.median(values))}  "
              f"first {ms(values[0])}")
    totals = [sum(r) for r in fake_rounds]
    print(f"bring-up netns + tap + fake VM + first reply: median "
          f"{ms(statistics.median(totals))}  first {ms(totals[0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
