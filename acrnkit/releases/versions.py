"""The ACRN releases acrnkit has profiles for, oldest first."""

from __future__ import annotations

from acrnkit.errors import UnknownReleaseError

#: Release tags of projectacrn/acrn-hypervisor that acrnkit models (``v`` dropped).
VERSIONS: tuple[str, ...] = ("1.6", "2.7", "3.0", "3.2", "3.3")
DEFAULT_VERSION = VERSIONS[-1]


def normalize_version(text: str) -> str:
    """Map ``v3.2``, ``3.2`` or ``3.2.0`` to the profile key ``3.2``; reject anything else."""
    raw = text.strip()
    key = raw[1:] if raw[:1] in ("v", "V") else raw
    if key.count(".") == 2 and key.endswith(".0"):
        key = key[:-2]
    if key not in VERSIONS:
        raise UnknownReleaseError(
            "acrn_version", text, f"no profile; known versions are {', '.join(VERSIONS)}"
        )
    return key


def version_key(version: str) -> tuple[int, ...]:
    """A sortable key: ``version_key('2.7') < version_key('3.0')``."""
    return tuple(int(part) for part in normalize_version(version).split("."))
