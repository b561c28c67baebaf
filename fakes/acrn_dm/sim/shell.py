"""The guest's small busybox-like shell: a table of commands over a virtual file system.

Every answer is derived from the guest state (which comes from the argv): ``/proc/cmdline`` is
the ``-B`` value, ``/proc/partitions`` lists the disks that have a capacity (a ``nodisk`` slot
joins after BLKRESCAN), ``/sys/class/net/ethN/address`` the MACs, ``ip addr`` the addresses
``ip=`` gives the NICs, ``ip link`` and ``/sys/class/net/ethN/carrier`` the carrier, ``free -m``
the ``-m`` size, ``nproc`` the ``--cpu_affinity`` count. Commands are looked up in
:data:`COMMANDS`; anything else is ``sh: X: not found`` (exit 127).

A command either answers at once (a :class:`Reply`) or starts a :class:`Job` (``ping``) that
prints as it goes and ends later; :class:`LineRunner` runs a command line (``;`` lists,
``eval``, ``$?``) across such jobs.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Interface
from typing import TYPE_CHECKING, Protocol

from . import ping as ping_mod
from .bootlog import BUILD
from .spec import DiskSpec, GuestSpec, NicSpec

if TYPE_CHECKING:
    from .net import NicState
    from .reactor import Timer

#: Major number the guest's virtio_blk driver gets (dynamic; 254 on a small VM).
VIRTBLK_MAJOR = 254


class ShellHost(Protocol):
    """What the shell reads from the running guest."""

    spec: GuestSpec
    status: int

    def disk_size(self, disk: DiskSpec) -> int: ...

    def dmesg(self) -> list[str]: ...

    def nic_up(self, nic: NicSpec) -> bool: ...

    def nic_state(self, nic: NicSpec) -> NicState | None: ...

    def nic_address(self, nic: NicSpec) -> IPv4Interface | None: ...

    def ping_routes(self) -> list[tuple[IPv4Interface, NicState]]: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class Job(Protocol):
    """A command that runs on after its :class:`Reply` (``ping``)."""

    def start(self, out: Callable[[str], None], done: Callable[[int], None]) -> None:
        """Begin; print with ``out``; call ``done(status)`` once, at the end."""

    def interrupt(self) -> None:
        """^C on the console."""

    def kill(self) -> None:
        """The guest goes away: stop silently (``done`` is not called)."""


@dataclass(frozen=True)
class Reply:
    """A command's output (``\\n`` line ends; the tty adds ``\\r``), status and guest action."""

    out: str = ""
    status: int = 0
    #: "poweroff", "reboot", "logout" or None
    action: str | None = None
    #: a command that goes on (its status then replaces ``status``)
    job: Job | None = None


Command = Callable[[ShellHost, list[str]], Reply]


# --- the virtual file system ------------------------------------------------------------------

def files(host: ShellHost) -> dict[str, str]:
    """Every readable file, path -> content (generated now from the guest state)."""
    spec = host.spec
    out: dict[str, str] = {
        "/proc/cmdline": spec.bootargs + "\n",
        "/proc/version": f"Linux version {spec.kernel_release} (acrnkit@fake) {BUILD}\n",
        "/proc/partitions": _partitions(host),
        "/proc/meminfo": _meminfo(spec),
        "/etc/hostname": spec.name + "\n",
        "/proc/sys/kernel/hostname": spec.name + "\n",
    }
    for nic in spec.nics:
        base = f"/sys/class/net/{nic.name}"
        out[f"{base}/address"] = nic.mac + "\n"
        out[f"{base}/operstate"] = ("up" if host.nic_up(nic) else "down") + "\n"
        out[f"{base}/carrier"] = ("1" if host.nic_up(nic) else "0") + "\n"
        for name, value in _nic_counters(host, nic).items():
            out[f"{base}/statistics/{name}"] = f"{value}\n"
    for disk in spec.disks:
        out[f"/sys/block/{disk.name}/size"] = f"{host.disk_size(disk) // 512}\n"
    return out


def nodes(host: ShellHost) -> list[str]:
    """Device nodes (listable, not readable as text)."""
    spec = host.spec
    names = [f"/dev/{d.name}" for d in spec.disks]
    names += [f"/dev/{p.device}" for p in spec.ports if not p.uart]
    names += [f"/dev/{p.device}" for p in spec.ports if p.uart]
    names += ["/dev/console", "/dev/null", "/dev/zero"]
    if spec.vsock_cids:
        names.append("/dev/vsock")
    return sorted(names)


