"""acrnkit.net.guest_nic: the fake guest's NIC, on a socketpair (no privileges) and on a real
tap inside a test namespace (root; skips with the reason otherwise), plus acrn-dm's default MAC.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

import pytest

from acrnkit.errors import ConfigError, NetworkError
from acrnkit.net import (
    GuestNic,
    PingStats,
    TestNetwork,
    assert_guest_mac,
    expected_guest_mac,
    parse_ip_param,
    privilege_problem,
    serve_in_thread,
)
from acrnkit.net.guest_nic import IpParam, PingReply

PROBLEM = privilege_problem()
needs_net = pytest.mark.skipif(PROBLEM is not None, reason=f"acrnkit.net: {PROBLEM}")

HOST_MAC = "02:00:00:00:00:01"
GUEST_MAC = "02:00:00:00:00:02"
HOST_IP = "169.254.9.1"
GUEST_IP = "169.254.9.2"

scapy_l2 = pytest.importorskip("scapy.layers.l2")
scapy_inet = pytest.importorskip("scapy.layers.inet")
ARP, Ether = scapy_l2.ARP, scapy_l2.Ether
ICMP, IP = scapy_inet.ICMP, scapy_inet.IP


# -- import cost ------------------------------------------------------------------------------


def test_scapy_is_imported_only_when_a_nic_is_created() -> None:
    code = ("import sys, socket\n"
            "import acrnkit, acrnkit.net, acrnkit.net.guest_nic, acrnkit.net.probes\n"
            "import acrnkit.net.netns, acrnkit.net.checks\n"
            "assert not [m for m in sys.modules if m.startswith('scapy')], 'early scapy'\n"
            "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
            "acrnkit.net.GuestNic(a.detach(), '02:00:00:00:00:02', '169.254.1.2')\n"
            "assert 'scapy.layers.l2' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import acrnkit.net"],
                         capture_output=True, text=True, check=True)
    assert "scapy" not in out.stderr


# -- ip= ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bootargs", "want"), [
    ("root=/dev/vda1 ip=169.254.3.2::169.254.3.1:255.255.0.0::eth0:off console=hvc0",
     IpParam(IPv4Address("169.254.3.2"), None, IPv4Address("169.254.3.1"),
             IPv4Address("255.255.0.0"), "", "eth0", "off")),
    ("ip=169.254.3.2:::255.255.255.0::eth0:off",
     IpParam(IPv4Address("169.254.3.2"), netmask=IPv4Address("255.255.255.0"), device="eth0",
             autoconf="off")),
    ("ip=169.254.3.2", IpParam(IPv4Address("169.254.3.2"))),
    ("ip=dhcp", IpParam(autoconf="dhcp")),
    ("ip=off", IpParam(autoconf="off")),
    ("ip=1.2.3.4 ip=169.254.7.7:::::eth1", IpParam(IPv4Address("169.254.7.7"), device="eth1")),
    ("nfsaddrs=169.254.5.5", IpParam(IPv4Address("169.254.5.5"))),
    ('quiet "ip=169.254.4.4::::myhost:eth0:none" -- ip=169.254.9.9',
     IpParam(IPv4Address("169.254.4.4"), hostname="myhost", device="eth0", autoconf="none")),
    ("root=/dev/vda1 rw", None),
    ("noip=1 vip=2", None),
])
def test_parse_ip_param(bootargs: str, want: IpParam | None) -> None:
    assert parse_ip_param(bootargs) == want


def test_ip_param_addresses() -> None:
    full = parse_ip_param("ip=169.254.3.2::169.254.3.1:255.255.0.0::eth0:off")
    assert full is not None and full.interface == IPv4Interface("169.254.3.2/16")
    assert full.address_for("eth0") == IPv4Interface("169.254.3.2/16")
    assert full.address_for("eth1", 1) is None
    classful = parse_ip_param("ip=169.254.3.2")  # no netmask: class B -> /16 (ic_defaults)
    assert classful is not None and classful.prefixlen == 16
    assert classful.address_for("eth0", 0) is not None
    assert classful.address_for("eth1", 1) is None  # no device: the first NIC only
    assert parse_ip_param("ip=10.1.1.1") == IpParam(IPv4Address("10.1.1.1"))
    for bad, field in (("ip=169.254.3:::", "ip.client"), ("ip=169.254.3.2:::255.0.255.0",
                                                          "ip.netmask")):
        with pytest.raises(ConfigError) as err:
            parse_ip_param(bad)
        assert err.value.field == field


# -- GuestNic on a socketpair: frame-level behaviour --------------------------------------------


@pytest.fixture
def wire() -> Iterator[tuple[GuestNic, socket.socket]]:
    guest_end, host_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    host_end.setblocking(False)
    nic = GuestNic(guest_end.detach(), GUEST_MAC, f"{GUEST_IP}/16")
    yield nic, host_end
    nic.close()
    host_end.close()


def _arp_request(pdst: str = GUEST_IP, psrc: str = HOST_IP, dst: str = "ff:ff:ff:ff:ff:ff"
                 ) -> bytes:
    return bytes(Ether(src=HOST_MAC, dst=dst)
                 / ARP(op=1, hwsrc=HOST_MAC, psrc=psrc, hwdst="00:00:00:00:00:00", pdst=pdst))


def _echo(src: str = HOST_IP, dst: str = GUEST_IP, eth_dst: str = GUEST_MAC, ident: int = 77,
          seq: int = 1, payload: bytes = bytes(range(56))) -> bytes:
    return bytes(Ether(src=HOST_MAC, dst=eth_dst) / IP(src=src, dst=dst, ttl=64)
                 / ICMP(type=8, id=ident, seq=seq) / payload)


def _recv(sock: socket.socket) -> Any:
    return Ether(sock.recv(65536))


def _nothing(sock: socket.socket) -> bool:
    try:
        sock.recv(65536)
    except BlockingIOError:
        return True
    return False


def test_answers_arp_for_its_address(wire: tuple[GuestNic, socket.socket]) -> None:
    nic, host = wire
    host.send(_arp_request())
    nic.handle_readable()
    reply = _recv(host)
    assert reply.dst == HOST_MAC and reply.src == GUEST_MAC
    arp = reply[ARP]
    assert (arp.op, arp.hwsrc, arp.psrc, arp.hwdst, arp.pdst) == (
        2, GUEST_MAC, GUEST_IP, HOST_MAC, HOST_IP)
    host.send(_arp_request(psrc="0.0.0.0"))  # an RFC 5227 probe is answered too
    nic.handle_readable()
    assert _recv(host)[ARP].pdst == "0.0.0.0"


@pytest.mark.parametrize("frame", [
    _arp_request(pdst="169.254.9.3"),  # not its address
    _arp_request(psrc="10.0.0.1"),  # a source outside link-local: never answered
    _arp_request(dst="02:00:00:00:00:99"),  # unicast to another MAC
    _echo(src="10.0.0.1"),
    _echo(dst="169.254.9.3"),
    _echo(eth_dst="ff:ff:ff:ff:ff:ff"),  # a broadcast echo (icmp_echo_ignore_broadcasts)
    b"\x00" * 10,
    bytes(Ether(src=HOST_MAC, dst=GUEST_MAC, type=0x86DD) / (b"\x60" + b"\x00" * 39)),
])
def test_ignores_what_is_not_for_it(wire: tuple[GuestNic, socket.socket], frame: bytes) -> None:
    nic, host = wire
    host.send(frame)
    nic.handle_readable()
    assert _nothing(host)
    assert nic.counters.rx_packets == 1 and nic.counters.tx_packets == 0
    assert nic.counters.rx_dropped == 1


def test_answers_echo_requests(wire: tuple[GuestNic, socket.socket]) -> None:
    nic, host = wire
    payload = os.urandom(56)
    host.send(_echo(ident=4242, seq=7, payload=payload))
    nic.handle_readable()
    reply = _recv(host)
    assert reply.dst == HOST_MAC and reply.src == GUEST_MAC
    ip, icmp = reply[IP], reply[ICMP]
    assert (ip.src, ip.dst, ip.ttl) == (GUEST_IP, HOST_IP, 64)
    assert (icmp.type, icmp.code, icmp.id, icmp.seq) == (0, 0, 4242, 7)
    assert bytes(icmp.payload) == payload
    fresh = IP(bytes(ip))
    del fresh.chksum
    del fresh[ICMP].chksum
    rebuilt = IP(bytes(fresh))
    assert (rebuilt.chksum, rebuilt[ICMP].chksum) == (ip.chksum, icmp.chksum)


def _answer_as_host(host: socket.socket) -> int:
    """Play the host: answer the guest's ARP requests and echo requests. Returns frames."""
    n = 0
    while True:
        try:
            frame = Ether(host.recv(65536))
        except BlockingIOError:
            return n
        n += 1
        if ARP in frame and frame[ARP].op == 1 and frame[ARP].pdst == HOST_IP:
            host.send(bytes(Ether(src=HOST_MAC, dst=frame.src)
                            / ARP(op=2, hwsrc=HOST_MAC, psrc=HOST_IP, hwdst=frame.src,
                                  pdst=frame[ARP].psrc)))
        elif ICMP in frame and frame[ICMP].type == 8:
            assert frame.dst == HOST_MAC  # sent only once ARP resolved the host
            host.send(bytes(Ether(src=HOST_MAC, dst=frame.src)
                            / IP(src=HOST_IP, dst=frame[IP].src, ttl=63)
                            / ICMP(type=0, id=frame[ICMP].id, seq=frame[ICMP].seq)
                            / bytes(frame[ICMP].payload)))


