"""The fake acrn-dm's configuration: ``ACRNKIT_*`` environment variables, validated up front.

The real acrn-dm's argv is never extended, so everything the fake needs beyond it comes from the
environment. ``load(environ)`` reads and validates every setting before anything else happens;
a bad one raises :class:`SettingsError`, which ``main`` prints as one line on stderr before
exiting 2 (a status the real acrn-dm never uses for its own errors).

This module is imported on every start, so it imports nothing heavy.
"""

from __future__ import annotations

import os

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.errors import UnknownReleaseError
from acrnkit.releases.versions import DEFAULT_VERSION, VERSIONS, normalize_version

# EXIT_BAD_SETTING and SettingsError are shared with the other fake and re-exported here.
from ..settings_common import EXIT_BAD_SETTING as EXIT_BAD_SETTING
from ..settings_common import SettingsError as SettingsError
from ..settings_common import parse_bool

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

MODES = ("run", "check")
SCENARIOS = ("normal", "panic", "hang", "slow")
POWER_BUTTON_ACTIONS = ("poweroff", "suspend", "ignore")
DEFAULT_KERNEL_RELEASE = "6.1.0-acrnkit"
DEFAULT_RUN_DIR = "/run/acrn"
#: Boot delay of the ``slow`` scenario when ACRNKIT_GUEST_BOOT_DELAY is not set.
SLOW_BOOT_DELAY = 5.0
_MAX_SECONDS = 24 * 3600.0

#: ``ACRNKIT_DM_BACKEND`` values: ``sim`` is this package's simulated guest; ``qemu`` hands the
#: VM to the module ``acrnkit.fakes.acrn_dm.qemu`` when one is installed.
BACKENDS = ("sim", "qemu")
QEMU_MODULE = "acrnkit.fakes.acrn_dm.qemu"





@dataclass(frozen=True)
class Settings:
    """Everything the fake reads from the environment, already validated."""

    #: ACRNKIT_ACRN_VERSION: the release profile key (``"3.3"``); default the newest.
    version: str = DEFAULT_VERSION
    #: ACRNKIT_DM_MODE: ``run`` (validate, then be the VM) or ``check`` (validate, exit 0).
    mode: str = "run"
    #: ACRNKIT_RUN_DIR: replaces ``/run/acrn`` (the manager socket goes to ``<run_dir>/mngr``).
    run_dir: str = DEFAULT_RUN_DIR
    #: ACRNKIT_RECORD: JSONL file that gets one record per invocation, or None.
    record: str | None = None
    #: ACRNKIT_STRICT_HOST: hardware checks (vhost-vsock, iasl, ...) look at this machine.
    strict_host: bool = False
    #: ACRNKIT_GUEST_SCENARIO: normal | panic | hang | slow.
    scenario: str = "normal"
    #: ACRNKIT_GUEST_BOOT_DELAY: seconds from start to the login prompt (spread over the log).
    boot_delay: float = 0.0
    #: ACRNKIT_GUEST_KERNEL_RELEASE: what ``uname -r`` says.
    kernel_release: str = DEFAULT_KERNEL_RELEASE
    #: ACRNKIT_GUEST_POWER_BUTTON: what the guest does on an ACPI power button event.
    power_button: str = "poweroff"
    #: ACRNKIT_GUEST_SHUTDOWN_DELAY: seconds an orderly poweroff/reboot takes inside the guest.
    shutdown_delay: float = 0.0
    #: ACRNKIT_DM_PTY_LINKS: also symlink ``pty:name=<path>`` ports to their /dev/pts node
    #: (an acrnkit extension; the real acrn-dm ignores a pty port's path).
    pty_links: bool = False
    #: ACRNKIT_DM_BACKEND: what runs the guest in run mode (``sim`` or ``qemu``).
    backend: str = "sim"


def _version(value: str) -> str:
    try:
        return normalize_version(value)
    except UnknownReleaseError:
        raise ValueError(f"unknown ACRN version; known versions are {', '.join(VERSIONS)}") \
            from None


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value
    return parse




def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError("must be a number of seconds") from None
    if not 0.0 <= seconds <= _MAX_SECONDS:  # also rejects nan
        raise ValueError(f"must be between 0 and {_MAX_SECONDS:g} seconds")
    return seconds


def _kernel_release(value: str) -> str:
    if not value or any(c.isspace() for c in value) or not value.isprintable():
        raise ValueError("must be one printable word without spaces")
    return value


def _backend(value: str) -> str:
    _choice(BACKENDS)(value)
    if value == "qemu":
        from importlib.util import find_spec

        try:
            found = find_spec(QEMU_MODULE) is not None
        except ImportError:
            found = False
        if not found:
            raise ValueError(f"the qemu backend ({QEMU_MODULE}) is not installed")
    return value


def _path(value: str) -> str:
    if "\0" in value:
        raise ValueError("must not contain NUL")
    return os.path.abspath(value)


#: variable -> (Settings field, parser). Empty values mean "default" for these.
_FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "ACRNKIT_ACRN_VERSION": ("version", _version),
    "ACRNKIT_DM_MODE": ("mode", _choice(MODES)),
    "ACRNKIT_RUN_DIR": ("run_dir", _path),
    "ACRNKIT_RECORD": ("record", _path),
    "ACRNKIT_STRICT_HOST": ("strict_host", parse_bool),
    "ACRNKIT_GUEST_SCENARIO": ("scenario", _choice(SCENARIOS)),
    "ACRNKIT_GUEST_BOOT_DELAY": ("boot_delay", _seconds),
    "ACRNKIT_GUEST_KERNEL_RELEASE": ("kernel_release", _kernel_release),
    "ACRNKIT_GUEST_POWER_BUTTON": ("power_button", _choice(POWER_BUTTON_ACTIONS)),
    "ACRNKIT_GUEST_SHUTDOWN_DELAY": ("shutdown_delay", _seconds),
    "ACRNKIT_DM_PTY_LINKS": ("pty_links", parse_bool),
    "ACRNKIT_DM_BACKEND": ("backend", _backend),
}

#: Every variable the fake acrn-dm reads, for docs and error messages.
VARIABLES: tuple[str, ...] = tuple(_FIELDS)


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Validate every ``ACRNKIT_*`` setting of ``environ`` (default ``os.environ``).

    Raises SettingsError for the first bad one, in ``VARIABLES`` order. Other ``ACRNKIT_*``
    variables belong to other tools and are ignored.
    """
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, (attr, parse) in _FIELDS.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[attr] = parse(raw)
        except ValueError as err:
            raise SettingsError(name, raw, str(err)) from None
    if values.get("scenario") == "slow" and "boot_delay" not in values:
        values["boot_delay"] = SLOW_BOOT_DELAY
    return Settings(**values)  # type: ignore[arg-type]
