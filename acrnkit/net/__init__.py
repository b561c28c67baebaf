"""Isolated test networks, probes and the fake guest's NIC (see docs/network.md).

::

    from acrnkit.net import TestNetwork, GuestNic, arping, ping, capture, assert_guest_mac

Everything stays inside a network namespace the test creates, on 169.254.0.0/16, with no route
out. Names load on first use: ``import acrnkit.net`` imports neither scapy nor the submodules;
scapy is imported by a ``GuestNic`` and by the probe helper process only.
"""

from __future__ import annotations

from acrnkit._lazy import lazy_exports
from acrnkit._records import TYPE_CHECKING

if TYPE_CHECKING:
    from acrnkit.net._common import LINK_LOCAL, CapturedPacket, PingStats, link_local
    from acrnkit.net.checks import assert_guest_mac, expected_guest_mac
    from acrnkit.net.guest_nic import (
        GuestNic,
        IpParam,
        PingJob,
        PingReply,
        open_tap,
        parse_ip_param,
        serve_in_thread,
    )
    from acrnkit.net.netns import (
        TestNetwork,
        list_netns,
        privilege_problem,
        require_privileges,
        sweep_stale,
        write_launcher,
    )
    from acrnkit.net.probes import Capture, arping, capture, ping, start_capture

_LAZY = {
    "LINK_LOCAL": "acrnkit.net._common",
    "CapturedPacket": "acrnkit.net._common",
    "PingStats": "acrnkit.net._common",
    "link_local": "acrnkit.net._common",
    "assert_guest_mac": "acrnkit.net.checks",
    "expected_guest_mac": "acrnkit.net.checks",
    "GuestNic": "acrnkit.net.guest_nic",
    "IpParam": "acrnkit.net.guest_nic",
    "PingJob": "acrnkit.net.guest_nic",
    "PingReply": "acrnkit.net.guest_nic",
    "open_tap": "acrnkit.net.guest_nic",
    "parse_ip_param": "acrnkit.net.guest_nic",
    "serve_in_thread": "acrnkit.net.guest_nic",
    "TestNetwork": "acrnkit.net.netns",
    "list_netns": "acrnkit.net.netns",
    "privilege_problem": "acrnkit.net.netns",
    "require_privileges": "acrnkit.net.netns",
    "sweep_stale": "acrnkit.net.netns",
    "write_launcher": "acrnkit.net.netns",
    "Capture": "acrnkit.net.probes",
    "arping": "acrnkit.net.probes",
    "capture": "acrnkit.net.probes",
    "ping": "acrnkit.net.probes",
    "start_capture": "acrnkit.net.probes",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "LINK_LOCAL", "Capture", "CapturedPacket", "GuestNic", "IpParam", "PingJob", "PingReply",
    "PingStats", "TestNetwork", "arping", "assert_guest_mac", "capture", "expected_guest_mac",
    "link_local", "list_netns", "open_tap", "parse_ip_param", "ping", "privilege_problem",
    "require_privileges", "serve_in_thread", "start_capture", "sweep_stale", "write_launcher",
]
