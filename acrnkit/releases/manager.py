"""The acrnctl <-> acrn-dm manager protocol per ACRN release, as data.

One row per release: the size of ``struct mngr_msg``, the VM-name buffer size that acrnctl's
``check_name`` compares against, the DM message ids (``enum dm_msgid``) and the acrnctl
sub-commands. "What changed in 3.0?" is answered by comparing two rows of ``_PROFILES``.

Sources (read with ``git show TAG:path`` in projectacrn/acrn-hypervisor):

* ids: v1.6 ``misc/acrn-manager/acrn_mngr.h``; v2.7, v3.0, v3.2, v3.3
  ``misc/services/acrn_manager/acrn_mngr.h``. ``enum dm_msgid`` starts at ``MSG_MAX + 1`` = 3.
  DM_PAUSE and DM_CONTINUE were dropped after 1.x, which renumbered DM_QUERY (8 -> 6) and
  DM_BLKRESCAN (9 -> 7). DM_SUSPEND/DM_RESUME stay in the enum, and acrn-dm still registers
  handlers for them through v3.3 (``devicemodel/core/monitor.c`` ``monitor_init``), even though
  acrnctl 3.x no longer has the sub-commands.
* sub-commands: the ``acmds[]`` table of ``acrnctl.c`` at each tag.
* name length: v1.6 ``devicemodel/include/dm.h`` ``MAX_VMNAME_LEN 128U``; v2.7+
  ``hypervisor/include/public/acrn_common.h`` ``MAX_VM_NAME_LEN (16U)``. Both count the NUL, so a
  name may have at most ``name_max_len - 1`` characters.
* ``sizeof(struct mngr_msg)`` is 280 on x86-64 for every release here: 8 magic + 4 msgid + 4 pad
  + 8 timestamp + 256 data (``char devargs[PARAM_LEN]`` with ``PARAM_LEN 256`` dominates the union).
"""

from __future__ import annotations

from types import MappingProxyType

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import ConfigError, UnknownReleaseError
from acrnkit.releases.versions import normalize_version

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Names of every DM message id any release has, in enum order.
DM_MESSAGE_NAMES: tuple[str, ...] = (
    "DM_STOP", "DM_SUSPEND", "DM_RESUME", "DM_PAUSE", "DM_CONTINUE", "DM_QUERY", "DM_BLKRESCAN",
)

#: sizeof(struct mngr_msg) on x86-64 for v1.1 and later (v1.0, without devargs, was 64).
MNGR_MSG_SIZE = 280


@dataclass(frozen=True)
class ManagerProfile:
    """What one ACRN release speaks on the manager socket and which acrnctl commands it has."""

    version: str
    msg_size: int
    #: The C buffer size, NUL included: acrnctl's check_name rejects ``len(name) >= name_max_len``.
    name_max_len: int
    ids: Mapping[str, int]
    commands: frozenset[str]

    def msgid(self, name: str) -> int:
        """The numeric id of ``name`` (e.g. ``"DM_QUERY"``) in this release."""
        try:
            return self.ids[name]
        except KeyError:
            raise ConfigError(
                "msgid", name, f"ACRN {self.version} has no such manager message; it has "
                f"{', '.join(self.ids)}"
            ) from None

    def name_of(self, msgid: int) -> str | None:
        """The enum name of a numeric id, or None when this release does not define it."""
        for name, value in self.ids.items():
            if value == msgid:
                return name
        return None

    def has_command(self, command: str) -> bool:
        return command in self.commands


# Every release's acrnctl has these (acmds[] at v1.6 ... v3.3).
_BASE_COMMANDS = frozenset({"list", "start", "stop", "del", "add", "reset", "blkrescan"})

# 1.x enum dm_msgid (v1.6 misc/acrn-manager/acrn_mngr.h).
_IDS_1X = {
    "DM_STOP": 3, "DM_SUSPEND": 4, "DM_RESUME": 5, "DM_PAUSE": 6, "DM_CONTINUE": 7,
    "DM_QUERY": 8, "DM_BLKRESCAN": 9,
}
# 2.x/3.x enum dm_msgid: DM_PAUSE and DM_CONTINUE removed (v2.7 .. v3.3 acrn_mngr.h).
_IDS_2X = {"DM_STOP": 3, "DM_SUSPEND": 4, "DM_RESUME": 5, "DM_QUERY": 6, "DM_BLKRESCAN": 7}


def _profile(version: str, name_max_len: int, ids: Mapping[str, int],
             extra_commands: frozenset[str]) -> ManagerProfile:
    return ManagerProfile(
        version=version,
        msg_size=MNGR_MSG_SIZE,
        name_max_len=name_max_len,
        ids=MappingProxyType(dict(ids)),
        commands=_BASE_COMMANDS | extra_commands,
    )


_PROFILES: Mapping[str, ManagerProfile] = MappingProxyType({
    # v1.6 acrnctl.c acmds[]: pause, continue, suspend, resume on top of the base set.
    "1.6": _profile("1.6", 128, _IDS_1X,
                    frozenset({"pause", "continue", "suspend", "resume"})),
    # v2.7 acrnctl.c acmds[]: suspend and resume remain.
    "2.7": _profile("2.7", 16, _IDS_2X, frozenset({"suspend", "resume"})),
    # v3.0, v3.2, v3.3 acrnctl.c acmds[]: suspend/resume gone ("Unknown command" on 3.2).
    "3.0": _profile("3.0", 16, _IDS_2X, frozenset()),
    "3.2": _profile("3.2", 16, _IDS_2X, frozenset()),
    "3.3": _profile("3.3", 16, _IDS_2X, frozenset()),
})


def manager_profile(version: str) -> ManagerProfile:
    """The manager profile of ``version`` (``"3.2"``, ``"v3.2"`` and ``"3.2.0"`` all work)."""
    key = normalize_version(version)
    try:
        return _PROFILES[key]
    except KeyError:
        # A release added to versions.py before anyone wrote its manager row.
        raise UnknownReleaseError(
            "acrn_version", version, f"no manager profile; known: {', '.join(_PROFILES)}"
        ) from None
