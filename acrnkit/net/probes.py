"""Host-side probes inside a test namespace: ``arping``, ``ping``, ``capture``.

Each probe runs ``python -m acrnkit.net._probe`` inside the namespace with ``ip netns exec``
and reads its JSON answer, so scapy is imported in that child only. ``netns`` is required: a
live :class:`~acrnkit.net.TestNetwork` or the name of one (``acrnkit-<pid>-<hex>``); probes never
run in any other namespace. A target outside 169.254.0.0/16 is a ``ConfigError`` naming the
field (``ip``), raised before anything runs.

* ``arping(iface, ip, timeout)``: broadcast ARP requests from ``iface`` (every 0.25 s) until an
  answer; the answering MAC, or None.
* ``ping(ip, count, timeout)``: ICMP echo through a raw socket (the namespace's kernel does the
  ARP and routing); :class:`PingStats` with each round-trip time. ``timeout`` is the wait for
  each reply; ``interval`` the spacing of requests (0: the next as soon as one is answered).
* ``capture(iface, bpf_filter, timeout, count)``: the frames seen on ``iface`` (both
  directions) for ``timeout`` seconds or until ``count`` matched. ``start_capture`` returns once
  the capture socket is open, so a test can then make the traffic and collect with
  ``result()``. The filter is compiled to kernel BPF when libpcap is installed; otherwise a
  documented subset of pcap-filter is evaluated in Python (see :mod:`acrnkit.net._filter`).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from acrnkit.errors import ConfigError, NetworkError
from acrnkit.net._common import CapturedPacket, PingStats, check_ifname, link_local

if TYPE_CHECKING:
    from acrnkit.net.netns import TestNetwork

#: Start-up allowance of the helper (interpreter + scapy import) on a slow CI machine.
HELPER_SLACK = 20.0


def _package_root() -> str:
    import acrnkit

    return os.path.dirname(os.path.dirname(os.path.abspath(acrnkit.__file__)))


def _helper_argv(netns: TestNetwork | str, request: dict[str, Any]) -> list[str]:
    from acrnkit.net.netns import ip_binary, resolve_netns

    name = resolve_netns(netns)
    binary = ip_binary()
    assert binary is not None
    return [binary, "netns", "exec", name, sys.executable, "-m", "acrnkit.net._probe",
            json.dumps({**request, "netns": name})]


def _helper_env() -> dict[str, str]:
    env = dict(os.environ)
    root = _package_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONSTARTUP", None)
    return env


def _answer(line: str, stderr: str) -> Any:
    try:
        reply = json.loads(line)
    except (ValueError, TypeError):
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        raise NetworkError(f"probe helper failed: {tail}") from None
    if reply.get("ok"):
        return reply["result"]
    if reply.get("kind") == "config":
        raise ConfigError(reply["field"], reply["value"], reply["reason"])
    raise NetworkError(f"probe: {reply.get('message', reply)}")


def _run(netns: TestNetwork | str, request: dict[str, Any], budget: float) -> Any:
    argv = _helper_argv(netns, request)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=_helper_env(),
                              timeout=budget + HELPER_SLACK, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired:
        raise NetworkError(f"probe {request['op']}: no answer in {budget + HELPER_SLACK:g} s")\
            from None
    lines = done.stdout.strip().splitlines()
    return _answer(lines[-1] if lines else "", done.stderr)


def _positive(field: str, value: float) -> float:
    if not value > 0:
        raise ConfigError(field, value, "must be positive")
    return float(value)


def arping(iface: str, ip: str | IPv4Address, timeout: float = 1.0, *,
           netns: TestNetwork | str) -> str | None:
    """The MAC that answers ARP for ``ip`` on ``iface`` within ``timeout`` s, or None."""
    target = link_local("ip", ip)
    check_ifname("iface", iface)
    request = {"op": "arping", "iface": iface, "ip": str(target),
               "timeout": _positive("timeout", timeout)}
    result = _run(netns, request, timeout)
    mac = result.get("mac")
    return None if mac is None else str(mac)


def ping(ip: str | IPv4Address, count: int = 3, timeout: float = 1.0, *,
         netns: TestNetwork | str, interval: float = 0.0, size: int = 56) -> PingStats:
    """``count`` echo requests to ``ip``; each waits up to ``timeout`` s for its reply."""
    target = link_local("ip", ip)
    if count < 1:
        raise ConfigError("count", count, "must be at least 1")
    if interval < 0:
        raise ConfigError("interval", interval, "must not be negative")
    if not 0 <= size <= 1472:
        raise ConfigError("size", size, "must be 0..1472 bytes of payload")
    request = {"op": "ping", "ip": str(target), "count": count,
               "timeout": _positive("timeout", timeout), "interval": interval, "size": size}
    result = _run(netns, request, count * max(timeout, interval))
    return PingStats(int(result["sent"]), int(result["received"]),
                     tuple(float(x) for x in result["rtts"]), int(result.get("errors", 0)))


class Capture:
    """A capture running in the namespace (from :func:`start_capture`)."""

    def __init__(self, proc: subprocess.Popen[str], budget: float, engine_hint: str) -> None:
        self._proc = proc
        self._budget = budget
        self._result: list[CapturedPacket] | None = None
        #: "bpf" (kernel filter through libpcap), "subset" (Python), or "none" (no filter)
        self.engine = engine_hint

    def result(self) -> list[CapturedPacket]:
        """Wait for the capture to end (its timeout or count) and return the frames."""
        if self._result is not None:
            return self._result
        try:
            out, err = self._proc.communicate(timeout=self._budget + HELPER_SLACK)
        except subprocess.TimeoutExpired:
            self.stop()
            raise NetworkError("capture: the helper did not finish") from None
        lines = out.strip().splitlines()
        answer = _answer(lines[-1] if lines else "", err)
        self.engine = str(answer.get("engine", self.engine))
        self._result = [CapturedPacket(float(p["time"]), bytes.fromhex(p["data"]))
                        for p in answer["packets"]]
        return self._result

    def stop(self) -> None:
        """Kill the helper (the packets are lost)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._result is None:
            self.stop()


