"""A scripted guest that behaves like a Linux serial console, for testing console code.

Standard library only and no acrnkit imports, so a test can copy this file anywhere and run it
with ``sys.executable``. It boots (kernel lines with timestamps), offers a ``login:`` prompt,
then a ``# `` shell that echoes what is typed and runs a few commands: ``echo [-n]``, ``true``,
``false``, ``cat`` (``/proc/cmdline``, ``/proc/version``, files written with ``>``), ``eval``,
``sleep``, ``seq``, ``dmesg``, ``exit``, ``poweroff``, ``reboot``, and
``echo c > /proc/sysrq-trigger`` (a panic). Lists with ``;``, ``&&``, ``||`` and ``$?`` work.

The console is the process's stdio (made raw if it is a tty, as acrn-dm does), a unix socket it
serves (``--unix PATH``: listen, one client), or an inherited fd (``--fd N``, a pty master).
Output uses ``\\r\\n`` line ends, as a tty with ``ONLCR`` does.

Scenarios (``--scenario``): ``normal``; ``panic`` and ``oops`` during boot; ``reboot-loop``
(``reboot: Restarting system`` then a new boot, forever); ``silent-reboot`` (a new ``Linux
version`` banner without the restart line); ``hang`` (boot stops, nothing more);
``login-hang`` (nothing after the user name). Options: ``--kmsg`` interleaves kernel messages
with the prompts (inside ``login:`` too), ``--ansi`` adds colours, a window title and
bracketed paste (``ESC[?2004h``) around the shell prompt, ``--silent`` prints nothing until the
first key arrives (the prompt was printed before anyone listened), ``--password`` requires one,
``--autologin`` skips the getty.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Iterator

SCENARIOS = ("normal", "panic", "oops", "reboot-loop", "silent-reboot", "hang", "login-hang")
ANSI_PROMPT = ("\x1b]0;root@{host}: ~\x07\x1b[?2004h"
               "\x1b[01;32mroot@{host}\x1b[00m:\x1b[01;34m~\x1b[00m# ")


class Halt(Exception):
    """The guest stops: powered off, or its console went away."""


class Console:
    """The guest's side of the console: ``say`` writes, ``readline`` reads with echo."""

    def __init__(self, rfd: int, wfd: int, *, muted: bool = False) -> None:
        self.rfd = rfd
        self.wfd = wfd
        self.muted = muted
        self._pending = b""
        self._last_cr = False

    def say(self, text: str) -> None:
        if self.muted:
            return
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        while data:
            try:
                written = os.write(self.wfd, data)
            except (BrokenPipeError, ConnectionResetError, OSError) as exc:
                raise Halt from exc
            data = data[written:]

    def _getch(self) -> str:
        if not self._pending:
            try:
                self._pending = os.read(self.rfd, 4096)
            except OSError as exc:
                raise Halt from exc
            if not self._pending:
                raise Halt
            self.muted = False
        ch, self._pending = chr(self._pending[0]), self._pending[1:]
        return ch

    def readline(self, *, echo: bool = True) -> str:
        line = ""
        while True:
            ch = self._getch()
            if ch == "\n" and self._last_cr:
                self._last_cr = False
                continue
            self._last_cr = ch == "\r"
            if ch in "\r\n":
                self.say("\n")
                return line
            if ch in "\x7f\x08":
                if line:
                    line = line[:-1]
                    if echo:
                        self.say("\b \b")
            elif ch == "\x03":
                self.say("^C\n")
                return ""
            elif ch >= " " or ch == "\t":
                line += ch
                if echo:
                    self.say(ch)


