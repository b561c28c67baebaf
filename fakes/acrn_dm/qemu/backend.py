"""The fake acrn-dm's QEMU backend: the validated argv boots a real guest under QEMU.

``run_qemu(vm, release, settings, argv) -> QemuOutcome`` is called by the fake after its checks
pass (``ACRNKIT_DM_BACKEND=qemu``); it returns like the simulated guest's ``run`` does
(``.status``, ``.signal``). The process stays up as the VM, as acrn-dm does:

* QEMU runs as a child in its own session (so a terminal's job control never stops it, and its
  stdio chardev can put the tty in raw mode), with ``PR_SET_PDEATHSIG`` so it cannot outlive us;
  its stdin/stdout are ours (``-l com1,stdio``, a virtio-console ``stdio`` port), its stderr goes
  to ``<run_dir>/qemu/<vm>.<pid>.log`` and is shown when QEMU fails;
* QMP: a private socketpair for the backend, and a public socket
  ``<run_dir>/qemu/<vm>.<pid>.qmp`` for people and tools;
* the manager socket ``<run_dir>/mngr/<vm>.monitor.<pid>.socket`` speaks the release's protocol:
  ``DM_STOP`` force -> QMP ``quit`` (exit 0 after the reply), graceful -> ``system_powerdown``
  (the guest's ACPI power button), ``DM_QUERY`` -> the state from ``query-status``,
  ``DM_RESUME`` -> ``system_wakeup``; SUSPEND, PAUSE, CONTINUE answer -1 (no handler) as
  acrn-dm does without a power-notify channel; BLKRESCAN answers -1 (a ``nodisk`` slot stays an
  empty disk);
* SIGINT and SIGHUP: QMP ``quit``, exit 0; SIGTERM: the same, then the process dies of SIGTERM
  (acrn-dm has no SIGTERM handler). The guest powering off ends QEMU and us with 0;
* teardown always: QEMU killed if still alive (its process group) and reaped, the sockets
  unlinked, the terminal's modes restored.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acrnkit.errors import AcrnkitError, ConfigError
from acrnkit.launch.mngr import ManagerServer, MngrMessage, socket_path
from acrnkit.model.vm import VM
from acrnkit.releases.manager import manager_profile
from acrnkit.releases.profile import Release, get_release

from .accel import AccelChoice, choose_accel
from .qmp import Qmp, QmpClosed, QmpError
from .settings import UNSUPPORTED_ENV, QemuSettings, SettingsLike
from .translate import QemuCommand, TranslateOptions, TranslationError, translate

#: ``enum vm_suspend_how`` values the DM_QUERY reply carries.
RUNNING, POWEROFF, SUSPEND = 0, 3, 4
#: QMP ``query-status`` status -> DM_QUERY state (anything else is RUNNING).
QMP_STATES: dict[str, int] = {"shutdown": POWEROFF, "suspended": SUSPEND}
STARS = "*" * 47
#: seconds QEMU gets to leave after ``quit`` before its process group is killed
QUIT_GRACE = 5.0
#: seconds from spawn to the QMP greeting
START_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1
_SUN_PATH_MAX = 107
TERM_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)


@dataclass(frozen=True)
class QemuOutcome:
    """How the fake ends: exit ``status``, or death by ``signal`` (SIGTERM, as acrn-dm)."""

    status: int | None
    signal: int | None = None


def _err(text: str) -> None:
    _write(2, text + "\n")


def _out(text: str) -> None:
    _write(1, text + "\n")


def _write(fd: int, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data):]


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


@contextlib.contextmanager
def _short_address(path: Path) -> Iterator[str]:
    """An AF_UNIX address for ``path`` even past sun_path's 107 bytes (via /proc/self/fd)."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    dir_fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{dir_fd}/{path.name}"
    finally:
        os.close(dir_fd)


def find_qemu(binary: str) -> str | None:
    if os.sep in binary:
        return binary if os.access(binary, os.X_OK) else None
    return shutil.which(binary)


