"""What acrnkit itself says about a case: the builder's argv or error, the parser's model, the
checker's verdict, and the healthy host the verdict assumes.

The generator uses these functions to compute the committed expectations; the runner uses the
same functions to check them again, so the two can only disagree when acrnkit changed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from acrnkit.conformance.fixture import ExpectedError, HostFile, ParseError, Verdict
from acrnkit.conformance.matchers import normalize, substitute

from acrnkit.argv.check import CheckResult, check
from acrnkit.argv.host import LocalHost
from acrnkit.errors import AcrnkitError, ArgvError, ConfigError

#: acrn-dm's argv[0] in the committed messages (glibc prefixes getopt errors with it).
PROG = "acrn-dm"
#: Size of every regular file of a healthy host, as StaticHost's: 64 KiB, a multiple of 512
#: (virtio-blk) and within every check_image() limit, the smallest being OVMF's 128 KB vars
#: image (v2.7+ sw_load_ovmf.c).
DEFAULT_FILE_SIZE = 64 << 10


# --- verdicts ------------------------------------------------------------------------------------


def verdict_of(result: CheckResult, values: Mapping[str, str] | None = None) -> Verdict:
    """The verdict of one ``check()`` result, tmpdir paths written back as placeholders."""
    fatal = result.fatal
    return verdict_from_fields(result.exit_status, result.message, result.stream, result.action,
                               bool(fatal and fatal.crash), values)


def verdict_from_fields(exit_status: int | None, message: str | None, stream: str | None,
                        action: str, crash: bool,
                        values: Mapping[str, str] | None = None) -> Verdict:
    if exit_status is None:
        return Verdict(True)
    msg = normalize(message, values or {}) if message is not None else None
    return Verdict(False, exit_status, msg, stream,
                   action if action in ("help", "version") else None, crash)


# --- the healthy host ----------------------------------------------------------------------------


@dataclass
class RecordingHost:
    """A healthy host (like ``StaticHost``) that records what the checker asks about."""

    strict: bool = False
    asked: dict[str, str] = field(default_factory=dict)

    def _note(self, path: str, kind: str) -> None:
        self.asked.setdefault(path, kind)

    def size(self, path: str) -> int | None:
        self._note(path, "file")
        return DEFAULT_FILE_SIZE

    def is_regular(self, path: str) -> bool:
        self._note(path, "file")
        return True

    def is_dir(self, path: str) -> bool:
        return False

    def is_tty(self, path: str) -> bool:
        self._note(path, "tty")
        return True

    def is_socket(self, path: str) -> bool:
        self._note(path, "socket")
        return True

    def host_resource(self, path: str) -> bool:
        return True


class Materialized:
    """A host laid out on disk: placeholder values, plus the fds that keep its ttys alive."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self._fds: list[int] = []

    def keep(self, *fds: int) -> None:
        self._fds.extend(fds)

    def close(self) -> None:
        for fd in self._fds:
            with suppress(OSError):
                os.close(fd)
        self._fds.clear()


def tmpdir_names(matchers: Sequence[Any]) -> list[str]:
    return [m.name for m in matchers if m.kind == "tmpdir"]


def materialize(host: Sequence[HostFile], names: Sequence[str], base: str) -> Materialized:
    """Create one directory per tmpdir placeholder under ``base`` and lay ``host`` out in it."""
    values: dict[str, str] = {}
    for name in names:
        values[name] = tempfile.mkdtemp(prefix=name.lower() + "-", dir=base)
    out = Materialized(values)
    for item in host:
        path = substitute(item.path, values)
        assert isinstance(path, str)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if item.kind == "dir":
            os.makedirs(path, exist_ok=True)
        elif item.kind == "file":
            with open(path, "wb") as fh:
                fh.truncate(DEFAULT_FILE_SIZE if item.size is None else item.size)
        elif item.kind == "tty":
            master, slave = os.openpty()
            out.keep(master, slave)
            os.symlink(os.ttyname(slave), path)
        elif item.kind == "socket":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(path)
            finally:
                sock.close()
    return out


