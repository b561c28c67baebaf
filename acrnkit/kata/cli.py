"""Text-in, text-out helpers behind ``acrnkit build --kata`` and ``--kata-sandbox``.

Both return the text to print (JSON, one line, no trailing newline) and raise
:class:`~acrnkit.errors.ConfigError` (one line, ``str(err)``) on bad input; the CLI prints it and
exits non-zero. Neither touches the filesystem nor starts a process.

``run_build_kata(text)``
    ``text`` is a Go-shaped ``Config`` object (see :mod:`acrnkit.kata.jsonio`) or a list of them.
    Output: the argv without argv[0] as a JSON list of strings, e.g.
    ``["-A", "-m", "2048M", "-s", "0:0,hostbridge", …, "sbx-abc"]``; for a list input, a JSON
    list of such lists, in input order.

``run_build_kata_sandbox(text, hotplug)``
    ``text`` is the sandbox JSON (see :mod:`acrnkit.kata.sandbox`); ``hotplug`` is a list of
    ``(file, drive index)`` pairs (``--hotplug FILE,INDEX``). Output: a JSON object::

        {"program": "/usr/bin/acrn-dm",
         "argv": ["-A", "-m", "2048M", …, "sbx-abc"],
         "blkrescan": [["/usr/bin/acrnctl", "blkrescan", "sbx-abc", "5,/dev/dm-3"], …]}

    ``program`` is acrn-dm's argv[0] (``Config.Path``), ``argv`` excludes it; each ``blkrescan``
    entry is a complete acrnctl argv (argv[0] included), one per ``hotplug`` pair, in order.
    An error in the n-th pair names the field ``hotplug[n].drive.Index`` (or ``.drive.File``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from acrnkit.errors import ConfigError
from acrnkit.kata.config import KataConfig
from acrnkit.kata.jsonio import loads_kata_config
from acrnkit.kata.launch import launch_argv
from acrnkit.kata.sandbox import build_sandbox, loads_sandbox_spec


def _argv_of(config: KataConfig, where: str) -> list[str]:
    try:
        return list(launch_argv(config).argv)
    except ConfigError as err:
        raise ConfigError(f"{where}.{err.field}", err.value, err.reason) from None


def run_build_kata(text: str) -> str:
    """Kata's LaunchAcrn argv for a Config (JSON list) or a list of Configs (list of lists)."""
    parsed = loads_kata_config(text)
    if isinstance(parsed, KataConfig):
        result: object = _argv_of(parsed, "$")
    else:
        result = [_argv_of(config, f"$[{i}]") for i, config in enumerate(parsed)]
    return json.dumps(result, ensure_ascii=False)


def run_build_kata_sandbox(text: str, hotplug: Sequence[tuple[str, int]] = ()) -> str:
    """The sandbox's acrn-dm command and one acrnctl blkrescan argv per hotplug pair."""
    sandbox = build_sandbox(loads_sandbox_spec(text))
    rescans: list[list[str]] = []
    for n, (file, index) in enumerate(hotplug):
        try:
            rescans.append(list(sandbox.blkrescan_argv(file, index)))
        except ConfigError as err:
            raise ConfigError(f"hotplug[{n}].{err.field}", err.value, err.reason) from None
    out = {"program": sandbox.program, "argv": list(sandbox.argv), "blkrescan": rescans}
    return json.dumps(out, ensure_ascii=False)
