"""``acrnkit guest``: build and inspect the QEMU target's guest image.

    acrnkit guest build [--out DIR] [--kernel-package PKG] [--no-install] [--force]
    acrnkit guest info  [--out DIR] [--json]

``main(argv)`` takes the arguments after ``guest``. Errors are one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from acrnkit.errors import AcrnkitError
from acrnkit.guest.build import build_guest
from acrnkit.guest.image import GUEST_DIR_ENV, GuestImage, default_guest_dir, load_guest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acrnkit guest", description="The real Linux guest of the QEMU target.")
    sub = parser.add_subparsers(dest="command", required=True)
    out_help = f"image directory (default: ${GUEST_DIR_ENV} or ~/.cache/acrnkit/guest)"
    build = sub.add_parser("build", help="build the guest from Debian packages (cached)")
    build.add_argument("--out", metavar="DIR", help=out_help)
    build.add_argument("--kernel-package", metavar="PKG",
                       help="linux-image-<version>-amd64 (default: what linux-image-amd64 "
                            "depends on)")
    build.add_argument("--no-install", action="store_true",
                       help="never apt-get install missing host tools (qemu-system-x86)")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.add_argument("--json", action="store_true", help="print the manifest as JSON last")
    info = sub.add_parser("info", help="show the built image")
    info.add_argument("--out", metavar="DIR", help=out_help)
    info.add_argument("--json", action="store_true", help="the manifest as JSON")
    return parser


def _show(image: GuestImage, as_json: bool) -> None:
    if as_json:
        data = image.to_json()
        data["directory"] = str(image.directory)
        print(json.dumps(data, indent=2))
        return
    print(f"directory: {image.directory}")
    print(f"kernel:    {image.kernel}")
    print(f"initrd:    {image.initrd}")
    print(f"bzImage:   {image.bzimage}")
    print(f"release:   {image.kernel_release} ({image.kernel_package} {image.kernel_version})")
    print(f"busybox:   {image.busybox_version}")
    print(f"modules:   {' '.join(image.modules)}")
    print(f"stamp:     {image.stamp}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        if args.command == "build":
            image = build_guest(args.out, kernel_package=args.kernel_package,
                                install=not args.no_install, force=args.force)
            if args.json:
                _show(image, True)
            return 0
        image = load_guest(args.out if args.out else default_guest_dir())
        _show(image, args.json)
        return 0
    except AcrnkitError as err:
        print(f"acrnkit guest: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
