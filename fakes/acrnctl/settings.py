"""The fake acrnctl's configuration: ``ACRNKIT_*`` environment variables, validated up front.

The real acrnctl takes no configuration beyond its argv, so everything the fake needs comes from
the environment. ``load(environ)`` validates every setting before anything else happens; a bad
one raises :class:`SettingsError`, which ``main`` prints as one line on stderr before exiting 2
(a status the real acrnctl never uses: it exits 0, 255, a STOP error code, or a launch status).

Imported on every start (``gentmpfile`` re-invokes the fake once per ``add``), so it imports
only the standard library and the tiny ``acrnkit.releases.versions``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from acrnkit.errors import UnknownReleaseError
from acrnkit.releases.versions import DEFAULT_VERSION, VERSIONS, normalize_version

# EXIT_BAD_SETTING and SettingsError are shared with the other fake and re-exported here.
from ..settings_common import EXIT_BAD_SETTING as EXIT_BAD_SETTING
from ..settings_common import SettingsError as SettingsError
from ..settings_common import parse_bool

#: What ACRNKIT_RUN_DIR replaces.
DEFAULT_RUN_DIR = "/run/acrn"
#: ``acrnctl start`` modes (ACRNKIT_ACRNCTL_START).
START_MODES = ("detach", "wait")

#: Prefix owned by the fake acrnctl: an unknown variable under it is a typo, so an error.
_OWNED_PREFIX = "ACRNKIT_ACRNCTL_"




class Settings:
    """Everything the fake acrnctl reads from the environment, already validated."""

    __slots__ = ("run_dir", "skip_root_check", "start_mode", "version")

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        run_dir: str = DEFAULT_RUN_DIR,
        skip_root_check: bool = False,
        start_mode: str = "detach",
    ) -> None:
        #: ACRNKIT_ACRN_VERSION: the release profile key (``"3.3"``); default the newest.
        self.version = version
        #: ACRNKIT_RUN_DIR: replaces ``/run/acrn``; the acrnctl store lives in
        #: ``<run_dir>/conf/add`` instead of ``/usr/share/acrn/conf/add``.
        self.run_dir = run_dir
        #: ACRNKIT_ACRNCTL_SKIP_ROOT_CHECK: run the commands without being root.
        self.skip_root_check = skip_root_check
        #: ACRNKIT_ACRNCTL_START: ``detach`` (default) or ``wait`` (block like system()).
        self.start_mode = start_mode

    def __repr__(self) -> str:
        return (
            f"Settings(version={self.version!r}, run_dir={self.run_dir!r}, "
            f"skip_root_check={self.skip_root_check!r}, start_mode={self.start_mode!r})"
        )


def _version(value: str) -> str:
    try:
        return normalize_version(value)
    except UnknownReleaseError:
        raise ValueError(f"unknown ACRN version; known versions are {', '.join(VERSIONS)}") \
            from None


def _path(value: str) -> str:
    if "\0" in value:
        raise ValueError("must not contain NUL")
    return os.path.abspath(value)




def _start_mode(value: str) -> str:
    if value not in START_MODES:
        raise ValueError(f"must be one of {', '.join(START_MODES)}")
    return value


#: variable -> (Settings attribute, parser), in validation order.
_FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "ACRNKIT_ACRN_VERSION": ("version", _version),
    "ACRNKIT_RUN_DIR": ("run_dir", _path),
    "ACRNKIT_ACRNCTL_SKIP_ROOT_CHECK": ("skip_root_check", parse_bool),
    "ACRNKIT_ACRNCTL_START": ("start_mode", _start_mode),
}

#: Every variable the fake acrnctl reads, in validation order.
VARIABLES: tuple[str, ...] = tuple(_FIELDS)


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Validate every setting of ``environ`` (default ``os.environ``); empty means default.

    Raises SettingsError for the first bad one, in ``VARIABLES`` order; an unknown
    ``ACRNKIT_ACRNCTL_*`` variable comes last.
    """
    env = os.environ if environ is None else environ
    settings = Settings()
    for name, (attr, parse) in _FIELDS.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            setattr(settings, attr, parse(raw))
        except ValueError as err:
            raise SettingsError(name, raw, str(err)) from None
    for name in sorted(env):
        if name.startswith(_OWNED_PREFIX) and name not in _FIELDS:
            known = ", ".join(v for v in VARIABLES if v.startswith(_OWNED_PREFIX))
            raise SettingsError(name, env[name], f"unknown setting; known: {known}")
    return settings
