"""Lazy re-exports: a package's public names load their module on first use.

Keeps ``import acrnkit`` (and its subpackages) light: nothing heavy is imported until a name
from it is touched.
"""

from __future__ import annotations

import sys

from acrnkit._records import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


def lazy_exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``modules`` maps each name to the module that
    defines it."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(load_module(module), name)

    return __getattr__


def load_module(name: str) -> Any:
    """``importlib.import_module`` for an absolute name, without importing ``importlib`` (the
    fake acrn-dm's start-up budget is a few milliseconds)."""
    __import__(name)
    return sys.modules[name]
