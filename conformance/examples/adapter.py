#!/usr/bin/env python3
"""A complete conformance adapter: acrnkit itself, driven as an external implementation.

    acrnkit conformance --implementation "python3 conformance/examples/adapter.py"
    acrnkit conformance --implementation-batch "python3 conformance/examples/adapter.py --batch"

Protocol (docs/conformance.md):

* one-shot: stdin is one JSON object, the case input plus the target release, e.g.
  ``{"release": "3.2", "acrnkit": {...}}``, ``{"release": "3.3", "kata_config": {...}}`` or
  ``{"release": "3.3", "kata_sandbox": {...}, "hotplug": [["/dev/dm-3", 1]]}``; stdout is the
  argv (without argv[0]) as a JSON list, or an object ``{"argv": [...], "blkrescan": [[...]],
  "error": "..."}``. A refusal is a non-zero exit (message on stderr) or ``"error"``.
* ``--batch``: one request per line, ``{"id": N, "release": "3.2", "input": {...}}``; one answer
  per line, the same object as above plus ``"id"``.

A Go runtime writes the same thing around its own builder (see docs/conformance.md).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def build(release: str, inp: dict[str, Any]) -> dict[str, Any]:
    from acrnkit import VMBuilder, from_json, render
    from acrnkit.errors import AcrnkitError

    try:
        if "acrnkit" in inp:
            vm = from_json(inp["acrnkit"], release)
            argv = render(vm, release)
            try:
                VMBuilder.from_vm(vm, release).build()  # what a careful builder refuses
            except AcrnkitError as err:
                return {"argv": argv, "error": str(err)}
            return {"argv": argv}
        if "kata_config" in inp:
            from acrnkit.kata.cli import run_build_kata

            return {"argv": json.loads(run_build_kata(json.dumps(inp["kata_config"])))}
        if "kata_sandbox" in inp:
            from acrnkit.kata.sandbox import build_sandbox, loads_sandbox_spec

            sandbox = build_sandbox(loads_sandbox_spec(json.dumps(inp["kata_sandbox"])))
            out: dict[str, Any] = {"argv": list(sandbox.argv)}
            if "hotplug" in inp:
                out["blkrescan"] = []
                for file, index in inp["hotplug"]:
                    try:
                        out["blkrescan"].append(list(sandbox.blkrescan_argv(file, index)))
                    except AcrnkitError as err:
                        out["error"] = str(err)
                        break
            return out
    except AcrnkitError as err:
        return {"error": str(err)}
    return {"error": f"unsupported input: {sorted(inp)}"}


def main(argv: list[str]) -> int:
    if argv[1:] == ["--batch"]:
        for line in sys.stdin:
            if line.strip():
                req = json.loads(line)
                print(json.dumps({"id": req["id"], **build(req["release"], req["input"])}),
                      flush=True)
        return 0
    request = json.load(sys.stdin)
    release = request.pop("release")
    answer = build(release, request)
    if "error" in answer and "argv" not in answer:
        print(answer["error"], file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
