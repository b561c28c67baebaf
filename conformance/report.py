"""How the conformance runner shows results: aligned argv diffs, the per-tag table, JUnit XML."""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ("builder", "parser", "fake", "implementation")
_SHOW = 60
CONTEXT = 3


@dataclass(frozen=True)
class Failure:
    """One failed check: the case, the column, the release (None: all) and what went wrong."""

    case_id: str
    column: str
    release: str | None
    summary: str
    detail: str = ""

    def text(self) -> str:
        where = f" [{self.release}]" if self.release else ""
        head = f"FAIL {self.column} {self.case_id}{where}: {self.summary}"
        return head + ("\n" + self.detail if self.detail else "")


@dataclass
class Outcome:
    """Every column's result for every selected case."""

    #: (case id, column) -> "pass" | "fail" (absent: the column does not apply)
    status: dict[tuple[str, str], str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    #: (case id, column) -> seconds
    times: dict[tuple[str, str], float] = field(default_factory=dict)

    def record(self, case_id: str, column: str, failures: Sequence[Failure]) -> None:
        key = (case_id, column)
        if failures:
            self.status[key] = "fail"
            self.failures.extend(failures)
        else:
            self.status.setdefault(key, "pass")

    @property
    def failed(self) -> bool:
        return any(v == "fail" for v in self.status.values())


def merge_releases(failures: Sequence[Failure]) -> list[Failure]:
    """One failure per case, column and identical diff: the releases listed together, each
    release's own "acrn-dm <release> on the actual argv" lines kept."""
    out: list[Failure] = []
    index: dict[tuple[str, str, str, str], int] = {}
    for f in failures:
        diff, sep, verdict = f.detail.partition("\n  acrn-dm ")
        key = (f.case_id, f.column, f.summary, diff)
        if f.release is None or key not in index:
            index[key] = len(out)
            out.append(f)
            continue
        prev = out[index[key]]
        release = f"{prev.release} {f.release}"
        detail = prev.detail + (sep + verdict if sep else "")
        out[index[key]] = Failure(prev.case_id, prev.column, release, prev.summary, detail)
    return out


def _cut(text: str) -> str:
    return text if len(text) <= _SHOW else text[:_SHOW - 12] + f"...(+{len(text) - _SHOW + 12})"


def align(expected: Sequence[str], actual: Sequence[str],
          same: Mapping[tuple[int, int], bool] | None = None) -> tuple[list[str], int | None]:
    """Rows showing ``expected`` and ``actual`` element by element (insertions and deletions
    aligned), and the index into ``expected`` of the first difference (None: no difference)."""
    matcher = difflib.SequenceMatcher(None, list(expected), list(actual), autojunk=False)
    rows: list[tuple[str, str, str, str, bool]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                rows.append((str(i1 + k), expected[i1 + k], str(j1 + k), actual[j1 + k], True))
            continue
        span = max(i2 - i1, j2 - j1)
        for k in range(span):
            e = i1 + k < i2
            a = j1 + k < j2
            ok = bool(e and a and same and same.get((i1 + k, j1 + k)))
            rows.append((str(i1 + k) if e else "", expected[i1 + k] if e else "(missing)",
                         str(j1 + k) if a else "", actual[j1 + k] if a else "(missing)", ok))
    first: int | None = None
    width = min(_SHOW, max([len("expected"), *(len(_cut(r[1])) for r in rows)]))
    lines = [f"       {'expected':<{width}}  actual"]
    bad = [i for i, r in enumerate(rows) if not r[4]]
    # Long argvs: keep CONTEXT rows around each difference, elide the equal runs between.
    keep = set(range(len(rows))) if len(rows) <= 30 else {
        i for b in bad for i in range(b - CONTEXT, b + CONTEXT + 1)}
    skipped = 0
    for idx, (ei, ev, ai, av, ok) in enumerate(rows):
        if idx not in keep:
            skipped += 1
            continue
        if skipped:
            lines.append(f"       ... {skipped} equal elements ...")
            skipped = 0
        mark = "  "
        if not ok and first is None:
            first = int(ei) if ei else idx
            mark = "=>"
        elif not ok:
            mark = " !"
        pos = ei or ai
        lines.append(f"  {mark}{pos:>3} {_cut(ev):<{width}}  {_cut(av)}".rstrip())
    if skipped:
        lines.append(f"       ... {skipped} equal elements ...")
    return lines, first


def summary_table(outcome: Outcome, tags_of: Mapping[str, Sequence[str]],
                  columns: Sequence[str]) -> str:
    """Per tag: how many cases, and passed/applicable per column."""
    by_tag: dict[str, list[str]] = {}
    for case_id, tags in tags_of.items():
        for tag in tags:
            by_tag.setdefault(tag, []).append(case_id)
    by_tag["TOTAL"] = list(tags_of)
    width = max([len("tag"), *(len(t) for t in by_tag)])
    head = f"{'tag':<{width}}  {'cases':>5}" + "".join(f"  {c:>14}" for c in columns)
    lines = [head, "-" * len(head)]
    for tag in [*sorted(t for t in by_tag if t != "TOTAL"), "TOTAL"]:
        ids = by_tag[tag]
        row = f"{tag:<{width}}  {len(ids):>5}"
        for col in columns:
            states = [outcome.status.get((i, col)) for i in ids]
            applicable = [s for s in states if s is not None]
            if not applicable:
                row += f"  {'n/a':>14}"
                continue
            passed = sum(1 for s in applicable if s == "pass")
            cell = f"{passed}/{len(applicable)}" + (" FAIL" if passed != len(applicable) else "")
            row += f"  {cell:>14}"
        lines.append(row)
    return "\n".join(lines)


def write_junit(path: Path, outcome: Outcome, topics: Mapping[str, str],
                columns: Sequence[str]) -> None:
    """One ``testsuite`` per column, one ``testcase`` per case (classname: column.topic)."""
    root = ET.Element("testsuites", name="acrnkit-conformance")
    failures_by_key: dict[tuple[str, str], list[Failure]] = {}
    for f in outcome.failures:
        failures_by_key.setdefault((f.case_id, f.column), []).append(f)
    total_tests = total_fail = 0
    for col in columns:
        keys = [k for k in outcome.status if k[1] == col]
        failed = sum(1 for k in keys if outcome.status[k] == "fail")
        suite = ET.SubElement(root, "testsuite", name=f"conformance.{col}", tests=str(len(keys)),
                              failures=str(failed), errors="0", skipped="0")
        total_tests += len(keys)
        total_fail += failed
        for case_id, _ in keys:
            tc = ET.SubElement(suite, "testcase", classname=f"conformance.{col}."
                               f"{topics.get(case_id, 'cases')}", name=case_id,
                               time=f"{outcome.times.get((case_id, col), 0.0):.6f}")
            if outcome.status[(case_id, col)] == "fail":
                fails = failures_by_key.get((case_id, col), [])
                el = ET.SubElement(tc, "failure", message=fails[0].summary if fails else "failed")
                el.text = "\n\n".join(f.text() for f in fails)
    root.set("tests", str(total_tests))
    root.set("failures", str(total_fail))
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
