"""The guest's small busybox-like shell: a table of commands over a virtual file system.

Every answer is derived from the guest state (which comes from the argv): ``/proc/cmdline`` is
the ``-B`` value, ``/proc/partitions`` lists the disks that have a capacity (a ``nodisk`` slot
joins after BLKRESCAN), ``/sys/class/net/ethN/address`` the MACs, ``free -m`` the ``-m`` size,
``nproc`` the ``--cpu_affinity`` count. Commands are looked up in :data:`COMMANDS`; anything
else is ``sh: X: not found`` (exit 127).
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .bootlog import BUILD
from .spec import DiskSpec, GuestSpec, NicSpec

#: Major number the guest's virtio_blk driver gets (dynamic; 254 on a small VM).
VIRTBLK_MAJOR = 254


class ShellHost(Protocol):
    """What the shell reads from the running guest."""

    spec: GuestSpec
    status: int

    def disk_size(self, disk: DiskSpec) -> int: ...

    def dmesg(self) -> list[str]: ...

    def nic_up(self, nic: NicSpec) -> bool: ...


@dataclass(frozen=True)
class Reply:
    """A command's output (``\\n`` line ends; the tty adds ``\\r``), status and guest action."""

    out: str = ""
    status: int = 0
    #: "poweroff", "reboot", "logout" or None
    action: str | None = None


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


def _ip(host: ShellHost, args: list[str]) -> Reply:
    words = [a for a in args[1:] if a not in ("-o", "-oneline")]
    if not words or words[0] not in ("link", "l", "li", "lin"):
        return Reply("ip: only 'ip [-o] link' is available here\n", 1)
    oneline = len(words) < len(args) - 1
    sep = "\\" if oneline else "\n"
    rows = [f"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN qlen 1000{sep}"
            "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"]
    for nic in host.spec.nics:
        up = host.nic_up(nic)
        flags = "BROADCAST,MULTICAST,UP,LOWER_UP" if up else "NO-CARRIER,BROADCAST,MULTICAST,UP"
        state = "UP" if up else "DOWN"
        rows.append(f"{nic.index + 2}: {nic.name}: <{flags}> mtu 1500 qdisc pfifo_fast state "
                    f"{state} qlen 1000{sep}    link/ether {nic.mac} brd ff:ff:ff:ff:ff:ff")
    return Reply("\n".join(rows) + "\n")


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


def run_line(host: ShellHost, line: str) -> Reply:
    """Run one command line: ``;`` lists, ``eval``, quotes and ``$?`` (expanded when each
    command runs, as sh does). Sets ``host.status``; stops at the first guest action."""
    outputs: list[str] = []
    last = Reply("", host.status)
    for part in split_list(line):
        reply = _run_simple(host, part)
        if reply is None:
            continue
        outputs.append(reply.out)
        last = reply
        if reply.action is not None:
            break
    return Reply("".join(outputs), last.status, last.action)


def _run_simple(host: ShellHost, text: str) -> Reply | None:
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    try:
        args = shlex.split(_expand_status(text, host.status))
    except ValueError:
        reply = Reply("sh: syntax error: unterminated quoted string\n", 2)
    else:
        if not args:
            return None
        if args[0] == "eval":
            return run_line(host, " ".join(args[1:]))
        command = COMMANDS.get(args[0])
        reply = (command(host, args) if command is not None
                 else Reply(f"sh: {args[0]}: not found\n", 127))
    host.status = reply.status
    return reply
