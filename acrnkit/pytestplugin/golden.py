"""``acrn_golden(argv, case_id)``: a runtime's argv against a named golden case.

Goldens are conformance cases (``conformance/schema.json``): the runtime's own live in a case
directory of its choosing (``--acrn-golden-dir``/ini ``acrn_golden_dir``/``ACRNKIT_GOLDEN_DIR``);
the default is acrnkit's shipped cases. A mismatch fails with the conformance diff (argv aligned
element by element, the first differing position, and what acrn-dm says about the actual argv).

``--acrn-update-goldens`` rewrites a failing or missing case's expected argv and verdicts in its
file, prints what changed, and still fails the test, so an update is never silent and never
mixed with a pass. Asking for an id that does not exist fails, as an unused snapshot does in
syrupy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from acrnkit.conformance.fixture import Case, Verdict

GOLDEN_FILE = "goldens.json"


def golden_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("ACRNKIT_GOLDEN_DIR")
    if env:
        return Path(env)
    from acrnkit.conformance.fixture import DEFAULT_CASE_DIR

    return Path(DEFAULT_CASE_DIR)


class GoldenChecker:
    """Callable fixture value: ``acrn_golden(argv, "my-runtime/sandbox-basic")``."""

    def __init__(self, *, update: bool, version: str, case_dir: str | None = None) -> None:
        self.update = update
        self.version = version
        self.case_dir = golden_dir(case_dir)

    def __call__(self, argv: Sequence[str], case_id: str, *, release: str | None = None,
                 description: str = "", tags: Sequence[str] = ("golden",),
                 values: Mapping[str, str] | None = None) -> None:
        """``values`` fills the case's ``${NAME}`` placeholders (e.g. ``{"ROOT": tmp}``)."""
        from acrnkit.conformance.fixture import Case, load_cases
        from acrnkit.conformance.matchers import ArgvMatcher
        from acrnkit.conformance.runner import argv_failure

        rel = release or self.version
        actual = [str(a) for a in argv]
        cases = load_cases(self.case_dir) if any(self.case_dir.glob("*.json")) else []
        found = next((c for c in cases if c.id == case_id), None)
        if found is None:
            if not self.update:
                pytest.fail(f"no golden case {case_id!r} in {self.case_dir} (run with "
                            "--acrn-update-goldens to record it)", pytrace=False)
            new = Case(id=case_id, description=description or f"golden argv {case_id}",
                       tags=tuple(tags), releases=(rel,), input={"argv": actual},
                       expected_argv=tuple(actual), verdicts={rel: _verdict(actual, rel)},
                       source=str(self.case_dir / GOLDEN_FILE))
            self._write(cases, new)
            pytest.fail(f"--acrn-update-goldens recorded new golden {case_id!r} in "
                        f"{new.source}; run again to check against it", pytrace=False)
            return
        from acrnkit.conformance.matchers import substitute

        expected = found.expected_argv
        if expected is not None and values:
            expected = tuple(substitute(list(expected), values))
        failure = argv_failure(found, "golden", rel, expected, actual,
                               ArgvMatcher(found.matchers))
        if failure is None:
            return
        text = f"golden {case_id!r} [{rel}]: {failure.summary}\n{failure.detail}"
        if self.update:
            verdicts = dict(found.verdicts)
            verdicts[rel] = _verdict(actual, rel)
            releases = found.releases if rel in found.releases else (*found.releases, rel)
            changed = found.with_updates(expected_argv=tuple(actual), verdicts=verdicts,
                                         releases=releases)
            self._write(cases, changed)
            pytest.fail(f"--acrn-update-goldens rewrote {case_id!r} in {found.source}; "
                        f"run again to check against it\n{text}", pytrace=False)
        pytest.fail(text, pytrace=False)

    def _write(self, cases: Sequence[Case], case: Case) -> None:
        from acrnkit.conformance.fixture import write_file

        source = Path(case.source)
        same_file = [c for c in cases if Path(c.source) == source]
        replaced = [case if c.id == case.id else c for c in same_file]
        if all(c.id != case.id for c in same_file):
            replaced.append(case)
        source.parent.mkdir(parents=True, exist_ok=True)
        write_file(source, replaced)


def _verdict(argv: Sequence[str], release: str) -> Verdict:
    from acrnkit.argv.check import check
    from acrnkit.conformance.compute import PROG, verdict_of

    return verdict_of(check(list(argv), release, prog=PROG))
