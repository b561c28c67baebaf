"""A subset of the pcap-filter language, evaluated in Python on raw Ethernet frames.

Captures use the kernel's BPF when libpcap can compile the filter (scapy's ``compile_filter``).
Without libpcap (a bare CI image) the capture helper falls back to this subset, which has the
same meaning as pcap-filter(7) for what it accepts and refuses the rest with a ``ConfigError``
naming ``bpf_filter``:

* protocols: ``arp rarp ip ip6 icmp icmp6 tcp udp``
* ``ether host|src|dst MAC``, ``ether broadcast``, ``ether multicast``, ``broadcast``,
  ``multicast``
* ``[ip|arp] [src|dst] host ADDR``, ``[src|dst] ADDR``, ``[src|dst] net CIDR``
* ``[tcp|udp] [src|dst] port N``
* ``greater N``, ``less N``
* byte access: ``ether|arp|ip|icmp|tcp|udp [off[:1|2|4]] [& mask] (=|==|!=|<|>|<=|>=) value``,
  with ``icmptype``, ``icmpcode`` and the ``icmp-echo``/``icmp-echoreply``... names
* ``and`` / ``&&``, ``or`` / ``||``, ``not`` / ``!``, parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network

from acrnkit.errors import ConfigError

Pred = Callable[[bytes], bool]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<mac>[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){5})(?![:\w])
    | (?P<net>\d+\.\d+\.\d+\.\d+(?:/\d+)?)
    | (?P<num>0[xX][0-9A-Fa-f]+|\d+)
    | (?P<word>\\?[A-Za-z_][\w-]*)
    | (?P<op>&&|\|\||==|!=|<=|>=|[()\[\]:!<>=&])
    )""", re.VERBOSE)

