"""The fake acrn-dm's network, for real: its guest NICs on taps inside a test namespace.

The fake runs inside a ``TestNetwork`` (started through ``write_launcher``: ``ip netns exec``,
same pid) and attaches to the taps of its argv as acrn-dm does. The host side arpings and pings
the guest over the tap and gets the argv's MAC; the guest pings the host from its shell; a
missing tap gets acrn-dm's messages and no carrier; a stopped or SIGKILLed VM leaves the tap as
it found it. Outside a test namespace the fake touches no interface and never imports scapy.

Needs root, CAP_NET_ADMIN, /dev/net/tun and iproute2: skips with the reason otherwise. Every
fake is killed with its group and every namespace deleted in fixtures; the last check is that
nothing is left.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from acrnkit.net import TestNetwork, list_netns, privilege_problem, write_launcher
from acrnkit.net.netns import netns_pids
from acrnkit.releases.profile import get_release

FAKE = shutil.which("fake-acrn-dm", path=os.path.dirname(sys.executable)) or shutil.which(
    "fake-acrn-dm")
PROBLEM = privilege_problem()
pytestmark = [
    pytest.mark.skipif(FAKE is None, reason="fake-acrn-dm is not installed"),
]
needs_net = pytest.mark.skipif(PROBLEM is not None, reason=f"acrnkit.net: {PROBLEM}")

TIMEOUT = 15
TAP = "tap_acrn0"
MAC = "02:42:ac:11:00:02"

Spawn = Callable[..., pexpect.spawn]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(extra)
    return env


def md5_mac(text: str) -> str:
    """acrn-dm's default MAC by hand: 00:16:3e + the first three bytes of md5(text)."""
    digest = hashlib.md5(text.encode()).digest()
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


def net_config(release: str, tap: str, extra: str = "") -> str:
    """The virtio-net config naming ``tap`` in the release's syntax."""
    return (f"tap={tap}" if release >= "3.0" else tap) + extra


def argv_for(release: str, kernel: str, nics: list[tuple[int, str]], bootargs: str,
             globals_: tuple[str, ...] = ()) -> list[str]:
    """A small VM with a stdio console and ``nics`` (slot, config) for ``release``."""
    argv = [*globals_, "-s", "0:0,hostbridge", "-s", "3,virtio-console,@stdio:con"]
    for slot, config in nics:
        argv += ["-s", f"{slot},virtio-net,{config}"]
    if "cpu_affinity" in get_release(release).support:
        argv += ["--cpu_affinity", "0"]
    return [*argv, "-k", kernel, "-B", f"console=hvc0 {bootargs}".strip(), "vm1"]


@pytest.fixture
def kernel(tmp_path: Path) -> str:
    path = tmp_path / "bzImage"
    path.write_bytes(b"\x7fkernel" * 64)
    return str(path)


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "run"
    yield path
    mngr = path / "mngr"
    assert not mngr.exists() or not list(mngr.iterdir()), "manager socket left behind"


def _reap(child: pexpect.spawn) -> None:
    for signo, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if not child.isalive():
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signo)
        deadline = time.monotonic() + grace
        while child.isalive() and time.monotonic() < deadline:
            with contextlib.suppress(pexpect.ExceptionPexpect):
                child.read_nonblocking(65536, timeout=0.05)
    child.close(force=True)


@pytest.fixture
def net(request: pytest.FixtureRequest) -> Iterator[TestNetwork]:
    """A test network with the tap ``tap_acrn0``; afterwards: no namespace, no process left."""
    if PROBLEM is not None:
        pytest.skip(f"acrnkit.net: {PROBLEM}")
    third = 20 + int(hashlib.md5(request.node.nodeid.encode()).hexdigest(), 16) % 200
    network = TestNetwork(tap=TAP, host_address=f"169.254.{third}.1/16")
    with network:
        yield network
    assert network.name not in list_netns()


