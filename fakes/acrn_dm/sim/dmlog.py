"""acrn-dm's own log lines (``pr_err`` .. ``pr_info``) on stdout, gated by the console level.

acrn-dm's console logger ``vprintf``s every message whose level is at most the console level
(default 4, ``--logger_setting console,level=N``); levels are 1 error, 2 warning, 3 notice,
4 info (devicemodel/log/log.c, include/log.h). The fake writes them to fd 1 unbuffered.
"""

from __future__ import annotations

import os
import select
import time

ERROR, WARNING, NOTICE, INFO = 1, 2, 3, 4

#: ``vm_state_str[]`` (devicemodel/core/vmmapi.c, 2.x and 3.x); 1.6 prints the numbers.
STATE_NAMES = ("RUNNING", "SYSTEM_RESET", "FULL_RESET", "POWEROFF", "SUSPEND", "HALT",
               "TRIPLEFAULT")


class DmLog:
    def __init__(self, level: int = INFO, *, numeric_states: bool = False) -> None:
        self.level = level
        self.numeric_states = numeric_states

    def out(self, level: int, text: str, *, newline: bool = True) -> None:
        if level > self.level:
            return
        write_stdout(text + ("\n" if newline else ""))

    def err(self, text: str, *, newline: bool = True) -> None:
        self.out(ERROR, text, newline=newline)

    def notice(self, text: str) -> None:
        self.out(NOTICE, text)

    def info(self, text: str) -> None:
        self.out(INFO, text)

    def state_change(self, old: int, new: int) -> None:
        """``vm_set_suspend_mode``'s pr_notice."""
        if self.numeric_states:
            self.notice(f"vm mode changed from {old} to {new}")
        else:
            self.notice(f"VM state changed from[ {STATE_NAMES[old]} ] to [ {STATE_NAMES[new]} ]")

    def setting_state(self, func: str, new: int) -> None:
        """The ``pr_info("%s: setting VM state to %s\\n", __func__, ...)`` lines of 2.x/3.x."""
        if not self.numeric_states:
            self.info(f"{func}: setting VM state to {STATE_NAMES[new]}")


def write_stdout(text: str) -> None:
    write_all(1, text.encode("utf-8", "surrogateescape"))


def write_all(fd: int, data: bytes, patience: float = 2.0) -> None:
    """Write ``data`` to ``fd``, waiting up to ``patience`` s while a non-blocking fd is full.

    fd 0 and 1 often share one open file description (a terminal), so making stdin non-blocking
    as acrn-dm does makes stdout non-blocking too. What still cannot be written is dropped, and a
    closed stdout is ignored (acrn-dm ignores SIGPIPE).
    """
    deadline = time.monotonic() + patience
    while data:
        try:
            data = data[os.write(fd, data):]
        except (BlockingIOError, InterruptedError):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                select.select([], [fd], [], left)
            except (OSError, ValueError):
                return
        except OSError:
            return