def _partitions(host: ShellHost) -> str:
    rows = ["major minor  #blocks  name", ""]
    for disk in host.spec.disks:
        size = host.disk_size(disk)
        if size:  # block/genhd.c show_partition() skips empty disks
            rows.append(f"{VIRTBLK_MAJOR:4d}  {disk.index * 16:7d} {size // 1024:10d} "
                        f"{disk.name}")
    return "\n".join(rows) + "\n"


def _mem(spec: GuestSpec) -> tuple[int, int, int]:
    """(total, used, buff/cache) in MiB: the kernel keeps ~7% of -m for itself."""
    total = spec.mem_mib * 93 // 100
    used = min(total, 18 + 4 * spec.ncpus)
    cache = min(total - used, 12)
    return total, used, cache


def _meminfo(spec: GuestSpec) -> str:
    total, used, cache = _mem(spec)
    free = total - used - cache
    return (f"MemTotal:       {total * 1024:8d} kB\nMemFree:        {free * 1024:8d} kB\n"
            f"MemAvailable:   {(free + cache) * 1024:8d} kB\n"
            f"Cached:         {cache * 1024:8d} kB\n")


def _expand(host: ShellHost, args: list[str]) -> list[str]:
    """Glob expansion like sh: a pattern without matches stays as written."""
    known = sorted(set(files(host)) | set(nodes(host)))
    out: list[str] = []
    for arg in args:
        if any(c in arg for c in "*?["):
            matches = [p for p in known if fnmatch.fnmatchcase(p, arg)]
            out.extend(matches or [arg])
        else:
            out.append(arg)
    return out


# --- commands ---------------------------------------------------------------------------------

def _cat(host: ShellHost, args: list[str]) -> Reply:
    table = files(host)
    out: list[str] = []
    status = 0
    for path in _expand(host, args[1:]):
        if path in table:
            out.append(table[path])
        elif path in nodes(host):
            continue  # reading a device node prints nothing useful here
        else:
            out.append(f"cat: can't open '{path}': No such file or directory\n")
            status = 1
    return Reply("".join(out), status)


def _ls(host: ShellHost, args: list[str]) -> Reply:
    known = set(files(host)) | set(nodes(host))
    shown: list[str] = []
    errors: list[str] = []
    for path in _expand(host, args[1:] or ["/"]):
        if path in known:
            shown.append(path)
        elif path in ("/", "/dev", "/proc", "/sys"):
            prefix = path.rstrip("/") + "/"
            shown.extend(sorted({p[len(prefix):].split("/", 1)[0] for p in known
                                 if p.startswith(prefix)}))
        else:
            errors.append(f"ls: {path}: No such file or directory\n")
    out = "".join(errors) + ("  ".join(shown) + "\n" if shown else "")
    return Reply(out, 1 if errors else 0)


def _uname(host: ShellHost, args: list[str]) -> Reply:
    spec = host.spec
    fields = {"s": "Linux", "n": spec.name, "r": spec.kernel_release, "v": BUILD,
              "m": "x86_64", "o": "GNU/Linux"}
    flags = "".join(a[1:] for a in args[1:] if a.startswith("-"))
    if any(f not in "asnrvmo" for f in flags):
        bad = next(f for f in flags if f not in "asnrvmo")
        return Reply(f"uname: invalid option -- '{bad}'\n", 1)
    order = "snrvmo" if "a" in flags else "".join(f for f in "snrvmo" if f in flags) or "s"
    return Reply(" ".join(fields[f] for f in order) + "\n")


def _nproc(host: ShellHost, args: list[str]) -> Reply:
    return Reply(f"{host.spec.ncpus}\n")


def _free(host: ShellHost, args: list[str]) -> Reply:
    total, used, cache = _mem(host.spec)
    if "-m" not in args[1:]:
        total, used, cache = total * 1024, used * 1024, cache * 1024
    free = total - used - cache
    return Reply(
        "              total        used        free      shared  buff/cache   available\n"
        f"Mem:    {total:11d} {used:11d} {free:11d} {0:11d} {cache:11d} {free + cache:11d}\n"
        f"Swap:   {0:11d} {0:11d} {0:11d}\n")


def _nic_counters(host: ShellHost, nic: NicSpec) -> dict[str, int]:
    state = host.nic_state(nic)
    served = state.nic if state is not None else None
    if served is None:
        return {"rx_packets": 0, "tx_packets": 0, "rx_bytes": 0, "tx_bytes": 0,
                "rx_dropped": 0, "tx_errors": 0}
    c = served.counters
    return {"rx_packets": c.rx_packets, "tx_packets": c.tx_packets, "rx_bytes": c.rx_bytes,
            "tx_bytes": c.tx_bytes, "rx_dropped": c.rx_dropped, "tx_errors": c.tx_errors}


