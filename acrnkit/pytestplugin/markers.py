"""Markers: ``acrn_hw``, ``acrn_version(">=3.0")`` and ``acrn_feature("vsock")``.

Bad marker arguments are a ``pytest.UsageError`` at collection, not a silent skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest

from acrnkit.releases.versions import VERSIONS, normalize_version, version_key

MARKERS = (
    "acrn_hw: the test needs real ACRN hardware (a Service VM with /dev/acrn_hsm)",
    'acrn_version(spec): run only when the selected profile matches, e.g. ">=3.0", '
    '"<3.0", "==2.7" or ">=2.7,<3.3"',
    'acrn_feature(*names): skip unless the target has every named feature, e.g. "vsock"',
)

_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)?\s*v?(\d+\.\d+(?:\.0)?)\s*")


def parse_version_spec(spec: object) -> list[tuple[str, str]]:
    if not isinstance(spec, str) or not spec.strip():
        raise pytest.UsageError(f"acrn_version({spec!r}): want a string such as '>=3.0'")
    clauses = []
    for part in spec.split(","):
        m = _CLAUSE.fullmatch(part)
        if not m:
            raise pytest.UsageError(f"acrn_version({spec!r}): cannot read {part!r}")
        op = m.group(1) or "=="
        version = m.group(2).removesuffix(".0") if m.group(2).count(".") == 2 else m.group(2)
        if not re.fullmatch(r"\d+\.\d+", version):
            raise pytest.UsageError(f"acrn_version({spec!r}): bad version {m.group(2)!r}")
        clauses.append((op, version))
    return clauses


def version_matches(spec: str, selected: str) -> bool:
    have = version_key(selected)
    for op, version in parse_version_spec(spec):
        want = tuple(int(x) for x in version.split("."))
        ok = {"==": have == want, "!=": have != want, ">=": have >= want, "<=": have <= want,
              ">": have > want, "<": have < want}[op]
        if not ok:
            return False
    return True


def marker_features(markers: Iterable[pytest.Mark]) -> set[str]:
    wanted: set[str] = set()
    for mark in markers:
        if not mark.args or mark.kwargs:
            raise pytest.UsageError("acrn_feature needs one or more feature names as "
                                    f"positional strings, got args={mark.args} "
                                    f"kwargs={mark.kwargs}")
        for arg in mark.args:
            names = [arg] if isinstance(arg, str) else arg
            if not isinstance(names, list | tuple) or not all(
                    isinstance(n, str) and n for n in names):
                raise pytest.UsageError(f"acrn_feature({arg!r}): feature names are strings")
            wanted.update(names)
    return wanted


def check_version_marks(markers: Iterable[pytest.Mark], selected: str) -> str | None:
    """A skip reason, or None when every ``acrn_version`` marker matches ``selected``."""
    for mark in markers:
        if len(mark.args) != 1 or mark.kwargs:
            raise pytest.UsageError(
                f"acrn_version takes exactly one spec string, got args={mark.args}")
        spec = mark.args[0]
        parse_version_spec(spec)
        if not version_matches(spec, selected):
            return f"needs ACRN {spec}; the selected profile is {selected}"
    return None


def known_version(text: str) -> str:
    return normalize_version(text) if text in VERSIONS else text