class Guest:
    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.args = args
        self.con = console
        self.clock = 0.0
        self.dmesg: list[str] = []
        self.files: dict[str, str] = {
            "/proc/cmdline": args.cmdline + "\n",
            "/proc/version": f"Linux version {args.release} (guest@acrnkit) #1 SMP\n",
            "/etc/hostname": args.hostname + "\n",
        }
        self.status = 0
        self.boots = 0

    # -- kernel ------------------------------------------------------------------------------

    def kmsg(self, text: str, step: float = 0.013) -> str:
        self.clock += step
        line = f"[{self.clock:12.6f}] {text}"
        self.dmesg.append(line)
        return line + "\n"

    def printk(self, *texts: str) -> None:
        for text in texts:
            self.con.say(self.kmsg(text))
            if self.args.line_delay:
                time.sleep(self.args.line_delay)

    def boot(self) -> None:
        self.boots += 1
        self.clock = 0.0
        self.dmesg = []
        self.con.say("\nACRN scripted firmware: booting the kernel\n")
        self.printk(
            f"Linux version {self.args.release} (guest@acrnkit) (gcc 12.2.0) #1 SMP PREEMPT",
            f"Command line: {self.args.cmdline}",
            "x86/fpu: x87 FPU will use FXSAVE",
            "Hypervisor detected: ACRN",
            f"Kernel command line: {self.args.cmdline}",
            "Console: colour dummy device 80x25",
            "printk: console [ttyS0] enabled",
            "virtio_blk virtio1: [vda] 131072 512-byte logical blocks (67.1 MB/64.0 MiB)",
            "virtio_net virtio2 eth0: renamed from eth0",
        )
        scenario = self.args.scenario
        if scenario == "panic":
            self.printk(
                "VFS: Cannot open root device \"vda\" or unknown-block(0,0): error -6",
                "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
                "CPU: 0 PID: 1 Comm: swapper/0 Not tainted 5.15.0-acrn #1",
                "Call Trace:",
                " <TASK>",
                " dump_stack_lvl+0x34/0x48",
                " panic+0x102/0x2c5",
                " mount_block_root+0x1d1/0x1ec",
                " </TASK>",
                "---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on "
                "unknown-block(0,0) ]---",
            )
            self.hang()
        if scenario == "oops":
            self.printk(
                "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                "#PF: supervisor write access in kernel mode",
                "Oops: 0002 [#1] PREEMPT SMP NOPTI",
                "CPU: 0 PID: 1 Comm: init Not tainted 5.15.0-acrn #1",
                "RIP: 0010:virtnet_probe+0x2a/0x6c0",
                "Call Trace:",
                " <TASK>",
                " virtio_dev_probe+0x1a4/0x2f0",
                " </TASK>",
            )
            self.hang()
        if scenario == "reboot-loop":
            self.printk("systemd[1]: Failed to start init", "reboot: Restarting system")
            time.sleep(0.02)
            self.boot()
            return
        if scenario == "silent-reboot":
            time.sleep(0.02)
            self.boot()
            return
        self.printk("Run /sbin/init as init process")
        if scenario == "hang":
            self.hang()
        if self.args.ansi:
            self.con.say("[  \x1b[0;32mOK\x1b[0m  ] Started \x1b[0;1;39mSerial Getty on "
                         "ttyS0\x1b[0m.\n")

    def hang(self) -> None:
        while True:
            time.sleep(3600)

    def panic(self, reason: str) -> None:
        self.printk("sysrq: Trigger a crash", f"Kernel panic - not syncing: {reason}",
                    "CPU: 0 PID: 142 Comm: sh Not tainted 5.15.0-acrn #1",
                    f"---[ end Kernel panic - not syncing: {reason} ]---")
        self.hang()

    # -- getty and shell -----------------------------------------------------------------------

    def login_prompt(self) -> None:
        prompt = f"{self.args.hostname} login: "
        if self.args.kmsg:
            # A kernel message cuts the prompt in two, and another one follows it.
            self.con.say(prompt[:4])
            self.con.say(self.kmsg("random: crng init done"))
            self.con.say(prompt[4:])
            time.sleep(0.01)
            self.con.say(self.kmsg("e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex"))
        else:
            self.con.say(prompt)

    def getty(self) -> None:
        if self.args.autologin:
            return
        self.con.say("\nWelcome to the acrnkit scripted guest\n")
        self.login_prompt()
        while True:
            user = self.con.readline()
            if not user.strip():
                self.login_prompt()
                continue
            time.sleep(self.args.login_delay)
            if self.args.password is not None:
                self.con.say("Password: ")
                if self.con.readline(echo=False) != self.args.password:
                    time.sleep(0.01)
                    self.con.say("\nLogin incorrect\n")
                    self.login_prompt()
                    continue
            if self.args.scenario == "login-hang":
                self.hang()
            if self.args.kmsg:
                self.con.say(self.kmsg("audit: type=1006 audit(1.0:2): login pid=1 uid=0"))
            return

    def prompt(self) -> str:
        if self.args.ansi:
            return ANSI_PROMPT.format(host=self.args.hostname)
        return "# "

    # -- a very small sh -----------------------------------------------------------------------

    def run_line(self, line: str) -> str | None:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            self.con.say("sh: syntax error: unterminated quoted string\n")
            self.status = 2
            return None
        command: list[str] = []
        skip = False
        for token in [*tokens, ";"]:
            if token in (";", "&&", "||"):
                if command and not skip:
                    action = self.simple(command)
                    if action is not None:
                        return action
                command = []
                skip = (token == "&&" and self.status != 0) or (token == "||" and self.status == 0)
            else:
                command.append(token)
        return None

    def simple(self, argv: list[str]) -> str | None:
        if argv[0] != "eval":  # eval's argument was quoted: it expands when it runs
            argv = [word.replace("$?", str(self.status)) for word in argv]
        target = None
        if ">" in argv:
            at = argv.index(">")
            target = argv[at + 1] if at + 1 < len(argv) else ""
            argv = argv[:at]
        out, status, action = self.execute(argv)
        if target is not None:
            if target == "/proc/sysrq-trigger" and out.strip() == "c":
                self.panic("sysrq triggered crash")
            self.files[target] = out
            out = ""
        self.con.say(out)
        self.status = status
        return action

    def execute(self, argv: list[str]) -> tuple[str, int, str | None]:
        name, args = argv[0], argv[1:]
        if name == "echo":
            newline = "\n"
            if args[:1] == ["-n"]:
                newline, args = "", args[1:]
            return " ".join(args) + newline, 0, None
        if name in ("true", ":"):
            return "", 0, None
        if name == "false":
            return "", 1, None
        if name == "cat":
            out = ""
            for path in args:
                if path not in self.files:
                    self.con.say(out)
                    return f"cat: can't open '{path}': No such file or directory\n", 1, None
                out += self.files[path]
            return out, 0, None
        if name == "eval":
            action = self.run_line(" ".join(args))
            return "", self.status, action
        if name == "sleep":
            time.sleep(float(args[0]) if args else 0.0)
            return "", 0, None
        if name == "seq":
            return "".join(f"{i}\n" for i in range(1, int(args[0]) + 1)), 0, None
        if name == "dmesg":
            return "".join(line + "\n" for line in self.dmesg), 0, None
        if name in ("exit", "logout"):
            return "", 0, "exit"
        if name == "poweroff":
            self.con.say("The system is going down NOW!\n")
            self.printk("reboot: Power down")
            raise Halt
        if name == "reboot":
            self.con.say("The system is going down NOW!\n")
            self.printk("reboot: Restarting system")
            return "", 0, "reboot"
        return f"sh: {name}: not found\n", 127, None

    def run(self) -> None:
        while True:
            self.boot()
            while True:
                self.getty()
                if self.shell_session() == "reboot":
                    break

    def shell_session(self) -> str | None:
        first = True
        while True:
            self.con.say(self.prompt())
            if first and self.args.kmsg:
                time.sleep(0.01)
                self.con.say(self.kmsg("IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link ready"))
            first = False
            line = self.con.readline()
            if self.args.ansi:
                self.con.say("\x1b[?2004l\r")
            action = self.run_line(line)
            if action in ("exit", "reboot"):
                return action