def test_ping_resolves_with_arp_then_counts_replies(
        wire: tuple[GuestNic, socket.socket]) -> None:
    nic, host = wire
    replies: list[PingReply] = []
    done: list[PingStats] = []
    job = nic.ping(HOST_IP, count=3, timeout=2.0, interval=0.0, on_reply=replies.append,
                   on_done=done.append)
    first = _recv(host)
    assert first.dst == "ff:ff:ff:ff:ff:ff" and first[ARP].op == 1
    assert (first[ARP].psrc, first[ARP].pdst) == (GUEST_IP, HOST_IP)
    host.send(bytes(Ether(src=HOST_MAC, dst=GUEST_MAC)
                    / ARP(op=2, hwsrc=HOST_MAC, psrc=HOST_IP, hwdst=GUEST_MAC, pdst=GUEST_IP)))
    for _ in range(10):
        nic.handle_readable()
        _answer_as_host(host)
        if job.done:
            break
    assert job.done and done == [job.stats]
    assert job.stats.sent == 3 and job.stats.received == 3 and len(job.stats.rtts) == 3
    assert [r.seq for r in replies] == [1, 2, 3]
    assert replies[0].ttl == 63 and replies[0].size == 64
    assert replies[0].line().startswith(f"64 bytes from {HOST_IP}: icmp_seq=1 ttl=63 time=")
    assert job.stats.summary().startswith("3 packets transmitted, 3 received, 0% packet loss\n"
                                          "rtt min/avg/max/mdev = ")


