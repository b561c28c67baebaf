"""acrnctl's ``main()`` and sub-commands, re-implemented from the C of each release.

Sources: ``misc/services/acrn_manager/acrnctl.c`` and ``acrn_vm_ops.c`` at v2.7, v3.0, v3.2,
v3.3; ``misc/acrn-manager/acrnctl.c`` and ``acrn_vm_ops.c`` at v1.6. The per-release
differences are data in ``release.py``.

Conventions kept from the C: everything is printed on stdout except the few ``fprintf(stderr)``
and ``perror`` lines; ``return -1`` from ``main`` is exit status 255; ``stop`` returns the ack's
``err`` and ``start`` the ``system()`` status, both cut to 8 bits by ``exit``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from .release import (
    VM_CREATED,
    VM_STARTED,
    VM_SUSPENDED,
    CtlRelease,
    ctl_release,
)
from .settings import Settings
from .streams import Streams
from .vmmngr import VmEntry, VmMngr

#: ``STOP_TIMEOUT`` (acrnctl.c): reset polls this many seconds (+1) for the VM to stop.
STOP_TIMEOUT = 30
#: ``CBC_WK_RSN_BTN`` (devicemodel/include/ioc.h): resume's default wake-up reason.
CBC_WK_RSN_BTN = 1 << 5
_ULONG_MAX = 2**64 - 1

Validator = Callable[["Acrnctl", str, list[str]], bool]


def _strtoul16(text: str) -> int:
    """``(unsigned) strtoul(text, NULL, 16)`` with glibc's rules (no digits: 0; overflow:
    ULONG_MAX; a leading '-' negates modulo 2**64), then cut to 32 bits."""
    raw = os.fsencode(text)
    i = 0
    while i < len(raw) and raw[i] in b" \t\n\v\f\r":
        i += 1
    negative = False
    if i < len(raw) and raw[i] in b"+-":
        negative = raw[i] == ord("-")
        i += 1
    hexdigits = b"0123456789abcdefABCDEF"
    if raw[i:i + 2] in (b"0x", b"0X") and i + 2 < len(raw) and raw[i + 2] in hexdigits:
        i += 2
    j = i
    while j < len(raw) and raw[j] in hexdigits:
        j += 1
    value = int(raw[i:j], 16) if j > i else 0
    if value > _ULONG_MAX:
        value = _ULONG_MAX
    elif negative:
        value = (-value) % (_ULONG_MAX + 1)
    return value & 0xFFFFFFFF


class Acrnctl:
    """One acrnctl run: ``Acrnctl(settings, argv, streams).main()`` returns main()'s value."""

    def __init__(self, settings: Settings, argv: list[str], streams: Streams) -> None:
        self.settings = settings
        self.release: CtlRelease = ctl_release(settings.version)
        self.argv = argv
        #: ``acrnctl_bin_path = argv[0]``: what ``add`` writes in place of acrn-dm.
        self.argv0 = argv[0] if argv else "acrnctl"
        self.io = streams
        self.run_dir = settings.run_dir
        self.vmmngr = VmMngr(self.release, settings.run_dir, streams)
        #: ``ACRN_CONF_PATH_ADD`` (``/usr/share/acrn/conf/add``) moved into the run dir.
        self.conf_add = self.vmmngr.conf_add
        self._table: dict[str, tuple[Validator, Callable[[list[str]], int]]] = {
            "list": (_valid_list, self.do_list),
            "start": (_valid_start, self.do_start),
            "stop": (_valid_default, self.do_stop),
            "del": (_valid_default, self.do_del),
            "add": (_valid_add, self.do_add),
            "pause": (_valid_default, self.do_pause),
            "continue": (_valid_default, self.do_continue),
            "suspend": (_valid_default, self.do_suspend),
            "resume": (_valid_default, self.do_resume),
            "reset": (_valid_default, self.do_reset),
            "blkrescan": (_valid_blkrescan, self.do_blkrescan),
        }

    # -- main ---------------------------------------------------------------------------------

    def usage(self) -> None:
        self.io.out("\nUsage: acrnctl SUB-CMD { VM_NAME | SCRIPTS OPTIONS | help }\n\n")
        for name, desc in self.release.commands:
            self.io.out(f"\t{name:<12}{desc}\n")

    def main(self) -> int:
        argv = self.argv
        if len(argv) <= 1 or argv[1] == "help":
            self.usage()
            return 0
        if os.getuid() != 0 and not self.settings.skip_root_check:
            self.io.out("Please run acrnctl with root privileges. Exiting.\n")
            return -1
        if self.release.main_mkdir:
            self.mkdir_store()
        # "acrnctl reserved operations": what add's rewritten script calls instead of acrn-dm.
        if argv[1] == "gentmpfile":
            self.io.out(f"\nacrnctl: {argv[-1]}\n")
            return 0
        command = argv[1]
        if self.release.has(command):
            valid, func = self._table[command]
            args = argv[1:]
            if not valid(self, command, args):
                return -1
            self.vmmngr.update()
            return func(args)
        self.io.out(f"Unknown command: {command}\n")
        self.usage()
        return -1

    def mkdir_store(self) -> None:
        """``system("mkdir -p " ACRN_CONF_PATH_ADD)``, in the run dir."""
        try:
            os.makedirs(self.conf_add, exist_ok=True)
        except OSError as exc:
            where = exc.filename if isinstance(exc.filename, str) else self.conf_add
            self.io.err(
                f"mkdir: cannot create directory '{where}': {os.strerror(exc.errno or 0)}\n"
            )

    # -- shared helpers -------------------------------------------------------------------------

    def child_env(self) -> dict[str, str]:
        """The environment of the launch scripts: ours, with ACRNKIT_RUN_DIR made absolute (a
        script that changes directory must still find the same run dir)."""
        env = dict(os.environ)
        if env.get("ACRNKIT_RUN_DIR"):
            env["ACRNKIT_RUN_DIR"] = self.run_dir
        return env

    def check_name(self, name: bytes) -> int:
        """``check_name`` (acrnctl.c): 0, or -1 after its message (none for help/nothing)."""
        first = name[:1]
        if not (b"a" <= first <= b"z" or b"A" <= first <= b"Z"):
            self.io.out("name not started with letter!\n")
            return -1
        for index, byte in enumerate(name):
            if byte in b"!@#$%^&*, ":
                self.io.out(f"vmname[{index}] is '{chr(byte)}'!\n")
                return -1
        if name in (b"help", b"nothing"):
            return -1
        limit = self.release.name_buf
        if len(name) >= limit:
            self.io.out(
                f"({os.fsdecode(name)}) size exceed {self.release.name_macro}:{limit}\n"
            )
            return -1
        return 0

    def state(self, state: int) -> str:
        return self.release.state_name(state)

    def stop_vm(self, name: str, force: bool) -> int:
        from acrnkit.launch.mngr import stop_data

        err = self.vmmngr.request(name, "DM_STOP", stop_data(force))
        if err:
            self.io.out(f"Error happens when try to stop vm. errno({err})\n")
        return err

    def start_vm(self, name: str) -> int:
        """``start_vm``: ``system("bash <store>/<vm>.sh $(cat <store>/<vm>.args)")``.

        The fake runs bash with an argv list (the .args words split as the shell splits them,
        without globbing). ``ACRNKIT_ACRNCTL_START=detach`` (default) starts it in a new session
        with its output in ``<run_dir>/acrnctl/<vm>.start.log`` and returns 0 at once, which is
        what ``system()``'s status gives after ``exit()`` cuts it to 8 bits for any launch that
        ends normally. ``wait`` blocks like ``system()`` and returns its status.
        """
        import subprocess

        from .add import _split_words

        script = os.path.join(self.conf_add, f"{name}.sh")
        args_path = os.path.join(self.conf_add, f"{name}.args")
        try:
            with open(args_path, "rb") as fh:
                words = _split_words(fh.read())
        except OSError as exc:
            self.io.err(f"cat: {args_path}: {os.strerror(exc.errno or 0)}\n")
            words = []
        argv: list[str | bytes] = ["bash", script]
        argv.extend(words)
        if self.settings.start_mode == "wait":
            return self._system(argv)
        log_dir = os.path.join(self.run_dir, "acrnctl")
        try:
            os.makedirs(log_dir, exist_ok=True)
            log = open(os.path.join(log_dir, f"{name}.start.log"), "ab")  # noqa: SIM115
        except OSError as exc:
            self.io.err(f"sh: 1: cannot create {log_dir}: {os.strerror(exc.errno or 0)}\n")
            return 0
        with log:
            try:
                subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, close_fds=True, env=self.child_env(),
                )
            except OSError:
                self.io.err("sh: 1: bash: not found\n")
        return 0

    def _system(self, argv: list[str | bytes]) -> int:
        import signal
        import subprocess

        try:
            child = subprocess.Popen(argv, env=self.child_env())
        except OSError:
            self.io.err("sh: 1: bash: not found\n")
            return 127 << 8
        # system() ignores SIGINT and SIGQUIT in the caller while the command runs.
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        old_quit = signal.signal(signal.SIGQUIT, signal.SIG_IGN)
        try:
            code = child.wait()
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGQUIT, old_quit)
        return -code if code < 0 else code << 8

    # -- sub-commands (argv[0] is the sub-command) ----------------------------------------

    def do_list(self, argv: list[str]) -> int:
        found = 0
        for entry in self.vmmngr.entries:
            self.io.out(f"{entry.name}\t\t{self.state(entry.state)}\n")
            found += 1
        if not found:
            self.io.out("There are no VMs\n")
        return 0

    def _find(self, name: str) -> VmEntry | None:
        """The VM called ``name``, or None after acrnctl's ``can't find`` line."""
        entry = self.vmmngr.find(name)
        if entry is None:
            self.io.out(f"can't find {name}\n")
        return entry

    def _stopped(self, name: str, verb: str) -> bool:
        """start and del need a stopped VM: ``can't <verb> <vm>(<state>)`` otherwise."""
        entry = self._find(name)
        if entry is None:
            return False
        if entry.state != VM_CREATED:
            self.io.out(f"can't {verb} {name}({self.state(entry.state)})\n")
            return False
        return True

    def do_start(self, argv: list[str]) -> int:
        name = argv[1]
        if not self._stopped(name, "start"):
            return -1
        return self.start_vm(name)

    def do_stop(self, argv: list[str]) -> int:
        force = False
        name: str | None = None
        for arg in argv[1:]:
            if arg in ("--force", "-f"):
                force = True
            elif name is None:
                name = arg
        if name is None:
            self.io.out("Please give a VM name\n")
            return -1
        entry = self._find(name)
        if entry is None:
            return -1
        if entry.state == VM_CREATED:
            self.io.out(f"{name} is already ({self.state(entry.state)})\n")
            return -1
        return self.stop_vm(name, force)

    def do_del(self, argv: list[str]) -> int:
        name = argv[1]
        if not self._stopped(name, "delete"):
            return -1
        # rm -f <store>/<vm>.sh, then .args; each a char cmd[PATH_LEN] line on a real host.
        from .add import REAL_CONF_ADD

        for suffix in (".sh", ".args"):
            if len(os.fsencode(f"rm -f {REAL_CONF_ADD}/{name}{suffix}")) >= 128:
                self.io.out("WARN: cmd is truncated\n")
                return -1
            path = os.path.join(self.conf_add, name + suffix)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.io.err(f"rm: cannot remove '{path}': {os.strerror(exc.errno or 0)}\n")
        # del_runC: the fake keeps no runC configuration, so there is never one to delete.
        return 0

    def do_add(self, argv: list[str]) -> int:
        from .add import do_add

        return do_add(self, argv)

    def _simple(self, argv: list[str], verb: str, msgid: str, needs: int) -> int:
        """pause / continue / suspend: ``"Can't find vm"``, a state check, one message."""
        name = argv[1]
        entry = self.vmmngr.find(name)
        if entry is None:
            self.io.out(f"Can't find vm {name}\n")
            return -1
        if entry.state != needs:
            self.io.out(f"{name} current state {self.state(entry.state)}, can't {verb}\n")
            return -1
        err = self.vmmngr.request(name, msgid)
        if err:
            self.io.out(f"Unable to {verb} vm. errno({err})\n")
        return err

    def do_pause(self, argv: list[str]) -> int:
        return self._simple(argv, "pause", "DM_PAUSE", VM_STARTED)

    def do_continue(self, argv: list[str]) -> int:
        # "we can't know if vm is in paused state": continue is sent to a started VM.
        return self._simple(argv, "continue", "DM_CONTINUE", VM_STARTED)

    def do_suspend(self, argv: list[str]) -> int:
        return self._simple(argv, "suspend", "DM_SUSPEND", VM_STARTED)

    def do_resume(self, argv: list[str]) -> int:
        name = argv[1]
        entry = self.vmmngr.find(name)
        if entry is None:
            self.io.out(f"Can't find vm {name}\n")
            return -1
        reason = CBC_WK_RSN_BTN
        if len(argv) == 3:
            reason = _strtoul16(argv[2])
            reason = 0 if reason & 0xFF000000 else reason
        else:
            self.io.out(f"No wake up reason, use 0x{reason:x}\n")
        if entry.state != VM_SUSPENDED:
            self.io.out(f"{name} current state {self.state(entry.state)}, can't resume\n")
            return -1
        from acrnkit.launch.mngr import reason_data

        err = self.vmmngr.request(name, "DM_RESUME", reason_data(reason))
        if err:
            self.io.out(f"Unable to resume vm. errno({err})\n")
        self.io.out(f"resume {name} reason(0x{reason:x}\n")  # sic: no closing parenthesis
        return err

    def _wait_vm_stop(self, name: str, timeout: int) -> int:
        left = timeout
        while True:
            self.vmmngr.update()
            entry = self.vmmngr.find(name)
            if entry is None:
                self.io.out(f"wait_vm_stop: vm {name} not found\n")
                return -1
            if entry.state == VM_CREATED:
                time.sleep(2)
                return 0
            time.sleep(1)
            if left == 0:  # do { ... } while (t--): timeout + 1 rounds
                return -1
            left -= 1

    def do_reset(self, argv: list[str]) -> int:
        name = argv[1]
        entry = self.vmmngr.find(name)
        if entry is None:
            self.io.out(f"Can't find vm {name}\n")
            return -1
        if entry.state not in (VM_STARTED, VM_SUSPENDED):
            self.io.out(f"{name} current state: {self.state(entry.state)}, can't reset\n")
            return -1
        ret = self.stop_vm(name, False)
        if ret != 0:
            return ret
        if self._wait_vm_stop(name, STOP_TIMEOUT):
            self.io.out(f"Failed to stop {name} in {STOP_TIMEOUT} sec, reset failed\n")
            return ret  # still 0: the C breaks out with stop_vm's result
        return self.start_vm(name)

    def do_blkrescan(self, argv: list[str]) -> int:
        name = argv[1]
        entry = self.vmmngr.find(name)
        if entry is None:
            self.io.out(f"can't find {name}\n")
            return -1
        if entry.state != VM_STARTED:
            self.io.out(
                f"{name} is in {self.state(entry.state)} state but should be in "
                f"{self.state(VM_STARTED)} state for blockrescan\n"
            )
            return -1
        from acrnkit.launch.mngr import devargs_data

        # strncpy(devargs, argv, PARAM_LEN - 1): cut to 255 bytes, NUL-padded.
        err = self.vmmngr.request(name, "DM_BLKRESCAN", devargs_data(argv[2]))
        if err:
            self.io.out(f"Unable to rescan virtio-blk device in vm. errno({err})\n")
        return 0