def start_capture(iface: str, bpf_filter: str = "", timeout: float = 1.0, count: int = 0, *,
                  netns: TestNetwork | str) -> Capture:
    """Start capturing; returns once the capture socket is open (or raises)."""
    check_ifname("iface", iface)
    if count < 0:
        raise ConfigError("count", count, "must not be negative (0: no limit)")
    request = {"op": "capture", "iface": iface, "filter": bpf_filter,
               "timeout": _positive("timeout", timeout), "count": count}
    argv = _helper_argv(netns, request)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_helper_env(), stdin=subprocess.DEVNULL)
    from acrnkit.net.netns import TestNetwork

    if isinstance(netns, TestNetwork):
        netns._procs.append(proc)
    assert proc.stdout is not None
    deadline = time.monotonic() + HELPER_SLACK
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                proc.kill()
                proc.wait()
                raise NetworkError("capture: the helper did not start in time")
            line = proc.stdout.readline()
            if not line:  # exited: an error answer or a crash
                out, err = proc.communicate()
                _answer(out.strip().splitlines()[-1] if out.strip() else "", err)
                raise NetworkError("capture: the helper exited early")
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("ready"):
                return Capture(proc, timeout, str(msg.get("engine", "none")))
            proc.wait()
            _answer(line, proc.stderr.read() if proc.stderr else "")
            raise NetworkError("capture: unexpected helper answer")


def capture(iface: str, bpf_filter: str = "", timeout: float = 1.0, count: int = 0, *,
            netns: TestNetwork | str) -> list[CapturedPacket]:
    """The frames on ``iface`` matching ``bpf_filter`` during ``timeout`` s (at most ``count``
    when > 0)."""
    return start_capture(iface, bpf_filter, timeout, count, netns=netns).result()


__all__ = ["Capture", "CapturedPacket", "PingStats", "arping", "capture", "ping",
           "start_capture"]
