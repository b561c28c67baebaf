"""acrnctl command lines per ACRN release.

The argument rules are those of each release's ``acrnctl.c`` (``acmds[]`` and its
``valid_*_args`` functions; v1.6 ``misc/acrn-manager/``, v2.7+ ``misc/services/acrn_manager/``).
acrnctl itself is lax: ``stop``, ``del``, ``reset``, ``pause``, ``continue`` and ``suspend``
accept "one or more" names but act on the first only, and ``resume`` silently ignores its
reason when given extra words. The builder is strict instead, so a mistake fails here, with a
``ConfigError`` naming the field, rather than being ignored by acrnctl.
"""

from __future__ import annotations

import re

from acrnkit.errors import ConfigError
from acrnkit.launch.mngr import DEVARGS_MAX
from acrnkit.releases.manager import manager_profile
from acrnkit.releases.versions import DEFAULT_VERSION

__all__ = ["ACRNCTL_COMMANDS", "acrnctl_argv", "blkrescan_argv", "check_vm_name"]

# check_name (acrnctl.c, every tag): characters a VM name must not contain.
_ILLEGAL_NAME_CHARS = "!@#$%^&*, "
# check_name also refuses the two words acrnctl uses as markers.
_RESERVED_NAMES = ("help", "nothing")
# ``PATH_LEN`` in acrn_mngr.h: acrnctl add refuses a script path of this length or more.
_PATH_LEN = 128
_STOP_FLAGS = ("-f", "--force")
_BLKRESCAN_ARG = re.compile(r"^[0-9]+,.+$", re.DOTALL)


# The usage line of each sub-command, as acrnkit words it in errors.
_USAGE: dict[str, str] = {
    "list": "list",
    "start": "start VM_NAME",
    "stop": "stop [-f|--force] VM_NAME",
    "del": "del VM_NAME",
    "add": "add LAUNCH_SCRIPT [OPTIONS...] [-C]",
    "reset": "reset VM_NAME",
    "blkrescan": "blkrescan VM_NAME SLOT,PATH",
    "pause": "pause VM_NAME",
    "continue": "continue VM_NAME",
    "suspend": "suspend VM_NAME",
    "resume": "resume VM_NAME [REASON_HEX]",
}

#: Every sub-command any modelled release has; ``manager_profile(v).commands`` says which.
ACRNCTL_COMMANDS: frozenset[str] = frozenset(_USAGE)


def check_vm_name(name: str, version: str = DEFAULT_VERSION) -> str:
    """Apply acrnctl's ``check_name`` (acrnctl.c, v1.6 .. v3.3) and return ``name``.

    It must start with an ASCII letter, contain none of ``!@#$%^&*,`` or space, not be ``help``
    or ``nothing``, and be shorter than the release's name buffer (at most 15 bytes from 2.7,
    127 in 1.6). acrnkit also refuses ``/`` (the name becomes a socket file name) and ``.``
    (acrnctl cuts the name at the first dot when it reads ``<vm>.monitor.<pid>.socket``).
    """
    profile = manager_profile(version)
    if not isinstance(name, str) or not name:
        raise ConfigError("vm_name", name, "must be a non-empty string")
    if not ("a" <= name[0] <= "z" or "A" <= name[0] <= "Z"):
        raise ConfigError("vm_name", name, "must start with a letter (acrnctl check_name)")
    for index, char in enumerate(name):
        if char in _ILLEGAL_NAME_CHARS:
            raise ConfigError(
                "vm_name", name, f"character {index} is {char!r}, which acrnctl refuses"
            )
    if name in _RESERVED_NAMES:
        raise ConfigError("vm_name", name, "is reserved by acrnctl")
    limit = profile.name_max_len - 1
    if len(name.encode("utf-8")) > limit:
        raise ConfigError(
            "vm_name", name, f"longer than {limit} bytes, the limit of ACRN {profile.version}"
        )
    if "/" in name or "." in name:
        raise ConfigError(
            "vm_name", name, "must not contain '/' or '.' (it names the manager socket)"
        )
    return name


def _arity_error(command: str, args: tuple[str, ...], usage: str, why: str) -> ConfigError:
    return ConfigError("command", [command, *args], f"usage: acrnctl {usage} ({why})")


