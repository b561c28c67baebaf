"""The guest's NICs on their taps, for real (``tap`` mode, see :mod:`.net`).

:class:`GuestNicHook` is the fake's default :class:`~.net.TapHook` once acrn-dm's device init
attached a tap: when init runs it puts an :class:`acrnkit.net.guest_nic.GuestNic` on each open
tap fd, addressed from the kernel's ``ip=`` parameter the way the guest kernel addresses that
``ethN``, and serves it from the VM's reactor (ARP and ICMP echo answered, the shell's ``ping``
sent). scapy is imported when the first NIC is created, so only on this path.

A NIC whose address or MAC acrnkit.net refuses (an address outside 169.254.0.0/16, the
all-zero MAC of a <= 2.7 config) stays silent: nothing is ever sent on its tap. A NIC without an
address (no ``ip=`` for it) answers nothing either, as a Linux NIC without IPv4 does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from .net import EventLoop, NicState


class GuestNicHook:
    """Serve every open tap with a :class:`GuestNic` while the guest runs."""

    def __init__(self, bootargs: str) -> None:
        self.bootargs = bootargs
        self.nics: list[NicState] = []

    def start(self, nics: Sequence[NicState], loop: EventLoop) -> None:
        from acrnkit.errors import ConfigError
        from acrnkit.net.guest_nic import GuestNic

        self.stop()
        for state in nics:
            state.silent = None
            if state.fd is None:
                continue
            try:
                nic = GuestNic.from_bootargs(state.fd, state.mac, self.bootargs, name=state.name,
                                             index=state.spec.index, owns_fd=False)
            except ConfigError as err:
                state.silent = f"{err.field}: {err.reason}"
                continue
            nic.discard_pending()  # frames the host sent while the guest was not up
            nic.attach(loop)
            state.nic = nic
            self.nics.append(state)

    def stop(self) -> None:
        for state in self.nics:
            if state.nic is not None:
                with contextlib.suppress(Exception):
                    state.nic.close()  # the tap fd stays open: acrn-dm keeps it
                state.nic = None
        self.nics.clear()


__all__ = ["GuestNicHook"]
