"""The probe helper: ``python -m acrnkit.net._probe '<json request>'``, run by
:mod:`acrnkit.net.probes` inside a test namespace through ``ip netns exec``.

Requests: ``{"op": "arping", "iface", "ip", "timeout"}``, ``{"op": "ping", "ip", "count",
"timeout", "interval", "size"}``, ``{"op": "capture", "iface", "filter", "timeout", "count"}``.
It prints one JSON line with ``{"ok": true, "result": ...}`` or ``{"ok": false, "kind":
"config"|"network", ...}``; a capture first prints ``{"ready": true}`` once its socket is open.
Every request names its namespace (``"netns"``); the helper refuses to run anywhere else (its
own namespace must be ``/run/netns/<netns>``, an ``acrnkit-`` one), and re-checks the
link-local rule.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Any

from acrnkit.errors import ConfigError, NetworkError
from acrnkit.net._common import LINK_LOCAL, NETNS_PREFIX, check_ifname, link_local

SIOCGIFADDR = 0x8915
SIOCGIFHWADDR = 0x8927
ETH_P_ARP = 0x0806
PACKET_OUTGOING = 4
ARP_RESEND = 0.25


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _in_test_namespace(name: object) -> bool:
    """This process is inside the acrnkit namespace ``name`` (``/run/netns/<name>``)."""
    if not isinstance(name, str) or not name.startswith(NETNS_PREFIX) or "/" in name:
        return False
    try:
        mine = os.stat("/proc/self/ns/net")
        named = os.stat(os.path.join("/run/netns", name))
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino)


def _ifreq(iface: str, request: int) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return fcntl.ioctl(sock.fileno(), request, struct.pack("256s", iface.encode()))


def iface_mac(iface: str) -> str:
    try:
        raw = _ifreq(iface, SIOCGIFHWADDR)[18:24]
    except OSError as err:
        raise NetworkError(f"{iface}: {err.strerror}") from None
    return ":".join(f"{b:02x}" for b in raw)


def iface_ip(iface: str) -> IPv4Address | None:
    try:
        return IPv4Address(_ifreq(iface, SIOCGIFADDR)[20:24])
    except OSError:
        return None


def do_arping(iface: str, ip: str, timeout: float) -> dict[str, Any]:
    from scapy.layers.l2 import ARP, Ether  # type: ignore[import-untyped,unused-ignore]

    target = link_local("ip", ip)
    check_ifname("iface", iface)
    mac = iface_mac(iface)
    src = iface_ip(iface)
    if src is not None and src not in LINK_LOCAL:
        raise ConfigError("iface", iface, f"its address {src} is not link-local")
    psrc = str(src) if src is not None else "0.0.0.0"
    request = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=mac)
                    / ARP(op=1, hwsrc=mac, psrc=psrc, hwdst="00:00:00:00:00:00",
                          pdst=str(target)))
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((iface, ETH_P_ARP))
        start = time.monotonic()
        deadline = start + timeout
        next_send = start
        sent = 0
        while True:
            now = time.monotonic()
            if now >= deadline:
                return {"mac": None, "sent": sent, "rtt": None}
            if now >= next_send:
                sock.send(request)
                sent += 1
                next_send = now + ARP_RESEND
            ready, _, _ = select.select([sock], [], [], max(0.0, min(deadline, next_send) - now))
            if not ready:
                continue
            data, addr = sock.recvfrom(65535)
            if len(addr) > 2 and addr[2] == PACKET_OUTGOING:
                continue
            arp = Ether(data).getlayer(ARP)
            if arp is not None and arp.op == 2 and IPv4Address(arp.psrc) == target:
                return {"mac": str(arp.hwsrc), "sent": sent, "rtt": time.monotonic() - start}


def do_ping(ip: str, count: int, timeout: float, interval: float, size: int) -> dict[str, Any]:
    from scapy.layers.inet import ICMP, IP  # type: ignore[import-untyped,unused-ignore]

    target = link_local("ip", ip)
    ident = int.from_bytes(os.urandom(2), "big")
    pattern = bytes((0x10 + i) & 0xFF for i in range(size))
    rtts: list[float] = []
    sent = received = errors = 0
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        for seq in range(1, count + 1):
            packet = bytes(ICMP(type=8, code=0, id=ident, seq=seq) / pattern)
            t0 = time.perf_counter()
            try:
                sock.sendto(packet, (str(target), 0))
            except OSError:
                errors += 1
                sent += 1
                continue
            sent += 1
            deadline = t0 + timeout
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                data = sock.recv(65535)
                now = time.perf_counter()
                reply = IP(data)
                icmp = reply.getlayer(ICMP)
                if (icmp is not None and icmp.type == 0 and icmp.id == ident
                        and icmp.seq == seq and IPv4Address(reply.src) == target):
                    received += 1
                    rtts.append(now - t0)
                    break
            if interval > 0 and seq < count:
                pause = t0 + interval - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
    return {"sent": sent, "received": received, "rtts": rtts, "errors": errors}


def do_capture(iface: str, expr: str, timeout: float, count: int) -> dict[str, Any]:
    from scapy.arch.common import compile_filter  # type: ignore[import-untyped,unused-ignore]
    from scapy.error import Scapy_Exception  # type: ignore[import-untyped,unused-ignore]
    from scapy.sendrecv import sniff  # type: ignore[import-untyped,unused-ignore]

    from acrnkit.net._filter import compile_subset

    check_ifname("iface", iface)
    iface_mac(iface)  # NetworkError when it does not exist
    kernel_filter: str | None = None
    lfilter: Any = None
    engine = "none"
    if expr.strip():
        try:
            compile_filter(expr, linktype=1)  # DLT_EN10MB
            kernel_filter = expr
            engine = "bpf"
        except ImportError:
            match = compile_subset(expr)
            lfilter = lambda pkt: match(bytes(pkt))  # noqa: E731
            engine = "subset"
        except Scapy_Exception as err:
            raise ConfigError("bpf_filter", expr, f"libpcap refuses it: {err}") from None
    packets: list[dict[str, Any]] = []

    def keep(pkt: Any) -> None:
        packets.append({"time": float(pkt.time), "data": bytes(pkt).hex()})

    def started() -> None:
        _emit({"ready": True, "engine": engine})

    sniff(iface=iface, filter=kernel_filter, lfilter=lfilter, prn=keep, store=False,
          timeout=timeout, count=count, started_callback=started)
    return {"packets": packets, "engine": engine}


def serve(request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "arping":
        return do_arping(request["iface"], request["ip"], float(request["timeout"]))
    if op == "ping":
        return do_ping(request["ip"], int(request["count"]), float(request["timeout"]),
                       float(request.get("interval", 0.0)), int(request.get("size", 56)))
    if op == "capture":
        return do_capture(request["iface"], request.get("filter", ""),
                          float(request["timeout"]), int(request.get("count", 0)))
    raise ConfigError("op", op, "unknown probe")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) != 1:
            raise ConfigError("argv", args, "one JSON request expected")
        request = json.loads(args[0])
        if not _in_test_namespace(request.get("netns")):
            raise NetworkError("the probe helper runs only inside the acrnkit test network "
                               f"namespace named in its request ({request.get('netns')!r})")
        result = serve(request)
    except ConfigError as err:
        _emit({"ok": False, "kind": "config", "field": err.field, "value": str(err.value),
               "reason": err.reason})
        return 2
    except (NetworkError, OSError) as err:
        _emit({"ok": False, "kind": "network", "message": str(err)})
        return 1
    _emit({"ok": True, "result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
