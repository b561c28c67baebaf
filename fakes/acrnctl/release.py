"""What differs between the acrnctl of each ACRN release, as data.

Sources (``git show TAG:path`` in projectacrn/acrn-hypervisor):

* v1.6 ``misc/acrn-manager/acrnctl.c``, ``acrn_vm_ops.c``, ``acrnctl.h``;
* v2.7, v3.0, v3.2, v3.3 ``misc/services/acrn_manager/acrnctl.c``, ``acrn_vm_ops.c``,
  ``acrnctl.h``. v3.0, v3.2 and v3.3 differ only in copyright lines, so they share a row.

The manager message ids are not repeated here: they come from
:mod:`acrnkit.releases.manager` (imported only when a message is actually sent).
"""

from __future__ import annotations

# Sub-command descriptions (``*_DESC`` in acrnctl.c; identical wherever a command exists).
_DESC = {
    "list": "List all the virtual machines added",
    "start": "Start virtual machine VM_NAME",
    "stop": "Stop virtual machine VM_NAME, [--force/-f, force to stop VM]",
    "del": "Delete virtual machine VM_NAME",
    "add": "Add one virtual machine with SCRIPTS and OPTIONS",
    "pause": "Block all vCPUs of virtual machine VM_NAME",
    "continue": "Start virtual machine from pause state",
    "suspend": "Switch virtual machine to suspend state",
    "resume": "Resume virtual machine from suspend state",
    "reset": "Stop and then start virtual machine VM_NAME",
    "blkrescan": "Rescan virtio-blk device attached to a virtual machine",
}

# ``enum vm_state`` (acrnctl.h, every tag).
VM_STATE_UNKNOWN = 0
VM_CREATED = 1
VM_STARTED = 2
VM_PAUSED = 3
VM_SUSPENDED = 4
VM_UNTRACKED = 5

# ``enum vm_suspend_how`` values that ``_scan_alive_vm`` tells apart in a DM_QUERY reply.
VM_SUSPEND_NONE = 0
VM_SUSPEND_SUSPEND = 4


class CtlRelease:
    """The acrnctl of one release."""

    __slots__ = (
        "acrnd_hint", "add_mkdir", "commands", "main_mkdir", "name_buf", "name_macro",
        "state_str", "user_vm", "version",
    )

    def __init__(
        self,
        version: str,
        commands: tuple[str, ...],
        *,
        name_buf: int,
        name_macro: str,
        main_mkdir: bool,
        user_vm: str,
        acrnd_hint: bool,
        state_str: dict[int, str],
    ) -> None:
        self.version = version
        #: ``acmds[]`` in table order: (name, description); usage() prints them in this order.
        self.commands: tuple[tuple[str, str], ...] = tuple((c, _DESC[c]) for c in commands)
        #: ``MAX_VM_NAME_LEN`` (16, v2.7+) / ``MAX_VMNAME_LEN`` (128, v1.6): the size of
        #: ``vmmngr_struct.name`` (names are cut to ``name_buf - 1`` bytes) and check_name's limit.
        self.name_buf = name_buf
        self.name_macro = name_macro
        #: v2.7+ main() runs ``mkdir -p ACRN_CONF_PATH_ADD`` before any command; v1.6 does it
        #: only inside ``add``, after check_name.
        self.main_mkdir = main_mkdir
        self.add_mkdir = not main_mkdir
        #: add's "please make sure it can launch an UOS" (v1.6) / "an User VM" (v2.7+).
        self.user_vm = user_vm
        #: v3.0+ ``_scan_alive_vm`` adds the "Make sure the acrnd daemon is running" line.
        self.acrnd_hint = acrnd_hint
        #: ``state_str[]`` (acrn_vm_ops.c); a missing index is a NULL that glibc prints "(null)".
        self.state_str = state_str

    def has(self, command: str) -> bool:
        return any(name == command for name, _ in self.commands)

    def state_name(self, state: int) -> str:
        return self.state_str.get(state, "(null)")


_STATES_1X = {
    VM_STATE_UNKNOWN: "unknown", VM_CREATED: "stopped", VM_STARTED: "started",
    VM_PAUSED: "paused", VM_SUSPENDED: "suspended", VM_UNTRACKED: "untracked",
}
# v2.7+ dropped "paused" from state_str[] (VM_PAUSED stays in the enum, never assigned).
_STATES_2X = {k: v for k, v in _STATES_1X.items() if k != VM_PAUSED}

_BASE = ("list", "start", "stop", "del", "add")
_TAIL = ("reset", "blkrescan")


def _v3(version: str) -> CtlRelease:
    return CtlRelease(
        version, _BASE + _TAIL, name_buf=16, name_macro="MAX_VM_NAME_LEN", main_mkdir=True,
        user_vm="User VM", acrnd_hint=True, state_str=_STATES_2X,
    )


_RELEASES: dict[str, CtlRelease] = {
    "1.6": CtlRelease(
        "1.6", _BASE + ("pause", "continue", "suspend", "resume") + _TAIL,
        name_buf=128, name_macro="MAX_VMNAME_LEN", main_mkdir=False, user_vm="UOS",
        acrnd_hint=False, state_str=_STATES_1X,
    ),
    "2.7": CtlRelease(
        "2.7", _BASE + ("suspend", "resume") + _TAIL,
        name_buf=16, name_macro="MAX_VM_NAME_LEN", main_mkdir=True, user_vm="User VM",
        acrnd_hint=False, state_str=_STATES_2X,
    ),
    "3.0": _v3("3.0"),
    "3.2": _v3("3.2"),
    "3.3": _v3("3.3"),
}


def ctl_release(version: str) -> CtlRelease:
    """The acrnctl row of a normalised version key (``"3.2"``)."""
    return _RELEASES[version]