@pytest.fixture
def spawn(tmp_path: Path, run_dir: Path) -> Iterator[Spawn]:
    """Start fake-acrn-dm under pexpect, inside ``netns`` (a TestNetwork) or not; every child
    is killed with its group afterwards, and its pid must be gone."""
    children: list[pexpect.spawn] = []

    def start(argv: list[str], netns: TestNetwork | None = None, *, python: tuple[str, ...] = (),
              **settings: str) -> pexpect.spawn:
        assert FAKE is not None
        env = clean_env(ACRNKIT_RUN_DIR=str(run_dir), **settings)
        program, args = FAKE, list(argv)
        if python:
            program, args = sys.executable, [*python, "-m", "acrnkit.fakes.acrn_dm.main", *args]
        if netns is not None:
            program = write_launcher(tmp_path / f"acrn-dm-{len(children)}", netns, program)
        child = pexpect.spawn(program, args, env=env, timeout=TIMEOUT, encoding="utf-8",
                              codec_errors="replace", dimensions=(50, 200))
        child.logfile_read = io.StringIO()  # everything it printed, for the import checks
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            _reap(child)
        for child in children:
            assert not os.path.exists(f"/proc/{child.pid}") or \
                "Z" in Path(f"/proc/{child.pid}/stat").read_text().split()[2]


def login(child: pexpect.spawn, name: str = "vm1") -> str:
    child.expect(f"{name} login: ")
    boot: str = child.before.replace("\r", "")
    child.sendline("root")
    child.expect_exact("# ")
    return boot


def sh(child: pexpect.spawn, command: str, timeout: float = TIMEOUT) -> str:
    """Run ``command`` at the guest's prompt; its output (plain ``\\n``), echo removed."""
    child.sendline(command)
    child.expect_exact("# ", timeout=timeout)
    before: str = child.before.replace("\r", "")
    lines = before.split("\n")
    return "\n".join(lines[1:]) if lines and lines[0].strip() == command.strip() else before


def status(child: pexpect.spawn) -> int:
    return int(sh(child, "echo $?").strip())


def tap_state(net: TestNetwork, tap: str = TAP) -> tuple[str, str, str]:
    """The tap's MAC, its addresses and its admin state: what the fake must leave as found."""
    link = net.ip("-o", "link", "show", "dev", tap)
    mac = re.search(r"link/ether (\S+)", link)
    flags = re.search(r"<([^>]*)>", link)
    assert mac is not None and flags is not None, link
    up = "UP" if "UP" in flags.group(1).split(",") else "DOWN"
    addrs = net.ip("-o", "-4", "addr", "show", "dev", tap).split("inet ", 1)[-1].split()[0]
    return mac.group(1), addrs, up


def carrier(net: TestNetwork, tap: str = TAP) -> bool:
    return "LOWER_UP" in net.ip("-o", "link", "show", "dev", tap)


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- the host probes the fake guest over the tap --------------------------------------------------


@needs_net
def test_host_arpings_and_pings_the_guest_and_gets_the_argv_mac(
        spawn: Spawn, net: TestNetwork, kernel: str) -> None:
    argv = argv_for("3.3", kernel, [(4, f"tap={TAP},mac={MAC}")], net.guest_ip_param())
    child = spawn(argv, net)
    boot = login(child)
    assert f"virtio_net virtio1 eth0: MAC {MAC}, 0000:00:04.0" in boot
    assert f"Starting network: eth0 ({MAC}): link up" in boot
    assert "virtio_net_get_ifindex" not in boot and "open of tap" not in boot
    assert carrier(net)  # the fake holds the tap: the kernel sees a carrier
    assert net.arping(net.guest_ip) == MAC
    stats = net.ping(net.guest_ip, count=5, timeout=2.0)
    assert (stats.sent, stats.received) == (5, 5)
    assert max(stats.rtts) < 0.5
    # the guest's own view, from ip= and the argv
    addr = sh(child, "ip -o addr show eth0")
    assert f"2: eth0    inet {net.guest_address} brd 169.254.255.255 scope global eth0" in addr
    assert "<BROADCAST,MULTICAST,UP,LOWER_UP>" in sh(child, "ip -o link show eth0")
    assert sh(child, "cat /sys/class/net/eth0/address") == f"{MAC}\n"
    assert sh(child, "cat /sys/class/net/eth0/carrier") == "1\n"
    assert int(sh(child, "cat /sys/class/net/eth0/statistics/tx_packets")) >= 6  # 1 ARP + 5


