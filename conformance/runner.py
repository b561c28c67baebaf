"""``acrnkit conformance``: check the golden cases against acrnkit, the fake, or a runtime.

    acrnkit conformance [--case-dir DIR] [-k SUBSTR]... [--tag TAG]... [--release V]...
                        [--column builder|parser|fake]... [--update] [--junit-xml PATH]
                        [--implementation CMD | --implementation-batch CMD] [--list] [-q]

Columns:

``builder``  acrnkit renders each input (JSON form, Kata Config, Kata sandbox) for each release
             and must give ``expected_argv`` (and ``expected_error`` / ``expected_blkrescan``);
``parser``   acrnkit parses ``expected_argv`` back to the model of the JSON-form input
             (``parse_errors`` where it cannot);
``fake``     ``fake-acrn-dm``'s check mode judges each expected argv, batched: one
             ``python -m acrnkit.fakes.acrn_dm.batch`` per release, on a host laid out from the
             case's ``host`` list; verdict, message, stream and exit status must match;
``implementation``  an external program builds each input (``--implementation CMD``: one
             process per case and release, input JSON on stdin, JSON argv on stdout;
             ``--implementation-batch CMD``: one process, JSON lines both ways). See
             docs/conformance.md.

Exit status: 0 when every selected check passes, 1 when one fails (or ``--update`` changed
something), 2 for a bad command line or case file. A ``-k`` or ``--tag`` that selects nothing
fails the run, like an unknown field in a case file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import IO, Any

from acrnkit.conformance.compute import (
    BuildOutcome,
    HostPool,
    build_acrnkit,
    build_input,
    derive_host,
    host_root,
    parse_argv,
    tmpdir_names,
    verdict_from_fields,
)
from acrnkit.conformance.fixture import (
    DEFAULT_CASE_DIR,
    Case,
    CaseFileError,
    ExpectedError,
    Verdict,
    load_cases,
    write_file,
)
from acrnkit.conformance.matchers import ArgvMatcher, normalize_any, substitute
from acrnkit.conformance.report import (
    COLUMNS,
    Failure,
    Outcome,
    align,
    merge_releases,
    summary_table,
    write_junit,
)

from acrnkit.releases.versions import VERSIONS

DEFAULT_COLUMNS = ("builder", "parser", "fake")
FAKE_BATCH = (sys.executable, "-m", "acrnkit.fakes.acrn_dm.batch")
IMPLEMENTATION_TIMEOUT = 60.0


class UsageError(Exception):
    """A bad command line or selection: one line, exit 2."""


@dataclass(frozen=True)
class Options:
    case_dir: Path
    patterns: tuple[str, ...]
    tags: tuple[str, ...]
    releases: tuple[str, ...]
    columns: tuple[str, ...]
    implementation: tuple[str, ...] | None
    batch: bool
    fake_cmd: tuple[str, ...]
    update: bool
    junit: Path | None
    list_only: bool
    quiet: bool
    max_diffs: int


# --- selection -----------------------------------------------------------------------------------


def select(cases: Sequence[Case], patterns: Sequence[str], tags: Sequence[str]) -> list[Case]:
    """Cases whose id contains one of ``patterns`` and that carry one of ``tags`` (each filter
    applies only when given). A pattern or tag that matches no case is a :class:`UsageError`."""
    for pattern in patterns:
        if not any(pattern in c.id for c in cases):
            raise UsageError(f"-k {pattern!r} matches no case id")
    known = {t for c in cases for t in c.tags}
    for tag in tags:
        if tag not in known:
            raise UsageError(f"--tag {tag!r} is not a tag of any case")
    out = []
    for case in cases:
        if patterns and not any(p in case.id for p in patterns):
            continue
        if tags and not any(t in case.tags for t in tags):
            continue
        out.append(case)
    return out


def _releases(case: Case, only: Sequence[str]) -> tuple[str, ...]:
    return tuple(r for r in case.releases if not only or r in only)


# --- comparing -----------------------------------------------------------------------------------


def _verdict_line(argv: Sequence[str], release: str) -> str:
    from acrnkit.conformance.compute import PROG, verdict_of

    from acrnkit.argv.check import check

    result = check(list(argv), release, prog=PROG)
    text = f"  acrn-dm {release} on the actual argv: {verdict_of(result).describe()}"
    for diag in result.errors[:3]:
        text += f"\n    {diag}"
    return text


def argv_failure(case: Case, column: str, release: str, expected: Sequence[str] | None,
                 actual: Sequence[str] | None, matcher: ArgvMatcher) -> Failure | None:
    if expected is None and actual is None:
        return None
    if expected is not None and actual is not None and matcher.sequence(expected, actual):
        return None
    if expected is None or actual is None:
        which = "an argv" if actual is not None else "no argv"
        return Failure(case.id, column, release,
                       f"expected {'no argv' if expected is None else 'an argv'}, got {which}",
                       "" if actual is None else f"  actual: {json.dumps(list(actual))}\n"
                       + _verdict_line(actual, release))
    same = {(i, j): matcher.element(e, a) for i, e in enumerate(expected)
            for j, a in enumerate(actual) if abs(i - j) < 4}
    lines, first = align(expected, actual, same)
    where = f"argv differs at position {first}" if first is not None else "argv differs"
    if len(expected) != len(actual):
        where += f" (expected {len(expected)} elements, got {len(actual)})"
    return Failure(case.id, column, release, where,
                   "\n".join(lines) + "\n" + _verdict_line(actual, release))


def error_failure(case: Case, column: str, release: str, expected: ExpectedError | None,
                  actual: ExpectedError | None, exact: bool = True) -> Failure | None:
    if expected is None and actual is None:
        return None
    if expected is not None and actual is not None and (not exact or expected == actual):
        return None
    exp = "nothing" if expected is None else f"{expected.kind}: {expected.message}"
    act = "nothing" if actual is None else f"{actual.kind}: {actual.message}"
    return Failure(case.id, column, release, "builder error differs",
                   f"  expected refusal: {exp}\n  actual refusal:   {act}")


def outcome_failures(case: Case, column: str, release: str, out: BuildOutcome,
                     matcher: ArgvMatcher, exact_error: bool = True) -> list[Failure]:
    if out.broken is not None:
        return [Failure(case.id, column, release, "the implementation failed", out.broken)]
    found = [
        argv_failure(case, column, release, case.expected_argv, out.argv, matcher)
        if not (case.expected_error is not None and out.argv is None and not exact_error)
        else None,
        error_failure(case, column, release, case.expected_error, out.error, exact_error),
    ]
    if case.expected_blkrescan is not None or out.blkrescan is not None:
        exp = [list(a) for a in case.expected_blkrescan or ()]
        act = [list(a) for a in out.blkrescan or ()]
        if not matcher.value(exp, act):
            found.append(Failure(case.id, column, release, "blkrescan argv differs",
                                 f"  expected: {json.dumps(exp)}\n  actual:   {json.dumps(act)}"))
    return [f for f in found if f is not None]


# --- columns -------------------------------------------------------------------------------------


class Run:
    """One run over the selected cases; updates (``--update``) land in ``self.cases``."""

    def __init__(self, cases: Sequence[Case], opts: Options) -> None:
        self.cases = {c.id: c for c in cases}
        self.order = [c.id for c in cases]
        self.opts = opts
        self.outcome = Outcome()
        self.changes: list[str] = []
        self._cwd: str | None = None

    def _timed(self, case_id: str, column: str, fn: Callable[[], list[Failure]]) -> None:
        t0 = time.perf_counter()
        failures = fn()
        self.outcome.times[(case_id, column)] = time.perf_counter() - t0
        self.outcome.record(case_id, column, failures)

    # builder ---------------------------------------------------------------------------------

    def builder(self) -> None:
        for cid in self.order:
            case = self.cases[cid]
            self._timed(cid, "builder", partial(self._builder_case, case))

    def _builder_case(self, case: Case) -> list[Failure]:
        failures: list[Failure] = []
        rels = _releases(case, self.opts.releases)
        if case.kind == "argv":
            # A raw argv is its own rendering: the fixture must not drift from its input.
            fail = argv_failure(case, "builder", rels[0], case.expected_argv,
                                tuple(case.input["argv"]), ArgvMatcher(case.matchers))
            if fail is not None:
                if self.opts.update:
                    self._update_builder(case, rels[0], BuildOutcome(tuple(case.input["argv"])))
                return [replace(fail, release=None,
                                summary="expected_argv differs from the input argv: "
                                + fail.summary)]
            return []
        cache: BuildOutcome | None = None
        for rel in rels:
            if case.kind != "acrnkit" and cache is not None:
                out = cache  # Kata inputs do not depend on the release
            else:
                out = cache = build_input(case.input, rel)
            found = outcome_failures(case, "builder", rel, out,
                                     ArgvMatcher(case.matchers))
            if found and self.opts.update:
                self._update_builder(case, rel, out)
            failures += found
        return failures

    def _update_builder(self, case: Case, rel: str, out: BuildOutcome) -> None:
        case = self.cases[case.id]
        changes: dict[str, Any] = {}
        if out.argv != case.expected_argv:
            changes["expected_argv"] = out.argv
            if out.argv is None:
                changes["verdicts"] = {}
                changes["host"] = ()
            else:
                old = {r: case.expected_argv for r in case.releases
                       if case.expected_argv is not None}
                asked = {h.path for h in derive_host(old)} if old else set()
                present = {h.path for h in case.host}
                changes["host"] = derive_host({r: out.argv for r in case.releases},
                                              missing=tuple(asked - present), keep=case.host)
        if out.error != case.expected_error:
            changes["expected_error"] = out.error
        if out.blkrescan != case.expected_blkrescan:
            changes["expected_blkrescan"] = out.blkrescan
        if changes:
            self._change(case, changes, f"builder [{rel}]")

    def _change(self, case: Case, changes: Mapping[str, Any], why: str) -> None:
        new = replace(case, **changes)
        for key, value in changes.items():
            old = getattr(case, key)
            if isinstance(old, Mapping) and isinstance(value, Mapping):
                keys = [k for k in {**old, **value} if old.get(k) != value.get(k)]
                old = {k: old[k] for k in keys if k in old}
                value = {k: value[k] for k in keys if k in value}
            show_old = _show(old)
            show_new = _show(value)
            if show_old != show_new:
                self.changes.append(f"{case.id}: {key} ({why})\n  - {show_old}\n  + {show_new}")
        self.cases[case.id] = new

    # parser ----------------------------------------------------------------------------------

    def parser(self) -> None:
        for cid in self.order:
            case = self.cases[cid]
            if case.kind != "acrnkit" or case.expected_argv is None:
                continue
            self._timed(cid, "parser", partial(self._parser_case, case))

    def _parser_case(self, case: Case) -> list[Failure]:
        from acrnkit.model.jsonform import to_json

        failures: list[Failure] = []
        assert case.expected_argv is not None
        new_errors = dict(case.parse_errors)
        for rel in _releases(case, self.opts.releases):
            parsed, perr = parse_argv(case.expected_argv, rel)
            want = case.parse_errors.get(rel)
            if perr != want:
                new_errors.pop(rel, None)
                if perr is not None:
                    new_errors[rel] = perr
                failures.append(Failure(
                    case.id, "parser", rel, "parse error differs",
                    f"  expected: {want.message if want else 'parses'}\n"
                    f"  actual:   {perr.message if perr else 'parses'}"))
                continue
            if perr is not None or case.expected_error is not None:
                continue
            model = build_acrnkit(case.input["acrnkit"], rel, strict=False)[1]
            if parsed != model:
                import difflib

                exp = json.dumps(to_json(model), indent=1).splitlines() if model else ["None"]
                act = json.dumps(to_json(parsed), indent=1).splitlines()
                diff = difflib.unified_diff(exp, act, "input model", "parsed argv", lineterm="",
                                            n=1)
                failures.append(Failure(case.id, "parser", rel,
                                        "parsing expected_argv gives another model",
                                        "\n".join("  " + d for d in diff)))
        if failures and self.opts.update and new_errors != dict(case.parse_errors):
            self._change(case, {"parse_errors": new_errors}, "parser")
        return failures

    # fake ------------------------------------------------------------------------------------

    def fake(self) -> None:
        chosen = [self.cases[cid] for cid in self.order
                  if self.cases[cid].expected_argv is not None]
        if not chosen:
            return
        with host_root() as base:
            self._cwd = os.path.join(base, "cwd")
            pool_ = HostPool(base)
            try:
                hosts = {case.id: pool_.get(case.host, tmpdir_names(case.matchers))
                         for case in chosen}
                failures: dict[str, list[Failure]] = {c.id: [] for c in chosen}
                t0 = time.perf_counter()
                jobs = {rel: [c for c in chosen if rel in c.releases] for rel in VERSIONS
                        if not self.opts.releases or rel in self.opts.releases}
                jobs = {rel: todo for rel, todo in jobs.items() if todo}
                # One batch process per release, all at once.
                with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
                    futures = {rel: pool.submit(self._fake_answers, rel, todo, hosts)
                               for rel, todo in jobs.items()}
                    answers = {rel: f.result() for rel, f in futures.items()}
                for rel, todo in jobs.items():
                    self._fake_compare(rel, todo, hosts, answers[rel], failures)
                per_case = (time.perf_counter() - t0) / max(1, len(chosen))
                for case in chosen:
                    self.outcome.times[(case.id, "fake")] = per_case
                    self.outcome.record(case.id, "fake", failures[case.id])
            finally:
                pool_.close()

    def _fake_answers(self, rel: str, todo: Sequence[Case], hosts: Mapping[str, Any]) \
            -> dict[int, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACRNKIT_")}
        env.update(ACRNKIT_ACRN_VERSION=rel, ACRNKIT_DM_MODE="check")
        lines = []
        for n, case in enumerate(todo):
            argv = substitute(list(case.expected_argv or ()), hosts[case.id].values)
            lines.append(json.dumps({"id": n, "argv": argv}, ensure_ascii=False) + "\n")
        return _batch(list(self.opts.fake_cmd), lines, env, cwd=self._cwd)

    def _fake_compare(self, rel: str, todo: Sequence[Case], hosts: Mapping[str, Any],
                      answers: Mapping[int, Any], failures: dict[str, list[Failure]]) -> None:
        for n, case in enumerate(todo):
            answer = answers.get(n)
            if answer is None or "error" in answer:
                why = "no answer" if answer is None else str(answer["error"])
                failures[case.id].append(Failure(case.id, "fake", rel,
                                                 f"the fake's batch failed: {why}"))
                continue
            values = hosts[case.id].values
            got = verdict_from_fields(answer["exit_status"], answer["message"],
                                      answer["stream"], answer["action"], answer["crash"], values)
            want = case.verdicts.get(rel)
            if got == want:
                continue
            output = "\n".join(f"    [{s}] {normalize_any(t, values)}".split("\n")[0]
                               for s, t in answer.get("output", [])[:8])
            failures[case.id].append(Failure(
                case.id, "fake", rel, "verdict differs",
                f"  expected: {want.describe() if want else '(no verdict)'}\n"
                f"  fake:     {got.describe()}\n  fake output:\n{output}"))
            if self.opts.update:
                current = self.cases[case.id]
                verdicts = dict(current.verdicts)
                verdicts[rel] = got
                self._change(current, {"verdicts": verdicts}, f"fake [{rel}]")

    # external implementation -----------------------------------------------------------------

    def implementation(self) -> None:
        assert self.opts.implementation is not None
        jobs: list[tuple[Case, str]] = []
        for cid in self.order:
            case = self.cases[cid]
            if case.kind == "argv":
                continue
            rels = _releases(case, self.opts.releases)
            if case.kind != "acrnkit" and rels:
                rels = rels[-1:]  # Kata inputs do not depend on the release
            jobs += [(case, rel) for rel in rels]
        with host_root("acrnkit-impl-") as base:
            pool_ = HostPool(base)
            try:
                mats = {case.id: pool_.get(case.host, tmpdir_names(case.matchers))
                        for case, _ in jobs}
                requests = [{"id": n, "release": rel,
                             "input": substitute(dict(case.input), mats[case.id].values)}
                            for n, (case, rel) in enumerate(jobs)]
                t0 = time.perf_counter()
                results = self._run_implementation(requests)
                elapsed = (time.perf_counter() - t0) / max(1, len(jobs))
                per_case: dict[str, list[Failure]] = {}
                for n, (case, rel) in enumerate(jobs):
                    out = _outcome_from_answer(results.get(n), mats[case.id].values)
                    per_case.setdefault(case.id, []).extend(outcome_failures(
                        case, "implementation", rel, out, ArgvMatcher(case.matchers),
                        exact_error=False))
                for cid, fails in per_case.items():
                    self.outcome.times[(cid, "implementation")] = elapsed
                    self.outcome.record(cid, "implementation", fails)
            finally:
                pool_.close()

    def _run_implementation(self, requests: list[dict[str, Any]]) -> dict[int, Any]:
        cmd = list(self.opts.implementation or ())
        if self.opts.batch:
            lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in requests]
            return _batch(cmd, lines, dict(os.environ))
        out: dict[int, Any] = {}
        for req in requests:
            payload = {"release": req["release"], **req["input"]}
            out[req["id"]] = _run_one(cmd, payload)
        return out


def _show(value: Any) -> str:
    if isinstance(value, Verdict | ExpectedError):
        return json.dumps(value.to_json(), ensure_ascii=False)
    if isinstance(value, dict):
        return json.dumps({k: v.to_json() if hasattr(v, "to_json") else v
                           for k, v in value.items()}, ensure_ascii=False)
    if isinstance(value, tuple) and value and hasattr(value[0], "to_json"):
        return json.dumps([v.to_json() for v in value], ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=list)


def _run_one(cmd: Sequence[str], payload: Mapping[str, Any]) -> Any:
    """One process: the payload on stdin; a JSON value (or a refusal) back."""
    try:
        proc = subprocess.run(list(cmd), input=json.dumps(payload, ensure_ascii=False),
                              capture_output=True, text=True, timeout=IMPLEMENTATION_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"broken": f"could not run {shlex.join(cmd)}: {err}"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip() or f"exit status {proc.returncode}",
                "refused": True}
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as err:
        return {"broken": f"stdout is not JSON ({err}): {proc.stdout[:200]!r}"}


def _outcome_from_answer(answer: Any, values: Mapping[str, str]) -> BuildOutcome:
    """An implementation's answer: a JSON argv list, ``{"argv", "blkrescan", "error"}``."""
    if answer is None:
        return BuildOutcome(None, broken="no answer")
    if isinstance(answer, list):
        answer = {"argv": answer}
    if not isinstance(answer, dict):
        return BuildOutcome(None, broken=f"expected a JSON list or object, got {answer!r}")
    if "broken" in answer:
        return BuildOutcome(None, broken=str(answer["broken"]))
    argv = answer.get("argv")
    if argv is not None and (not isinstance(argv, list)
                             or not all(isinstance(a, str) for a in argv)):
        return BuildOutcome(None, broken=f"argv is not a list of strings: {argv!r}")
    blk = answer.get("blkrescan")
    error = answer.get("error")
    return BuildOutcome(
        tuple(normalize_any(argv, values)) if argv is not None else None,
        ExpectedError("refused", None, str(error)) if error else None,
        tuple(tuple(normalize_any(a, values)) for a in blk) if blk is not None else None)


