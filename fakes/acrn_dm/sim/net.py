"""The guest's NICs at run time, and the hook point for a tap-backed network responder.

``NicState`` is what the guest knows of each ``ethN`` (spec, carrier, the host tap). By default
nothing is attached to the taps (``NoTapHook``). A responder (for instance an ARP/ICMP answerer
on the tap, written with scapy) implements :class:`TapHook` and is installed with
:func:`set_tap_hook` before the guest boots; it gets the NICs and the reactor to register its
file descriptors and timers with. This module must not import scapy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .reactor import Reactor, Timer
from .spec import NicSpec


@dataclass
class NicState:
    spec: NicSpec
    #: the guest sees a carrier (acrn-dm opened a tap for it)
    link_up: bool

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


_hook_factory: Callable[[], TapHook] = NoTapHook


def set_tap_hook(factory: Callable[[], TapHook]) -> None:
    """Install the responder factory used for the next guest (tests, plugins)."""
    global _hook_factory
    _hook_factory = factory


def new_tap_hook() -> TapHook:
    return _hook_factory()


def nic_states(nics: Sequence[NicSpec]) -> list[NicState]:
    return [NicState(nic, nic.tap is not None) for nic in nics]


__all__ = ["EventLoop", "NicState", "NoTapHook", "Reactor", "TapHook", "new_tap_hook",
           "nic_states", "set_tap_hook"]
