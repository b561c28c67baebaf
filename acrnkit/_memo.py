"""A bounded memo for pure functions, without importing :mod:`functools`.

``functools`` imports ``collections``, which costs the fake acrn-dm about a millisecond of a
start-up budget of a few (see acrnkit/_records.py). Type checkers see ``functools.lru_cache``.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING

if TYPE_CHECKING:
    from functools import lru_cache

    bounded_cache = lru_cache
else:
    __all__ = ["bounded_cache"]

    import sys

    def bounded_cache(maxsize=128):
        """Remember up to ``maxsize`` results by positional arguments; when full, start over
        (the callers' working sets are far smaller than the bound, so eviction order does not
        matter). Exceptions are not remembered.

        Where ``functools`` is already loaded (any long-running process: pytest, the conformance
        runner, a runtime's harness) its C ``lru_cache`` is used instead: the same contract,
        faster per call."""
        functools = sys.modules.get("functools")
        if functools is not None:
            return functools.lru_cache(maxsize=maxsize)

        def wrap(function):
            memo = {}

            def cached(*args):
                try:
                    return memo[args]
                except KeyError:
                    pass
                result = function(*args)
                if len(memo) >= maxsize:
                    memo.clear()
                memo[args] = result
                return result

            def cache_clear():
                memo.clear()

            cached.cache_clear = cache_clear
            cached.__wrapped__ = function
            cached.__name__ = function.__name__
            cached.__qualname__ = function.__qualname__
            cached.__doc__ = function.__doc__
            return cached

        return wrap