def _batch(cmd: Sequence[str], lines: Sequence[str], env: Mapping[str, str],
           cwd: str | None = None) -> dict[int, Any]:
    """Run one batch process: write ``lines`` (a writer thread, so pipes never dead-lock) and
    read one JSON answer per line, keyed by its ``id``."""
    try:
        proc = subprocess.Popen(list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                env=dict(env), cwd=cwd)
    except OSError as err:
        raise UsageError(f"cannot start {shlex.join(cmd)}: {err}") from None
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

    def feed(stream: IO[str]) -> None:
        try:
            for line in lines:
                stream.write(line)
        except BrokenPipeError:
            pass
        finally:
            with suppress(BrokenPipeError):
                stream.close()

    err_chunks: list[str] = []
    writer = threading.Thread(target=feed, args=(proc.stdin,), daemon=True)
    stderr = proc.stderr
    reader = threading.Thread(target=lambda: err_chunks.append(stderr.read()), daemon=True)
    writer.start()
    reader.start()
    answers: dict[int, Any] = {}
    for raw in proc.stdout:
        try:
            answer = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(answer, dict) and isinstance(answer.get("id"), int):
            answers[answer["id"]] = answer
    writer.join()
    reader.join()
    status = proc.wait()
    if status != 0 and not answers:
        raise UsageError(f"{shlex.join(cmd)} exited {status}: {''.join(err_chunks).strip()}")
    return answers


