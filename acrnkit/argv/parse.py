"""Argv to model: ``parse(argv, release) -> VM``.

Parsing runs the same walk as ``check`` (one implementation of acrn-dm's reading) on a host that
accepts every file, and returns the model. It raises ``ArgvError`` (with the argv index) only
when the argv cannot be represented: a getopt error, an option value or ``-s`` config that does
not parse. An argv that parses but that the release would refuse (a long name, a missing boot
image...) still yields a model; ``check`` reports those.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING
from acrnkit.argv.check import check
from acrnkit.argv.host import StaticHost
from acrnkit.errors import ArgvError
from acrnkit.model.vm import VM
from acrnkit.releases.profile import Release
from acrnkit.releases.versions import DEFAULT_VERSION

if TYPE_CHECKING:
    from collections.abc import Sequence


def parse(argv: Sequence[str], release: Release | str = DEFAULT_VERSION) -> VM:
    result = check(argv, release, StaticHost())
    if result.vm is not None:
        return result.vm
    for diag in result.errors:
        raise ArgvError(diag.index, diag.field, diag.value, diag.message)
    for diag in result.warnings:
        raise ArgvError(diag.index, diag.field, diag.value, diag.message)
    raise ArgvError(None, "argv", list(argv), "cannot be parsed")
