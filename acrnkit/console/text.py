"""Console text clean-up: ANSI escapes, bracketed paste, control characters and line ends.

A serial console is a byte stream meant for a terminal. Before a prompt or a command's output can
be matched it has to lose what only a terminal understands:

* CSI sequences (colours, cursor moves, ``ESC [ ? 2004 h`` / ``l`` bracketed-paste mode switches,
  ``ESC [ 200 ~`` / ``201 ~`` paste brackets), OSC sequences (window titles, ``ESC ] 0 ; … BEL``),
  DCS/APC strings and two-byte escapes (``ESC 7``, ``ESC ( B``);
* other C0 controls (BEL, NUL, backspace...), except tab, newline and carriage return;
* ``\\r\\n`` (and ``\\r\\r\\n``, what a tty with ``ONLCR`` makes of a ``\\r\\n``) becomes
  ``\\n``. A lone ``\\r`` is kept: it is what the program printed.

:func:`strip_ansi` does this for a whole string. :class:`AnsiStripper` does it for a stream
cut into arbitrary chunks: an escape sequence or a ``\\r`` split over two chunks is held back
until the rest arrives, so the result is the same however the stream was cut.
"""

from __future__ import annotations

import re

__all__ = ["AnsiStripper", "normalize_newlines", "strip_ansi"]

_ESCAPE = re.compile(
    r"""
      \x1b\[ [0-?]* [ -/]* [@-~]            # CSI: colours, cursor, ?2004h/l, 200~/201~
    | \x1b\] [^\x07\x1b]* (?:\x07|\x1b\\)   # OSC: window title etc., BEL or ST terminated
    | \x1b [PX^_] [^\x1b]* \x1b\\           # DCS, SOS, PM, APC strings
    | \x1b [ -/]* [0-~]                     # nF / Fp / Fe / Fs escapes: ESC 7, ESC ( B, ESC M
    """,
    re.VERBOSE,
)
# What a chunk may end with while an escape sequence is still incomplete.
_PARTIAL = re.compile(
    r"""
    \x1b (?: \[ [0-?]* [ -/]*
           | \] [^\x07\x1b]* \x1b?
           | [PX^_] [^\x1b]* \x1b?
           | [ -/]*
         )? \Z
    """,
    re.VERBOSE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CRLF = re.compile(r"\r+\n")
#: An unterminated escape longer than this is garbage, not a sequence in flight.
_MAX_HELD = 512


def normalize_newlines(text: str) -> str:
    """``\\r\\n`` and ``\\r\\r\\n`` become ``\\n``; lone ``\\r`` is kept."""
    return _CRLF.sub("\n", text)


def strip_ansi(text: str) -> str:
    """Remove escape sequences and stray control characters, and normalise CRLF to LF."""
    return normalize_newlines(_CONTROL.sub("", _ESCAPE.sub("", text)))


class AnsiStripper:
    """Incremental :func:`strip_ansi` for a stream that arrives in chunks."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str) -> str:
        """Return the clean text that is final so far; hold back an unfinished escape or ``\\r``."""
        text = self._held + chunk
        self._held = ""
        partial = _PARTIAL.search(text)
        if partial is not None and len(text) - partial.start() <= _MAX_HELD:
            self._held = text[partial.start():]
            text = text[: partial.start()]
        cleaned = _CONTROL.sub("", _ESCAPE.sub("", text))
        # A trailing "\r" may be the first half of "\r\n": wait for the next chunk.
        stripped = cleaned.rstrip("\r")
        if len(stripped) != len(cleaned):
            self._held = cleaned[len(stripped):] + self._held
            cleaned = stripped
        return normalize_newlines(cleaned)

    def flush(self) -> str:
        """Return whatever is held back (at end of stream), cleaned as far as possible."""
        text, self._held = self._held, ""
        return normalize_newlines(_CONTROL.sub("", _ESCAPE.sub("", text)))