# --- the command ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acrnkit conformance",
                                description="Check the golden argv cases.")
    p.add_argument("--case-dir", type=Path, default=DEFAULT_CASE_DIR,
                   help="directory of case files (default: the installed fixtures)")
    p.add_argument("-k", dest="patterns", action="append", default=[], metavar="SUBSTR",
                   help="only cases whose id contains SUBSTR (repeatable)")
    p.add_argument("--tag", dest="tags", action="append", default=[], metavar="TAG",
                   help="only cases with this tag (repeatable)")
    p.add_argument("--release", dest="releases", action="append", default=[], choices=VERSIONS,
                   help="only these releases (repeatable)")
    p.add_argument("--column", dest="columns", action="append", default=[],
                   choices=COLUMNS[:3], help="columns to run (default: builder, parser, fake; "
                   "with --implementation: only the implementation)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--implementation", metavar="CMD",
                   help="external implementation: input JSON on stdin, JSON argv on stdout")
    g.add_argument("--implementation-batch", metavar="CMD",
                   help="external implementation reading and writing JSON lines")
    p.add_argument("--fake-batch", metavar="CMD", default=shlex.join(FAKE_BATCH),
                   help="the fake's batch command (default: %(default)s)")
    p.add_argument("--update", action="store_true",
                   help="rewrite the expected values of failing cases (the run still fails)")
    p.add_argument("--junit-xml", type=Path, metavar="PATH")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary table")
    p.add_argument("--max-diffs", type=int, default=50,
                   help="show at most this many failure diffs (default 50)")
    return p


