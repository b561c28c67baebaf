"""Every conformance case, one test each: the builder and parser columns (select with -k id,
or -k <tag as a name>, e.g. -k device_virtio_blk). The fake column runs batched in
tests/test_conformance_runner.py."""

from __future__ import annotations

import pytest
from acrnkit.conformance.fixture import Case
from acrnkit.conformance.pytest_params import conformance_cases
from acrnkit.conformance.runner import builder_failures, parser_failures


@pytest.mark.parametrize("case", conformance_cases())
def test_builder(case: Case) -> None:
    failures = builder_failures(case)
    assert not failures, "\n\n".join(f.text() for f in failures)


@pytest.mark.parametrize("case", conformance_cases(kinds=("acrnkit",), with_argv=True))
def test_parser(case: Case) -> None:
    failures = parser_failures(case)
    assert not failures, "\n\n".join(f.text() for f in failures)
