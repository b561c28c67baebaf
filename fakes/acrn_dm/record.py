"""``ACRNKIT_RECORD``: one JSON line per invocation of the fake acrn-dm.

A record is appended with a single ``write()`` on an ``O_APPEND`` descriptor, so records of fakes
running in parallel never interleave (Linux appends each write atomically to a regular file).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Record:
    """What one invocation did. Times are Unix epoch seconds (float)."""

    argv: tuple[str, ...]
    pid: int
    version: str
    mode: str
    #: "run" (the guest ran), "check" (validated, no guest), "help", "version" or "reject"
    verdict: str
    #: exit status, or None when the process ended on a signal
    exit_status: int | None
    #: the signal that ended the process (SIGTERM), else None
    signal: int | None
    #: the key line of a rejection (``CheckResult.message``), else None
    message: str | None
    #: True when the real acrn-dm would crash here and the fake rejected instead
    crash: bool
    start: float
    end: float

    def to_json(self) -> str:
        data = asdict(self)
        data["argv"] = list(self.argv)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def append(path: str, record: Record) -> None:
    """Append ``record`` as one line; errors are reported on stderr, never raised."""
    line = (record.to_json() + "\n").encode("utf-8", "surrogateescape")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        _warn(path, err)
        return
    try:
        written = os.write(fd, line)
        if written != len(line):  # pragma: no cover - a full disk
            _warn(path, OSError(f"short write ({written} of {len(line)} bytes)"))
    except OSError as err:
        _warn(path, err)
    finally:
        os.close(fd)


def _warn(path: str, err: OSError) -> None:
    msg = f"fake-acrn-dm: cannot append to ACRNKIT_RECORD {path}: {err.strerror or err}\n"
    with contextlib.suppress(OSError):
        os.write(2, msg.encode("utf-8", "replace"))
