"""acrnkit.net: test namespaces and taps, their cleanup, and the probes' safety rules.

Tests that build namespaces need root with CAP_NET_ADMIN, /dev/net/tun and iproute2; they skip
with the precise reason otherwise. The rest (address rules, filters) run anywhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from acrnkit.errors import ConfigError, NetworkError, PrivilegeError
from acrnkit.net import (
    TestNetwork,
    arping,
    capture,
    ping,
    privilege_problem,
    sweep_stale,
)
from acrnkit.net._filter import compile_subset
from acrnkit.net.guest_nic import open_tap
from acrnkit.net.netns import ip_binary, netns_pids

PROBLEM = privilege_problem()
needs_net = pytest.mark.skipif(PROBLEM is not None, reason=f"acrnkit.net: {PROBLEM}")


def ip_cmd(*args: str) -> str:
    binary = ip_binary()
    assert binary is not None
    return subprocess.run([binary, *args], capture_output=True, text=True, check=True).stdout


def root_links() -> set[str]:
    return {line.split(":")[1].strip().split("@")[0]
            for line in ip_cmd("-o", "link", "show").splitlines()}


def netns_names() -> set[str]:
    return {line.split()[0] for line in ip_cmd("netns", "list").splitlines() if line.strip()}


def dead(pid: int) -> bool:
    """Gone, or a zombie waiting for its parent (it has left every namespace)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def assert_gone(net: TestNetwork, links_before: set[str]) -> None:
    assert net.name not in netns_names()
    assert not os.path.exists(net.path)
    # the tap lived in the namespace only; nothing of ours appeared in the root namespace
    assert net.tap not in root_links() - links_before


@pytest.fixture
def net() -> Iterator[TestNetwork]:
    if PROBLEM is not None:
        pytest.skip(f"acrnkit.net: {PROBLEM}")
    with TestNetwork() as network:
        yield network


# -- namespaces and taps ----------------------------------------------------------------------


@needs_net
def test_network_is_isolated_link_local_and_cleaned_up() -> None:
    before = root_links()
    with TestNetwork() as net:
        assert net.name.startswith(f"acrnkit-{os.getpid()}-")
        assert net.name in netns_names()
        assert set(net.links()) == {"lo", net.tap}
        addrs = net.run(["ip", "-o", "-4", "addr", "show", "dev", net.tap]).stdout
        assert f"inet {net.host_address} " in addrs
        assert net.host_address.network.prefixlen == 16
        assert str(net.host_ip).startswith("169.254.") and net.host_ip.packed[3] == 1
        assert net.guest_ip == net.host_ip + 1
        routes = net.run(["ip", "-4", "route", "show", "table", "all"]).stdout
        assert "default" not in routes
        main = net.run(["ip", "-4", "route", "show"]).stdout.strip().splitlines()
        assert [r.split()[0] for r in main] == ["169.254.0.0/16"]
        assert "UP" in net.ip("-o", "link", "show", "dev", "lo")
        assert net.run(["cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"]).stdout.strip() in (
            "1", "")
        # the tap exists only inside the namespace
        assert net.tap not in root_links()
        details = net.ip("-d", "link", "show", "dev", net.tap)
        assert "tun type tap" in details and "persist on" in details
    assert_gone(net, before)


@needs_net
def test_cleanup_after_an_exception_inside_the_context() -> None:
    before = root_links()
    with pytest.raises(RuntimeError, match="boom"), TestNetwork() as net:
        proc = net.popen(["sleep", "300"])
        raise RuntimeError("boom")
    assert_gone(net, before)
    assert proc.poll() is not None


@needs_net
def test_processes_inside_are_ended_even_orphans() -> None:
    with TestNetwork() as net:
        tracked = net.popen(["sleep", "300"])
        # an orphan that nobody tracks: setsid -f forks and the parent exits at once
        net.popen(["setsid", "-f", "sleep", "301"], stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL).wait(10)
        time.sleep(0.1)
        pids = netns_pids(net.name)
        assert tracked.pid in pids and len(pids) >= 2
    assert tracked.poll() is not None
    assert all(dead(pid) for pid in pids)


