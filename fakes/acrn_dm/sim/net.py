"""The guest's NICs at run time: acrn-dm's tap attach, the guest's addresses, the tap hook.

``NicState`` is what the guest knows of each ``ethN``: its spec (MAC, the tap acrn-dm opens),
its carrier, the tap fd acrn-dm holds, and the :class:`GuestNic` serving it.

Two network modes, decided once per VM (:func:`network_mode`):

* ``model`` (the default, and always outside a test namespace): nothing is opened, the carrier
  is what the argv says (acrn-dm opens a tap for this config) and nothing answers on any tap.
  The fake never touches a host interface.
* ``tap``: the fake runs inside a network namespace created by ``acrnkit.net.TestNetwork``
  (``/run/netns/acrnkit-*``). Each virtio-net that opens a tap attaches to it at device init as
  acrn-dm does (:func:`attach_tap`: ``/dev/net/tun``, ``TUNSETIFF``, ``IFF_TAP|IFF_NO_PI``). A
  missing tap is never created: acrn-dm's messages for a tap it cannot open are printed and the
  link stays down. The fds are kept until the process exits (across guest reboots); a tap is
  never deleted. When init runs, the guest's NICs answer ARP and ICMP echo on their taps
  (:mod:`.tapnet`, scapy) and ``ping`` in the guest shell sends real echo requests.

A responder can also be installed by hand: anything implementing :class:`TapHook`
(``start(nics, loop)``, ``stop()``), with :func:`set_tap_hook` before the guest boots.

This module imports neither scapy nor ``acrnkit.net`` at import time: the fake's start-up
without a NIC (or outside a test namespace) stays as cheap as before.
"""

from __future__ import annotations

import contextlib
import errno as errno_mod
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .dmlog import DmLog, write_stdout
from .reactor import Reactor, Timer
from .spec import NicSpec

if TYPE_CHECKING:
    from ipaddress import IPv4Interface

    from acrnkit.net.guest_nic import GuestNic
    from acrnkit.releases.profile import Release

#: ``acrnkit.net._common.NETNS_PREFIX`` (not imported: that module is not free to import).
NETNS_PREFIX = "acrnkit-"
NETNS_RUN_DIR = "/run/netns"
TUN_PATH = "/dev/net/tun"


@dataclass
class NicState:
    spec: NicSpec
    #: the guest sees a carrier (acrn-dm opened a tap for it): ``config.status``
    link_up: bool
    #: the tap fd acrn-dm holds (``tap`` mode, the tap opened), else None
    fd: int | None = None
    #: the NIC answering on the tap while the guest runs (``tap`` mode, init ran)
    nic: GuestNic | None = field(default=None, repr=False)
    #: why the NIC stays silent on its tap (its address or MAC is refused), or None
    silent: str | None = None

    @property
    def tap(self) -> str | None:
        return self.spec.tap

    @property
    def mac(self) -> str:
        return self.spec.mac

    @property
    def name(self) -> str:
        return self.spec.name


class EventLoop(Protocol):
    def add_reader(self, fd: int, callback: Callable[[], None]) -> None: ...

    def remove_reader(self, fd: int) -> None: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class TapHook(Protocol):
    def start(self, nics: Sequence[NicState], loop: EventLoop) -> None:
        """The guest's network is up (init ran): serve the taps."""

    def stop(self) -> None:
        """The guest is going down or rebooting: release everything."""


class NoTapHook:
    """Nothing answers on the taps."""

    def start(self, nics: Sequence[NicState], loop: EventLoop) -> None:
        return None

    def stop(self) -> None:
        return None


_hook_factory: Callable[[], TapHook] | None = None


def set_tap_hook(factory: Callable[[], TapHook] | None) -> None:
    """Install the responder factory used for the next guest (tests, plugins); None goes back
    to the default (the scapy responder in ``tap`` mode, nothing otherwise)."""
    global _hook_factory
    _hook_factory = factory


def new_tap_hook() -> TapHook:
    """The installed responder, or :class:`NoTapHook` (replaced by :func:`default_hook` once
    taps are attached)."""
    return _hook_factory() if _hook_factory is not None else NoTapHook()


def hook_installed() -> bool:
    return _hook_factory is not None


def default_hook(bootargs: str) -> TapHook:
    """The responder for ``tap`` mode: the guest's NICs answer on their taps (imports the
    :mod:`.tapnet` module, which imports scapy when the first NIC starts)."""
    from .tapnet import GuestNicHook

    return GuestNicHook(bootargs)


def nic_states(nics: Sequence[NicSpec]) -> list[NicState]:
    """Every NIC as the argv describes it (``model`` mode): carrier iff the config opens a tap."""
    return [NicState(nic, nic.tap is not None) for nic in nics]


# -- the network mode ---------------------------------------------------------------------------


def current_test_netns() -> str | None:
    """The name of the ``acrnkit.net`` test namespace this process runs in, or None.

    Compares this process's network namespace with the ``/run/netns/acrnkit-*`` entries (device
    and inode of the nsfs files), as the probe helper does.
    """
    try:
        mine = os.stat("/proc/self/ns/net")
        entries = [e for e in os.scandir(NETNS_RUN_DIR) if e.name.startswith(NETNS_PREFIX)]
    except OSError:
        return None
    for entry in entries:
        try:
            named = os.stat(entry.path)
        except OSError:
            continue
        if (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino):
            return entry.name
    return None


