"""A minimal QMP client over a connected stream socket (the backend's private socketpair).

QMP is one JSON object per line. Asynchronous events (``{"event": ...}``) may arrive at any
time, also between a command and its ``return`` (QEMU sends ``SHUTDOWN`` before the ``quit``
reply), so :meth:`Qmp.command` queues them in ``events`` for the caller's loop.
"""

from __future__ import annotations

import json
import select
import socket
import time
from typing import Any

from acrnkit.errors import AcrnkitError


class QmpError(AcrnkitError):
    """QMP answered with an error, went silent, or the connection closed."""


class QmpClosed(QmpError):
    """QEMU closed the QMP connection (it is exiting)."""


class Qmp:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        self._buf = b""
        self._next_id = 0
        self.closed = False
        #: events received and not yet taken by ``take_events``
        self.events: list[dict[str, Any]] = []
        self.greeting: dict[str, Any] | None = None

    def fileno(self) -> int:
        return self.sock.fileno()

    # -- reading -----------------------------------------------------------------------------

    def _fill(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False on timeout."""
        if self.closed:
            raise QmpClosed("QMP connection closed")
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0.0))
        if not ready:
            return False
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as err:
            self.closed = True
            raise QmpClosed(f"QMP connection lost: {err.strerror or err}") from None
        if not data:
            self.closed = True
            raise QmpClosed("QMP connection closed")
        self._buf += data
        return True

    def _pop(self) -> dict[str, Any] | None:
        while b"\n" in self._buf:
            line, _, self._buf = self._buf.partition(b"\n")
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                return message
        return None

    def _next(self, deadline: float) -> dict[str, Any]:
        while True:
            message = self._pop()
            if message is not None:
                return message
            if not self._fill(deadline - time.monotonic()):
                raise QmpError("QMP did not answer in time")

    def pump(self) -> list[dict[str, Any]]:
        """Read whatever arrived without blocking; returns (and keeps) the new events.
        Raises QmpClosed when QEMU closed the connection."""
        new: list[dict[str, Any]] = []

        def drain() -> None:
            while (message := self._pop()) is not None:
                if "event" in message:
                    new.append(message)
                    self.events.append(message)

        try:
            while True:
                drain()
                if not self._fill(0.0):
                    break
        finally:
            drain()
        return new

    def take_events(self) -> list[dict[str, Any]]:
        events, self.events = self.events, []
        return events

    # -- commands ----------------------------------------------------------------------------

    def handshake(self, timeout: float) -> dict[str, Any]:
        """Read the greeting and enter command mode."""
        deadline = time.monotonic() + timeout
        greeting = self._next(deadline)
        if "QMP" not in greeting:
            raise QmpError(f"not a QMP greeting: {greeting}")
        self.greeting = greeting
        self.command("qmp_capabilities", timeout=max(deadline - time.monotonic(), 0.5))
        return greeting

    def command(self, name: str, arguments: dict[str, Any] | None = None, *,
                timeout: float = 5.0) -> Any:
        """Run ``name`` and return its ``return`` value; QmpError on ``error``."""
        self._next_id += 1
        ident = f"acrnkit-{self._next_id}"
        request: dict[str, Any] = {"execute": name, "id": ident}
        if arguments:
            request["arguments"] = arguments
        payload = json.dumps(request).encode() + b"\n"
        try:
            self.sock.setblocking(True)
            self.sock.settimeout(timeout)
            self.sock.sendall(payload)
        except OSError as err:
            self.closed = True
            raise QmpClosed(f"QMP send failed: {err.strerror or err}") from None
        finally:
            self.sock.setblocking(False)
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if "event" in message:
                self.events.append(message)
                continue
            if message.get("id") != ident:
                continue
            if "error" in message:
                error = message["error"]
                desc = error.get("desc", error) if isinstance(error, dict) else error
                raise QmpError(f"{name}: {desc}")
            return message.get("return")

    def close(self) -> None:
        self.closed = True
        self.sock.close()
