"""The conformance cases inside pytest: one ``pytest.param`` per case.

    import pytest
    from acrnkit.conformance.pytest_params import conformance_cases
    from acrnkit.conformance.runner import builder_failures

    @pytest.mark.parametrize("case", conformance_cases())
    def test_builder(case):
        failures = builder_failures(case)
        assert not failures, "\\n\\n".join(f.text() for f in failures)

Each param's id is the case id (``-k options/memsize`` selects by id) and its marks are
``conformance`` plus one mark per tag, spelled as a Python name (``device:virtio-blk`` becomes
``device_virtio_blk``), so ``-k device_virtio_blk`` or ``-m device_virtio_blk`` select by tag.
The marks are not registered; under ``--strict-markers`` the tag marks are left out (register
them, or select by id).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from acrnkit.conformance.fixture import DEFAULT_CASE_DIR, Case, load_cases


def mark_name(tag: str) -> str:
    """The pytest mark for a tag: ``device:virtio-blk`` -> ``device_virtio_blk``."""
    name = re.sub(r"\W", "_", tag)
    return name if not name[:1].isdigit() else f"tag_{name}"


def _marks(names: Sequence[str]) -> list[Any]:
    import pytest

    marks = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        for name in names:
            try:
                marks.append(getattr(pytest.mark, name))
            except pytest.fail.Exception:  # --strict-markers and not registered
                continue
    return marks


def conformance_cases(case_dir: Path | str | None = None, *, kinds: Sequence[str] = (),
                      tags: Sequence[str] = (), with_argv: bool = False) -> list[Any]:
    """``pytest.param(case, id=case.id, marks=...)`` for every case of ``case_dir`` (default:
    the installed fixtures), optionally only input ``kinds`` (``acrnkit``, ``kata_config``,
    ``kata_sandbox``, ``argv``), cases with one of ``tags``, or cases with an expected argv."""
    import pytest

    cases: list[Case] = load_cases(Path(case_dir) if case_dir is not None else DEFAULT_CASE_DIR)
    params = []
    for case in cases:
        if kinds and case.kind not in kinds:
            continue
        if tags and not any(t in case.tags for t in tags):
            continue
        if with_argv and case.expected_argv is None:
            continue
        names = ["conformance", *(mark_name(t) for t in case.tags)]
        params.append(pytest.param(case, id=case.id, marks=_marks(names)))
    return params