def parse_options(argv: Sequence[str]) -> Options:
    parser = build_parser()
    try:
        ns = parser.parse_args(list(argv))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        raise _Exit(int(exc.code or 0)) from None
    impl = ns.implementation or ns.implementation_batch
    columns = tuple(ns.columns) or (() if impl else DEFAULT_COLUMNS)
    if impl:
        columns += ("implementation",)
    if ns.update and impl:
        raise UsageError("--update rewrites acrnkit's expectations; it cannot be used with an "
                         "external implementation")
    return Options(
        case_dir=ns.case_dir, patterns=tuple(ns.patterns), tags=tuple(ns.tags),
        releases=tuple(ns.releases), columns=columns,
        implementation=tuple(shlex.split(impl)) if impl else None,
        batch=bool(ns.implementation_batch), fake_cmd=tuple(shlex.split(ns.fake_batch)),
        update=ns.update, junit=ns.junit_xml, list_only=ns.list, quiet=ns.quiet,
        max_diffs=ns.max_diffs)


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def run(opts: Options, out: IO[str]) -> int:
    all_cases = load_cases(opts.case_dir)
    cases = select(all_cases, opts.patterns, opts.tags)
    if opts.releases:
        cases = [c for c in cases if _releases(c, opts.releases)]
        if not cases:
            raise UsageError("no selected case targets the given --release")
    if opts.list_only:
        for case in cases:
            print(f"{case.id}  [{' '.join(case.releases)}]  {' '.join(case.tags)}", file=out)
        return 0
    runner = Run(cases, opts)
    t0 = time.perf_counter()
    for column in opts.columns:
        getattr(runner, column)()
    elapsed = time.perf_counter() - t0
    outcome = runner.outcome
    shown = merge_releases(outcome.failures)
    for failure in shown[:opts.max_diffs]:
        print(failure.text(), file=out)
        print(file=out)
    if len(shown) > opts.max_diffs:
        print(f"... {len(shown) - opts.max_diffs} more failures "
              "(--max-diffs, --junit-xml)", file=out)
    tags_of = {c.id: c.tags for c in cases}
    if not opts.quiet:
        print(summary_table(outcome, tags_of, opts.columns), file=out)
    if opts.junit is not None:
        write_junit(opts.junit, outcome, {c.id: c.topic for c in cases}, opts.columns)
    failed_cases = {f.case_id for f in outcome.failures}
    checks = len(outcome.status)
    print(f"{len(cases)} cases, {checks} checks in {elapsed:.2f}s: "
          f"{checks - sum(1 for v in outcome.status.values() if v == 'fail')} passed, "
          f"{sum(1 for v in outcome.status.values() if v == 'fail')} failed "
          f"({len(failed_cases)} cases)", file=out)
    if opts.update:
        return _write_updates(runner, all_cases, out) or int(outcome.failed)
    return 1 if outcome.failed else 0