def acrnctl_argv(
    command: str, *args: str, version: str, acrnctl: str = "acrnctl"
) -> list[str]:
    """``[acrnctl, command, *args]`` after checking that ``version``'s acrnctl has ``command``
    and that the arguments fit it. VM names go through ``check_vm_name``."""
    profile = manager_profile(version)
    if not acrnctl:
        raise ConfigError("acrnctl", acrnctl, "must name the acrnctl binary")
    if command not in _USAGE:
        raise ConfigError(
            "command", command, f"not an acrnctl sub-command; known: {', '.join(sorted(_USAGE))}"
        )
    if command not in profile.commands:
        raise ConfigError(
            "command", command,
            f"acrnctl {profile.version} has no such sub-command; it has "
            f"{', '.join(sorted(profile.commands))}",
        )
    for index, arg in enumerate(args):
        if not isinstance(arg, str):
            raise ConfigError(f"args[{index}]", arg, "must be a string")
    usage = _USAGE[command]
    rest: tuple[str, ...]
    if command == "list":
        if args:
            raise _arity_error(command, args, usage, "takes no arguments")
        rest = ()
    elif command == "add":
        _check_add(args, usage)
        rest = args
    elif command == "stop":
        rest = _check_stop(args, version, usage)
    else:
        if not args:
            raise _arity_error(command, args, usage, "VM_NAME is missing")
        check_vm_name(args[0], version)
        extra = args[1:]
        if command == "blkrescan":
            if len(extra) != 1:
                raise _arity_error(command, args, usage, f"got {len(args)} arguments")
            _check_devargs(extra[0])
        elif command == "resume":
            if len(extra) > 1:
                raise _arity_error(command, args, usage, f"got {len(args)} arguments")
            if extra:
                _check_reason(extra[0])
        elif extra:
            # acrnctl would silently act on the first name only.
            raise _arity_error(command, args, usage, f"got {len(args)} arguments")
        rest = args
    return [acrnctl, command, *rest]


def _check_stop(args: tuple[str, ...], version: str, usage: str) -> tuple[str, ...]:
    # acrnctl's stop takes -f/--force anywhere and the first other word as the name.
    names = [arg for arg in args if arg not in _STOP_FLAGS]
    flags = [arg for arg in args if arg in _STOP_FLAGS]
    if len(names) != 1:
        raise _arity_error("stop", args, usage, f"needs one VM_NAME, got {len(names)}")
    if len(flags) > 1:
        raise _arity_error("stop", args, usage, "give -f/--force at most once")
    check_vm_name(names[0], version)
    return args


def _check_add(args: tuple[str, ...], usage: str) -> None:
    if not args:
        raise _arity_error("add", args, usage, "LAUNCH_SCRIPT is missing")
    script = args[0]
    if not script or script.startswith("-"):
        raise ConfigError("script", script, "must be the path of a launch script")
    if len(script.encode("utf-8")) >= _PATH_LEN:
        raise ConfigError("script", script, f"acrnctl refuses paths of {_PATH_LEN} bytes or more")


def _check_devargs(devargs: str) -> None:
    if not _BLKRESCAN_ARG.match(devargs):
        raise ConfigError("devargs", devargs, "must be SLOT,PATH, e.g. 5,/dev/dm-3")
    if len(devargs.encode("utf-8", "surrogateescape")) > DEVARGS_MAX:
        raise ConfigError(
            "devargs", devargs, f"longer than {DEVARGS_MAX} bytes; acrnctl would cut it"
        )


def _check_reason(reason: str) -> None:
    # acrnctl parses the reason with strtoul(..., 16) and sends 0 if any of the top 8 bits is
    # set (v2.7 acrnctl.c acrnctl_do_resume), so only 24-bit hex values mean what they say.
    text = reason[2:] if reason[:2].lower() == "0x" else reason
    if not text or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ConfigError("reason", reason, "must be a hexadecimal number")
    if int(text, 16) >= 1 << 24:
        raise ConfigError("reason", reason, "acrnctl replaces reasons above 0xffffff with 0")


def blkrescan_argv(
    vm: str,
    slot: int,
    path: str,
    *,
    version: str = DEFAULT_VERSION,
    acrnctl: str = "acrnctl",
) -> list[str]:
    """Kata's hot-plug call: ``acrnctl blkrescan sbx-abc 5,/dev/dm-3`` (kata-acrn ``acrn.go``
    ``updateBlockDevice``: ``exec.Command(ctl, "blkrescan", vmName, "<slot>,<file>")``)."""
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot <= 31:
        raise ConfigError("slot", slot, "must be a PCI slot number 0..31")
    if not path:
        raise ConfigError("path", path, "must not be empty")
    return acrnctl_argv("blkrescan", vm, f"{slot},{path}", version=version, acrnctl=acrnctl)