# -- argument validators (``valid_args`` of acmds[]; argv[0] is the sub-command) -----------------


def _usage_line(ctl: Acrnctl, command: str, opts: str) -> bool:
    ctl.io.out(f"acrnctl {command} {opts}\n" if opts else f"acrnctl {command}\n")
    return False


@dataclass(frozen=True)
class _ArgCheck:
    """A ``valid_args`` rule: how many words may follow the command, and its usage text.
    ``exact`` None means "at least one"; ``help`` as the first word always shows the usage."""

    usage: str
    exact: int | None = None

    def __call__(self, ctl: Acrnctl, command: str, argv: list[str]) -> bool:
        count_ok = len(argv) >= 2 if self.exact is None else len(argv) == self.exact + 1
        if not count_ok or argv[1] == "help":
            return _usage_line(ctl, command, self.usage)
        return True


_valid_default = _ArgCheck("VM_NAME VM_NAME ...")
_valid_blkrescan = _ArgCheck("VM_NAME slot,newpath", exact=2)
_valid_add = _ArgCheck("launch_scripts options")
_valid_start = _ArgCheck("VM_NAME", exact=1)


def _valid_list(ctl: Acrnctl, command: str, argv: list[str]) -> bool:
    if len(argv) != 1:
        return _usage_line(ctl, command, "")
    return True