@needs_net
def test_every_nic_on_its_own_tap(spawn: Spawn, net: TestNetwork, kernel: str) -> None:
    """Two NICs, two taps: each answers with its MAC (``mac=``, acrn-dm's default) once ``ip=``
    names it; the other one, without an address, answers nothing (as a Linux NIC)."""
    second = net.add_tap("tap_acrn1")
    default = md5_mac("6-0")  # 3.x without mac_seed: md5("<slot>-<func>")
    nics = [(5, f"tap={TAP},mac={MAC}"), (6, "tap=tap_acrn1")]
    for device, tap, mac in (("eth0", TAP, MAC), ("eth1", "tap_acrn1", default)):
        child = spawn(argv_for("3.3", kernel, nics, net.guest_ip_param_on(tap, device)), net)
        login(child)
        guest = net.guest_address_on(tap).ip
        assert net.arping(guest, iface=tap) == mac
        other = "tap_acrn1" if tap == TAP else TAP
        assert net.arping(net.guest_address_on(other).ip, iface=other, timeout=0.5) is None
        child.sendline("poweroff")
        child.expect(pexpect.EOF)
    assert second == net.tap_address("tap_acrn1")


# -- acrn-dm's default MAC, worked by hand, on the wire -------------------------------------------

WORKED = [
    # release, extra config, global options, md5 input, the MAC written out
    ("3.3", "", (), "14-0", "00:16:3e:f6:ee:28"),
    ("3.2", "", (), "14-0", "00:16:3e:f6:ee:28"),
    ("3.0", "", ("--mac_seed", "sbx"), "14-0", "00:16:3e:f6:ee:28"),  # the global is obsolete
    ("3.3", ",mac_seed=foo", (), "14-0-foo", "00:16:3e:33:2d:68"),
    ("2.7", "", (), "14-0-(null)", "00:16:3e:c5:8b:f9"),  # glibc prints NULL as (null)
    ("2.7", "", ("--mac_seed", "sbx"), "14-0-sbx", "00:16:3e:79:b9:5b"),
    ("1.6", "", (), "14-0-(null)", "00:16:3e:c5:8b:f9"),
]


@pytest.mark.parametrize(("release", "extra", "globals_", "text", "mac"), WORKED)
def test_default_mac_worked_examples(release: str, extra: str, globals_: tuple[str, ...],
                                     text: str, mac: str) -> None:
    from acrnkit.net import expected_guest_mac

    assert md5_mac(text) == mac
    argv = argv_for(release, "/k", [(14, net_config(release, TAP, extra))], "", globals_)
    assert expected_guest_mac(argv, 14, release=release) == mac


@needs_net
@pytest.mark.parametrize(("release", "extra", "globals_", "text", "mac"), WORKED)
def test_default_mac_on_the_wire(spawn: Spawn, net: TestNetwork, kernel: str, release: str,
                                 extra: str, globals_: tuple[str, ...], text: str,
                                 mac: str) -> None:
    argv = argv_for(release, kernel, [(14, net_config(release, TAP, extra))],
                    net.guest_ip_param(), globals_)
    child = spawn(argv, net, ACRNKIT_ACRN_VERSION=release)
    boot = login(child)
    assert f"eth0: MAC {mac}, 0000:00:0e.0" in boot
    assert net.arping(net.guest_ip) == mac
    assert sh(child, "cat /sys/class/net/eth0/address") == f"{mac}\n"


# -- the guest pings the host -------------------------------------------------------------------


@needs_net
def test_guest_pings_the_host(spawn: Spawn, net: TestNetwork, kernel: str) -> None:
    child = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP},mac={MAC}")],
                           net.guest_ip_param()), net)
    login(child)
    host = net.host_ip
    capture = net.start_capture("icmp", timeout=3.0)
    out = sh(child, f"ping -c 3 -i 0.2 {host}")
    lines = out.splitlines()
    assert lines[0] == f"PING {host} ({host}): 56 data bytes"
    for seq in range(3):
        assert re.fullmatch(rf"64 bytes from {host}: seq={seq} ttl=64 time=\d+\.\d{{3}} ms",
                            lines[1 + seq]), lines
    assert lines[4:7] == ["", f"--- {host} ping statistics ---",
                          "3 packets transmitted, 3 packets received, 0% packet loss"]
    assert re.fullmatch(r"round-trip min/avg/max = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms",
                        lines[7])
    assert status(child) == 0
    frames = capture.result()
    requests = [f for f in frames if f.src_mac == MAC and f.data[34] == 8]  # ICMP echo
    assert len(requests) == 3  # real echo requests out of the tap, from the guest's MAC