def test_ping_without_arp_answer_is_host_unreachable(
        wire: tuple[GuestNic, socket.socket]) -> None:
    nic, host = wire
    errors: list[tuple[int, str]] = []
    job = nic.ping(HOST_IP, count=1, timeout=10.0, on_error=lambda s, m: errors.append((s, m)))
    start = job.started
    assert nic.next_timeout(start) == pytest.approx(1.0)
    for step in (1.0, 2.0, 3.0):
        nic.poll(start + step)
    assert job.done
    assert errors == [(1, "Destination Host Unreachable")]
    assert job.stats == PingStats(1, 0, (), 1)
    arps = [_recv(host) for _ in range(3)]
    assert all(f[ARP].op == 1 and f[ARP].pdst == HOST_IP for f in arps)
    assert _nothing(host)
    assert job.stats.summary() == "1 packets transmitted, 0 received, +1 errors, 100% packet loss"


def test_ping_times_out_per_request(wire: tuple[GuestNic, socket.socket]) -> None:
    nic, host = wire
    job = nic.ping(HOST_IP, count=2, timeout=0.5, interval=0.2)
    host.send(bytes(Ether(src=HOST_MAC, dst=GUEST_MAC)
                    / ARP(op=2, hwsrc=HOST_MAC, psrc=HOST_IP, hwdst=GUEST_MAC, pdst=GUEST_IP)))
    nic.handle_readable()
    nic.poll(job.started + 0.2)  # the second request, on the interval
    assert job.sent == 2 and not job.done
    nic.poll(job.started + 0.8)
    assert job.done and job.stats == PingStats(2, 0, (), 0)


