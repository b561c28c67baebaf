"""acrnkit.console: pexpect console sessions over any backend, and a login shell on top.

::

    from acrnkit.console import ConsoleSession, Shell, console_log_path

    with ConsoleSession.connect_unix(sock, log_path=console_log_path(log_dir, "vm1")) as con:
        shell = Shell(con, prompt=r"# ", boot_timeout=60)
        shell.wait_boot()
        shell.login()
        output, status = shell.run("cat /proc/cmdline")

Names load on first use: importing this package (or ``acrnkit``) does not import pexpect.
"""

from __future__ import annotations

from acrnkit._lazy import lazy_exports
from acrnkit._records import TYPE_CHECKING

if TYPE_CHECKING:
    from acrnkit.console.session import (
        EOF,
        TIMEOUT,
        ConsoleBackend,
        ConsoleClosedError,
        ConsoleSession,
        ExpectResult,
        FdBackend,
        PtyBackend,
        SpawnBackend,
        Special,
        TtyBackend,
        UnixSocketBackend,
        console_log_path,
    )
    from acrnkit.console.shell import (
        DEFAULT_BOOT_BANNER,
        DEFAULT_KERNEL_MESSAGE,
        DEFAULT_OOPS_PATTERNS,
        DEFAULT_PANIC_PATTERNS,
        DEFAULT_PROMPT,
        DEFAULT_REBOOT_PATTERNS,
        CommandFailedError,
        CommandResult,
        Shell,
    )
    from acrnkit.console.text import AnsiStripper, normalize_newlines, strip_ansi

_LAZY = {
    **dict.fromkeys(
        ("EOF", "TIMEOUT", "ConsoleBackend", "ConsoleClosedError", "ConsoleSession",
         "ExpectResult", "FdBackend", "PtyBackend", "SpawnBackend", "Special", "TtyBackend",
         "UnixSocketBackend", "console_log_path"),
        "acrnkit.console.session"),
    **dict.fromkeys(
        ("DEFAULT_BOOT_BANNER", "DEFAULT_KERNEL_MESSAGE", "DEFAULT_OOPS_PATTERNS",
         "DEFAULT_PANIC_PATTERNS", "DEFAULT_PROMPT", "DEFAULT_REBOOT_PATTERNS",
         "CommandFailedError", "CommandResult", "Shell"),
        "acrnkit.console.shell"),
    **dict.fromkeys(("AnsiStripper", "normalize_newlines", "strip_ansi"),
                    "acrnkit.console.text"),
}


__getattr__ = lazy_exports(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DEFAULT_BOOT_BANNER",
    "DEFAULT_KERNEL_MESSAGE",
    "DEFAULT_OOPS_PATTERNS",
    "DEFAULT_PANIC_PATTERNS",
    "DEFAULT_PROMPT",
    "DEFAULT_REBOOT_PATTERNS",
    "EOF",
    "TIMEOUT",
    "AnsiStripper",
    "CommandFailedError",
    "CommandResult",
    "ConsoleBackend",
    "ConsoleClosedError",
    "ConsoleSession",
    "ExpectResult",
    "FdBackend",
    "PtyBackend",
    "Shell",
    "SpawnBackend",
    "Special",
    "TtyBackend",
    "UnixSocketBackend",
    "console_log_path",
    "normalize_newlines",
    "strip_ansi",
]
