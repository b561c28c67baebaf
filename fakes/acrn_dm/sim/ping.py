"""The guest shell's ``ping``: busybox's ``ping`` (networking/ping.c), on the guest's NICs.

``ping [-c CNT] [-s SIZE] [-i SECS] [-A] [-W SEC] [-w SEC] [-q] [-4] HOST`` prints what busybox
prints::

    PING 169.254.10.1 (169.254.10.1): 56 data bytes
    64 bytes from 169.254.10.1: seq=0 ttl=64 time=0.412 ms

    --- 169.254.10.1 ping statistics ---
    1 packets transmitted, 1 packets received, 0% packet loss
    round-trip min/avg/max = 0.412/0.412/0.412 ms

and exits 0 when a reply came back, 1 otherwise (busybox's ``exit(nrecv == 0 || (deadline &&
nrecv < pingcount))``). The first request has sequence number 0 and the requests go out every
second (``-i``; ``-A`` sends the next one as soon as a reply arrives); after the last one
ping waits ``-W`` seconds (default 10) for the replies; ``-w`` ends it after that many seconds;
^C ends it with the statistics.

Where the packets go, as the guest kernel would route them (the only routes are the on-link
routes of the addresses ``ip=`` gave the NICs):

* a destination on a NIC's subnet whose NIC serves its tap (``tap`` mode, see :mod:`.net`):
  real echo requests go out of the tap, after ARP, through
  :meth:`acrnkit.net.guest_nic.GuestNic.ping`, and the replies are reported;
* the guest's own addresses and 127.0.0.0/8: answered locally (the loopback);
* a subnet whose NIC does not serve a tap (the ``model`` mode, no carrier, a silent NIC):
  nothing answers; ping reports the loss after ``-W``;
* anything else: ``ping: sendto: Network is unreachable``, status 1 (busybox's ``xsendto``).

Errors are busybox's: ``ping: bad address 'X'`` for a host that is not an IPv4 address (the
guest has no resolver), ``ping: invalid option -- 'x'`` and ``ping: invalid number 'x'``,
each with status 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from acrnkit.net._common import PingStats
    from acrnkit.net.guest_nic import PingJob, PingReply

    from .net import NicState
    from .reactor import Timer

#: busybox ping's defaults: DEFDATALEN, MAXWAIT, PINGINTERVAL
DEFAULT_SIZE = 56
DEFAULT_WAIT = 10.0
DEFAULT_INTERVAL = 1.0
USAGE = "Usage: ping [OPTIONS] HOST\n"
LOOPBACK = IPv4Network("127.0.0.0/8")
#: a loopback round trip, as a small VM measures it
LOCAL_RTT = 0.000045

Out = Callable[[str], None]
Done = Callable[[int], None]


class PingHost(Protocol):
    """What ``ping`` needs from the guest."""

    def ping_routes(self) -> list[tuple[IPv4Interface, NicState]]: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


@dataclass(frozen=True)
class PingOptions:
    host: str
    dst: IPv4Address
    count: int = 0  # 0: until ^C or -w
    size: int = DEFAULT_SIZE
    interval: float = DEFAULT_INTERVAL
    adaptive: bool = False
    wait: float = DEFAULT_WAIT
    deadline: float = 0.0  # 0: none
    quiet: bool = False


class UsageError(Exception):
    """``ping``'s own errors: the text (with its newline) and status 1."""


def _number(text: str, *, integer: bool) -> float:
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        raise UsageError(f"ping: invalid number '{text}'\n") from None
    if value < 0 or value != value:
        raise UsageError(f"ping: invalid number '{text}'\n")
    return value


_WITH_VALUE = "csiWwtIp"
_FLAGS = "qvA4"