def test_ping_rules(wire: tuple[GuestNic, socket.socket]) -> None:
    nic, _host = wire
    for bad in ("8.8.8.8", "10.0.0.1", "169.254.255.255", "x"):
        with pytest.raises(ConfigError) as err:
            nic.ping(bad)
        assert err.value.field == "dst"
    with pytest.raises(ConfigError) as err:
        nic.ping(HOST_IP, count=0)
    assert err.value.field == "count"
    guest_end, host_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with (GuestNic(guest_end.detach(), GUEST_MAC, "169.254.9.2/24") as narrow,
          pytest.raises(NetworkError, match="Network is unreachable")):
        narrow.ping("169.254.10.1")
    guest_end, host_end2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with (GuestNic(guest_end.detach(), GUEST_MAC, None) as bare,
          pytest.raises(NetworkError, match="Network is unreachable")):
        bare.ping(HOST_IP)
    host_end.close()
    host_end2.close()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"address": "10.0.0.2/24"}, "address"),
    ({"address": "192.168.1.5"}, "address"),
    ({"mac": "01:00:5e:00:00:01"}, "mac"),
    ({"mac": "00:00:00:00:00:00"}, "mac"),
    ({"mac": "zz"}, "mac"),
])
def test_nic_settings_are_checked(kwargs: dict[str, str], field: str) -> None:
    guest_end, host_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    args: dict[str, Any] = {"mac": GUEST_MAC, "address": f"{GUEST_IP}/16", **kwargs}
    try:
        with pytest.raises(ConfigError) as err:
            GuestNic(guest_end.fileno(), args["mac"], args["address"])
        assert err.value.field == field
    finally:
        guest_end.close()
        host_end.close()


def test_from_bootargs_and_close_keeps_a_borrowed_fd() -> None:
    guest_end, host_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    args = "console=hvc0 ip=169.254.9.2::169.254.9.1:255.255.0.0::eth0:off"
    nic = GuestNic.from_bootargs(guest_end.fileno(), GUEST_MAC, args, owns_fd=False)
    assert nic.address == IPv4Interface("169.254.9.2/16") and nic.name == "eth0"
    nic.close()
    os.fstat(guest_end.fileno())  # still open: acrn-dm keeps the tap across guest reboots
    other = GuestNic.from_bootargs(guest_end.fileno(), GUEST_MAC, args, name="eth1", index=1,
                                   owns_fd=False)
    assert other.address is None
    other.close()
    guest_end.close()
    host_end.close()


def test_attach_to_the_fakes_reactor() -> None:
    reactor_mod = pytest.importorskip("acrnkit.fakes.acrn_dm.sim.reactor")
    reactor = reactor_mod.Reactor()
    guest_end, host_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    host_end.setblocking(False)
    nic = GuestNic(guest_end.detach(), GUEST_MAC, f"{GUEST_IP}/16")
    try:
        nic.attach(reactor)
        reactor.add_reader(host_end.fileno(), lambda: _answer_as_host(host_end))
        stats: list[PingStats] = []

        def finished(result: PingStats) -> None:
            stats.append(result)
            reactor.stop()

        nic.ping(HOST_IP, count=3, timeout=1.0, interval=0.01, on_done=finished)
        reactor.call_later(10.0, reactor.stop)
        reactor.run()
        assert stats and stats[0].received == 3
        nic.detach()
    finally:
        nic.close()
        host_end.close()
        reactor.close()


# -- on a real tap inside a test namespace ------------------------------------------------------


@pytest.fixture
def net() -> Iterator[TestNetwork]:
    if PROBLEM is not None:
        pytest.skip(f"acrnkit.net: {PROBLEM}")
    with TestNetwork() as network:
        yield network


@needs_net
def test_host_arpings_and_pings_the_guest_nic(net: TestNetwork) -> None:
    nic = net.guest_nic(GUEST_MAC)
    assert nic.address == net.guest_address
    with serve_in_thread(nic):
        assert net.arping(net.guest_ip, timeout=2.0) == GUEST_MAC
        stats = net.ping(net.guest_ip, count=5, timeout=3.0)
        # an address nobody has is not answered
        assert net.arping(net.guest_ip + 1, timeout=0.3) is None
    assert (stats.sent, stats.received, stats.errors) == (5, 5, 0)
    assert all(0 < rtt < 3.0 for rtt in stats.rtts)
    neigh = net.run(["ip", "neigh", "show", str(net.guest_ip)]).stdout
    assert GUEST_MAC in neigh


