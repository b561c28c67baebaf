"""What the two fakes' environment settings share: the error and the boolean reader."""

from __future__ import annotations

#: Exit status for a bad setting (never one of acrn-dm's or acrnctl's own statuses).
EXIT_BAD_SETTING = 2

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class SettingsError(Exception):
    """One bad setting; ``str()`` is the whole one-line message (without the program name)."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"{name}={value!r}: {reason}")


def parse_bool(value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("must be a boolean (1/0, true/false, yes/no, on/off)")