def parse(args: list[str]) -> PingOptions:
    """busybox's ``getopt32(argv, "qvAc:+s:t:+w:+W:+I:np:i:4")``; one HOST."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    operands: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            operands.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        j = 1
        while j < len(arg):
            opt = arg[j]
            j += 1
            if opt in _FLAGS:
                flags.add(opt)
            elif opt in _WITH_VALUE:
                if j < len(arg):
                    values[opt] = arg[j:]
                elif i < len(args):
                    values[opt] = args[i]
                    i += 1
                else:
                    raise UsageError(f"ping: option requires an argument -- '{opt}'\n{USAGE}")
                break
            else:
                raise UsageError(f"ping: invalid option -- '{opt}'\n{USAGE}")
    if len(operands) != 1:
        raise UsageError(USAGE)
    host = operands[0]
    try:
        dst = IPv4Address(host)
    except ValueError:
        raise UsageError(f"ping: bad address '{host}'\n") from None
    # -t, -I, -p and -v are accepted without effect here
    if "s" in values:
        size = int(_number(values["s"], integer=True))
        if size > 65535:
            raise UsageError(f"ping: number {values['s']} is not in 0..65535 range\n")
    else:
        size = DEFAULT_SIZE
    return PingOptions(
        host=host, dst=dst,
        count=int(_number(values["c"], integer=True)) if "c" in values else 0,
        size=size,
        interval=_number(values["i"], integer=False) if "i" in values else DEFAULT_INTERVAL,
        adaptive="A" in flags,
        wait=_number(values["W"], integer=True) if "W" in values else DEFAULT_WAIT,
        deadline=_number(values["w"], integer=True) if "w" in values else 0.0,
        quiet="q" in flags,
    )


@dataclass
class _Tally:
    """busybox's counters: transmitted, received, and the round trips in microseconds."""

    sent: int = 0
    received: int = 0
    micros: list[int] = field(default_factory=list)


def reply_line(size: int, src: IPv4Address, seq: int, ttl: int, rtt: float) -> str:
    us = int(rtt * 1_000_000)
    return f"{size} bytes from {src}: seq={seq} ttl={ttl} time={us // 1000}.{us % 1000:03d} ms\n"


def statistics(host: str, sent: int, received: int, micros: list[int]) -> str:
    loss = (sent - received) * 100 // sent if sent else 0
    text = (f"\n--- {host} ping statistics ---\n{sent} packets transmitted, "
            f"{received} packets received, {loss}% packet loss\n")
    if micros:
        lo, hi, avg = min(micros), max(micros), sum(micros) // len(micros)
        text += (f"round-trip min/avg/max = {lo // 1000}.{lo % 1000:03d}/"
                 f"{avg // 1000}.{avg % 1000:03d}/{hi // 1000}.{hi % 1000:03d} ms\n")
    return text