@needs_net
def test_guest_nic_pings_the_host(net: TestNetwork) -> None:
    nic = net.guest_nic(GUEST_MAC)
    replies: list[PingReply] = []
    job = nic.ping(net.host_ip, count=3, timeout=3.0, interval=0.05, on_reply=replies.append)
    stats = nic.wait(job, timeout=15.0)
    assert (stats.sent, stats.received) == (3, 3)
    assert [r.src for r in replies] == [net.host_ip] * 3 and replies[0].ttl == 64
    # the host learnt the guest's MAC from its ARP request
    assert GUEST_MAC in net.run(["ip", "neigh", "show", str(net.guest_ip)]).stdout


@needs_net
def test_capture_shows_the_guests_replies(net: TestNetwork) -> None:
    nic = net.guest_nic(GUEST_MAC)
    with serve_in_thread(nic), net.start_capture("icmp", timeout=5.0, count=4) as cap:
        net.ping(net.guest_ip, count=2)
        frames = cap.result()
    kinds = [(f.src_mac, f.data[34]) for f in frames]  # ICMP type (IPv4 header of 20 bytes)
    assert kinds == [(net.tap_mac, 8), (GUEST_MAC, 0)] * 2
    assert all(f.ethertype == 0x0800 for f in frames)
    summary = frames[1].summary()
    assert f"{net.guest_ip} > {net.host_ip} echo-reply" in summary


@needs_net
def test_frames_queued_before_the_guest_is_up_can_be_dropped(net: TestNetwork) -> None:
    nic = net.guest_nic(GUEST_MAC)
    assert net.arping(net.guest_ip, timeout=0.5) is None  # nobody serving
    assert nic.discard_pending() >= 1
    assert nic.discard_pending() == 0


@needs_net
def test_a_deleted_tap_breaks_the_nic_without_spinning(net: TestNetwork) -> None:
    nic = net.guest_nic(GUEST_MAC)
    net.ip("link", "del", "dev", net.tap)
    nic.handle_readable()
    assert nic.broken is not None and "tap" in nic.broken
    with pytest.raises(NetworkError):
        nic.ping(net.host_ip)


# -- acrn-dm's default MAC, worked by hand -------------------------------------------------------


def md5_mac(text: str) -> str:
    digest = hashlib.md5(text.encode()).digest()
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


def _net_argv(release: str, tap: str, extra: str = "", globals_: tuple[str, ...] = (),
              bootargs: str = "console=hvc0") -> list[str]:
    config = f"tap={tap}" if release >= "3.0" else tap
    return [*globals_, "-s", "0:0,hostbridge", "-s", f"14,virtio-net,{config}{extra}",
            "-B", bootargs, "vm1"]


WORKED = [
    # release, extra config, global options, md5 input, the MAC written out
    ("3.2", "", (), "14-0", "00:16:3e:f6:ee:28"),
    ("3.3", "", (), "14-0", "00:16:3e:f6:ee:28"),
    ("3.0", "", ("--mac_seed", "sbx"), "14-0", "00:16:3e:f6:ee:28"),  # the global is obsolete
    ("3.3", ",mac_seed=foo", (), "14-0-foo", "00:16:3e:33:2d:68"),
    ("2.7", "", (), "14-0-(null)", "00:16:3e:c5:8b:f9"),  # glibc prints NULL as (null)
    ("2.7", "", ("--mac_seed", "sbx"), "14-0-sbx", "00:16:3e:79:b9:5b"),
    ("1.6", "", (), "14-0-(null)", "00:16:3e:c5:8b:f9"),
]


@pytest.mark.parametrize(("release", "extra", "globals_", "text", "mac"), WORKED)
def test_default_mac_worked_examples(release: str, extra: str, globals_: tuple[str, ...],
                                     text: str, mac: str) -> None:
    assert md5_mac(text) == mac
    argv = _net_argv(release, "tap_acrn0", extra, globals_)
    assert expected_guest_mac(argv, 14, release=release) == mac
    assert expected_guest_mac(["/usr/bin/acrn-dm", *argv], 14, release=release) == mac


