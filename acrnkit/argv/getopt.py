"""GNU ``getopt_long`` semantics over a release's option table.

acrn-dm calls glibc ``getopt_long(argc, argv, optstr, long_options, ...)`` with default settings,
so: non-options are permuted to the end, ``--`` ends the options, long options take ``=value`` or
the next element, unambiguous prefixes of long options are accepted, short options cluster and
take attached arguments. Error texts are glibc's (2.26 and later, as on Debian 12).

``scan()`` yields events in the order acrn-dm's loop would see them, so a caller can act on each
option before the next one is looked at, exactly like the ``switch`` in ``main()``.
"""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass
from acrnkit.releases.profile import Release

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


@dataclass(frozen=True)
class Opt:
    """One option occurrence.

    ``at`` is the argv position (0-based, argv[0] excluded) where the option was written;
    ``value_index`` is where its argument came from (the same element when attached).
    ``spelled`` is the option as written (``-m``, ``--mem``) for messages.
    ``letter`` is the short letter or ``None`` for a long option; ``key`` is the table key, or
    ``""`` for a letter that is in ``optstr`` without a row.
    """

    at: int
    key: str
    spelled: str
    value: str | None
    value_index: int | None
    letter: str | None = None


@dataclass(frozen=True)
class GetoptFailure:
    """getopt printed ``message`` (without the program prefix) to stderr and returned ``'?'``."""

    at: int
    message: str


@dataclass(frozen=True)
class Positional:
    at: int
    value: str


# scan() makes one event per option on the validation hot path: every call passes all fields
# positionally, which the records' __init__ handles fastest.
Event = Opt | GetoptFailure


def scan(argv: Sequence[str], release: Release, positionals: list[Positional]) -> Iterator[Event]:
    """Yield option events in order; non-options are appended to ``positionals``.

    Scanning stops after the first failure, as acrn-dm's ``default: usage(1)`` would.
    """
    i = 0
    n = len(argv)
    while i < n:
        arg = argv[i]
        if arg == "--":
            positionals.extend(Positional(j, argv[j]) for j in range(i + 1, n))
            return
        if not arg.startswith("-") or arg == "-":
            positionals.append(Positional(i, arg))
            i += 1
            continue
        if arg.startswith("--"):
            event, i = _long(argv, i, release)
            yield event
            if isinstance(event, GetoptFailure):
                return
            continue
        # a cluster of short options
        pos = 1
        start = i
        i += 1
        while pos < len(arg):
            letter = arg[pos]
            pos += 1
            spec = release.shorts.get(letter) if letter != ":" else None
            if spec is None:
                yield GetoptFailure(start, f"invalid option -- '{letter}'")
                return
            takes, key = spec
            if not takes:
                yield Opt(start, key, f"-{letter}", None, None, letter)
                continue
            if pos < len(arg):
                yield Opt(start, key, f"-{letter}", arg[pos:], start, letter)
            elif i < n:
                yield Opt(start, key, f"-{letter}", argv[i], i, letter)
                i += 1
            else:
                yield GetoptFailure(start, f"option requires an argument -- '{letter}'")
                return
            break


def _long(argv: Sequence[str], i: int, release: Release) -> tuple[Event, int]:
    body = argv[i][2:]
    name, eq, attached = body.partition("=")
    exact = [o for o in release.longs if o.name == name]
    if exact:
        match = exact[0]
    else:
        candidates = [o for o in release.longs if o.name.startswith(name)]
        if not candidates:
            return GetoptFailure(i, f"unrecognized option '--{body}'"), i + 1
        if len(candidates) > 1:
            listed = " ".join(f"'--{o.name}'" for o in candidates)
            message = f"option '--{body}' is ambiguous; possibilities: {listed}"
            return GetoptFailure(i, message), i + 1
        match = candidates[0]
    spelled = f"--{name}"
    if not match.takes_arg:
        if eq:
            return GetoptFailure(i, f"option '--{match.name}' doesn't allow an argument"), i + 1
        return Opt(i, match.key, spelled, None, None, None), i + 1
    if eq:
        return Opt(i, match.key, spelled, attached, i, None), i + 1
    if i + 1 < len(argv):
        return Opt(i, match.key, spelled, argv[i + 1], i + 1, None), i + 2
    return GetoptFailure(i, f"option '--{match.name}' requires an argument"), i + 1