@needs_net
def test_two_networks_coexist_with_the_same_tap_name() -> None:
    with TestNetwork() as a, TestNetwork() as b:
        assert a.name != b.name and a.tap == b.tap
        assert {a.name, b.name} <= netns_names()
    assert not {a.name, b.name} & netns_names()


@needs_net
def test_given_tap_name_mac_and_address() -> None:
    with TestNetwork(tap="tap_acrn0", tap_mac="02:AA:0:0:0:1",
                     host_address="169.254.77.10/24") as net:
        assert net.tap_mac == "02:aa:00:00:00:01"
        assert "link/ether 02:aa:00:00:00:01" in net.ip("-o", "link", "show", "dev", "tap_acrn0")
        assert str(net.host_address) == "169.254.77.10/24"
        assert str(net.guest_address) == "169.254.77.11/24"
        assert net.guest_ip_param() == "ip=169.254.77.11:::255.255.255.0::eth0:off"


@needs_net
def test_non_persistent_tap_lives_with_its_fd() -> None:
    with TestNetwork(persist=False) as net:
        assert net.tap_fd is not None
        assert "persist off" in net.ip("-d", "link", "show", "dev", net.tap)
        fd = net.take_tap_fd()
        assert net.tap in net.links()
        os.close(fd)
        assert net.tap not in net.links()


@needs_net
def test_open_tap_attaches_but_never_creates(net: TestNetwork) -> None:
    assert net.call(open_tap, "nosuchtap0") is None
    assert "nosuchtap0" not in net.links()
    with pytest.raises(NetworkError, match="does not exist"):
        net.open_tap("nosuchtap0")
    fd = net.open_tap()
    try:
        assert "LOWER_UP" in net.ip("-o", "link", "show", "dev", net.tap)  # carrier on
        with pytest.raises(NetworkError, match="busy"):
            net.open_tap()
        with pytest.raises(NetworkError, match="not a tap"):
            net.call(open_tap, "lo")
    finally:
        os.close(fd)
    assert "NO-CARRIER" in net.ip("-o", "link", "show", "dev", net.tap)
    assert net.tap in net.links()  # the persistent tap stays when its reader goes


@needs_net
def test_enter_moves_only_this_thread_and_comes_back(net: TestNetwork) -> None:
    import socket

    with pytest.raises(OSError):
        socket.if_nametoindex(net.tap)
    with net.enter():
        assert socket.if_nametoindex(net.tap) > 0
    with pytest.raises(OSError):
        socket.if_nametoindex(net.tap)
    assert net.call(socket.if_nametoindex, net.tap) > 0


@needs_net
def test_run_takes_argv_lists_only(net: TestNetwork) -> None:
    with pytest.raises(ConfigError) as err:
        net.run("ip link")  # type: ignore[arg-type]
    assert err.value.field == "argv"
    with pytest.raises(NetworkError, match="exit status 1"):
        net.run(["false"])
    assert net.run(["false"], check=False).returncode == 1


_CHILD = textwrap.dedent("""
    import sys, time
    from acrnkit.net import TestNetwork

    if sys.argv[1] == "bare":  # no context manager: only the hooks can clean up
        net = TestNetwork().start()
        net.popen(["sleep", "300"])
        print(net.name, flush=True)
        time.sleep(300)
    else:
        with TestNetwork() as net:
            net.popen(["sleep", "300"])
            print(net.name, flush=True)
            time.sleep(300)
""")


def _child(mode: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, mode], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    name = proc.stdout.readline().strip()
    assert name.startswith("acrnkit-"), name
    deadline = time.monotonic() + 10
    while not netns_pids(name) and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc, name


@needs_net
@pytest.mark.parametrize(("sig", "mode"), [(signal.SIGTERM, "bare"), (signal.SIGINT, "with")])
def test_interrupted_process_cleans_up(sig: signal.Signals, mode: str) -> None:
    proc, name = _child(mode)
    assert name in netns_names()
    inside = netns_pids(name)
    assert inside
    proc.send_signal(sig)
    proc.wait(timeout=20)
    assert name not in netns_names()
    assert all(dead(pid) for pid in inside)


