"""``fake-acrnctl``: a drop-in for the real acrnctl of the chosen ACRN release.

Same command line, messages, output streams and exit statuses as acrnctl of the release named
by ``ACRNKIT_ACRN_VERSION`` (default the newest); it talks to fake (or real) acrn-dm processes
over the manager sockets in ``$ACRNKIT_RUN_DIR/mngr`` (default ``/run/acrn/mngr``) and keeps the
store that the real one keeps in ``/usr/share/acrn/conf/add`` in ``<run_dir>/conf/add``.
See docs/fake-acrnctl.md for the settings and the remaining differences.

``main()``: validate the settings (a bad one: one line on stderr, exit 2), then run acrnctl's
``main()`` and exit with its value cut to 8 bits (``return -1`` is 255). Start-up time matters
(``add`` re-runs the program once per script), so only small modules are imported up front;
the message codec, ``subprocess`` and friends load when a command needs them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .commands import Acrnctl
from .settings import EXIT_BAD_SETTING, SettingsError, load
from .streams import Streams

PROG = "fake-acrnctl"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake acrnctl on ``argv`` (default ``sys.argv``, argv[0] included)."""
    args = list(sys.argv if argv is None else argv)
    streams = Streams()
    try:
        settings = load()
    except SettingsError as err:
        streams.err(f"{PROG}: {err}\n")
        return EXIT_BAD_SETTING
    try:
        status = Acrnctl(settings, args, streams).main()
    except KeyboardInterrupt:
        streams.flush()
        _die_by_sigint()
        return 130  # pragma: no cover - _die_by_sigint does not return
    streams.flush()
    return status & 0xFF


def _die_by_sigint() -> None:
    """End the way acrnctl ends on Ctrl-C: killed by SIGINT (no handler, no traceback)."""
    import signal
    import time

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(1.0)
    os._exit(130)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
