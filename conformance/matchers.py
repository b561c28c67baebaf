"""Declared volatile values: how ``${NAME}`` placeholders are filled in and compared.

A case declares each placeholder it uses in ``matchers``:

``{"name": "ROOT", "kind": "tmpdir"}``
    The runner makes a fresh directory, lays the case's ``host`` files out under it and puts its
    path wherever the case says ``${ROOT}`` (in the input fed to the implementation, in the argv fed
    to the fake). In what comes back (argv, messages) that exact path is written ``${ROOT}`` again
    before the comparison. Nothing else is rewritten.
``{"name": "MAC0", "kind": "mac"}``
    In an expected value ``${MAC0}`` matches one unicast MAC address (six ``:``-separated
    two-digit hex bytes, first octet even); every ``${MAC0}`` of the case must be the same address.
``{"name": "X", "kind": "regex", "pattern": "..."}``
    Likewise with the given regular expression.

Anything not declared is compared byte for byte: matchers never loosen a comparison beyond the
value they name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from acrnkit.conformance.fixture import PLACEHOLDER_RE, Matcher

MAC_PATTERN = r"[0-9a-fA-F][02468aAcCeE](?::[0-9a-fA-F]{2}){5}"


def substitute(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` (any JSON value) with every ``${NAME}`` of ``values`` replaced."""
    if not values:
        return value
    if isinstance(value, str):
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    return value


def normalize(text: str, values: Mapping[str, str]) -> str:
    """Write each tmpdir value back as its placeholder (longest value first)."""
    for name, path in sorted(values.items(), key=lambda kv: -len(kv[1])):
        if path:
            text = text.replace(path, "${" + name + "}")
    return text


def normalize_any(value: Any, values: Mapping[str, str]) -> Any:
    if not values:
        return value
    if isinstance(value, str):
        return normalize(value, values)
    if isinstance(value, list | tuple):
        return [normalize_any(v, values) for v in value]
    if isinstance(value, dict):
        return {k: normalize_any(v, values) for k, v in value.items()}
    return value


class ArgvMatcher:
    """Compares expected strings (with ``mac``/``regex`` placeholders) to actual strings, binding
    each placeholder to one value for the whole case."""

    def __init__(self, matchers: Sequence[Matcher]) -> None:
        self.patterns: dict[str, str] = {}
        for m in matchers:
            if m.kind == "mac":
                self.patterns[m.name] = MAC_PATTERN
            elif m.kind == "regex" and m.pattern is not None:
                self.patterns[m.name] = m.pattern
        self.bound: dict[str, str] = {}

    def element(self, expected: str, actual: str) -> bool:
        names = [n for n in PLACEHOLDER_RE.findall(expected) if n in self.patterns]
        if not names:
            return expected == actual
        regex = ""
        pos = 0
        order: list[str] = []
        for m in PLACEHOLDER_RE.finditer(expected):
            name = m.group(1)
            regex += re.escape(expected[pos:m.start()])
            if name in self.patterns:
                regex += f"({self.patterns[name]})"
                order.append(name)
            else:
                regex += re.escape(m.group(0))
            pos = m.end()
        regex += re.escape(expected[pos:])
        found = re.fullmatch(regex, actual)
        if found is None:
            return False
        for name, value in zip(order, found.groups(), strict=True):
            if self.bound.setdefault(name, value) != value:
                return False
        return True

    def sequence(self, expected: Sequence[str], actual: Sequence[str]) -> bool:
        if len(expected) != len(actual):
            return False
        return all(self.element(e, a) for e, a in zip(expected, actual, strict=True))

    def value(self, expected: Any, actual: Any) -> bool:
        """Deep comparison of JSON values; strings go through :meth:`element`."""
        if isinstance(expected, str) and isinstance(actual, str):
            return self.element(expected, actual)
        if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
            return len(expected) == len(actual) and all(
                self.value(e, a) for e, a in zip(expected, actual, strict=True))
        return bool(json.dumps(expected) == json.dumps(actual))
