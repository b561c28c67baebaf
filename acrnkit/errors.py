"""The one exception tree of acrnkit.

    AcrnkitError
    ├── ConfigError            bad input to the model or the builder (names field and value)
    │   ├── ArgvError          an argv element that cannot be parsed (carries the index)
    │   └── UnknownReleaseError
    ├── ValidationError        an argv that the chosen acrn-dm release would refuse
    ├── LaunchError            the process could not be started, or died before it was ready
    │   ├── BinaryNotFoundError
    │   └── ReadyTimeoutError
    ├── ManagerError           the acrnctl manager socket: not found, no reply, bad reply
    ├── ConsoleError           console session problems (carries the console tail and log path)
    │   ├── ConsoleTimeoutError   (a layered timeout: boot, login or command)
    │   ├── KernelPanicError
    │   └── UnexpectedRebootError
    ├── PrivilegeError         root, CAP_NET_ADMIN or a device node is missing
    └── NetworkError           namespace, tap or probe failures

Every error renders as one line naming the field and the offending value, so the CLI can print
``str(err)`` and exit without a traceback.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence



class AcrnkitError(Exception):
    """Base of every error raised on purpose by acrnkit."""


class ConfigError(AcrnkitError, ValueError):
    """A value that the model cannot represent or that acrn-dm cannot accept."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")


class ArgvError(ConfigError):
    """An argv element that does not parse; ``index`` is its position in argv (0 = first arg)."""

    def __init__(self, index: int | None, field: str, value: object, reason: str) -> None:
        self.index = index
        super().__init__(field, value, reason)

    def __str__(self) -> str:
        where = f"argv[{self.index}] " if self.index is not None else ""
        return f"{where}{self.field}={self.value!r}: {self.reason}"


class UnknownReleaseError(ConfigError):
    """An ACRN version for which acrnkit has no profile."""


class ValidationError(AcrnkitError):
    """An argv that the selected release of acrn-dm rejects.

    ``diagnostics`` holds every problem found (each with its argv index); ``str()`` is the first
    error, one line.
    """

    def __init__(self, diagnostics: Sequence[object], summary: str) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__(summary)


class LaunchError(AcrnkitError):
    """acrn-dm (real or fake) could not be launched or exited before it was ready."""

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stdout_tail: str = "",
        stderr_tail: str = "",
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout_tail = stdout_tail
        self.stderr_tail = stderr_tail
        super().__init__(message)


class BinaryNotFoundError(LaunchError):
    """The acrn-dm or acrnctl binary is missing or not executable."""


class ReadyTimeoutError(LaunchError):
    """The readiness probe did not succeed in time."""


class ManagerError(AcrnkitError):
    """The manager (acrnctl) socket could not be reached or answered badly."""


class ConsoleError(AcrnkitError):
    """A console session failed; carries the last console lines and the log path."""

    def __init__(
        self, message: str, *, tail: str = "", log_path: str | None = None,
        elapsed: float | None = None,
    ) -> None:
        self.tail = tail
        self.log_path = log_path
        self.elapsed = elapsed
        super().__init__(message)

    def __str__(self) -> str:
        text = self.args[0] if self.args else ""
        if self.log_path:
            text += f" (console log: {self.log_path})"
        return str(text)


class ConsoleTimeoutError(ConsoleError):
    """A boot, login or command timeout expired."""


class KernelPanicError(ConsoleError):
    """The guest printed ``Kernel panic`` or an ``Oops``."""


class UnexpectedRebootError(ConsoleError):
    """The guest started booting again while it was being waited on."""


class PrivilegeError(AcrnkitError):
    """A privilege or device node needed by the operation is missing (tests skip on this)."""


class NetworkError(AcrnkitError):
    """Namespace, tap or probe failure."""
