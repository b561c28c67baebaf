"""``assert_guest_mac``: the MAC answering ARP for the guest is the one the argv gives it.

The expected MAC comes from the model, as acrn-dm computes it: the ``mac=`` of the virtio-net
at ``slot``/``func``, else acrn-dm's default for the release (``00:16:3e`` + md5 of
``"<slot>-<func>"``, ``"<slot>-<func>-<seed>"``; see
:func:`acrnkit.model.devices.virtio_net.default_mac` and ``VirtioNet.effective_mac``). Up to
2.7, a virtio-net config with any token besides ``vhost`` and no ``mac=`` leaves the guest MAC
all-zero (``virtio_net_parsemac`` marks the MAC as provided); that is reproduced.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from acrnkit.errors import ConfigError
from acrnkit.net._common import normalize_mac

if TYPE_CHECKING:
    from acrnkit.model.vm import VM
    from acrnkit.net.netns import TestNetwork
    from acrnkit.releases.profile import Release


def _model(vm: VM | Sequence[str], release: Release) -> VM:
    from acrnkit.argv.parse import parse
    from acrnkit.model.vm import VM

    if isinstance(vm, VM):
        return vm
    if isinstance(vm, str):
        raise ConfigError("vm", vm, "give an argv list or a VM model, not a string")
    argv = list(vm)
    if argv and not argv[0].startswith("-") and "acrn" in os.path.basename(argv[0]) and (
            os.path.basename(argv[0]).replace("_", "-").endswith("acrn-dm")):
        argv = argv[1:]  # argv[0], the program
    return parse(argv, release)


def expected_guest_mac(vm: VM | Sequence[str], slot: int, func: int = 0,
                       release: Release | str | None = None) -> str:
    """The guest MAC of the virtio-net at ``slot``.``func`` (bus 0) under ``release``."""
    from acrnkit.model.devices.virtio_net import VirtioNet
    from acrnkit.releases.profile import get_release
    from acrnkit.releases.versions import DEFAULT_VERSION

    rel = get_release(DEFAULT_VERSION if release is None else release)
    model = _model(vm, rel)
    pci = model.device_at(slot, func)
    if pci is None or not isinstance(pci.device, VirtioNet):
        found = "nothing" if pci is None else pci.emul
        raise ConfigError("slot", f"{slot}:{func}", f"no virtio-net there ({found})")
    dev = pci.device
    if (not rel.has("net.per_device_mac_seed") and dev.mac is None
            and (dev.ignored or dev.mac_seed is not None)):
        return "00:00:00:00:00:00"
    return dev.effective_mac(slot, func, rel, model.mac_seed)


def assert_guest_mac(vm: VM | Sequence[str], slot: int, expected_mac: str | None = None,
                     iface: str | None = None, ip: str | IPv4Address | None = None, *,
                     netns: TestNetwork | str, func: int = 0,
                     release: Release | str | None = None, timeout: float = 2.0) -> str:
    """ARP for the guest's ``ip`` on ``iface`` inside ``netns``; ``AssertionError`` unless the
    answering MAC is the argv's for ``slot``. ``expected_mac``, when given, is checked against
    the argv too (a test's own expectation). With a ``TestNetwork``, ``iface`` defaults to its
    tap and ``ip`` to its :attr:`guest_ip`. Returns the MAC seen."""
    from acrnkit.net.netns import TestNetwork
    from acrnkit.net.probes import arping

    derived = expected_guest_mac(vm, slot, func, release)
    if expected_mac is not None:
        want = normalize_mac("expected_mac", expected_mac)
        if want != derived:
            raise AssertionError(f"expected_mac {want} is not what the argv gives the "
                                 f"virtio-net at {slot}:{func} ({derived})")
    if isinstance(netns, TestNetwork):
        iface = iface or netns.tap
        ip = netns.guest_ip if ip is None else ip
    if iface is None or ip is None:
        raise ConfigError("iface" if iface is None else "ip", None,
                          "needed unless netns is a TestNetwork")
    seen = arping(iface, ip, timeout, netns=netns)
    if seen is None:
        raise AssertionError(f"no ARP answer for {ip} on {iface} within {timeout:g} s "
                             f"(the virtio-net at {slot}:{func} should answer as {derived})")
    if normalize_mac("mac", seen) != derived:
        raise AssertionError(f"{ip} answers ARP on {iface} as {seen}, but the virtio-net at "
                             f"{slot}:{func} has {derived} in the argv")
    return seen
