"""The simulated guest: boot, getty, login, shell, power events, scenarios.

A state machine driven by the reactor's timers and by console input; it prints through the
:class:`Platform` (the fake VM) and tells it when it powers off, resets or suspends.

States: ``booting`` → ``login`` ⇄ ``password`` → ``shell``; ``panic`` (after a kernel panic,
until ``panic=N`` reboots it), ``hung`` (the hang scenario: the kernel is up, init never runs),
``down`` (shutting down), ``suspended``.

The tty is the guest's: the host side is raw, so the guest echoes what it reads, turns ``\\r``
into a line end (ICRNL), erases with DEL/BS, and handles ^C, ^U and ^D.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from ipaddress import IPv4Interface
from typing import Protocol

from ..settings import Settings
from . import bootlog
from .net import NicState, guest_address, new_tap_hook, nic_states
from .reactor import Reactor, Timer
from .shell import LineRunner, Reply
from .spec import DiskSpec, GuestSpec, NicSpec

PROMPT = "# "
CRLF = "\r\n"


class Platform(Protocol):
    reactor: Reactor

    def console_out(self, devices: Sequence[str], text: str) -> None: ...

    def on_poweroff(self) -> None: ...

    def on_reset(self) -> None: ...

    def on_suspend(self) -> None: ...


class Guest:
    """One guest; ``boot()`` starts (or restarts) it."""

    def __init__(self, spec: GuestSpec, settings: Settings, platform: Platform) -> None:
        self.spec = spec
        self.settings = settings
        self.platform = platform
        self.state = "off"
        #: ``$?`` of the shell
        self.status = 0
        self.nics: list[NicState] = nic_states(spec.nics)
        self.tap_hook = new_tap_hook()
        #: current capacity of each disk (BLKRESCAN changes a nodisk's)
        self.sizes: dict[int, int] = {d.index: d.size for d in spec.disks}
        self.boots = 0
        self._log: list[str] = []
        self._line = ""
        self._timers: list[Timer] = []
        self._clock = 0.0
        self._pending_button = False
        self._resume_state = "shell"
        #: the command line running at the prompt, and what was typed meanwhile
        self._runner: LineRunner | None = None
        self._typeahead = ""
        #: ip= addresses, per NIC index (the kernel's ipconfig reads them at boot)
        self._addresses: dict[int, IPv4Interface | None] = {}
        consoles = spec.console_devices()
        self.consoles = consoles
        self.primary = consoles[-1] if consoles else None

    # -- ShellHost ---------------------------------------------------------------------------

    def disk_size(self, disk: DiskSpec) -> int:
        return self.sizes.get(disk.index, 0)

    def dmesg(self) -> list[str]:
        return list(self._log)

    def nic_up(self, nic: NicSpec) -> bool:
        return any(n.spec == nic and n.link_up for n in self.nics)

    def nic_state(self, nic: NicSpec) -> NicState | None:
        return next((n for n in self.nics if n.spec == nic), None)

    def nic_address(self, nic: NicSpec) -> IPv4Interface | None:
        if nic.index not in self._addresses:
            self._addresses[nic.index] = guest_address(self.spec.bootargs, nic)
        return self._addresses[nic.index]

    def ping_routes(self) -> list[tuple[IPv4Interface, NicState]]:
        """The guest's on-link routes, in interface order (the only routes it has)."""
        routes = []
        for state in self.nics:
            iface = self.nic_address(state.spec)
            if iface is not None:
                routes.append((iface, state))
        return routes

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = self.platform.reactor.call_later(delay, callback)
        self._timers.append(timer)
        return timer

    # -- output --------------------------------------------------------------------------------

    def _kernel(self, seconds: float, text: str) -> None:
        """A kernel message: into dmesg and onto every console."""
        self._clock = max(self._clock, seconds)
        line = bootlog.stamp(seconds, text)
        self._log.append(line)
        if self.consoles:
            self.platform.console_out(self.consoles, line + CRLF)

    def _say(self, text: str) -> None:
        """Userspace output on /dev/console (``\\n`` becomes ``\\r\\n``)."""
        if self.primary is not None:
            self.platform.console_out((self.primary,),
                                      text.replace(CRLF, "\n").replace("\n", CRLF))

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(self.platform.reactor.call_later(delay, callback))

    def _cancel(self) -> None:
        self._stop_runner()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _stop_runner(self) -> None:
        runner, self._runner = self._runner, None
        self._typeahead = ""
        if runner is not None:
            runner.kill()

    # -- boot ----------------------------------------------------------------------------------

    def boot(self) -> None:
        """Power on (or reset): the boot log over ACRNKIT_GUEST_BOOT_DELAY, then getty."""
        self._cancel()
        self.tap_hook.stop()
        self.boots += 1
        self.state = "booting"
        self._log = []
        self._line = ""
        self._clock = 0.0
        scenario = self.settings.scenario
        entries = bootlog.kernel_log(self.spec)
        if scenario == "panic":
            cut = next((i for i, (_, t) in enumerate(entries)
                        if t.startswith(bootlog.PANIC_BEFORE)), len(entries) - 1)
            entries = entries[:cut]
        elif scenario == "hang":
            cut = next((i for i, (_, t) in enumerate(entries) if t == bootlog.HANG_AFTER),
                       len(entries) - 1)
            entries = entries[:cut + 1]
        delay = self.settings.boot_delay
        count = len(entries) + 1
        if delay <= 0:
            self._later(0.0, lambda: self._run_boot(entries, 0, 0.0))
            return
        step = delay / count
        self._later(step, lambda: self._run_boot(entries, 0, step))

    def _run_boot(self, entries: list[bootlog.Entry], index: int, step: float) -> None:
        """Print the boot log from ``index``; with a step, one line per tick."""
        while index < len(entries):
            seconds, text = entries[index]
            self._kernel(seconds + step * index, text)
            index += 1
            if step > 0 and index < len(entries):
                self._later(step, functools.partial(self._run_boot, entries, index, step))
                return
        scenario = self.settings.scenario
        if scenario == "panic":
            self._panic()
        elif scenario == "hang":
            self.state = "hung"
        else:
            self._later(step, self._userspace)

    def _userspace(self) -> None:
        for line in bootlog.init_log(self.spec, self.nic_up):
            self._say(line + "\n")
        self.tap_hook.start(self.nics, self.platform.reactor)
        self.state = "login"
        self._say(bootlog.login_banner(self.spec))
        if self._pending_button:
            self._pending_button = False
            self.power_button()

    def _panic(self) -> None:
        self.state = "panic"
        for seconds, text in bootlog.panic_log(self.spec, self._clock + 0.01):
            self._kernel(seconds, text)
        timeout = self.spec.panic_timeout()
        if timeout > 0:
            self._later(float(timeout), self._panic_reboot)
        elif timeout < 0:
            self._panic_reboot()

    def _panic_reboot(self) -> None:
        self._kernel(self._clock + 0.01, "reboot: Restarting system")
        self.platform.on_reset()

    # -- console input -----------------------------------------------------------------------

    def input(self, device: str, data: bytes) -> None:
        if device != self.primary or self.state not in ("login", "password", "shell"):
            return  # not /dev/console, or nobody reads the tty now
        for ch in data.decode("utf-8", "surrogateescape"):
            if self.state not in ("login", "password", "shell"):
                return
            if self._runner is not None:
                # a job (ping) has the tty: ^C goes to it, the rest waits for the shell
                if ch == "\x03":
                    self._say("^C" + CRLF)
                    self._runner.interrupt()
                else:
                    self._typeahead += ch
                continue
            self._key(ch)

    def _echo(self, text: str) -> None:
        if self.state != "password":
            self._say(text)

    def _key(self, ch: str) -> None:
        if ch in "\r\n":
            self._say(CRLF)
            line, self._line = self._line, ""
            self._enter(line)
        elif ch in "\x7f\x08":
            if self._line:
                self._line = self._line[:-1]
                self._echo("\b \b")
        elif ch == "\x03":
            self._line = ""
            self._echo("^C" + CRLF)
            self._prompt()
        elif ch == "\x15":
            self._echo("\b \b" * len(self._line))
            self._line = ""
        elif ch == "\x04":
            if not self._line and self.state == "shell":
                self._say("logout" + CRLF)
                self._logout()
        elif ch >= " " or ch == "\t":
            self._line += ch
            self._echo(ch)

    def _prompt(self) -> None:
        if self.state == "shell":
            self._say(PROMPT)
        elif self.state in ("login", "password"):
            self.state = "login"
            self._say(f"{self.spec.name} login: ")

    def _enter(self, line: str) -> None:
        if self.state == "login":
            user = line.strip()
            if not user:
                self._say(f"{self.spec.name} login: ")
            elif user == "root":
                self.state = "shell"
                self.status = 0
                self._say(PROMPT)
            else:
                self.state = "password"
                self._say("Password: ")
        elif self.state == "password":
            self.state = "login"
            self._say(f"Login incorrect{CRLF}{self.spec.name} login: ")
        elif self.state == "shell":
            runner = LineRunner(self, line, self._say, self._line_done)
            self._runner = runner
            runner.run()

    def _line_done(self, reply: Reply) -> None:
        """The command line ended (at once, or when its last job did)."""
        self._runner = None
        if reply.action is None:
            self._say(PROMPT)
        elif reply.action == "logout":
            self._logout()
        else:
            self.shutdown(reboot=reply.action == "reboot")
        typed, self._typeahead = self._typeahead, ""
        if typed and self.state == "shell":
            self.input(self.primary or "", typed.encode("utf-8", "surrogateescape"))

    def _logout(self) -> None:
        self.state = "login"
        self._say(bootlog.login_banner(self.spec))

    # -- power ---------------------------------------------------------------------------------

    def shutdown(self, *, reboot: bool) -> None:
        """An orderly poweroff or reboot through init."""
        self._stop_runner()
        self.state = "down"
        self._say("\nThe system is going down NOW!\nSent SIGTERM to all processes\n"
                  "Sent SIGKILL to all processes\n"
                  f"Requesting system {'reboot' if reboot else 'poweroff'}\n")
        self._later(self.settings.shutdown_delay, lambda: self._off(reboot))

    def _off(self, reboot: bool) -> None:
        self.tap_hook.stop()
        self._kernel(self._clock + 0.5, "reboot: Restarting system" if reboot
                     else "reboot: Power down")
        if reboot:
            self.platform.on_reset()
        else:
            self.state = "off"
            self.platform.on_poweroff()

    def power_button(self) -> None:
        """An ACPI power button press (acrn-dm's power_button stop/suspend handler)."""
        action = self.settings.power_button
        if action == "ignore" or self.state in ("panic", "hung", "down", "off", "suspended"):
            return
        if self.state == "booting":
            self._pending_button = True  # acted on once init runs
            return
        if action == "poweroff":
            self._say("\n")
            self.shutdown(reboot=False)
        else:
            self._suspend()

    def _suspend(self) -> None:
        self._resume_state = self.state
        self.state = "suspended"
        for text in ("PM: suspend entry (deep)", "Filesystems sync: 0.001 seconds",
                     "Freezing user space processes ... (elapsed 0.001 seconds) done.",
                     "ACPI: PM: Preparing to enter system sleep state S3"):
            self._kernel(self._clock + 0.001, text)
        self.platform.on_suspend()

    def resume(self) -> None:
        """acrn-dm resumed the VM (DM_RESUME)."""
        if self.state != "suspended":
            return
        for text in ("ACPI: PM: Waking up from system sleep state S3",
                     "Restarting tasks ... done.", "PM: suspend exit"):
            self._kernel(self._clock + 0.001, text)
        self.state = self._resume_state

    def kill(self) -> None:
        """The VM is destroyed under the guest (forced stop, signal)."""
        self._cancel()
        self.tap_hook.stop()
        self.state = "off"

    # -- disks ---------------------------------------------------------------------------------

    def rescan(self, disk: DiskSpec, size: int) -> None:
        """BLKRESCAN gave a nodisk slot a backing file: the config-change interrupt."""
        old = self.sizes.get(disk.index, 0)
        self.sizes[disk.index] = size
        if self.state in ("off", "panic"):
            return
        self._kernel(self._clock + 0.001, bootlog.capacity_line(disk, size, new=True))
        self._kernel(self._clock + 0.001,
                     f"{disk.name}: detected capacity change from {old} to {size}")