@contextlib.contextmanager
def console_from(args: argparse.Namespace) -> Iterator[Console]:
    if args.unix:
        if args.listen_delay:
            time.sleep(args.listen_delay)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        directory, name = os.path.split(os.path.abspath(args.unix))
        os.chdir(directory)  # a short relative name: tmp paths can exceed sun_path
        try:
            server.bind(name)
            server.listen(1)
            conn, _ = server.accept()
            with conn:
                yield Console(conn.fileno(), conn.fileno(), muted=args.silent)
        finally:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        return
    if args.fd is not None:
        yield Console(args.fd, args.fd, muted=args.silent)
        return
    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0, termios.TCSANOW)
    try:
        yield Console(0, 1, muted=args.silent)
    finally:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(0, termios.TCSANOW, saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="normal")
    parser.add_argument("--kmsg", action="store_true")
    parser.add_argument("--ansi", action="store_true")
    parser.add_argument("--silent", action="store_true")
    parser.add_argument("--password")
    parser.add_argument("--autologin", action="store_true", help="no getty: straight to `# `")
    parser.add_argument("--login-delay", type=float, default=0.0,
                        help="seconds between the user name and the next prompt")
    parser.add_argument("--hostname", default="guest")
    parser.add_argument("--release", default="5.15.0-acrn")
    parser.add_argument("--cmdline", default="console=ttyS0 root=/dev/vda rw")
    parser.add_argument("--unix")
    parser.add_argument("--listen-delay", type=float, default=0.0)
    parser.add_argument("--fd", type=int)
    parser.add_argument("--line-delay", type=float, default=0.001)
    parser.add_argument("--grandchild", help="start a sleeping child, write its pid here")
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    if args.grandchild:
        kid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(args.grandchild, "w") as f:
            f.write(str(kid.pid))
    with console_from(args) as console, contextlib.suppress(Halt):
        Guest(args, console).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