@needs_net
def test_guest_ping_failures_are_busyboxs(spawn: Spawn, net: TestNetwork, kernel: str) -> None:
    child = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP},mac={MAC}")],
                           net.guest_ip_param()), net)
    login(child)
    nobody = net.guest_ip + 5  # on the subnet, nobody there: ARP goes unanswered
    out = sh(child, f"ping -c 1 -W 1 {nobody}")
    assert out.splitlines()[-2:] == [f"--- {nobody} ping statistics ---",
                                     "1 packets transmitted, 0 packets received, "
                                     "100% packet loss"]
    assert status(child) == 1
    out = sh(child, "ping -c 1 192.0.2.1")  # off-link: the guest has no route
    assert out == "PING 192.0.2.1 (192.0.2.1): 56 data bytes\n" \
                  "ping: sendto: Network is unreachable\n"
    assert status(child) == 1
    assert sh(child, "ping vm-host") == "ping: bad address 'vm-host'\n"
    assert status(child) == 1
    assert sh(child, "ping -Z 1 x").startswith("ping: invalid option -- 'Z'\n")
    assert sh(child, "ping -c 2 -i 0.05 127.0.0.1").count("seq=") == 2
    # ^C ends a long ping with its statistics; the list goes on
    child.sendline(f"ping -i 0.1 {net.host_ip}; echo after $?")
    child.expect(r"seq=2 ")
    child.sendcontrol("c")
    child.expect(r"packets transmitted, (\d+) packets received, 0% packet loss")
    assert int(child.match.group(1)) >= 3
    child.expect_exact("after 0")
    child.expect_exact("# ")


@needs_net
def test_a_nic_outside_link_local_stays_silent(spawn: Spawn, net: TestNetwork,
                                               kernel: str) -> None:
    """ip= outside 169.254.0.0/16: the guest shows the address, but nothing ever leaves the
    tap (acrnkit.net's safety rule), even when the guest pings its subnet."""
    child = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP},mac={MAC}")],
                           "ip=10.9.0.2:::255.255.255.0::eth0:off"), net)
    login(child)
    assert "inet 10.9.0.2/24" in sh(child, "ip -o addr show eth0")
    capture = net.start_capture(f"ether src {MAC}", timeout=2.0)
    out = sh(child, "ping -c 1 -W 1 10.9.0.1")
    assert "1 packets transmitted, 0 packets received, 100% packet loss" in out
    assert capture.result() == []


# -- a missing tap ------------------------------------------------------------------------------


MISSING = {
    # acrn-dm's messages when the tap cannot be opened (virtio_net.c): 2.x/3.x look the
    # interface up first; TUNSETIFF then fails (the fake never creates a tap: EPERM)
    "3.3": ["virtio_net_get_ifindex: Unable to get interface index on this platform",
            "open of tap device tap_gone failed: 1", "open of tap device tap_gone failed"],
    "2.7": ["virtio_net_get_ifindex: Unable to get interface index on this platform",
            "open of tap device tap_gone failed: 1", "open of tap device tap_gone failed"],
    "1.6": ["open of tap device tap_gone failed: 1", "open of tap device tap_gone failed"],
}


@needs_net
@pytest.mark.parametrize("release", sorted(MISSING))
def test_a_missing_tap_prints_acrn_dms_warning_and_the_link_is_down(
        spawn: Spawn, net: TestNetwork, kernel: str, release: str) -> None:
    links_before = sorted(net.links())
    argv = argv_for(release, kernel, [(4, net_config(release, "tap_gone", f",mac={MAC}"))],
                    net.guest_ip_param())
    child = spawn(argv, net, ACRNKIT_ACRN_VERSION=release)
    boot = login(child)
    lines = boot.splitlines()
    first = lines.index(MISSING[release][0])
    assert lines[first:first + len(MISSING[release])] == MISSING[release]
    assert f"Starting network: eth0 ({MAC}): no carrier" in boot
    link = sh(child, "ip -o link show eth0")
    assert "<NO-CARRIER,BROADCAST,MULTICAST,UP>" in link and "state DOWN" in link
    assert sh(child, "cat /sys/class/net/eth0/carrier") == "0\n"
    assert sorted(net.links()) == links_before  # nothing was created
    assert net.arping(net.guest_ip, timeout=0.5) is None
    out = sh(child, f"ping -c 1 -W 1 {net.host_ip}")  # no carrier: nothing comes back
    assert "0 packets received, 100% packet loss" in out


