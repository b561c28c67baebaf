"""Time the conformance suite: builder + parser columns in-process, the fake column batched.

Prints figures; asserts nothing. Targets (issue 4): at least 1,000 cases through builder and
parser in under 2 s; the fake column batched (one process per release, not per case).

    python bench/bench_conformance.py [--repeat 3] [--sample 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

from acrnkit.conformance.fixture import load_cases
from acrnkit.conformance.runner import Run, default_options


def _best(repeat: int, fn: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20,
                        help="cases run one process each, to compare with the batch")
    args = parser.parse_args()

    t0 = time.perf_counter()
    cases = load_cases()
    load_s = time.perf_counter() - t0
    releases = sum(len(c.releases) for c in cases)
    print(f"cases: {len(cases)} ({releases} case-releases), loaded in {load_s * 1000:.0f} ms")

    failed: dict[str, int] = {}

    def columns(*names: str) -> None:
        run = Run(cases, default_options(columns=names))
        for name in names:
            getattr(run, name)()
        failed["/".join(names)] = len(run.outcome.failures)

    bp = _best(args.repeat, lambda: columns("builder", "parser"))
    b = _best(args.repeat, lambda: columns("builder"))
    p = _best(args.repeat, lambda: columns("parser"))
    print(f"builder + parser: {len(cases)} cases in {bp:.2f} s = {len(cases) / bp:,.0f} cases/s "
          f"(builder {b:.2f} s, parser {p:.2f} s; target >= 1,000 cases in < 2 s)")

    with_argv = [c for c in cases if c.expected_argv is not None]
    checks = sum(len(c.releases) for c in with_argv)
    fake = _best(1, lambda: columns("fake"))
    print(f"fake column (batched, one process per release): {checks} argv judged in "
          f"{fake:.2f} s = {checks / fake:,.0f} argv/s")

    sample = with_argv[:args.sample]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
    env.update(ACRNKIT_ACRN_VERSION="3.3", ACRNKIT_DM_MODE="check")
    t0 = time.perf_counter()
    for case in sample:
        code = ("import sys; from acrnkit.fakes.acrn_dm.main import main; "
                f"sys.exit(main(['acrn-dm', *{json.dumps(list(case.expected_argv or ()))}]))")
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    per = (time.perf_counter() - t0) / max(1, len(sample))
    print(f"unbatched, for comparison: {per * 1000:.0f} ms per fake process, so "
          f"~{per * checks:.0f} s for the {checks} argv")
    bad = {k: v for k, v in failed.items() if v}
    if bad:
        print(f"(failures while timing: {bad}; run acrnkit conformance to see them)")
    total = bp + fake
    print(f"full suite (builder + parser + fake): {total:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