_ETHERTYPES = {"ip": 0x0800, "arp": 0x0806, "rarp": 0x8035, "ip6": 0x86DD}
_IP_PROTOS = {"icmp": 1, "tcp": 6, "udp": 17}
_NAMED = {
    "icmptype": 0, "icmpcode": 1, "icmp-echoreply": 0, "icmp-unreach": 3,
    "icmp-sourcequench": 4, "icmp-redirect": 5, "icmp-echo": 8, "icmp-routeradvert": 9,
    "icmp-routersolicit": 10, "icmp-timxceed": 11, "icmp-paramprob": 12, "icmp-tstamp": 13,
    "icmp-tstampreply": 14, "icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17,
    "icmp-maskreply": 18,
}
_CMP: dict[str, Callable[[int, int], bool]] = {
    "=": lambda a, b: a == b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _ethertype(f: bytes) -> int:
    return int.from_bytes(f[12:14], "big") if len(f) >= 14 else -1


def _ip_ok(f: bytes) -> bool:
    return _ethertype(f) == 0x0800 and len(f) >= 34 and f[14] >> 4 == 4


def _ihl(f: bytes) -> int:
    return (f[14] & 0x0F) * 4


def _first_fragment(f: bytes) -> bool:
    return int.from_bytes(f[20:22], "big") & 0x1FFF == 0


def _proto_is(proto: int) -> Pred:
    return lambda f: _ip_ok(f) and f[23] == proto


def _ip6_next(proto: int) -> Pred:
    return lambda f: _ethertype(f) == 0x86DD and len(f) >= 54 and f[20] == proto


def _base(proto: str, f: bytes) -> int | None:
    """Offset of ``proto``'s header in ``f``, or None when the frame does not carry it."""
    if proto == "ether":
        return 0
    if proto == "arp":
        return 14 if _ethertype(f) in (0x0806, 0x8035) else None
    if proto == "ip":
        return 14 if _ip_ok(f) else None
    if proto in _IP_PROTOS:
        if _ip_ok(f) and f[23] == _IP_PROTOS[proto] and _first_fragment(f):
            return 14 + _ihl(f)
        return None
    return None


def _addr_pred(proto: str | None, direction: str | None, net: IPv4Network) -> Pred:
    def ip_side(f: bytes) -> bool:
        if not _ip_ok(f):
            return False
        src = IPv4Address(f[26:30]) in net
        dst = IPv4Address(f[30:34]) in net
        return src if direction == "src" else dst if direction == "dst" else src or dst

    def arp_side(f: bytes) -> bool:
        if _ethertype(f) not in (0x0806, 0x8035) or len(f) < 42:
            return False
        src = IPv4Address(f[28:32]) in net
        dst = IPv4Address(f[38:42]) in net
        return src if direction == "src" else dst if direction == "dst" else src or dst

    if proto == "ip":
        return ip_side
    if proto in ("arp", "rarp"):
        return arp_side
    return lambda f: ip_side(f) or arp_side(f)


def _port_pred(proto: str | None, direction: str | None, port: int) -> Pred:
    def pred(f: bytes) -> bool:
        if not _ip_ok(f) or not _first_fragment(f):
            return False
        if f[23] not in ((6, 17) if proto is None else (_IP_PROTOS[proto],)):
            return False
        off = 14 + _ihl(f)
        if len(f) < off + 4:
            return False
        sport = int.from_bytes(f[off:off + 2], "big")
        dport = int.from_bytes(f[off + 2:off + 4], "big")
        if direction == "src":
            return sport == port
        if direction == "dst":
            return dport == port
        return port in (sport, dport)

    return pred


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            match = _TOKEN.match(stripped, pos)
            if match is None or match.end() == pos:
                self.fail(f"cannot read {stripped[pos:].strip()!r}")
            assert match is not None
            kind = match.lastgroup or ""
            self.toks.append((kind, match.group(kind)))
            pos = match.end()
        self.i = 0

    def fail(self, why: str) -> None:
        raise ConfigError("bpf_filter", self.text, f"{why} (without libpcap acrnkit evaluates "
                          "a subset of pcap-filter; install libpcap0.8 for the full language)")

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            self.fail(f"expected {value!r}")

    def parse(self) -> Pred:
        if not self.toks:
            return lambda f: True
        pred = self.or_expr()
        if self.peek()[0] != "end":
            self.fail(f"unexpected {self.peek()[1]!r}")
        return pred

    def or_expr(self) -> Pred:
        left = self.and_expr()
        while self.peek()[1] in ("or", "||"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda f: a(f) or b(f))(left, right)
        return left

    def and_expr(self) -> Pred:
        left = self.not_expr()
        while self.peek()[1] in ("and", "&&"):
            self.take()
            right = self.not_expr()
            left = (lambda a, b: lambda f: a(f) and b(f))(left, right)
        return left

    def not_expr(self) -> Pred:
        if self.peek()[1] in ("not", "!"):
            self.take()
            inner = self.not_expr()
            return lambda f: not inner(f)
        if self.peek()[1] == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.primitive()

    def number(self) -> int:
        kind, value = self.take()
        if kind == "num":
            return int(value, 0)
        if kind == "word" and value in _NAMED:
            return _NAMED[value]
        self.fail(f"expected a number, got {value!r}")
        return 0

    def accessor(self, proto: str) -> Pred:
        self.expect("[")
        offset = self.number()
        size = 1
        if self.peek()[1] == ":":
            self.take()
            size = self.number()
            if size not in (1, 2, 4):
                self.fail("an access size is 1, 2 or 4")
        self.expect("]")
        mask: int | None = None
        if self.peek()[1] == "&":
            self.take()
            mask = self.number()
        op = self.take()[1]
        if op not in _CMP:
            self.fail(f"expected a comparison, got {op!r}")
        value = self.number()
        cmp = _CMP[op]

        def pred(f: bytes) -> bool:
            base = _base(proto, f)
            if base is None or len(f) < base + offset + size:
                return False
            got = int.from_bytes(f[base + offset:base + offset + size], "big")
            if mask is not None:
                got &= mask
            return cmp(got, value)

        return pred

    def address(self, proto: str | None, direction: str | None) -> Pred:
        kind, value = self.take()
        if kind != "net" or "/" in value:
            self.fail(f"expected an IPv4 address, got {value!r}")
        return _addr_pred(proto, direction, IPv4Network(f"{value}/32"))

    def primitive(self) -> Pred:
        kind, word = self.take()
        if kind == "net" and "/" not in word:
            return _addr_pred(None, None, IPv4Network(f"{word}/32"))
        if kind != "word":
            self.fail(f"unexpected {word!r}")
        if word in ("greater", "less"):
            n = self.number()
            return (lambda f: len(f) >= n) if word == "greater" else (lambda f: len(f) <= n)
        if word in ("broadcast", "multicast"):
            return self.ether_cast(word)
        if word == "ether":
            return self.ether()
        proto = word if word in ("ip", "arp", "rarp", "tcp", "udp", "icmp") else None
        if proto is not None and self.peek()[1] == "[":
            return self.accessor(proto)
        if word in ("ip6", "icmp6") or (proto is not None and self.peek()[1] not in (
                "src", "dst", "host", "net", "port")):
            return self.protocol(word)
        direction: str | None = None
        nxt = word if proto is None else self.take()[1]
        if nxt in ("src", "dst"):
            direction = nxt
            nxt = self.take()[1] if self.peek()[1] in ("host", "net", "port") else "host"
        if nxt == "host":
            if proto in ("tcp", "udp", "icmp"):
                self.fail(f"'{proto} host' is not a valid pcap qualifier")
            return self.address(proto, direction)
        if nxt == "net":
            if proto in ("tcp", "udp", "icmp"):
                self.fail(f"'{proto} net' is not a valid pcap qualifier")
            kind, value = self.take()
            if kind != "net":
                self.fail(f"expected a network, got {value!r}")
            try:
                network = IPv4Network(value, strict=True)
            except ValueError:
                self.fail(f"{value!r} is not a network")
                raise
            return _addr_pred(proto, direction, network)
        if nxt == "port":
            if proto not in (None, "tcp", "udp"):
                self.fail(f"'{proto} port' is not supported")
            return _port_pred(proto, direction, self.number())
        self.fail(f"unsupported primitive {word!r}")
        raise AssertionError

    def protocol(self, word: str) -> Pred:
        if word in _ETHERTYPES:
            etype = _ETHERTYPES[word]
            return lambda f: _ethertype(f) == etype
        if word in _IP_PROTOS:
            return _proto_is(_IP_PROTOS[word])
        if word == "icmp6":
            return _ip6_next(58)
        self.fail(f"unsupported protocol {word!r}")
        raise AssertionError

    def ether_cast(self, word: str) -> Pred:
        if word == "broadcast":
            return lambda f: f[0:6] == b"\xff" * 6
        return lambda f: bool(f[:1]) and bool(f[0] & 1)

    def ether(self) -> Pred:
        if self.peek()[1] == "[":
            return self.accessor("ether")
        word = self.take()[1]
        if word in ("broadcast", "multicast"):
            return self.ether_cast(word)
        if word == "proto":
            kind, value = self.take()
            names = {"\\ip": 0x0800, "\\arp": 0x0806, "\\rarp": 0x8035, "\\ip6": 0x86DD}
            etype = int(value, 0) if kind == "num" else names.get(value, -1)
            if etype < 0:
                self.fail(f"unknown ether proto {value!r}")
            return lambda f: _ethertype(f) == etype
        direction = word if word in ("src", "dst") else None
        if direction is not None and self.peek()[1] == "host":
            self.take()
        elif direction is None and word != "host":
            self.fail(f"'ether {word}' is not supported")
        kind, value = self.take()
        if kind != "mac":
            self.fail(f"expected a MAC address, got {value!r}")
        mac = bytes(int(x, 16) for x in value.split(":"))
        if direction == "src":
            return lambda f: f[6:12] == mac
        if direction == "dst":
            return lambda f: f[0:6] == mac
        return lambda f: mac in (f[0:6], f[6:12])


def compile_subset(expr: str) -> Pred:
    """A predicate on raw Ethernet frames for ``expr``; ``ConfigError`` when outside the
    subset."""
    return _Parser(expr).parse()