@needs_net
def test_a_busy_tap_fails_like_acrn_dm(spawn: Spawn, net: TestNetwork, kernel: str) -> None:
    holder = net.open_tap()  # someone else is attached (a tap without multi_queue: one reader)
    try:
        child = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP}")], net.guest_ip_param()), net)
        boot = login(child).splitlines()
        start = boot.index(f"open of tap device {TAP} failed: 16")  # EBUSY
        assert boot[start + 1] == f"open of tap device {TAP} failed"
        assert "virtio_net_get_ifindex: Unable to get interface index on this platform" \
            not in boot  # the interface exists
        assert "NO-CARRIER" in sh(child, "ip -o link show eth0")
    finally:
        os.close(holder)


# -- the tap as the VM found it --------------------------------------------------------------------


@needs_net
@pytest.mark.parametrize("how", ["poweroff", "sigint", "sigterm", "sigkill"])
def test_a_stopped_or_killed_vm_leaves_the_tap_as_it_found_it(
        spawn: Spawn, net: TestNetwork, kernel: str, how: str, run_dir: Path) -> None:
    before = tap_state(net)
    assert not carrier(net)
    child = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP},mac={MAC}")],
                           net.guest_ip_param()), net)
    login(child)
    assert carrier(net) and net.arping(net.guest_ip) == MAC
    pid = child.pid
    assert pid in netns_pids(net.name)  # the fake runs inside the namespace, same pid
    if how == "poweroff":
        child.sendline("poweroff")
    else:
        sig = {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}
        os.kill(pid, sig[how])
    child.expect(pexpect.EOF)
    child.close()
    assert (child.exitstatus, child.signalstatus) == {
        "poweroff": (0, None), "sigint": (0, None), "sigterm": (None, signal.SIGTERM),
        "sigkill": (None, signal.SIGKILL)}[how]
    if how == "sigkill":
        # nothing runs at SIGKILL: the manager socket stays, as acrn-dm's does
        stale = run_dir / "mngr" / f"vm1.monitor.{pid}.socket"
        assert stale.is_socket()
        stale.unlink()
    assert TAP in net.links()  # never deleted
    assert tap_state(net) == before  # same MAC, address, admin state
    wait_for(lambda: not carrier(net))  # nobody attached any more
    assert net.arping(net.guest_ip, timeout=0.3) is None
    # and it can be attached again at once (not left busy)
    again = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP},mac={MAC}")],
                           net.guest_ip_param()), net)
    login(again)
    assert net.arping(net.guest_ip) == MAC


@needs_net
def test_a_reboot_keeps_the_tap_and_the_guest_answers_again(spawn: Spawn, net: TestNetwork,
                                                            kernel: str) -> None:
    child = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP},mac={MAC}")],
                           net.guest_ip_param()), net)
    login(child)
    assert net.arping(net.guest_ip) == MAC
    child.sendline("reboot")
    login(child)
    assert carrier(net)
    assert net.ping(net.guest_ip, count=2).received == 2
    assert sh(child, "cat /sys/class/net/eth0/address") == f"{MAC}\n"


# -- outside a test namespace, and scapy's import ------------------------------------------------


def _imported(child: pexpect.spawn) -> set[str]:
    """The modules ``-X importtime`` reported so far."""
    log = child.logfile_read
    text = log.getvalue() if isinstance(log, io.StringIO) else ""
    return {line.split("|")[-1].strip() for line in text.splitlines()
            if line.startswith("import time:")}


def test_outside_a_test_namespace_the_fake_touches_no_interface(spawn: Spawn,
                                                                kernel: str) -> None:
    argv = argv_for("3.3", kernel, [(4, f"tap=tap_nowhere,mac={MAC}")],
                    "ip=169.254.3.2:::255.255.0.0::eth0:off")
    child = spawn(argv, python=("-X", "importtime"))
    boot = login(child)
    assert "open of tap" not in boot and "virtio_net_get_ifindex" not in boot
    assert f"Starting network: eth0 ({MAC}): link up" in boot  # the model: acrn-dm opens it
    assert "inet 169.254.3.2/16" in sh(child, "ip -o addr")
    child.sendline("poweroff")
    child.expect(pexpect.EOF)
    modules = _imported(child)
    assert "acrnkit.fakes.acrn_dm.sim.vm" in modules  # the guest ran: the log is complete
    assert not [m for m in modules if "scapy" in m]
    with pytest.raises(OSError):
        socket_index("tap_nowhere")  # and nothing was created