def _write_updates(runner: Run, all_cases: Sequence[Case], out: IO[str]) -> int:
    if not runner.changes:
        print("--update: nothing to rewrite", file=out)
        return 0
    by_file: dict[str, list[Case]] = {}
    for case in all_cases:
        by_file.setdefault(case.source, []).append(runner.cases.get(case.id, case))
    original = {c.id: c for c in all_cases}
    touched = {runner.cases[cid].source for cid in runner.order
               if runner.cases[cid] is not original[cid]}
    for source in sorted(touched):
        write_file(Path(source), by_file[source])
    print(f"--update rewrote {len(runner.changes)} expected values in "
          f"{len(touched)} file(s):", file=out)
    for change in runner.changes:
        print(change, file=out)
    print("the run fails because it changed the fixtures; run it again to check them", file=out)
    return 1


def main(argv: list[str]) -> int:
    """``acrnkit conformance ARGS``: see the module docstring."""
    try:
        opts = parse_options(argv)
        return run(opts, sys.stdout)
    except _Exit as exc:
        return exc.code
    except (UsageError, CaseFileError) as err:
        print(f"acrnkit conformance: {err}", file=sys.stderr)
        return 2


# --- the columns as functions (pytest, benchmarks) ----------------------------------------------


def default_options(**over: Any) -> Options:
    base = Options(case_dir=DEFAULT_CASE_DIR, patterns=(), tags=(), releases=(),
                   columns=DEFAULT_COLUMNS, implementation=None, batch=False,
                   fake_cmd=FAKE_BATCH, update=False, junit=None, list_only=False, quiet=True,
                   max_diffs=50)
    return replace(base, **over)


def column_failures(cases: Sequence[Case], column: str, **over: Any) -> list[Failure]:
    """Run one column (``builder``, ``parser`` or ``fake``) over ``cases``; its failures."""
    run_ = Run(cases, default_options(**over))
    getattr(run_, column)()
    return run_.outcome.failures


def builder_failures(case: Case) -> list[Failure]:
    return column_failures([case], "builder")


def parser_failures(case: Case) -> list[Failure]:
    return column_failures([case], "parser")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
