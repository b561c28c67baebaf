"""Conformance case files: the case model, a strict loader and the deterministic writer.

Layout: ``conformance/cases/<topic>.json``, each file a JSON list of cases (``schema.json``
describes one case). The loader rejects what the schema rejects, without needing a JSON-schema
library: an unknown or misspelt field fails the run instead of being ignored, as syrupy fails on
unused snapshots.

Placeholders: a string may contain ``${NAME}`` where the case declares a matcher ``NAME``
(see :mod:`acrnkit.conformance.matchers`). ``${ROOT}`` is the usual one: the healthy host's files
live under a directory the runner creates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: Where the committed cases live (installed as package data).
DEFAULT_CASE_DIR = Path(__file__).resolve().parent / "cases"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"

INPUT_KINDS = ("acrnkit", "kata_config", "kata_sandbox", "argv")
HOST_KINDS = ("file", "tty", "socket", "dir")
MATCHER_KINDS = ("tmpdir", "mac", "regex")
ID_RE = re.compile(r"[A-Za-z0-9_.:+/-]+")
TAG_RE = re.compile(r"[a-z0-9][a-z0-9_.:+-]*")
PLACEHOLDER_RE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

_CASE_FIELDS = ("id", "description", "tags", "releases", "input", "host", "matchers",
                "expected_argv", "expected_error", "expected_blkrescan", "parse_errors",
                "verdicts")
_REQUIRED = ("id", "description", "tags", "releases", "input", "expected_argv", "verdicts")


class CaseFileError(Exception):
    """A case file that does not follow the schema; ``str()`` names file, case and field."""


@dataclass(frozen=True)
class HostFile:
    """One thing the healthy host has: ``file`` (``size`` bytes), ``tty``, ``socket`` or ``dir``."""

    path: str
    kind: str = "file"
    size: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind}
        if self.size is not None:
            out["size"] = self.size
        return out


@dataclass(frozen=True)
class Matcher:
    """A declared volatile value: ``${name}`` in the case stands for it."""

    name: str
    kind: str
    pattern: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.pattern is not None:
            out["pattern"] = self.pattern
        return out


@dataclass(frozen=True)
class Verdict:
    """What acrn-dm does with an argv: starts the guest (``accepted``) or exits."""

    accepted: bool
    exit_status: int | None = None
    message: str | None = None
    stream: str | None = None
    action: str | None = None  # "help" / "version" when acrn-dm prints that and exits 0
    crash: bool = False  # the real acrn-dm crashes or hangs here; acrnkit reports exit 1

    def to_json(self) -> dict[str, Any]:
        if self.accepted:
            return {"accepted": True}
        out: dict[str, Any] = {"accepted": False, "exit_status": self.exit_status,
                               "message": self.message, "stream": self.stream}
        if self.action is not None:
            out["action"] = self.action
        if self.crash:
            out["crash"] = True
        return out

    def describe(self) -> str:
        if self.accepted:
            return "accepted (acrn-dm starts the guest)"
        what = f"{self.action} (exit 0)" if self.action else f"rejected, exit {self.exit_status}"
        if self.crash:
            what += " (the real acrn-dm crashes or hangs here)"
        if self.message is not None:
            what += f": {self.message} [{self.stream}]"
        return what


@dataclass(frozen=True)
class ExpectedError:
    """What a careful builder refuses: the error class, the field it names and its reason."""

    kind: str  # "ConfigError" | "ValidationError" | "ArgvError"
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class ParseError:
    index: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "message": self.message}


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    tags: tuple[str, ...]
    releases: tuple[str, ...]
    input: Mapping[str, Any]
    expected_argv: tuple[str, ...] | None
    verdicts: Mapping[str, Verdict]
    host: tuple[HostFile, ...] = ()
    matchers: tuple[Matcher, ...] = ()
    expected_error: ExpectedError | None = None
    expected_blkrescan: tuple[tuple[str, ...], ...] | None = None
    parse_errors: Mapping[str, ParseError] = field(default_factory=dict)
    #: the file the case came from (not part of the JSON)
    source: str = field(default="", compare=False)

    @property
    def kind(self) -> str:
        return next(k for k in INPUT_KINDS if k in self.input)

    @property
    def topic(self) -> str:
        return self.id.split("/", 1)[0]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "description": self.description,
            "tags": list(self.tags),
            "releases": list(self.releases),
            "input": self.input,
        }
        if self.host:
            out["host"] = [h.to_json() for h in self.host]
        if self.matchers:
            out["matchers"] = [m.to_json() for m in self.matchers]
        out["expected_argv"] = None if self.expected_argv is None else list(self.expected_argv)
        if self.expected_error is not None:
            out["expected_error"] = self.expected_error.to_json()
        if self.expected_blkrescan is not None:
            out["expected_blkrescan"] = [list(a) for a in self.expected_blkrescan]
        if self.parse_errors:
            out["parse_errors"] = {r: e.to_json() for r, e in self.parse_errors.items()}
        out["verdicts"] = {r: v.to_json() for r, v in self.verdicts.items()}
        return out

    def with_updates(self, **changes: Any) -> Case:
        return replace(self, **changes)


# --- loading -------------------------------------------------------------------------------------


def _fail(where: str, message: str) -> CaseFileError:
    return CaseFileError(f"{where}: {message}")


def _fields(obj: object, where: str, allowed: Iterable[str], required: Iterable[str] = ()) \
        -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise _fail(where, f"expected an object, got {type(obj).__name__}")
    allowed = tuple(allowed)
    for key in obj:
        if key not in allowed:
            raise _fail(where, f"unknown field {key!r} (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in obj:
            raise _fail(where, f"missing field {key!r}")
    return obj


def _str(value: object, where: str, *, null: bool = False) -> str | None:
    if value is None and null:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"expected a string, got {json.dumps(value)}")
    return value


def _int(value: object, where: str, *, null: bool = False) -> int | None:
    if value is None and null:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"expected an integer, got {json.dumps(value)}")
    return value


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(where, "expected a list of strings")
    return tuple(str(_str(v, f"{where}[{i}]")) for i, v in enumerate(value))


def _verdict(obj: object, where: str) -> Verdict:
    data = _fields(obj, where, ("accepted", "exit_status", "message", "stream", "action",
                                "crash"), ("accepted",))
    accepted = data["accepted"]
    if not isinstance(accepted, bool):
        raise _fail(f"{where}.accepted", "expected true or false")
    if accepted:
        if len(data) != 1:
            raise _fail(where, "an accepted verdict has no other field")
        return Verdict(True)
    for key in ("exit_status", "message", "stream"):
        if key not in data:
            raise _fail(where, f"a rejection needs {key!r} (null when acrn-dm prints none)")
    stream = _str(data["stream"], f"{where}.stream", null=True)
    if stream not in (None, "stdout", "stderr"):
        raise _fail(f"{where}.stream", "must be stdout, stderr or null")
    action = _str(data.get("action"), f"{where}.action", null=True)
    if action not in (None, "help", "version"):
        raise _fail(f"{where}.action", "must be help or version")
    crash = data.get("crash", False)
    if not isinstance(crash, bool):
        raise _fail(f"{where}.crash", "expected true or false")
    return Verdict(False, _int(data["exit_status"], f"{where}.exit_status", null=True),
                   _str(data["message"], f"{where}.message", null=True), stream, action, crash)


def case_from_json(obj: object, where: str, source: str = "") -> Case:
    data = _fields(obj, where, _CASE_FIELDS, _REQUIRED)
    case_id = str(_str(data["id"], f"{where}.id"))
    where = f"{where} ({case_id})"
    if not ID_RE.fullmatch(case_id):
        raise _fail(f"{where}.id", "ids use only letters, digits and _ . : + / -")
    tags = _str_list(data["tags"], f"{where}.tags")
    for tag in tags:
        if not TAG_RE.fullmatch(tag):
            raise _fail(f"{where}.tags", f"bad tag {tag!r} (lower case, digits, _ . : + -)")
    releases = _str_list(data["releases"], f"{where}.releases")
    if not releases:
        raise _fail(f"{where}.releases", "needs at least one release")
    from acrnkit.releases.versions import VERSIONS

    for rel in releases:
        if rel not in VERSIONS:
            raise _fail(f"{where}.releases", f"unknown release {rel!r}")
    inp = data["input"]
    kinds = [k for k in INPUT_KINDS if isinstance(inp, dict) and k in inp]
    extra = ("hotplug",) if kinds == ["kata_sandbox"] else ()
    _fields(inp, f"{where}.input", (*INPUT_KINDS, *extra))
    if len(kinds) != 1:
        raise _fail(f"{where}.input", f"needs exactly one of {', '.join(INPUT_KINDS)}")
    if kinds[0] == "argv":
        _str_list(inp["argv"], f"{where}.input.argv")
    elif not isinstance(inp[kinds[0]], dict | list):
        raise _fail(f"{where}.input.{kinds[0]}", "expected a JSON object")
    if "hotplug" in inp:
        hp = inp["hotplug"]
        if not isinstance(hp, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                and isinstance(p[1], int) for p in hp):
            raise _fail(f"{where}.input.hotplug", "expected a list of [file, index] pairs")
    host = []
    for i, item in enumerate(data.get("host", [])):
        h = _fields(item, f"{where}.host[{i}]", ("path", "kind", "size"), ("path", "kind"))
        kind = _str(h["kind"], f"{where}.host[{i}].kind")
        if kind not in HOST_KINDS:
            raise _fail(f"{where}.host[{i}].kind", f"must be one of {', '.join(HOST_KINDS)}")
        host.append(HostFile(str(_str(h["path"], f"{where}.host[{i}].path")), str(kind),
                             _int(h.get("size"), f"{where}.host[{i}].size", null=True)))
    matchers = []
    for i, item in enumerate(data.get("matchers", [])):
        m = _fields(item, f"{where}.matchers[{i}]", ("name", "kind", "pattern"),
                    ("name", "kind"))
        kind = _str(m["kind"], f"{where}.matchers[{i}].kind")
        if kind not in MATCHER_KINDS:
            raise _fail(f"{where}.matchers[{i}].kind",
                        f"must be one of {', '.join(MATCHER_KINDS)}")
        pattern = _str(m.get("pattern"), f"{where}.matchers[{i}].pattern", null=True)
        if (kind == "regex") != (pattern is not None):
            raise _fail(f"{where}.matchers[{i}]", "a regex matcher (only) has a pattern")
        name = str(_str(m["name"], f"{where}.matchers[{i}].name"))
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise _fail(f"{where}.matchers[{i}].name", "upper case letters, digits and _")
        matchers.append(Matcher(name, str(kind), pattern))
    declared = {m.name for m in matchers}
    for name in sorted(set(PLACEHOLDER_RE.findall(json.dumps(data, ensure_ascii=False)))):
        if name not in declared:
            raise _fail(where, f"${{{name}}} is used but no matcher declares it")
    raw_argv = data["expected_argv"]
    expected_argv = None if raw_argv is None else _str_list(raw_argv, f"{where}.expected_argv")
    expected_error = None
    if "expected_error" in data:
        e = _fields(data["expected_error"], f"{where}.expected_error",
                    ("kind", "field", "message"), ("kind", "field", "message"))
        expected_error = ExpectedError(str(_str(e["kind"], f"{where}.expected_error.kind")),
                                       _str(e["field"], f"{where}.expected_error.field",
                                            null=True),
                                       str(_str(e["message"], f"{where}.expected_error.message")))
    if expected_argv is None and expected_error is None:
        raise _fail(where, "expected_argv may be null only with an expected_error")
    blk = None
    if "expected_blkrescan" in data:
        raw = data["expected_blkrescan"]
        if not isinstance(raw, list):
            raise _fail(f"{where}.expected_blkrescan", "expected a list of argv lists")
        blk = tuple(_str_list(a, f"{where}.expected_blkrescan[{i}]") for i, a in enumerate(raw))
    parse_errors: dict[str, ParseError] = {}
    raw_pe = data.get("parse_errors", {})
    for rel, item in _fields(raw_pe, f"{where}.parse_errors", releases).items():
        p = _fields(item, f"{where}.parse_errors.{rel}", ("index", "message"),
                    ("index", "message"))
        parse_errors[rel] = ParseError(_int(p["index"], f"{where}.parse_errors.{rel}.index",
                                            null=True),
                                       str(_str(p["message"],
                                                f"{where}.parse_errors.{rel}.message")))
    verdicts: dict[str, Verdict] = {}
    raw_v = _fields(data["verdicts"], f"{where}.verdicts", releases)
    if expected_argv is not None and tuple(raw_v) != releases:
        raise _fail(f"{where}.verdicts", "needs one verdict per release, in release order")
    if expected_argv is None and raw_v:
        raise _fail(f"{where}.verdicts", "a case without an argv has no verdicts")
    for rel, item in raw_v.items():
        verdicts[rel] = _verdict(item, f"{where}.verdicts.{rel}")
    return Case(
        id=case_id, description=str(_str(data["description"], f"{where}.description")),
        tags=tags, releases=releases, input=inp, expected_argv=expected_argv,
        verdicts=verdicts, host=tuple(host), matchers=tuple(matchers),
        expected_error=expected_error, expected_blkrescan=blk, parse_errors=parse_errors,
        source=source)


def case_files(case_dir: Path) -> list[Path]:
    return sorted(p for p in case_dir.glob("*.json") if p.is_file())


def load_file(path: Path) -> list[Case]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CaseFileError(f"{path}: {err}") from None
    if not isinstance(doc, list):
        raise CaseFileError(f"{path}: a case file is a JSON list of cases")
    return [case_from_json(item, f"{path.name}[{i}]", str(path)) for i, item in enumerate(doc)]


def load_cases(case_dir: Path = DEFAULT_CASE_DIR) -> list[Case]:
    """Every case under ``case_dir``, in file and then list order; ids must be unique."""
    files = case_files(case_dir)
    if not files:
        raise CaseFileError(f"{case_dir}: no case files (*.json)")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in files:
        for case in load_file(path):
            if case.id in seen:
                raise CaseFileError(f"{path.name}: duplicate id {case.id!r} "
                                    f"(also in {Path(seen[case.id]).name})")
            seen[case.id] = case.source
            cases.append(case)
    return cases


# --- writing -------------------------------------------------------------------------------------

WIDTH = 100
_ARGV_KEYS = ("argv", "expected_argv")


def _takes_arg(option: str) -> bool:
    """Whether ``option`` (one argv element) takes the next element as its value in some release
    (used only to lay out argv lists: an option and its value share a line)."""
    from acrnkit.releases.options import OPTION_ROWS

    if option.startswith("--") and "=" not in option:
        name = option[2:]
        return any(row.long == name and any(row.takes_arg.values()) for row in OPTION_ROWS)
    if len(option) == 2 and option[0] == "-" and option[1] != "-":
        return any(row.short == option[1] and any(row.takes_arg.values())
                   for row in OPTION_ROWS)
    return False


def argv_lines(argv: Sequence[str]) -> list[list[str]]:
    """Group argv into display lines: an option and its value together, everything else alone."""
    lines: list[list[str]] = []
    i = 0
    while i < len(argv):
        item = argv[i]
        if _takes_arg(item) and i + 1 < len(argv) and not (
                item == "--ssram" and argv[i + 1].startswith("-")):
            lines.append([item, argv[i + 1]])
            i += 2
        else:
            lines.append([item])
            i += 1
    return lines


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write(value: object, indent: int, key: str | None, room: int) -> str:
    pad = " " * indent
    inner = " " * (indent + 2)
    if key in _ARGV_KEYS and isinstance(value, list) and value:
        rows = argv_lines([str(v) for v in value])
        body = ",\n".join(inner + ", ".join(_dump(x) for x in row) for row in rows)
        return "[\n" + body + "\n" + pad + "]"
    compact = _dump(value)
    if not isinstance(value, dict | list) or len(compact) <= room:
        return compact
    if isinstance(value, list):
        items = [inner + _write(v, indent + 2, None, WIDTH - indent - 3) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    parts = []
    for k, v in value.items():
        head = f"{inner}{_dump(k)}: "
        parts.append(head + _write(v, indent + 2, k, WIDTH - len(head) - 1))
    return "{\n" + ",\n".join(parts) + "\n" + pad + "}"


def dumps_cases(cases: Iterable[Case]) -> str:
    """The canonical text of a case file: deterministic, one argv option per line."""
    items = [_write(c.to_json(), 2, None, 0) for c in cases]
    return "[\n" + ",\n".join("  " + item for item in items) + "\n]\n"


def write_file(path: Path, cases: Iterable[Case]) -> None:
    path.write_text(dumps_cases(cases), encoding="utf-8")


def iter_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from iter_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_strings(v)