def socket_index(name: str) -> int:
    import socket

    return socket.if_nametoindex(name)


@needs_net
def test_scapy_only_in_the_nic_code_path(spawn: Spawn, net: TestNetwork, kernel: str) -> None:
    # inside a test namespace, without a NIC: no scapy
    child = spawn(argv_for("3.3", kernel, [], ""), net, python=("-X", "importtime"))
    login(child)
    child.sendline("poweroff")
    child.expect(pexpect.EOF)
    modules = _imported(child)
    assert "acrnkit.fakes.acrn_dm.sim.vm" in modules
    assert not [m for m in modules if "scapy" in m or m.startswith("acrnkit.net")]
    # check mode never does
    done = subprocess.run([sys.executable, "-X", "importtime", "-m",
                           "acrnkit.fakes.acrn_dm.main",
                           *argv_for("3.3", kernel, [(4, f"tap={TAP}")], "")],
                          env=clean_env(ACRNKIT_DM_MODE="check"), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    checked = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:")}
    assert "acrnkit.argv.check" in checked and not [m for m in checked if "scapy" in m]
    # a tap NIC in the namespace: scapy comes with the guest NIC, once init runs
    child = spawn(argv_for("3.3", kernel, [(4, f"tap={TAP}")], net.guest_ip_param()), net,
                  python=("-X", "importtime"))
    child.expect("vm1 login: ")
    assert "scapy.layers.l2" in _imported(child)


def test_the_netns_prefix_is_acrnkit_nets() -> None:
    from acrnkit.fakes.acrn_dm.sim import net as sim_net

    from acrnkit.net._common import NETNS_PREFIX

    assert sim_net.NETNS_PREFIX == NETNS_PREFIX
    assert sim_net.current_test_netns() is None  # the test process is not inside one


def test_tap_open_messages_per_release() -> None:
    from acrnkit.fakes.acrn_dm.sim.net import tap_open_lines

    for release, lines in MISSING.items():
        assert list(tap_open_lines("tap_gone", get_release(release), missing=True,
                                   err=1)) == lines
    assert tap_open_lines("t0", get_release("3.2"), missing=False, err=None,
                          tun_failed=True) == ("Failed to open interface /dev/net/tun",
                                               "open of tap device t0 failed")
    assert tap_open_lines("t0", get_release("1.6"), missing=False, err=None,
                          tun_failed=True) == ("open of tup device /dev/net/tun failed",
                                               "open of tap device t0 failed")


def test_busybox_ping_arithmetic() -> None:
    from ipaddress import IPv4Address

    from acrnkit.fakes.acrn_dm.sim.ping import parse, reply_line, statistics

    assert reply_line(64, IPv4Address("169.254.1.1"), 0, 64, 0.0004125) == \
        "64 bytes from 169.254.1.1: seq=0 ttl=64 time=0.412 ms\n"
    # integer microseconds, avg truncated, loss rounded down (busybox's unsigned math)
    assert statistics("h", 3, 2, [1000, 2501]) == (
        "\n--- h ping statistics ---\n3 packets transmitted, 2 packets received, "
        "33% packet loss\nround-trip min/avg/max = 1.000/1.750/2.501 ms\n")
    assert statistics("h", 0, 0, []).endswith("0 packets received, 0% packet loss\n")
    opts = parse(["-c3", "-W", "2", "-i", "0.5", "-s", "100", "-q", "169.254.1.1"])
    assert (opts.count, opts.wait, opts.interval, opts.size, opts.quiet) == (3, 2, 0.5, 100,
                                                                             True)


@pytest.fixture(scope="module", autouse=True)
def _nothing_left_behind() -> Iterator[None]:
    before = set(list_netns()) if PROBLEM is None else set()
    yield
    if PROBLEM is None:
        left = {n for n in set(list_netns()) - before if n.startswith(f"acrnkit-{os.getpid()}-")}
        assert not left, f"namespaces left behind: {left}"