def network_mode(nics: Sequence[NicSpec]) -> str:
    """``tap`` when a NIC opens a tap and this process runs in an acrnkit test namespace,
    else ``model``."""
    if any(nic.tap is not None for nic in nics) and current_test_netns() is not None:
        return "tap"
    return "model"


# -- acrn-dm's tap attach -----------------------------------------------------------------------


@dataclass(frozen=True)
class TapOpen:
    """What ``virtio_net_tap_setup`` ended with: the fd (None: failed) and what it printed."""

    fd: int | None
    lines: tuple[str, ...] = ()


def tap_open_lines(tap: str, release: Release, *, missing: bool, err: int | None,
                   tun_failed: bool = False) -> tuple[str, ...]:
    """acrn-dm's messages for a tap it could not open (``virtio_net_tap_open`` and
    ``virtio_net_tap_setup``, v1.6 .. v3.3).

    From 2.x, ``virtio_net_is_macvtap`` first looks the interface up, and a missing one logs
    ``virtio_net_get_ifindex: Unable to get interface index on this platform``; 1.6 has no such
    step. Then ``open("/dev/net/tun")`` (failure: ``Failed to open interface /dev/net/tun``,
    1.6 ``open of tup device /dev/net/tun failed``) and ``TUNSETIFF`` (failure: ``open of tap
    device <name> failed: <errno>``), then ``open of tap device <name> failed``.
    """
    legacy = release.has("dm.v16_messages")
    lines: list[str] = []
    if missing and not legacy:
        lines.append("virtio_net_get_ifindex: Unable to get interface index on this platform")
    if tun_failed:
        lines.append("open of tup device /dev/net/tun failed" if legacy
                     else f"Failed to open interface {TUN_PATH}")
    else:
        lines.append(f"open of tap device {tap} failed: {err if err is not None else 0}")
    lines.append(f"open of tap device {tap} failed")
    return tuple(lines)


def attach_tap(tap: str, release: Release) -> TapOpen:
    """Attach to the existing tap ``tap`` as acrn-dm does; never creates one.

    A missing tap fails as acrn-dm's ``TUNSETIFF`` does when the kernel refuses to create it
    (``EPERM``, what an acrn-dm without ``CAP_NET_ADMIN`` gets): the fake never creates or
    deletes an interface. A busy tap (``EBUSY``) or a non-tap (``EINVAL``) fail with their
    errno, as in acrn-dm.
    """
    from acrnkit.errors import NetworkError
    from acrnkit.net.guest_nic import open_tap

    try:
        fd = open_tap(tap)
    except NetworkError as exc:
        cause = exc.__cause__
        code = cause.errno if isinstance(cause, OSError) else errno_mod.EINVAL
        return TapOpen(None, tap_open_lines(tap, release, missing=False, err=code))
    except OSError:
        return TapOpen(None, tap_open_lines(tap, release, missing=False, err=None,
                                            tun_failed=True))
    if fd is None:
        return TapOpen(None, tap_open_lines(tap, release, missing=True, err=errno_mod.EPERM))
    return TapOpen(fd)


def open_nic(state: NicState, release: Release, log: DmLog) -> None:
    """Device init of one virtio-net in ``tap`` mode: attach, print acrn-dm's messages, set the
    carrier (``net->config.status = tapfd >= 0``)."""
    if state.spec.tap is None:
        state.link_up = False
        return
    result = attach_tap(state.spec.tap, release)
    for line in result.lines:
        if release.has("dm.v16_messages"):
            write_stdout(line + "\n")  # WPRINTF is printf in 1.6
        else:
            log.err(line)  # pr_err
    state.fd = result.fd
    state.link_up = result.fd is not None


def close_nics(states: Sequence[NicState]) -> None:
    """acrn-dm's ``virtio_net_teardown``: close the tap fds (the taps themselves stay)."""
    for state in states:
        if state.nic is not None:
            with contextlib.suppress(Exception):
                state.nic.close()
            state.nic = None
        if state.fd is not None:
            with contextlib.suppress(OSError):
                os.close(state.fd)
            state.fd = None


def guest_address(bootargs: str, nic: NicSpec) -> IPv4Interface | None:
    """The IPv4 address the guest kernel gives ``nic`` from ``ip=`` (None: none, or ``ip=``
    does not parse)."""
    if "ip=" not in bootargs and "nfsaddrs=" not in bootargs:
        return None
    from acrnkit.errors import ConfigError
    from acrnkit.net.guest_nic import parse_ip_param

    try:
        param = parse_ip_param(bootargs)
    except ConfigError:
        return None
    return None if param is None else param.address_for(nic.name, nic.index)


__all__ = ["EventLoop", "NicState", "NoTapHook", "Reactor", "TapHook", "TapOpen",
           "attach_tap", "close_nics", "current_test_netns", "default_hook", "guest_address",
           "hook_installed", "network_mode", "new_tap_hook", "nic_states", "open_nic",
           "set_tap_hook", "tap_open_lines"]
