"""The fake acrn-dm process after validation: one VM, single-threaded, on a selectors loop.

Start-up follows acrn-dm's ``vm_init_vdevs`` order: the manager socket (``monitor_init``) first,
then the devices in PCI order, each console backend opened at its device's init (the LPC COM
ports at the ``lpc`` slot). A backend that cannot be opened fails like acrn-dm's device init:
its lines, ``pci <emul> init failed``, ``Unable to init vdev (<errno>)``, exit 1. Inside an
acrnkit test namespace each virtio-net attaches to its tap at its device's init (see
:mod:`.net`); a tap that cannot be opened is acrn-dm's warning and no carrier, not a failure.
The tap fds are closed at exit; the taps stay.

Then the guest boots. The VM ends when:

* the guest powers off (``poweroff``, a power-button poweroff): exit 0;
* ``DM_STOP`` with force: exit 0 after the reply;
* SIGINT or SIGHUP (``sig_handler_term``): exit 0;
* SIGTERM: acrn-dm installs no handler, so the process dies of the signal (status -15); the fake
  still removes its sockets first.

A reset (``reboot``, ``panic=N``) restarts the guest in the same process, like
``vm_system_reset``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from acrnkit.argv.check import CheckResult
from acrnkit.launch.mngr import ManagerServer, socket_path

from ..settings import Settings
from .backends import Backend, BackendError, PtyBackend, make_backend
from .dmlog import INFO, DmLog, write_stdout
from .guest import Guest
from .monitor import POWEROFF, RUNNING, SUSPEND, Monitor
from .net import close_nics, default_hook, hook_installed, network_mode, open_nic
from .reactor import Reactor
from .spec import GuestSpec, PortSpec

SYSTEM_RESET = 1
#: Signals acrn-dm's ``sig_handler_term`` handles (main.c registers SIGHUP and SIGINT).
TERM_SIGNALS = (signal.SIGINT, signal.SIGHUP)


@dataclass(frozen=True)
class Outcome:
    """How the process ends: an exit status, or death by ``signal``."""

    status: int | None
    signal: int | None = None


class FakeVm:
    def __init__(self, result: CheckResult, settings: Settings, prog: str) -> None:
        self.settings = settings
        self.spec = GuestSpec.build(result, settings)
        self.release = self.spec.release
        self.log = DmLog(self.spec.log_level, numeric_states=self.release.has("dm.v16_messages"))
        self.reactor = Reactor()
        self.state = RUNNING
        self.backends: dict[str, Backend] = {}
        self.opened: list[Backend] = []
        self.guest = Guest(self.spec, settings, self)
        #: "tap" inside an acrnkit test namespace (the taps are attached), else "model"
        self.net_mode = network_mode(self.spec.nics)
        self.monitor = Monitor(self.spec, self, self.log, prog)
        self.server: ManagerServer | None = None
        self.outcome: Outcome | None = None
        self._pending: list[int] = []
        self._wake: tuple[socket.socket, socket.socket] | None = None

    # -- Platform (for the guest) -------------------------------------------------------------

    def console_out(self, devices: Sequence[str], text: str) -> None:
        data = text.encode("utf-8", "surrogateescape")
        for device in devices:
            backend = self.backends.get(device)
            if backend is not None:
                backend.write(data)

    def on_poweroff(self) -> None:
        self.set_state("vm_suspend", POWEROFF)
        self._finish(Outcome(0))

    def on_reset(self) -> None:
        self.set_state("vm_suspend", SYSTEM_RESET)
        self.set_state("vm_system_reset", RUNNING)
        self.guest.boot()

    def on_suspend(self) -> None:
        self.set_state("vm_suspend", SUSPEND)

    # -- DmControl (for the monitor) ----------------------------------------------------------

    def set_state(self, func: str, new: int) -> None:
        self.log.setting_state(func, new)
        self.log.state_change(self.state, new)
        self.state = new

    def force_poweroff(self) -> None:
        self.guest.kill()
        self._finish(Outcome(0))

    # -- life cycle ----------------------------------------------------------------------------

    def _finish(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            if outcome.signal is None:
                self.log.err("VM loop exit")
        self.reactor.stop()

    def run(self) -> Outcome:
        self._install_signals()
        try:
            if self._start():
                self.guest.boot()
                self._deliver_signals()
                if self.outcome is None:
                    self.reactor.run()
        finally:
            self._teardown()
        return self.outcome or Outcome(0)

    def _start(self) -> bool:
        """monitor_init, then device init in PCI order; False after an init failure."""
        path = socket_path(self.settings.run_dir, self.spec.name, os.getpid())
        try:
            self.server = ManagerServer(path, self.monitor.handle, version=self.release.version)
        except OSError as err:
            # mngr_open_un -> create_new_server's printf, monitor_init's "%s %d\r\n"
            write_stdout(f"create_new_server: Failed to bind fd 5, err: {err.strerror}\n")
            self.log.err("monitor_init 495\r")
            self.log.err(f"Unable to init vdev ({err.errno})")
            self.outcome = Outcome(1)
            return False
        self.reactor.add_reader(self.server.fileno(), self._serve_manager)
        nics = {state.spec.pci.bdf.key: state for state in self.guest.nics}
        for pci in self.spec.pci:
            if pci.emul == "virtio-net" and self.net_mode == "tap" and pci.bdf.key in nics:
                open_nic(nics[pci.bdf.key], self.release, self.log)
                continue
            if pci.emul == "virtio-console":
                ports = [p for p in self.spec.ports if p.pci_key == pci.bdf.key]
            elif pci.emul == "lpc":
                ports = [p for p in self.spec.ports if p.uart]
            else:
                continue
            for port in ports:
                if not self._open(port, pci.emul):
                    self.outcome = Outcome(1)
                    return False
        if self.net_mode == "tap" and not hook_installed():
            self.guest.tap_hook = default_hook(self.spec.bootargs)
        return True

    def _open(self, port: PortSpec, emul: str) -> bool:
        backend = make_backend(port, self.reactor, self.log, self._input)
        try:
            backend.open()
        except BackendError as err:
            for line in err.lines:
                self.log.err(line)
            self.log.err(f"pci {emul} init failed")
            self.log.err(f"Unable to init vdev ({err.errno})")
            return False
        self.opened.append(backend)
        self.backends[port.device] = backend
        if isinstance(backend, PtyBackend) and self.settings.pty_links:
            backend.make_link()
        return True

    def _input(self, device: str, data: bytes) -> None:
        self.guest.input(device, data)

    def _serve_manager(self) -> None:
        if self.server is not None:
            self.server.handle_ready(0.0)

    # -- signals ---------------------------------------------------------------------------------

    def _install_signals(self) -> None:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._wake = (reader, writer)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        for signo in (*TERM_SIGNALS, signal.SIGTERM):
            signal.signal(signo, self._on_signal)
        self.reactor.add_reader(reader.fileno(), self._deliver_signals)

    def _on_signal(self, signo: int, frame: object) -> None:
        self._pending.append(signo)

    def _deliver_signals(self) -> None:
        if self._wake is not None:
            with contextlib.suppress(OSError):
                while self._wake[0].recv(512):
                    pass
        while self._pending and self.outcome is None:
            signo = self._pending.pop(0)
            if signo == signal.SIGTERM:
                self.guest.kill()
                self._finish(Outcome(None, signal.SIGTERM))
                return
            # sig_handler_term (main.c)
            if self.release.has("dm.v16_messages"):
                write_stdout("Receive SIGINT to terminate application...\n")
            else:
                self.log.out(INFO, "Received SIGINT to terminate application...")
            self.set_state("sig_handler_term", POWEROFF)
            self.guest.kill()
            self._finish(Outcome(0))

    # -- teardown ------------------------------------------------------------------------------

    def _teardown(self) -> None:
        self.guest.kill()
        close_nics(self.guest.nics)  # the fds only: a tap is never deleted
        for backend in reversed(self.opened):
            with contextlib.suppress(OSError):
                backend.close()
        self.opened.clear()
        self.backends.clear()
        if self.server is not None:
            self.reactor.remove_reader(self.server.fileno())
            with contextlib.suppress(OSError):
                self.server.close()
            self.server = None
        self.reactor.close()
        if self._wake is not None:
            signal.set_wakeup_fd(-1)
            for sock in self._wake:
                sock.close()
            self._wake = None


def run(result: CheckResult, settings: Settings, argv: Sequence[str]) -> Outcome:
    """Be the VM that ``result`` describes until it ends; returns how the process should end."""
    return FakeVm(result, settings, argv[0] if argv else "acrn-dm").run()
