"""The fake acrn-dm's check mode, batched: one process judges many argvs.

    ACRNKIT_ACRN_VERSION=3.2 python -m acrnkit.fakes.acrn_dm.batch < requests.jsonl

Each input line is a JSON object ``{"id": <any>, "argv": [<arg>, ...], "prog": "acrn-dm"}``
(``argv`` without argv[0]; ``prog`` is argv[0], default ``acrn-dm``; ``id`` is echoed). Each
output line answers one request, in order::

    {"id": ..., "status": 0, "verdict": "check", "exit_status": null, "action": "run",
     "message": null, "stream": null, "crash": false, "output": [["stdout", "..."], ...]}

``status`` is what ``fake-acrn-dm`` in check mode exits with for that argv (0 when acrn-dm would
start the guest), ``verdict`` what it records (``check``, ``reject``, ``help``, ``version``),
``exit_status`` acrn-dm's own exit status (null: it starts the guest), ``message``/``stream`` the
key line of a rejection, ``output`` every line acrn-dm prints, with its stream.

The judgement is the fake's: the same :func:`acrnkit.fakes.acrn_dm.settings.load` (so every
``ACRNKIT_*`` variable means what it means to ``fake-acrn-dm``; a bad one is one line on stderr and
exit 2) and the same call ``main`` makes, ``check(argv, settings.version,
LocalHost(strict=settings.strict_host), prog=argv[0])``. Nothing is started: a batch line never
runs a guest, whatever ``ACRNKIT_DM_MODE`` says. A request line that is not valid JSON gets
``{"id": null, "error": "..."}`` and the batch goes on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from acrnkit.fakes.acrn_dm.settings import EXIT_BAD_SETTING, Settings, SettingsError, load

DEFAULT_PROG = "acrn-dm"


def judge(args: Sequence[str], settings: Settings, prog: str = DEFAULT_PROG) -> dict[str, Any]:
    """What ``fake-acrn-dm`` in check mode does with ``prog args...``, as a JSON-able dict."""
    from acrnkit.argv.check import check
    from acrnkit.argv.host import LocalHost

    result = check(list(args), settings.version, LocalHost(strict=settings.strict_host),
                   prog=prog)
    fatal = result.fatal
    if result.exit_status is not None:
        status, verdict = result.exit_status, result.action
    else:
        status, verdict = 0, "check"
    return {
        "status": status,
        "verdict": verdict,
        "exit_status": result.exit_status,
        "action": result.action,
        "message": result.message,
        "stream": result.stream,
        "crash": bool(fatal and fatal.crash),
        "output": [[line.stream, line.text] for line in result.output],
    }


def answer(line: str, settings: Settings) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except json.JSONDecodeError as err:
        return {"id": None, "error": f"bad request line: {err}"}
    if not isinstance(request, dict):
        return {"id": None, "error": "a request is a JSON object"}
    argv = request.get("argv")
    prog = request.get("prog", DEFAULT_PROG)
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv) \
            or not isinstance(prog, str):
        return {"id": request.get("id"), "error": "argv must be a list of strings"}
    return {"id": request.get("id"), **judge(argv, settings, prog)}


def serve(lines: Iterable[str], settings: Settings) -> Iterator[str]:
    for line in lines:
        if line.strip():
            yield json.dumps(answer(line, settings), ensure_ascii=False)


def main(argv: Sequence[str] | None = None, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        print("usage: python -m acrnkit.fakes.acrn_dm.batch < requests.jsonl "
              "(settings from ACRNKIT_* variables)", file=sys.stderr)
        return 0 if args[0] in ("-h", "--help") else 2
    try:
        settings = load()
    except SettingsError as err:
        print(f"fake-acrn-dm batch: {err}", file=sys.stderr)
        return EXIT_BAD_SETTING
    source = stdin if stdin is not None else sys.stdin
    sink = stdout if stdout is not None else sys.stdout
    for out in serve(source, settings):
        sink.write(out + "\n")
        sink.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