_IP_OBJECTS = {"link": "link", "l": "link", "li": "link", "lin": "link",
               "address": "addr", "addr": "addr", "add": "addr", "ad": "addr", "a": "addr"}
_IP_OPTIONS = ("-o", "-oneline", "-4", "-0")


def _ip(host: ShellHost, args: list[str]) -> Reply:
    """``ip [-o] [-4] {link|addr} [show] [[dev] IFACE]`` (iproute2's layout)."""
    words = [a for a in args[1:] if a not in _IP_OPTIONS]
    oneline = any(a in ("-o", "-oneline") for a in args[1:])
    if not words or words[0] not in _IP_OBJECTS:
        return Reply("ip: only 'ip [-o] link' and 'ip [-o] addr' are available here\n", 1)
    obj = _IP_OBJECTS[words[0]]
    rest = words[1:]
    if rest and rest[0] in ("show", "list", "lst", "sh", "ls"):
        rest = rest[1:]
    if rest and rest[0] == "dev":
        rest = rest[1:]
    if len(rest) > 1:
        return Reply(f'Error: either "dev" is duplicate, or "{rest[1]}" is a garbage.\n', 1)
    names = ["lo", *(n.name for n in host.spec.nics)]
    if rest and rest[0] not in names:
        return Reply(f'Device "{rest[0]}" does not exist.\n', 1)
    wanted = rest[0] if rest else None
    rows = (_ip_link(host, oneline, wanted) if obj == "link"
            else _ip_addr(host, oneline, wanted))
    return Reply("".join(row + "\n" for row in rows))


def _link_head(host: ShellHost, nic: NicSpec | None) -> tuple[str, str]:
    """``N: name: <flags> ...`` and the ``link/...`` line of ``lo`` (None) or a NIC."""
    if nic is None:
        return ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN qlen 1000",
                "link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00")
    up = host.nic_up(nic)
    flags = "BROADCAST,MULTICAST,UP,LOWER_UP" if up else "NO-CARRIER,BROADCAST,MULTICAST,UP"
    state = "UP" if up else "DOWN"
    return (f"{nic.index + 2}: {nic.name}: <{flags}> mtu 1500 qdisc pfifo_fast state {state} "
            "qlen 1000", f"link/ether {nic.mac} brd ff:ff:ff:ff:ff:ff")


def _interfaces(host: ShellHost, wanted: str | None) -> list[NicSpec | None]:
    every: list[NicSpec | None] = [None, *host.spec.nics]
    return [n for n in every if wanted is None or (n.name if n else "lo") == wanted]


def _ip_link(host: ShellHost, oneline: bool, wanted: str | None) -> list[str]:
    sep = "\\" if oneline else "\n"
    rows = []
    for nic in _interfaces(host, wanted):
        head, link = _link_head(host, nic)
        rows.append(f"{head}{sep}    {link}")
    return rows


def _inet(host: ShellHost, nic: NicSpec | None) -> tuple[str, str] | None:
    """``inet ...`` of lo or a NIC, and its interface name; None without an address."""
    if nic is None:
        return "inet 127.0.0.1/8 scope host lo", "lo"
    iface = host.nic_address(nic)
    if iface is None:
        return None
    return (f"inet {iface.with_prefixlen} brd {iface.network.broadcast_address} scope global "
            f"{nic.name}", nic.name)


def _ip_addr(host: ShellHost, oneline: bool, wanted: str | None) -> list[str]:
    lifetime = "valid_lft forever preferred_lft forever"
    rows = []
    for nic in _interfaces(host, wanted):
        inet = _inet(host, nic)
        head, link = _link_head(host, nic)
        if oneline:
            if inet is not None:
                index, name = head.split(": ", 2)[:2]
                rows.append(f"{index}: {name}    {inet[0]}\\       {lifetime}")
            continue
        rows += [head, f"    {link}"]
        if inet is not None:
            rows += [f"    {inet[0]}", f"       {lifetime}"]
    return rows


def _ping(host: ShellHost, args: list[str]) -> Reply:
    job = ping_mod.command(host, args)
    if isinstance(job, str):
        return Reply(job, 1)
    return Reply("", 0, job=job)


def _echo(host: ShellHost, args: list[str]) -> Reply:
    words = args[1:]
    newline = True
    if words and words[0] == "-n":
        newline, words = False, words[1:]
    return Reply(" ".join(words) + ("\n" if newline else ""))


