"""Console text clean-up (acrnkit.console.text): escapes, bracketed paste, CRLF, chunking."""

from __future__ import annotations

import pytest

from acrnkit.console.text import AnsiStripper, normalize_newlines, strip_ansi

RAW = (
    "\x1b]0;root@guest: ~\x07\x1b[?2004h\x1b[01;32mroot@guest\x1b[00m:\x1b[01;34m~\x1b[00m# "
    "echo hi\r\n\x1b[?2004l\rhi\r\n[  \x1b[0;32mOK\x1b[0m  ] Started\x07 getty\x1b(B\x1b7.\r\r\n"
    "\x1b[200~pasted\x1b[201~ progress 10%\r20%\r\n\x1bP1$r0m\x1b\\done\x00\r\n"
)
CLEAN = "root@guest:~# echo hi\n\rhi\n[  OK  ] Started getty.\npasted progress 10%\r20%\ndone\n"


def test_strip_ansi_removes_escapes_controls_and_normalises_crlf() -> None:
    assert strip_ansi(RAW) == CLEAN


def test_normalize_newlines_keeps_lone_cr() -> None:
    assert normalize_newlines("a\r\nb\r\r\nc\rd\n") == "a\nb\nc\rd\n"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_stripper_gives_the_same_text_however_the_stream_is_cut(size: int) -> None:
    stripper = AnsiStripper()
    out = "".join(stripper.feed(RAW[i:i + size]) for i in range(0, len(RAW), size))
    assert out + stripper.flush() == CLEAN


def test_stripper_holds_a_trailing_cr_and_an_unfinished_escape() -> None:
    stripper = AnsiStripper()
    assert stripper.feed("login:\r") == "login:"
    assert stripper.feed("\n# \x1b[?20") == "\n# "
    assert stripper.feed("04h$ ") == "$ "
    assert stripper.flush() == ""


def test_stripper_drops_an_endless_unterminated_escape() -> None:
    stripper = AnsiStripper()
    out = stripper.feed("\x1b]" + "x" * 600) + stripper.feed("tail")
    assert out.endswith("tail")