@needs_net
def test_sweep_deletes_namespaces_of_dead_processes() -> None:
    proc, name = _child("bare")
    inside = netns_pids(name)
    proc.kill()  # SIGKILL: no hook runs
    proc.wait(timeout=10)
    assert name in netns_names()
    with TestNetwork() as live:
        assert name not in netns_names()  # swept when a network was created
        assert live.name in netns_names()
        assert live.name not in sweep_stale()  # a live owner's namespace is never swept
        assert live.name in netns_names()
    assert all(dead(pid) for pid in inside)


# -- rules that need no privileges ------------------------------------------------------------


def test_privilege_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    problem = privilege_problem()
    assert problem is not None and "root" in problem and "\n" not in problem
    with pytest.raises(PrivilegeError) as err:
        TestNetwork().start()
    assert str(err.value) == problem


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"tap": "a-very-long-tapname"}, "tap"),
    ({"tap": ""}, "tap"),
    ({"tap": "tap/0"}, "tap"),
    ({"tap_mac": "01:00:5e:00:00:01"}, "tap_mac"),
    ({"tap_mac": "00:00:00:00:00:00"}, "tap_mac"),
    ({"host_address": "10.0.0.1/24"}, "host_address"),
    ({"host_address": "192.168.1.1"}, "host_address"),
    ({"host_address": "169.254.0.0/16"}, "host_address"),
    ({"host_address": "169.254.1.1/8"}, "host_address"),
])
def test_bad_network_settings_name_the_field(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        TestNetwork(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


OUTSIDE = ["8.8.8.8", "10.0.2.2", "192.168.0.1", "127.0.0.1", "169.253.255.254", "169.255.0.1",
           "169.254.0.0", "169.254.255.255", "224.0.0.1", "255.255.255.255", "0.0.0.0",
           "not-an-ip"]


@pytest.mark.parametrize("target", OUTSIDE)
def test_probes_refuse_targets_outside_link_local(target: str) -> None:
    # refused before anything runs: no namespace, no helper process
    for call in (lambda: arping("acrntap0", target, 0.1, netns="acrnkit-1-00"),
                 lambda: ping(target, 1, 0.1, netns="acrnkit-1-00")):
        with pytest.raises(ConfigError) as err:
            call()
        assert err.value.field == "ip"
        assert err.value.value == target


def test_probes_run_only_in_acrnkit_namespaces() -> None:
    for netns in ("", "default", "1", "cni-1234", "../acrnkit-1-00"):
        with pytest.raises(ConfigError) as err:
            ping("169.254.1.1", 1, 0.1, netns=netns)
        assert err.value.field == "netns"
    with pytest.raises(ConfigError) as err:
        capture("acrntap0", "icmp", 0.1, netns="init")
    assert err.value.field == "netns"


# -- probes inside a namespace ----------------------------------------------------------------


@needs_net
def test_probes_against_nobody_time_out_quietly(net: TestNetwork) -> None:
    nobody = net.guest_ip
    assert net.arping(nobody, timeout=0.3) is None
    stats = net.ping(nobody, count=2, timeout=0.2)
    assert stats.sent == 2 and stats.received == 0 and stats.rtts == ()
    assert stats.loss == 1.0


@needs_net
def test_capture_sees_the_hosts_arp_requests_and_refuses_bad_filters(net: TestNetwork) -> None:
    fd = net.open_tap()  # carrier on, nobody answers
    try:
        with net.start_capture("arp and ether src " + net.tap_mac, timeout=3.0, count=2) as cap:
            assert cap.engine in ("bpf", "subset")
            net.arping(net.guest_ip, timeout=0.6)
            frames = cap.result()
        assert len(frames) == 2
        for frame in frames:
            assert frame.ethertype == 0x0806 and frame.src_mac == net.tap_mac
            assert frame.dst_mac == "ff:ff:ff:ff:ff:ff"
            assert frame.data[38:42] == net.guest_ip.packed  # target protocol address
    finally:
        os.close(fd)
    with pytest.raises(ConfigError) as err:
        net.capture("icmp and and", timeout=0.2)
    assert err.value.field == "bpf_filter"


# -- the pcap-filter subset (used when libpcap is absent) -------------------------------------


def _frames() -> dict[str, bytes]:
    from scapy.layers.inet import ICMP, IP, UDP  # type: ignore[import-untyped,unused-ignore]
    from scapy.layers.l2 import ARP, Ether  # type: ignore[import-untyped,unused-ignore]

    host, guest = "02:00:00:00:00:01", "02:00:00:00:00:02"
    return {
        "arp_req": bytes(Ether(src=host, dst="ff:ff:ff:ff:ff:ff")
                         / ARP(op=1, hwsrc=host, psrc="169.254.1.1", pdst="169.254.1.2")),
        "arp_rep": bytes(Ether(src=guest, dst=host)
                         / ARP(op=2, hwsrc=guest, psrc="169.254.1.2", hwdst=host,
                               pdst="169.254.1.1")),
        "echo": bytes(Ether(src=host, dst=guest) / IP(src="169.254.1.1", dst="169.254.1.2")
                      / ICMP(type=8, id=1, seq=1) / (b"x" * 56)),
        "reply": bytes(Ether(src=guest, dst=host) / IP(src="169.254.1.2", dst="169.254.1.1")
                       / ICMP(type=0, id=1, seq=1) / (b"x" * 56)),
        "udp": bytes(Ether(src=host, dst=guest) / IP(src="169.254.1.1", dst="169.254.1.2")
                     / UDP(sport=5000, dport=53) / b"q"),
    }


@pytest.mark.parametrize(("expr", "matching"), [
    ("", {"arp_req", "arp_rep", "echo", "reply", "udp"}),
    ("arp", {"arp_req", "arp_rep"}),
    ("icmp", {"echo", "reply"}),
    ("ip", {"echo", "reply", "udp"}),
    ("not ip", {"arp_req", "arp_rep"}),
    ("icmp[icmptype] == icmp-echo", {"echo"}),
    ("icmp[0] = 0", {"reply"}),
    ("arp[6:2] = 2", {"arp_rep"}),
    ("ether src 02:00:00:00:00:02", {"arp_rep", "reply"}),
    ("ether dst 2:0:0:0:0:2", {"echo", "udp"}),
    ("ether host 02:00:00:00:00:01 and icmp", {"echo", "reply"}),
    ("broadcast", {"arp_req"}),
    ("host 169.254.1.2", {"arp_req", "arp_rep", "echo", "reply", "udp"}),
    ("src host 169.254.1.2", {"arp_rep", "reply"}),
    ("ip src 169.254.1.2", {"reply"}),
    ("arp dst host 169.254.1.2", {"arp_req"}),
    ("dst 169.254.1.1", {"arp_rep", "reply"}),
    ("net 169.254.0.0/16 and not arp", {"echo", "reply", "udp"}),
    ("udp dst port 53", {"udp"}),
    ("port 5000 || (icmp && src 169.254.1.2)", {"udp", "reply"}),
    ("greater 90", {"echo", "reply"}),
    ("ether proto \\arp", {"arp_req", "arp_rep"}),
])
def test_filter_subset_matches_pcap_meaning(expr: str, matching: set[str]) -> None:
    pytest.importorskip("scapy")
    pred = compile_subset(expr)
    assert {name for name, frame in _frames().items() if pred(frame)} == matching


@pytest.mark.parametrize("expr", ["icmp and", "vlan 100", "host", "(arp", "tcp[13] & ",
                                  "ether src nothere", "port http"])
def test_filter_subset_refuses_what_it_does_not_know(expr: str) -> None:
    with pytest.raises(ConfigError) as err:
        compile_subset(expr)
    assert err.value.field == "bpf_filter"
