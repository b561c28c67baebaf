"""Network figures: ICMP round trip through a GuestNic on a tap, and bring-up time.

Prints figures; asserts nothing. Needs root, CAP_NET_ADMIN, /dev/net/tun and iproute2 (prints
why and exits 0 otherwise). Everything runs inside throw-away namespaces on 169.254.0.0/16.

    python bench/bench_net.py [--pings 500] [--rounds 5]

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
import statistics
import sys
import time

from acrnkit.net import PingStats, TestNetwork, privilege_problem, serve_in_thread

GUEST_MAC = "02:ac:00:00:00:02"


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
