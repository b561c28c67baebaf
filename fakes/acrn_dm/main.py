"""``fake-acrn-dm``: a drop-in acrn-dm for tests, a thin program over the acrnkit model.

``main()``: read the ACRNKIT_* settings (a bad one: one line on stderr, exit 2), judge argv with
:func:`acrnkit.argv.check.check` exactly as the chosen acrn-dm release would on a healthy host,
print what acrn-dm prints on the streams it uses, and exit with its status. When the argv passes,
``ACRNKIT_DM_MODE=check`` exits 0; ``run`` (the default) hands over to the simulated guest.

Start-up time matters (runtimes under test spawn it often), so this module imports only the
standard library at module level; the checker is imported once the settings are known to be good
and the simulation only in run mode.
"""

from __future__ import annotations

import os
import sys
import time

from acrnkit._records import TYPE_CHECKING

from .settings import EXIT_BAD_SETTING, QEMU_MODULE, Settings, SettingsError, load

if TYPE_CHECKING:
    from collections.abc import Sequence

    from acrnkit.argv.check import CheckResult

PROG = "fake-acrn-dm"

#: set once a simulated guest has run in this process: from then on the interpreter's normal
#: shutdown (threads, finalizers) is needed, see console_main()
_guest_ran = False
#: console_main() paused the cyclic garbage collector for the check; a guest run resumes it
_gc_paused = False


def console_main() -> None:
    """The ``fake-acrn-dm`` executable: ``main()``, then the exit.

    When no guest ran (check mode, a rejected argv, ``-h``/``-v``) everything is written with
    ``os.write`` and the record file is closed, so nothing is left for the interpreter's shutdown
    to do; tearing down the imported modules would still cost about 2 ms, more than the checking
    itself, so the process ends with ``os._exit`` as a C program's ``exit`` would.
    """
    global _gc_paused
    import gc

    # Checking one argv makes no reference cycles worth collecting, while importing the model
    # triggers a dozen collections (about 1 ms); a guest run turns the collector back on.
    gc.disable()
    _gc_paused = True
    status = main()
    if _guest_ran:
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib would cost more start-up time than this whole check
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed stream: acrn-dm's stdio would drop the bytes and exit as planned
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake acrn-dm on ``argv`` (default ``sys.argv``, argv[0] included)."""
    args = list(sys.argv if argv is None else argv)
    prog = args[0] if args else "acrn-dm"
    start = time.time()
    try:
        settings = load()
    except SettingsError as err:
        _write(2, f"{PROG}: {err}\n")
        return EXIT_BAD_SETTING

    from acrnkit.argv.check import check
    from acrnkit.argv.host import LocalHost

    result = check(args[1:], settings.version, LocalHost(strict=settings.strict_host), prog=prog)
    for line in result.output:
        # line.end: acrn-dm prints a few messages without "\n" (the next one runs on) or with
        # "\r\n"
        _write(1 if line.stream == "stdout" else 2, line.text + line.end)

    status: int | None
    signo: int | None = None
    if result.exit_status is not None:
        status, verdict = result.exit_status, result.action
    elif settings.mode == "check":
        status, verdict = 0, "check"
    else:
        if settings.backend == "qemu":  # validated by load(): the module is installed
            from importlib import import_module

            run = import_module(QEMU_MODULE).run
        else:
            from .sim import run
        global _guest_ran
        _guest_ran = True
        if _gc_paused:
            import gc

            gc.enable()
        outcome = run(result, settings, args)
        status, signo, verdict = outcome.status, outcome.signal, "run"

    _record(settings, args, result, verdict, status, signo, start)
    if signo is not None:
        _die_by(signo)
        return 128 + signo  # pragma: no cover - _die_by does not return
    assert status is not None
    return status


def _record(settings: Settings, args: list[str], result: CheckResult, verdict: str,
            status: int | None, signo: int | None, start: float) -> None:
    if settings.record is None:
        return
    from .record import Record, append

    fatal = result.fatal
    append(settings.record, Record(
        argv=tuple(args), pid=os.getpid(), version=settings.version, mode=settings.mode,
        verdict=verdict, exit_status=status, signal=signo, message=result.message,
        crash=bool(fatal and fatal.crash), start=start, end=time.time(),
    ))


def _write(fd: int, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    try:
        while data:
            done = os.write(fd, data)
            data = data[done:]
    except BlockingIOError:
        pass  # a non-blocking pipe that is full: acrn-dm's printf would lose it too
    except OSError:
        pass  # a closed stdout/stderr (acrn-dm ignores SIGPIPE and goes on)


def _die_by(signo: int) -> None:
    """End the process the way an unhandled signal does (acrn-dm has no SIGTERM handler)."""
    import signal

    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signo, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signo})
    os.kill(os.getpid(), signo)
    time.sleep(1.0)
    os._exit(128 + signo)


if __name__ == "__main__":  # pragma: no cover
    console_main()