class HostPool:
    """Materialized hosts shared by every case with the same ``host`` list and placeholders
    (a verdict depends on nothing else, and nothing writes to them)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._made: dict[tuple[Any, ...], Materialized] = {}

    def get(self, host: Sequence[HostFile], names: Sequence[str]) -> Materialized:
        key = (tuple(host), tuple(names))
        mat = self._made.get(key)
        if mat is None:
            mat = self._made[key] = materialize(host, names, self.base)
        return mat

    def close(self) -> None:
        for mat in self._made.values():
            mat.close()
        self._made.clear()


@contextmanager
def host_root(prefix: str = "acrnkit-conformance-") -> Iterator[str]:
    """A scratch directory for materialized hosts, removed afterwards. Its subdirectory
    ``cwd`` stays empty: acrn-dm runs there, so relative paths in an argv name nothing."""
    base = tempfile.mkdtemp(prefix=prefix)
    os.mkdir(os.path.join(base, "cwd"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def working_directory(path: str) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def check_on_host(argv: Sequence[str], release: str, mat: Materialized) -> Verdict:
    """The verdict acrn-dm ``release`` gives ``argv`` on the laid-out healthy host ``mat``:
    exactly what the fake acrn-dm in check mode computes (``LocalHost`` over those files)."""
    return check_on_host_lines(argv, release, mat)[0]


def check_on_host_lines(argv: Sequence[str], release: str, mat: Materialized) \
        -> tuple[Verdict, list[str]]:
    """:func:`check_on_host` and every line acrn-dm prints (placeholders written back)."""
    real = substitute(list(argv), mat.values)
    result = check(real, release, LocalHost(), prog=PROG)
    lines = [normalize(line.text, mat.values) for line in result.output]
    return verdict_of(result, mat.values), lines


def derive_host(argvs: Mapping[str, Sequence[str]], *, missing: Sequence[str] = (),
                overrides: Sequence[HostFile] = (), keep: Sequence[HostFile] = (),
                root: str = "${ROOT}") -> tuple[HostFile, ...]:
    """The healthy host for these argvs (release -> argv): every path under ``root`` that
    ``check()`` opens, of the kind it wants, except ``missing``; ``overrides`` and ``keep``
    replace the derived entry of their path."""
    asked: dict[str, str] = {}
    for rel, argv in argvs.items():
        host = RecordingHost()
        check(list(argv), rel, host, prog=PROG)
        for path, kind in host.asked.items():
            asked.setdefault(path, kind)
    chosen = {h.path: h for h in (*keep, *overrides)}
    out = []
    for path in sorted(asked):
        if not path.startswith(("/", "${")):
            continue  # relative: acrn-dm (the fake) runs in an empty directory, so it is absent
        if root not in path:
            # Outside the laid-out root the fake would look at this machine's file: a verdict
            # that depends on where the suite runs.
            raise OutsideRootError(path)
        if path in missing:
            continue
        out.append(chosen.get(path, HostFile(path, asked[path])))
    return tuple(out)


class OutsideRootError(ValueError):
    """An argv makes acrn-dm open a path that is not under the case's ``${ROOT}``."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"acrn-dm would open {path!r}, which is not under ${{ROOT}}: its "
                         "verdict would depend on the machine")


# --- the builder ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildOutcome:
    """What an implementation made of one input for one release."""

    argv: tuple[str, ...] | None
    error: ExpectedError | None = None
    blkrescan: tuple[tuple[str, ...], ...] | None = None
    #: set when the implementation itself failed (bad output, crash): a failure of the case
    broken: str | None = None


def error_of(err: BaseException) -> ExpectedError:
    fld = err.field if isinstance(err, ConfigError) else None
    return ExpectedError(type(err).__name__, fld, str(err))


def build_acrnkit(payload: Mapping[str, Any], release: str, *, strict: bool = True) \
        -> tuple[BuildOutcome, Any]:
    """``from_json`` + ``render`` (+ the strict ``VMBuilder`` check); also returns the VM."""
    from acrnkit.argv.render import render
    from acrnkit.builder import VMBuilder
    from acrnkit.model.jsonform import from_json

    try:
        vm = from_json(payload, release)
    except AcrnkitError as err:
        return BuildOutcome(None, error_of(err)), None
    argv = tuple(render(vm, release))
    error = None
    if strict:
        try:
            VMBuilder.from_vm(vm, release).build()
        except AcrnkitError as err:
            error = error_of(err)
    return BuildOutcome(argv, error), vm


def build_kata_config(payload: Any) -> BuildOutcome:
    from acrnkit.kata.cli import run_build_kata

    try:
        argv = json.loads(run_build_kata(json.dumps(payload, ensure_ascii=False)))
    except AcrnkitError as err:
        return BuildOutcome(None, error_of(err))
    return BuildOutcome(tuple(argv))


def build_kata_sandbox(payload: Any, hotplug: Sequence[Sequence[Any]] | None) -> BuildOutcome:
    from acrnkit.kata.sandbox import build_sandbox, loads_sandbox_spec

    try:
        sandbox = build_sandbox(loads_sandbox_spec(json.dumps(payload, ensure_ascii=False)))
    except AcrnkitError as err:
        return BuildOutcome(None, error_of(err))
    argv = tuple(sandbox.argv)
    if hotplug is None:
        return BuildOutcome(argv)
    rescans: list[tuple[str, ...]] = []
    for n, (file, index) in enumerate(hotplug):
        try:
            rescans.append(tuple(sandbox.blkrescan_argv(str(file), int(index))))
        except ConfigError as err:
            return BuildOutcome(argv, ExpectedError(
                type(err).__name__, f"hotplug[{n}].{err.field}",
                f"hotplug[{n}].{err}"), tuple(rescans))
    return BuildOutcome(argv, None, tuple(rescans))


def build_input(inp: Mapping[str, Any], release: str) -> BuildOutcome:
    """acrnkit as an implementation: what it builds from a case input for ``release``."""
    if "acrnkit" in inp:
        return build_acrnkit(inp["acrnkit"], release)[0]
    if "kata_config" in inp:
        return build_kata_config(inp["kata_config"])
    if "kata_sandbox" in inp:
        return build_kata_sandbox(inp["kata_sandbox"], inp.get("hotplug"))
    return BuildOutcome(tuple(inp["argv"]))


# --- the parser ----------------------------------------------------------------------------------


def parse_argv(argv: Sequence[str], release: str) -> tuple[Any, ParseError | None]:
    from acrnkit.argv.parse import parse

    try:
        return parse(argv, release), None
    except ArgvError as err:
        return None, ParseError(err.index, str(err))
