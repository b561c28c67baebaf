"""``python -m acrnkit.fakes.acrn_dm.qemu [acrn-dm argv...]``: an acrn-dm that runs QEMU.

The same steps as ``fake-acrn-dm`` with ``ACRNKIT_DM_BACKEND=qemu``, without the fake's own
settings loader: validate with ``check`` on this host (acrn-dm's messages and exit status on a
rejection), then :func:`run_qemu`. Reads ``ACRNKIT_ACRN_VERSION``, ``ACRNKIT_RUN_DIR`` and the
QEMU variables of :mod:`.settings`; a bad one is one line on stderr and exit 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from acrnkit.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    prog = "acrn-dm" if len(args) < 1 else args[0]
    from .settings import QemuSettings

    try:
        settings = QemuSettings.from_env()
    except ConfigError as err:
        print(f"{os.path.basename(prog)}: {err}", file=sys.stderr)
        return 2
    from acrnkit.argv.check import check
    from acrnkit.argv.host import LocalHost

    result = check(args[1:], settings.version, LocalHost(), prog=prog)
    for line in result.output:
        stream = sys.stdout if line.stream == "stdout" else sys.stderr
        stream.write(line.text + line.end)
        stream.flush()
    if result.exit_status is not None:
        return result.exit_status
    from .backend import exit_with, run_qemu

    return exit_with(run_qemu(result.vm, settings.version, settings, args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(["acrn-dm", *sys.argv[1:]]))
