"""acrnkit's boot suite, network part: the NICs of the argv under test are real on their taps.

Each test builds an isolated test network (``acrn_netns``: a private network namespace, the
argv's taps in it, link-local host addresses, no route out), gives the guest a link-local
address with ``ip=`` in ``-B``, starts acrn-dm (real or fake) *inside* the namespace
(``acrn_vm_factory(argv, netns=acrn_netns)``) and probes the guest from the host side:

* every NIC of the argv that opens a tap answers ARP on that tap with the MAC the argv gives it
  (``mac=``, or acrn-dm's default MAC for the release);
* the guest pings the host, and the host pings the guest;
* the Kata case: the runtime copies the pod's veth MAC into ``mac=`` of the NIC on its tap, and
  the guest sees exactly that MAC, on the wire too. With Kata's own rendering
  (``virtio-net,<tap>,mac=<MAC>``, kata-quirks #12) the MAC still arrives, and the tap is
  opened only where the release opens one for that form (not on 3.x: the link is down).

Only ``-B`` (the ``ip=`` parameter) of the argv under test is changed; the NICs keep their tap
names, slots and MACs. Without root, CAP_NET_ADMIN or /dev/net/tun the tests skip with the
reason (from ``acrn_netns``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from acrnkit.argv.check import check
from acrnkit.model.devices.virtio_net import VirtioNet
from acrnkit.net import assert_guest_mac, expected_guest_mac
from acrnkit.releases.profile import get_release

pytestmark = pytest.mark.acrn_feature("network")

ZERO_MAC = "00:00:00:00:00:00"
#: busybox ("3 packets received") and iputils ("3 received") summaries
_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


@dataclass(frozen=True)
class Nic:
    """A virtio-net of the argv: where it is, the guest's ``ethN``, its tap and its MAC."""

    slot: int
    func: int
    name: str
    tap: str | None
    mac: str


def argv_nics(argv: list[str], version: str) -> list[Nic]:
    """The argv's virtio-nets in the guest's probe order, as acrn-dm ``version`` wires them."""
    rel = get_release(version)
    vm = check(argv, version).vm
    assert vm is not None, f"the argv under test does not parse for ACRN {version}: {argv}"
    devices = sorted((d for d in vm.devices if isinstance(d.device, VirtioNet)),
                     key=lambda d: d.bdf.key)
    out = []
    for index, pci in enumerate(devices):
        dev = pci.device
        assert isinstance(dev, VirtioNet)
        out.append(Nic(pci.bdf.slot, pci.bdf.func, f"eth{index}", dev.opens_tap(rel),
                       expected_guest_mac(vm, pci.bdf.slot, pci.bdf.func, rel)))
    return out


def with_ip_param(argv: list[str], param: str) -> list[str]:
    """``argv`` with ``param`` as the only ``ip=`` of ``-B`` (added when there is no -B)."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg in ("-B", "--bootargs"):
            words = [w for w in out[i + 1].split()
                     if not w.startswith(("ip=", "nfsaddrs="))]
            out[i + 1] = " ".join([*words, param])
            return out
    return [*out[:-1], "-B", param, out[-1]]


def without_nics(argv: list[str]) -> list[str]:
    """``argv`` without its virtio-net ``-s`` options."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-s", "--pci_slot") and i + 1 < len(argv) \
                and _emul(argv[i + 1]) == "virtio-net":
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def _emul(slot_option: str) -> str:
    parts = slot_option.split(",")
    return parts[1] if len(parts) > 1 else ""


def free_slot(argv: list[str], version: str) -> int:
    vm = check(argv, version).vm
    assert vm is not None
    used = {d.bdf.slot for d in vm.devices}
    return next(s for s in range(2, 32) if s not in used)


def ensure_tap(net: Any, tap: str) -> None:
    """The tap ``tap`` exists in the test network (``acrn_netns`` made its first one)."""
    if tap != net.tap and tap not in net.extra_taps:
        net.add_tap(tap)


def tapped(nics: list[Nic], version: str) -> list[Nic]:
    with_tap = [n for n in nics if n.tap is not None]
    if not with_tap:
        why = "has no virtio-net" if not nics else "opens no tap for any virtio-net"
        pytest.skip(f"the argv under test {why} (ACRN {version})")
    return with_tap


@pytest.fixture
def acrn_tap_name(acrn_vm_argv: list[str], acrn_options: Any) -> str:
    """The test network's first tap is the argv's first tap (the runtime's own name)."""
    for nic in argv_nics(acrn_vm_argv, acrn_options.version):
        if nic.tap is not None:
            return nic.tap
    return "tap_acrn0"


def test_every_nic_answers_arp_with_its_mac(acrn_vm_factory: Any, acrn_vm_argv: list[str],
                                            acrn_options: Any, acrn_netns: Any) -> None:
    version = acrn_options.version
    seen: set[str] = set()
    for nic in tapped(argv_nics(acrn_vm_argv, version), version):
        assert nic.tap is not None
        if nic.tap in seen:
            continue  # a second NIC on the same tap cannot attach (EBUSY), as on hardware
        seen.add(nic.tap)
        assert nic.mac != ZERO_MAC, (
            f"the virtio-net at {nic.slot}:{nic.func} gets the all-zero MAC under ACRN "
            f"{version} (a token besides vhost and no mac=): the guest cannot use it")
        ensure_tap(acrn_netns, nic.tap)
        argv = with_ip_param(acrn_vm_argv, acrn_netns.guest_ip_param_on(nic.tap, nic.name))
        vm = acrn_vm_factory(argv, netns=acrn_netns)
        try:
            seen_mac = assert_guest_mac(argv, nic.slot, iface=nic.tap,
                                        ip=acrn_netns.guest_address_on(nic.tap).ip,
                                        netns=acrn_netns, func=nic.func, release=version,
                                        timeout=5.0)
            assert seen_mac == nic.mac
            if vm.shell is not None:
                shown = vm.shell.run_check(f"cat /sys/class/net/{nic.name}/address").strip()
                assert shown == nic.mac, f"{nic.name} shows {shown}, the wire says {nic.mac}"
        finally:
            vm.stop()