def test_expected_mac_other_cases() -> None:
    argv = _net_argv("3.2", "tap0", ",mac=02:42:AC:11:0:2")
    assert expected_guest_mac(argv, 14, release="3.2") == "02:42:ac:11:00:02"
    # <= 2.7: any token but vhost marks the MAC as provided: the guest MAC stays all-zero
    assert expected_guest_mac(_net_argv("2.7", "tap0", ",vhost,foo"), 14,
                              release="2.7") == "00:00:00:00:00:00"
    assert expected_guest_mac(_net_argv("2.7", "tap0", ",vhost"), 14,
                              release="2.7") == md5_mac("14-0-(null)")
    with pytest.raises(ConfigError) as err:
        expected_guest_mac(argv, 13, release="3.2")
    assert err.value.field == "slot"
    with pytest.raises(ConfigError):
        expected_guest_mac(argv, 0, release="3.2")  # the hostbridge


@needs_net
@pytest.mark.parametrize(("release", "extra", "globals_", "text", "mac"), WORKED)
def test_guest_answers_arp_with_the_argv_mac(release: str, extra: str,
                                             globals_: tuple[str, ...], text: str,
                                             mac: str) -> None:
    from acrnkit import get_release, parse

    rel = get_release(release)
    argv = _net_argv(release, "tap_acrn0", extra, globals_,
                     "root=/dev/vda1 ip=169.254.14.2::169.254.14.1:255.255.0.0::eth0:off")
    model = parse(argv, rel)
    pci = model.device_at(14)
    assert pci is not None
    tap = pci.device.opens_tap(rel)  # type: ignore[union-attr]
    assert tap == "tap_acrn0"
    with TestNetwork(tap=tap, host_address="169.254.14.1/16") as net:
        # what the fake acrn-dm does: attach to the tap, address the NIC from -B
        nic = GuestNic.from_bootargs(net.open_tap(tap), expected_guest_mac(model, 14, 0, rel),
                                     model.bootargs or "")
        with nic, serve_in_thread(nic):
            assert assert_guest_mac(argv, 14, mac, netns=net, release=release) == mac
            assert net.ping("169.254.14.2", count=1).received == 1


@needs_net
def test_assert_guest_mac_reports_a_mismatch(net: TestNetwork) -> None:
    argv = _net_argv("3.3", net.tap, ",mac=02:42:ac:11:00:02")
    nic = net.guest_nic(GUEST_MAC)
    with serve_in_thread(nic):
        with pytest.raises(AssertionError, match=r"answers ARP .* as 02:00:00:00:00:02, but "
                                                 r"the virtio-net at 14:0 has 02:42:ac:11:00:02"):
            assert_guest_mac(argv, 14, netns=net)
        with pytest.raises(AssertionError, match="is not what the argv gives"):
            assert_guest_mac(argv, 14, "02:00:00:00:00:02", netns=net)
        assert assert_guest_mac(_net_argv("3.3", net.tap, f",mac={GUEST_MAC}"), 14,
                                netns=net) == GUEST_MAC
    with pytest.raises(AssertionError, match="no ARP answer"):
        assert_guest_mac(argv, 14, netns=net, timeout=0.3)


def test_close_ends_pings_silently_and_cancel_reports(
        wire: tuple[GuestNic, socket.socket]) -> None:
    nic, _host = wire
    done: list[PingStats] = []
    job = nic.ping(HOST_IP, count=5, timeout=5.0, on_done=done.append)
    nic.cancel(job)
    assert job.done and done == [PingStats(1, 0, (), 0)]
    late = nic.ping(HOST_IP, count=5, timeout=5.0, on_done=done.append)
    nic.close()
    assert late.done and len(done) == 1


def test_a_late_loop_does_not_burst(wire: tuple[GuestNic, socket.socket]) -> None:
    nic, host = wire
    host.send(bytes(Ether(src=HOST_MAC, dst=GUEST_MAC)
                    / ARP(op=2, hwsrc=HOST_MAC, psrc=HOST_IP, hwdst=GUEST_MAC, pdst=GUEST_IP)))
    job = nic.ping(HOST_IP, count=10, timeout=60.0, interval=1.0)
    nic.handle_readable()  # learns the host's MAC (a reply to the ARP request it sent)
    nic.poll(job.started + 5.5)  # five intervals late: one request, not five
    assert job.sent == 2
    nic.poll(job.started + 6.4)
    assert job.sent == 2
    nic.poll(job.started + 6.5)
    assert job.sent == 3