def is_kernel_image(path: str) -> bool:
    """A bzImage (``HdrS`` setup header) or an ELF (a vmlinux QEMU boots through PVH)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(0x210)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" or head[0x202:0x206] == b"HdrS"


@dataclass(frozen=True)
class BootFiles:
    """What the guest image adds to the argv: its initrd (no ``-r``) and its kernel (``-k`` is
    not a kernel image); ``notes`` say what was substituted or is missing."""

    initrd: str | None = None
    kernel: str | None = None
    notes: tuple[str, ...] = ()


def boot_files(vm: VM, settings: QemuSettings) -> BootFiles:
    if vm.kernel is None:
        return BootFiles()
    needs_kernel = not is_kernel_image(vm.kernel)
    if vm.ramdisk is not None and not needs_kernel:
        return BootFiles()
    from acrnkit.guest.image import GuestImageError, load_guest

    try:
        image = load_guest(settings.guest_dir)
    except GuestImageError as err:
        if needs_kernel:
            raise GuestImageError(f"-k {vm.kernel} is not a Linux kernel image and {err}") \
                from None
        return BootFiles(notes=(f"no -r and {err}",))
    notes: list[str] = []
    kernel = None
    if needs_kernel:
        kernel = str(image.kernel)
        notes.append(f"-k {vm.kernel} is not a Linux kernel image: booting the guest image's "
                     f"{kernel}")
    initrd = str(image.initrd) if vm.ramdisk is None else None
    return BootFiles(initrd, kernel, tuple(notes))


class QemuVm:
    """One acrn-dm VM played by QEMU (see the module docstring)."""

    def __init__(self, vm: VM, release: Release, settings: QemuSettings, prog: str) -> None:
        self.vm = vm
        self.name = vm.name or "vm"
        self.release = release
        self.settings = settings
        self.prog = prog
        self.profile = manager_profile(release.version)
        self.proc: subprocess.Popen[bytes] | None = None
        self.qmp: Qmp | None = None
        self.server: ManagerServer | None = None
        self.state = RUNNING
        self.stopping = False
        self.quit_deadline: float | None = None
        self.signal: int | None = None
        self.forced = False
        self.pending: list[Callable[[], None]] = []
        self.run_dir = Path(settings.run_dir)
        self.qemu_dir = self.run_dir / "qemu"
        pid = os.getpid()
        self.log_path = self.qemu_dir / f"{self.name}.{pid}.log"
        self.qmp_path = self.qemu_dir / f"{self.name}.{pid}.qmp"
        self.command: QemuCommand | None = None
        self.accel: AccelChoice | None = None
        self.keep_log = False

    # -- the manager socket ------------------------------------------------------------------

    def handle(self, msg: MngrMessage) -> MngrMessage | None:
        name = self.profile.name_of(msg.msgid)
        if name == "DM_STOP":
            if msg.force:
                self.state = POWEROFF
                self.forced = True
                self.pending.append(self.quit)
            else:
                self.pending.append(lambda: self._qmp_quietly("system_powerdown"))
            return msg.reply_err(0)
        if name == "DM_QUERY":
            return msg.reply_state(self.query())
        if name == "DM_RESUME":
            if self.query() == SUSPEND:
                self.pending.append(lambda: self._qmp_quietly("system_wakeup"))
            return msg.reply_err(0)
        if name == "DM_BLKRESCAN":
            _err(f"{self.prog}: BLKRESCAN is not supported by the QEMU target")
            return msg.reply_err(-1)
        # DM_SUSPEND, DM_PAUSE, DM_CONTINUE: no vm_ops implements them without a power-notify
        # channel (devicemodel/core/monitor.c), so acrn-dm logs and answers -1.
        _out(f"No handler for id:{msg.msgid}\r")
        return msg.reply_err(-1)

    def query(self) -> int:
        if self.state == POWEROFF or self.qmp is None or self.qmp.closed:
            return self.state if self.qmp is not None else RUNNING
        try:
            status = self.qmp.command("query-status", timeout=2.0)
        except QmpError:
            return self.state
        if isinstance(status, dict):
            self.state = QMP_STATES.get(str(status.get("status")), RUNNING)
        return self.state

    def _qmp_quietly(self, name: str) -> None:
        if self.qmp is None:
            return
        with contextlib.suppress(QmpError):
            self.qmp.command(name, timeout=2.0)

    # -- life cycle ----------------------------------------------------------------------------

    def quit(self) -> None:
        """Stop the guest and QEMU now (QMP ``quit``; the process group if QMP is gone)."""
        if self.stopping:
            return
        self.stopping = True
        self.quit_deadline = time.monotonic() + QUIT_GRACE
        try:
            if self.qmp is None:
                raise QmpError("no QMP")
            self.qmp.command("quit", timeout=2.0)
        except QmpClosed:
            pass  # QEMU closed QMP on its way out
        except QmpError:
            self._kill(signal.SIGTERM)

    def _kill(self, signo: int) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signo)

    def run(self) -> QemuOutcome:
        with contextlib.ExitStack() as stack:
            outcome = self._run(stack)
        return outcome

    def _run(self, stack: contextlib.ExitStack) -> QemuOutcome:
        settings = self.settings
        qemu = find_qemu(settings.qemu_binary)
        if qemu is None:
            _err(f"{self.prog}: {settings.qemu_binary} not found: install qemu-system-x86 "
                 "(apt-get install qemu-system-x86) or set ACRNKIT_DM_QEMU")
            return QemuOutcome(1)
        boot = boot_files(self.vm, settings)
        self.accel = choose_accel(settings.qemu_accel, qemu)

        # QMP: a private connected pair, and a public listener in the run dir.
        ours, theirs = socket.socketpair()
        stack.callback(ours.close)
        stack.callback(theirs.close)
        self.qemu_dir.mkdir(parents=True, exist_ok=True)
        stack.callback(self._remove_qemu_dir)
        public = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stack.callback(public.close)
        with contextlib.suppress(FileNotFoundError):
            self.qmp_path.unlink()
        with _short_address(self.qmp_path) as address:
            public.bind(address)
        stack.callback(self._unlink, self.qmp_path)
        public.listen(4)

        options = TranslateOptions(
            qemu=qemu, accel=self.accel.accel, initrd=boot.initrd, kernel=boot.kernel,
            unsupported=settings.qemu_unsupported, qmp_fd=theirs.fileno(),
            qmp_listen_fd=public.fileno(), vhost_vsock=os.path.exists("/dev/vhost-vsock"),
            vhost_net=os.path.exists("/dev/vhost-net"))
        try:
            self.command = translate(self.vm, self.release, options)
        except TranslationError as err:
            for problem in err.problems:
                _err(f"{self.prog}: the QEMU target cannot honour {problem.what}: "
                     f"{problem.reason}")
            _err(f"{self.prog}: set {UNSUPPORTED_ENV}=skip to boot without "
                 f"{'it' if len(err.problems) == 1 else 'them'}")
            return QemuOutcome(1)
        for problem in self.command.skipped:
            _err(f"{self.prog}: qemu: skipped {problem.what}: {problem.reason}")
        for note in self.command.notes:
            _err(f"{self.prog}: qemu: note: {note}")
        for note in boot.notes:
            _err(f"{self.prog}: qemu: note: {note}")

        # monitor_init comes first in acrn-dm: the manager socket, then the devices.
        path = socket_path(settings.run_dir, self.name, os.getpid())
        try:
            self.server = ManagerServer(path, self.handle, version=self.release.version)
        except OSError as err:
            _out(f"create_new_server: Failed to bind fd 5, err: {err.strerror}")
            _out("monitor_init 495\r")
            _out(f"Unable to init vdev ({err.errno})")
            return QemuOutcome(1)
        stack.callback(self.server.close)

        signals = _Signals()
        stack.callback(signals.restore)
        saved_tty = _save_tty(0)
        stack.callback(_restore_tty, 0, saved_tty)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed by the exit stack
        stack.callback(log.close)
        try:
            self.proc = subprocess.Popen(
                list(self.command.argv), stdin=None, stdout=None, stderr=log,
                pass_fds=(theirs.fileno(), public.fileno()), start_new_session=True,
                preexec_fn=_pdeathsig, close_fds=True)
        except OSError as err:
            _err(f"{self.prog}: cannot start {qemu}: {err.strerror or err}")
            return QemuOutcome(1)
        stack.callback(self._remove_owned, {p for p in self.command.owned_paths
                                            if os.path.lexists(p)})
        stack.callback(self._reap)
        theirs.close()
        public.close()
        self.qmp = Qmp(ours)
        try:
            self.qmp.handshake(START_TIMEOUT)
        except QmpError as err:
            self._wait_exit(2.0)
            return self._failed(f"QEMU did not come up ({err})")
        self._report_ptys()
        if any(c.backend == "stdio" and c.id.startswith("com") for c in self.command.chardevs):
            _raw_output(0)
        return self._loop(signals)

    def _loop(self, signals: _Signals) -> QemuOutcome:
        assert self.proc is not None and self.qmp is not None and self.server is not None
        sel = selectors.DefaultSelector()
        try:
            sel.register(self.server, selectors.EVENT_READ, "mngr")
            sel.register(self.qmp.sock, selectors.EVENT_READ, "qmp")
            sel.register(signals.reader, selectors.EVENT_READ, "signal")
            pidfd = _pidfd(self.proc.pid)
            if pidfd is not None:
                sel.register(pidfd, selectors.EVENT_READ, "exit")
            while self.proc.poll() is None:
                timeout = 0.2 if pidfd is None else None
                if self.quit_deadline is not None:
                    left = self.quit_deadline - time.monotonic()
                    if left <= 0:
                        self._kill(signal.SIGKILL)
                        self.quit_deadline = time.monotonic() + QUIT_GRACE
                        left = QUIT_GRACE
                    timeout = left if timeout is None else min(timeout, left)
                for key, _ in sel.select(timeout):
                    if key.data == "mngr":
                        self.server.handle_ready(0)
                    elif key.data == "qmp":
                        self._pump()
                        if self.qmp.closed:
                            sel.unregister(self.qmp.sock)
                    elif key.data == "signal":
                        for signo in signals.take():
                            if self.signal is None:
                                self.signal = signo
                            self.quit()
                while self.pending:
                    self.pending.pop(0)()
            if pidfd is not None:
                os.close(pidfd)
        finally:
            sel.close()
        return self._finish()

    def _pump(self) -> None:
        assert self.qmp is not None
        try:
            self.qmp.pump()
        except QmpClosed:
            assert self.proc is not None
            self._wait_exit(QUIT_GRACE)
        for event in self.qmp.take_events():
            kind = event.get("event")
            if kind == "SUSPEND":
                self.state = SUSPEND
            elif kind in ("WAKEUP", "RESET", "RESUME") and self.state != POWEROFF:
                self.state = RUNNING
            elif kind == "SHUTDOWN":
                self.state = POWEROFF

    def _wait_exit(self, seconds: float) -> None:
        assert self.proc is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(seconds)

    def _finish(self) -> QemuOutcome:
        assert self.proc is not None
        code = self.proc.returncode
        if self.signal == signal.SIGTERM:
            return QemuOutcome(None, signal.SIGTERM)
        if self.signal is not None or self.forced or self.stopping:
            return QemuOutcome(0)
        if code == 0:
            return QemuOutcome(0)  # the guest powered off
        what = f"signal {-code}" if code is not None and code < 0 else f"status {code}"
        return self._failed(f"QEMU ended with {what}")

    def _failed(self, why: str) -> QemuOutcome:
        _err(f"{self.prog}: {why}")
        with contextlib.suppress(OSError):
            for line in self.log_path.read_text(errors="replace").splitlines()[-20:]:
                _err(f"{self.prog}: qemu: {line}")
        self.keep_log = True
        return QemuOutcome(1)

    def _report_ptys(self) -> None:
        """acrn-dm prints where each pty backend went; QEMU's own line is in its log."""
        assert self.qmp is not None and self.command is not None
        ptys = {c.id: c for c in self.command.chardevs if c.backend == "pty"}
        if not ptys:
            return
        try:
            found: Any = self.qmp.command("query-chardev")
        except QmpError:
            return
        for entry in found if isinstance(found, list) else []:
            label = entry.get("label")
            filename = str(entry.get("filename", ""))
            if label in ptys and filename.startswith("pty:"):
                _out(STARS)
                _out(f"virt-console backend redirected to {filename[4:]}")
                _out(STARS)

    def _reap(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(QmpError):
                if self.qmp is not None and not self.qmp.closed and not self.stopping:
                    self.qmp.command("quit", timeout=1.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2.0)
        if proc.poll() is None:
            self._kill(signal.SIGKILL)
            proc.wait()
        # Anything QEMU left in its process group (helpers) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if self.qmp is not None:
            self.qmp.close()
        if not self.keep_log:
            self._unlink(self.log_path)

    def _remove_owned(self, existed: set[str]) -> None:
        """After QEMU: its server sockets (QEMU removes them itself unless it was killed) and
        the shared memory files it created."""
        assert self.command is not None
        for path in self.command.owned_paths:
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                if stat.S_ISSOCK(st.st_mode) or path not in existed:
                    os.unlink(path)

    def _unlink(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _remove_qemu_dir(self) -> None:
        with contextlib.suppress(OSError):
            self.qemu_dir.rmdir()


class _Signals:
    """SIGINT, SIGHUP and SIGTERM become bytes on a socket the loop selects on."""

    def __init__(self) -> None:
        self.reader, self._writer = socket.socketpair()
        self.reader.setblocking(False)
        self._writer.setblocking(False)
        self._received: list[int] = []
        self._old: dict[int, Any] = {}
        self._old_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signo in TERM_SIGNALS:
            self._old[signo] = signal.signal(signo, self._on_signal)

    def _on_signal(self, signo: int, frame: object) -> None:
        self._received.append(signo)

    def take(self) -> list[int]:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            self.reader.recv(4096)
        got, self._received = self._received, []
        return got

    def restore(self) -> None:
        for signo, old in self._old.items():
            signal.signal(signo, old)
        signal.set_wakeup_fd(self._old_fd)
        self.reader.close()
        self._writer.close()


def _pidfd(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


def _save_tty(fd: int) -> list[Any] | None:
    try:
        return termios.tcgetattr(fd) if os.isatty(fd) else None
    except termios.error:
        return None


def _raw_output(fd: int) -> None:
    """acrn-dm's UART stdio backend is fully raw (``cfmakeraw``): no ``\\n`` -> ``\\r\\n`` on
    output. QEMU's stdio chardev keeps OPOST, so clear it once QEMU has set the tty up."""
    try:
        if not os.isatty(fd):
            return
        attrs = termios.tcgetattr(fd)
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except (termios.error, OSError):
        pass


def _restore_tty(fd: int, saved: list[Any] | None) -> None:
    if saved is None:
        return
    with contextlib.suppress(termios.error, OSError):
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def run_qemu(vm: VM | None, release: Release | str, settings: SettingsLike,
             argv: Sequence[str]) -> QemuOutcome:
    """Be the VM of ``argv`` (already validated by ``check``) under QEMU until it ends.

    ``settings``: the fake's ``Settings`` or a :class:`QemuSettings`; QEMU-specific values are
    read from same-named attributes or the ``ACRNKIT_DM_QEMU*``/``ACRNKIT_GUEST_DIR``
    environment. Returns the outcome; the caller exits with ``status`` or dies by ``signal``.
    """
    prog = os.path.basename(argv[0]) if argv else "acrn-dm"
    try:
        qsettings = QemuSettings.coerce(settings)
    except ConfigError as err:
        _err(f"{prog}: {err}")
        return QemuOutcome(2)
    if vm is None:
        _err(f"{prog}: the QEMU target needs acrnkit's model of every device in the argv, and "
             "this argv has a device acrnkit does not model")
        return QemuOutcome(1)
    try:
        return QemuVm(vm, get_release(release), qsettings, prog).run()
    except AcrnkitError as err:
        _err(f"{prog}: {err}")
        return QemuOutcome(1)
    except OSError as err:  # an unusable run dir, a socket that cannot be bound
        where = f" ({err.filename})" if err.filename else ""
        _err(f"{prog}: the QEMU target cannot start: {err.strerror or err}{where}")
        return QemuOutcome(1)


def exit_with(outcome: QemuOutcome) -> int:
    """For ``sys.exit``: the status, or die by the signal as acrn-dm does on SIGTERM."""
    if outcome.signal is None:
        return 1 if outcome.status is None else outcome.status
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(outcome.signal, signal.SIG_DFL)
    os.kill(os.getpid(), outcome.signal)
    time.sleep(1.0)
    return 128 + outcome.signal