def _dmesg(host: ShellHost, args: list[str]) -> Reply:
    return Reply("".join(line + "\n" for line in host.dmesg()))


def _hostname(host: ShellHost, args: list[str]) -> Reply:
    return Reply(host.spec.name + "\n")


def _status(code: int) -> Command:
    def command(host: ShellHost, args: list[str]) -> Reply:
        return Reply("", code)
    return command


def _action(action: str) -> Command:
    def command(host: ShellHost, args: list[str]) -> Reply:
        return Reply("", 0, action)
    return command


#: The shell's commands. Add a row to add a command.
COMMANDS: dict[str, Command] = {
    "cat": _cat,
    "ls": _ls,
    "uname": _uname,
    "nproc": _nproc,
    "free": _free,
    "ip": _ip,
    "ping": _ping,
    "echo": _echo,
    "dmesg": _dmesg,
    "hostname": _hostname,
    "true": _status(0),
    "false": _status(1),
    ":": _status(0),
    "poweroff": _action("poweroff"),
    "halt": _action("poweroff"),
    "reboot": _action("reboot"),
    "exit": _action("logout"),
    "logout": _action("logout"),
}


def split_list(line: str) -> list[str]:
    """Split a command line at ``;`` outside quotes, as sh does for a simple list."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in line:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quote != "'":
            current.append(ch)
            escaped = True
        elif quote is not None:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            current.append(ch)
            quote = ch
        elif ch == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _expand_status(text: str, status: int) -> str:
    """``$?`` outside single quotes becomes the last status."""
    out: list[str] = []
    in_single = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'" :
            in_single = not in_single
        if not in_single and text.startswith("$?", i):
            out.append(str(status))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class LineRunner:
    """One command line: ``;`` lists, ``eval`` (its words run as a list in place), ``$?``
    (expanded when each command runs, as sh does) and jobs. ``out`` gets the output as it
    comes; ``finish(Reply)`` is called once with the last status and the guest action that
    ended the line (the first action stops it), after the last job."""

    def __init__(self, host: ShellHost, line: str, out: Callable[[str], None],
                 finish: Callable[[Reply], None]) -> None:
        self.host = host
        self.out = out
        self.finish = finish
        self.queue: deque[str] = deque(split_list(line))
        self.job: Job | None = None
        self.done = False

    def run(self) -> None:
        """Run commands until one starts a job, an action ends the line, or the end."""
        host = self.host
        while self.queue and not self.done:
            part = self.queue.popleft().strip()
            if not part or part.startswith("#"):
                continue
            try:
                args = shlex.split(_expand_status(part, host.status))
            except ValueError:
                reply = Reply("sh: syntax error: unterminated quoted string\n", 2)
            else:
                if not args:
                    continue
                if args[0] == "eval":
                    self.queue.extendleft(reversed(split_list(" ".join(args[1:]))))
                    continue
                command = COMMANDS.get(args[0])
                reply = (command(host, args) if command is not None
                         else Reply(f"sh: {args[0]}: not found\n", 127))
            host.status = reply.status
            if reply.out:
                self.out(reply.out)
            if reply.action is not None:
                self._finish(Reply("", reply.status, reply.action))
                return
            if reply.job is not None:
                self.job = reply.job
                reply.job.start(self.out, self._job_done)
                return
        self._finish(Reply("", host.status))

    def _finish(self, reply: Reply) -> None:
        if not self.done:
            self.done = True
            self.finish(reply)

    def _job_done(self, status: int) -> None:
        if self.done:
            return
        self.job = None
        self.host.status = status
        self.run()

    @property
    def busy(self) -> bool:
        """A job is running (the shell is not reading the tty)."""
        return self.job is not None and not self.done

    def interrupt(self) -> None:
        """^C: the running job gets it (and the list goes on, as with job control)."""
        if self.job is not None:
            self.job.interrupt()

    def kill(self) -> None:
        """The guest goes away: end silently."""
        self.done = True
        job, self.job = self.job, None
        if job is not None:
            job.kill()


def run_line(host: ShellHost, line: str) -> Reply:
    """Run a command line of commands that answer at once; its whole output, the last status
    and the action. A job (``ping``) is refused: it needs the guest's event loop."""
    outputs: list[str] = []
    result: list[Reply] = []
    runner = LineRunner(host, line, outputs.append, result.append)
    runner.run()
    if not result:
        runner.kill()
        host.status = 1
        return Reply("".join(outputs) + "sh: this command needs the guest's console\n", 1)
    return Reply("".join(outputs), result[0].status, result[0].action)