def _first_tapped(acrn_vm_argv: list[str], acrn_options: Any) -> Nic:
    return tapped(argv_nics(acrn_vm_argv, acrn_options.version), acrn_options.version)[0]


def _boot_on_net(acrn_vm_factory: Any, acrn_vm_argv: list[str], acrn_netns: Any,
                 nic: Nic) -> Any:
    assert nic.tap is not None
    ensure_tap(acrn_netns, nic.tap)
    argv = with_ip_param(acrn_vm_argv, acrn_netns.guest_ip_param_on(nic.tap, nic.name))
    return acrn_vm_factory(argv, netns=acrn_netns)


def test_guest_pings_the_host(acrn_vm_factory: Any, acrn_vm_argv: list[str],
                              acrn_options: Any, acrn_netns: Any) -> None:
    nic = _first_tapped(acrn_vm_argv, acrn_options)
    vm = _boot_on_net(acrn_vm_factory, acrn_vm_argv, acrn_netns, nic)
    if vm.shell is None:
        pytest.skip("the argv under test has no interactive console")
    host = acrn_netns.tap_address(nic.tap).ip
    output, status = vm.shell.run(f"ping -c 2 -W 5 {host}", timeout=30)
    found = _SUMMARY.search(output)
    assert found is not None, output
    assert (status, found.groups()) == (0, ("2", "2")), output


def test_host_pings_the_guest(acrn_vm_factory: Any, acrn_vm_argv: list[str],
                              acrn_options: Any, acrn_netns: Any) -> None:
    nic = _first_tapped(acrn_vm_argv, acrn_options)
    _boot_on_net(acrn_vm_factory, acrn_vm_argv, acrn_netns, nic)
    guest = acrn_netns.guest_address_on(nic.tap).ip
    stats = acrn_netns.ping(guest, count=3, timeout=2.0)
    assert stats.received == 3, stats


def _veth_mac(net: Any) -> str:
    """A veth pair in the test network, as a CNI plugin leaves it in a pod's namespace; the
    MAC of its pod end (``eth0``)."""
    net.run(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "veth_cni"])
    out = net.ip("-o", "link", "show", "dev", "eth0")
    found = re.search(r"link/ether ([0-9a-f:]{17})", out)
    assert found is not None, out
    return found.group(1)


def _kata_case(acrn_vm_factory: Any, acrn_vm_argv: list[str], acrn_options: Any,
               acrn_netns: Any, acrn_tap: str, kata_rendering: bool,
               target: str = "fake") -> None:
    version = acrn_options.version
    rel = get_release(version)
    mac = _veth_mac(acrn_netns)
    base = without_nics(acrn_vm_argv)
    slot = free_slot(base, version)
    if kata_rendering:
        from acrnkit.kata.config import TAP, NetDevice

        option = NetDevice(type=TAP, ifname=acrn_tap, mac_address=mac).acrn_params(slot)
    else:
        dev = VirtioNet(acrn_tap, keyword=rel.has("net.tap_keyword"), mac=mac)
        option = ["-s", f"{slot},virtio-net,{dev.render_config()}"]
    argv = with_ip_param([*option, *base], acrn_netns.guest_ip_param_on(acrn_tap))
    nic = argv_nics(argv, version)[0]
    assert nic.mac == mac  # the model agrees: mac= wins over acrn-dm's default
    vm = acrn_vm_factory(argv, netns=acrn_netns)
    if vm.shell is not None:
        assert vm.shell.run_check("cat /sys/class/net/eth0/address").strip() == mac
    if nic.tap is None:
        # kata-quirks #12: ACRN 3.x opens no tap for virtio-net,<tap>,mac=<MAC>
        assert acrn_netns.arping(acrn_netns.guest_ip, timeout=1.0) is None
        if vm.shell is not None and target != "qemu":
            # acrn-dm: config.status = 0 (no carrier). QEMU gives a NIC without a backend a
            # carrier, so the QEMU target cannot show this part.
            link = vm.shell.run_check("ip -o link show eth0")
            assert "NO-CARRIER" in link, link
        return
    assert assert_guest_mac(argv, slot, mac, netns=acrn_netns, release=version,
                            timeout=5.0) == mac


def test_kata_veth_mac_copied_to_the_nic_is_what_the_guest_sees(
        acrn_vm_factory: Any, acrn_vm_argv: list[str], acrn_options: Any, acrn_netns: Any,
        acrn_tap: str) -> None:
    _kata_case(acrn_vm_factory, acrn_vm_argv, acrn_options, acrn_netns, acrn_tap,
               kata_rendering=False)


def test_kata_rendering_of_the_nic(acrn_vm_factory: Any, acrn_vm_argv: list[str],
                                   acrn_options: Any, acrn_netns: Any, acrn_tap: str,
                                   acrn_target: Any) -> None:
    _kata_case(acrn_vm_factory, acrn_vm_argv, acrn_options, acrn_netns, acrn_tap,
               kata_rendering=True, target=acrn_target.name)
