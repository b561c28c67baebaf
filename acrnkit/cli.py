"""``acrnkit``: build, check, parse and demo acrn-dm command lines.

    acrnkit build [--acrn-version V] FILE|-          acrnkit JSON form -> argv (JSON list)
    acrnkit build --kata FILE|-                       Kata Go-shaped Config -> argv, byte-exact
    acrnkit build --kata-sandbox FILE|- [--hotplug FILE,INDEX]...
    acrnkit check [--acrn-version V] [--files] [--json] -- ARGV...
    acrnkit parse [--acrn-version V] -- ARGV...       argv -> acrnkit JSON form
    acrnkit conformance [...]                         golden fixtures (see --help)
    acrnkit bin-dir [--acrn-version V] [--run-dir D] DIR   acrn-dm/acrnctl launchers for fakes
    acrnkit guest build [--out DIR]                   QEMU target guest from Debian packages
    acrnkit demo                                      the README's tour, on the fake acrn-dm

Every user error is one line on stderr and exit status 2 (1 for "invalid argv" from check);
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from acrnkit.errors import AcrnkitError, ConfigError
from acrnkit.releases.versions import DEFAULT_VERSION, VERSIONS


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8") as fh:
            return fh.read()
    except OSError as err:
        raise ConfigError("file", source, err.strerror or str(err)) from None


def _load_json(source: str) -> object:
    text = _read(source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError("json", source, f"line {err.lineno} column {err.colno}: {err.msg}") \
            from None


def _cmd_build(args: argparse.Namespace) -> int:
    if args.kata is not None:
        from acrnkit.kata.cli import run_build_kata

        print(run_build_kata(_read(args.kata)))
        return 0
    if args.kata_sandbox is not None:
        from acrnkit.kata.cli import run_build_kata_sandbox

        hotplug: list[tuple[str, int]] = []
        for item in args.hotplug or []:
            path, comma, index = item.rpartition(",")
            if not comma or not index.lstrip("-").isdigit():
                raise ConfigError("--hotplug", item, "want FILE,INDEX")
            hotplug.append((path, int(index)))
        print(run_build_kata_sandbox(_read(args.kata_sandbox), hotplug))
        return 0
    if args.file is None:
        raise ConfigError("FILE", None, "give a JSON file (or - for stdin), --kata or "
                          "--kata-sandbox")
    from acrnkit.argv.render import render
    from acrnkit.builder import VMBuilder
    from acrnkit.model.jsonform import from_json

    data = _load_json(args.file)
    items = data if isinstance(data, list) else [data]
    outputs = []
    for i, item in enumerate(items):
        try:
            vm = from_json(item, args.acrn_version)
        except ConfigError as err:
            if isinstance(data, list):
                raise ConfigError(f"[{i}].{err.field}", err.value, err.reason) from None
            raise
        if args.strict:
            VMBuilder.from_vm(vm, args.acrn_version).build()
        outputs.append(render(vm, args.acrn_version))
    print(json.dumps(outputs if isinstance(data, list) else outputs[0]))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from acrnkit.argv.check import check
    from acrnkit.argv.host import LocalHost, StaticHost

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    host = LocalHost() if args.files else StaticHost()
    result = check(argv, args.acrn_version, host)
    if args.json:
        print(json.dumps({
            "version": result.release.version, "exit_status": result.exit_status,
            "action": result.action, "message": result.message, "stream": result.stream,
            "diagnostics": [
                {"severity": d.severity, "index": d.index, "field": d.field,
                 "value": d.value if isinstance(d.value, str | int | None) else repr(d.value),
                 "message": d.message, "exit_status": d.exit_status, "crash": d.crash}
                for d in result.diagnostics],
        }, indent=2))
    else:
        for diag in result.diagnostics:
            print(diag)
        if result.exit_status is None:
            print(f"ok: acrn-dm {result.release} would start the guest")
        elif result.action in ("help", "version"):
            print(f"ok: acrn-dm {result.release} prints its {result.action} and exits 0")
        else:
            print(f"invalid: acrn-dm {result.release} exits {result.exit_status}"
                  + (f": {result.message}" if result.message else ""))
    return 0 if result.exit_status in (None, 0) else 1


def _cmd_parse(args: argparse.Namespace) -> int:
    from acrnkit.argv.parse import parse
    from acrnkit.model.jsonform import to_json

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    print(json.dumps(to_json(parse(argv, args.acrn_version)), indent=2))
    return 0


def _cmd_conformance(args: argparse.Namespace, rest: Sequence[str]) -> int:
    try:
        from acrnkit.conformance.runner import main as conformance_main
    except ImportError:
        raise ConfigError("conformance", None, "the conformance runner is not installed") \
            from None
    return int(conformance_main(list(rest)))


def _cmd_bin_dir(args: argparse.Namespace) -> int:
    from acrnkit.launch.bindir import make_bin_dir

    env = {"ACRNKIT_ACRN_VERSION": args.acrn_version}
    if args.run_dir:
        env["ACRNKIT_RUN_DIR"] = args.run_dir
    for name, path in make_bin_dir(args.dir, env).items():
        print(f"{name}\t{path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from acrnkit.demo import run_demo

    return int(run_demo(args.acrn_version))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acrnkit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def version_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--acrn-version", default=DEFAULT_VERSION, choices=VERSIONS,
                       help=f"ACRN release profile (default {DEFAULT_VERSION})")

    p = sub.add_parser("build", help="config -> argv (JSON list)")
    version_arg(p)
    p.add_argument("file", nargs="?", help="acrnkit JSON form, or - for stdin")
    p.add_argument("--kata", metavar="FILE", help="Kata Go-shaped Config JSON (byte-exact)")
    p.add_argument("--kata-sandbox", metavar="FILE", help="Kata sandbox JSON (byte-exact)")
    p.add_argument("--hotplug", action="append", metavar="FILE,INDEX",
                   help="with --kata-sandbox: also print acrnctl blkrescan argv")
    p.add_argument("--no-strict", dest="strict", action="store_false",
                   help="render even what the release would reject")

    p = sub.add_parser("check", help="validate an argv for a release")
    version_arg(p)
    p.add_argument("--files", action="store_true",
                   help="also check the files the argv names, on this machine")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("argv", nargs=argparse.REMAINDER, help="-- then acrn-dm's arguments")

    p = sub.add_parser("parse", help="argv -> acrnkit JSON form")
    version_arg(p)
    p.add_argument("argv", nargs=argparse.REMAINDER)

    p = sub.add_parser("bin-dir", help="write acrn-dm and acrnctl launchers for the fakes")
    version_arg(p)
    p.add_argument("dir", help="directory to write them to (never on PATH by default)")
    p.add_argument("--run-dir", help="default ACRNKIT_RUN_DIR baked into the launchers")

    p = sub.add_parser("conformance", help="check golden fixtures", add_help=False)
    p = sub.add_parser("guest", help="build the QEMU target's guest from Debian packages",
                       add_help=False)
    p = sub.add_parser("demo", help="build, validate, boot and stop a VM on the fake acrn-dm")
    version_arg(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_in[:1] == ["conformance"]:
            return _cmd_conformance(argparse.Namespace(), args_in[1:])
        if args_in[:1] == ["guest"]:
            from acrnkit.guest.cli import main as guest_main

            return int(guest_main(args_in[1:]))
        args = build_parser().parse_args(args_in)
        handler = {"build": _cmd_build, "check": _cmd_check, "parse": _cmd_parse,
                   "demo": _cmd_demo, "bin-dir": _cmd_bin_dir}[args.command]
        return handler(args)
    except AcrnkitError as err:
        print(f"acrnkit: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
