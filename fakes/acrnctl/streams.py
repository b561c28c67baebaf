"""stdout and stderr the way acrnctl's stdio uses them.

acrnctl prints almost everything with ``printf`` (stdout: fully buffered when it is a pipe or a
file, line buffered on a terminal) and a few lines with ``fprintf(stderr, ...)`` or ``perror``
(unbuffered). The fake keeps that: stdout text is held until exit unless fd 1 is a terminal, so
output of a child (the launch script of ``start`` in wait mode) lands where it would with the
real one. Text is written as bytes with ``surrogateescape``, so names that are not UTF-8 come out
byte for byte as they came in.
"""

from __future__ import annotations

import os


def _write_fd(fd: int, data: bytes) -> None:
    try:
        while data:
            done = os.write(fd, data)
            data = data[done:]
    except OSError:
        pass  # a closed or full stdout/stderr: acrnctl's stdio would lose the text too


class Streams:
    """The two output streams of one acrnctl run."""

    def __init__(self, out_fd: int = 1, err_fd: int = 2) -> None:
        self._out_fd = out_fd
        self._err_fd = err_fd
        self._pending: list[bytes] = []
        try:
            self._line_buffered = os.isatty(out_fd)
        except OSError:
            self._line_buffered = False

    def out(self, text: str) -> None:
        """``printf``: stdout."""
        data = text.encode("utf-8", "surrogateescape")
        if self._line_buffered:
            self._pending.append(data)
            if b"\n" in data:
                self.flush()
        else:
            self._pending.append(data)

    def out_bytes(self, data: bytes) -> None:
        self._pending.append(data)
        if self._line_buffered and b"\n" in data:
            self.flush()

    def err(self, text: str) -> None:
        """``fprintf(stderr, ...)`` / ``perror``: unbuffered."""
        _write_fd(self._err_fd, text.encode("utf-8", "surrogateescape"))

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            _write_fd(self._out_fd, data)