class PingCommand:
    """One running ``ping`` (a shell job: ``start``, ``interrupt`` for ^C, ``kill``)."""

    def __init__(self, host: PingHost, opts: PingOptions) -> None:
        self.host = host
        self.opts = opts
        self._out: Out = lambda text: None
        self._done: Done = lambda status: None
        self._dead = False
        self._finished = False
        self._timers: list[Timer] = []
        self._job: PingJob | None = None
        self._nic: NicState | None = None
        self._tally = _Tally()
        self._next_seq = 0

    # -- the job protocol ------------------------------------------------------------------

    def start(self, out: Out, done: Done) -> None:
        self._out, self._done = out, done
        opts = self.opts
        out(f"PING {opts.host} ({opts.dst}): {opts.size} data bytes\n")
        if opts.deadline > 0:
            self._later(opts.deadline, self._end)
        if opts.dst in LOOPBACK or any(opts.dst == iface.ip
                                       for iface, _ in self.host.ping_routes()):
            self._local()
            return
        route = next((state for iface, state in self.host.ping_routes()
                      if opts.dst in iface.network), None)
        if route is None:
            self._fail("ping: sendto: Network is unreachable\n")
            return
        if route.nic is not None and route.link_up:
            self._real(route)
        else:
            self._silent()

    def interrupt(self) -> None:
        """^C: busybox's SIGINT handler prints the statistics and exits."""
        self._end()

    def kill(self) -> None:
        """The guest went away: stop without a word."""
        self._dead = True
        self._cancel()
        if self._job is not None and self._nic is not None and self._nic.nic is not None:
            self._nic.nic.cancel(self._job)
        self._job = None

    # -- helpers -----------------------------------------------------------------------------

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(self.host.call_later(delay, callback))

    def _cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _fail(self, text: str) -> None:
        self._cancel()
        self._finished = True
        self._out(text)
        self._done(1)

    def _end(self) -> None:
        """Print the statistics and exit (the end of the count, -w, ^C)."""
        if self._finished or self._dead:
            return
        if self._job is not None and not self._job.done and self._nic is not None \
                and self._nic.nic is not None:
            self._nic.nic.cancel(self._job)  # -> _on_done -> _end again
            return
        self._finished = True
        self._cancel()
        tally = self._tally
        self._out(statistics(self.opts.host, tally.sent, tally.received, tally.micros))
        short = self.opts.deadline > 0 and tally.received < self.opts.count
        self._done(1 if tally.received == 0 or short else 0)

    def _gap(self) -> float:
        return self.opts.interval

    # -- the loopback --------------------------------------------------------------------------

    def _local(self) -> None:
        self._send_local()

    def _send_local(self) -> None:
        if self._finished or self._dead:
            return
        seq = self._next_seq
        self._next_seq += 1
        self._tally.sent += 1
        self._tally.received += 1
        self._tally.micros.append(int(LOCAL_RTT * 1_000_000))
        if not self.opts.quiet:
            self._out(reply_line(self.opts.size + 8, self.opts.dst, seq, 64, LOCAL_RTT))
        if self.opts.count and self._tally.sent >= self.opts.count:
            self._later(LOCAL_RTT, self._end)
        else:
            self._later(0.0 if self.opts.adaptive else self._gap(), self._send_local)

    # -- nobody answers ------------------------------------------------------------------------

    def _silent(self) -> None:
        self._send_silent()

    def _send_silent(self) -> None:
        if self._finished or self._dead:
            return
        self._tally.sent += 1
        if self.opts.count and self._tally.sent >= self.opts.count:
            self._later(self.opts.wait, self._end)
        else:
            self._later(self._gap(), self._send_silent)

    # -- for real, on the tap ---------------------------------------------------------------------

    def _real(self, state: NicState) -> None:
        from acrnkit.errors import AcrnkitError

        nic = state.nic
        assert nic is not None
        opts = self.opts
        count = opts.count or 0xFFFF
        interval = 0.0 if opts.adaptive else opts.interval
        size = max(16, min(opts.size, 1472))
        try:
            self._job = nic.ping(opts.dst, count, max(opts.wait, 0.001), interval=interval,
                                 size=size, on_reply=self._on_reply, on_done=self._on_done,
                                 first_seq=0)
        except AcrnkitError:
            self._job = None
            self._fail("ping: sendto: Network is unreachable\n")
            return
        self._nic = state

    def _on_reply(self, reply: PingReply) -> None:
        if self._dead:
            return
        self._tally.received += 1
        self._tally.micros.append(int(reply.rtt * 1_000_000))
        if not self.opts.quiet:
            self._out(reply_line(reply.size, reply.src, reply.seq, reply.ttl, reply.rtt))

    def _on_done(self, stats: PingStats) -> None:
        if self._dead:
            return
        self._tally.sent = stats.sent
        self._job = None
        self._end()


def command(host: PingHost, args: list[str]) -> PingCommand | str:
    """``ping`` with its arguments (``args[0]`` is ``ping``): the job to run, or the text of an
    error (status 1)."""
    try:
        opts = parse(args[1:])
    except UsageError as err:
        return str(err)
    return PingCommand(host, opts)


__all__ = ["PingCommand", "PingHost", "PingOptions", "UsageError", "command", "parse",
           "reply_line", "statistics"]
