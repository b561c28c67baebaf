"""``Release``: everything one ACRN release's acrn-dm accepts, assembled from the tables."""

from __future__ import annotations

from acrnkit._records import TYPE_CHECKING, dataclass, field
from acrnkit.releases.emulations import EMULATIONS, FEATURES, EmulSupport
from acrnkit.releases.options import LONG_ORDER, OPTION_ROWS, OPTSTR, OptionRow, Support
from acrnkit.releases.versions import VERSIONS, normalize_version

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class LongOption:
    name: str
    takes_arg: bool
    key: str


@dataclass(frozen=True)
class Release:
    """One release's profile. Obtain it with :func:`get_release`; never build one by hand."""

    version: str
    #: short letter -> (takes_arg, key or None when the letter has no row)
    shorts: Mapping[str, tuple[bool, str]]
    longs: tuple[LongOption, ...]
    support: Mapping[str, Support]
    emulations: Mapping[str, EmulSupport]
    features: frozenset[str]
    #: Longest VM name accepted (``strnlen(name, L) >= L`` fails, so this is L - 1).
    name_max: int
    #: v1.6 has MAX_VMNAME_LEN 128 (prints 128); v2.7+ MAX_VM_NAME_LEN 16 (prints 15).
    name_error: str
    rows: Mapping[str, OptionRow] = field(repr=False, default_factory=dict)

    def has(self, feature: str) -> bool:
        return feature in self.features

    def option(self, key: str) -> Support | None:
        return self.support.get(key)

    def long_for(self, key: str) -> str | None:
        for opt in self.longs:
            if opt.key == key:
                return opt.name
        return None

    def short_for(self, key: str) -> str | None:
        for letter, (_, k) in self.shorts.items():
            if k == key:
                return letter
        return None

    def takes_arg(self, key: str) -> bool:
        return self.rows[key].takes_arg.get(self.version, True)

    def __str__(self) -> str:
        return self.version


# Name limits: devicemodel/core/main.c (v1.6 MAX_VMNAME_LEN=128 in include/dm.h; v2.7+
# MAX_VM_NAME_LEN=16 in hypervisor/include/public/acrn_common.h).
_NAME_RULES: Mapping[str, tuple[int, str]] = {
    "1.6": (127, "vmname size exceed 128"),
}
_NAME_RULE_DEFAULT = (15, "The name of the VM exceeds the maximum length: 15")


def _build(version: str) -> Release:
    rows = {row.key: row for row in OPTION_ROWS}
    by_short = {row.short: row for row in OPTION_ROWS if row.short}
    shorts: dict[str, tuple[bool, str]] = {}
    text = OPTSTR[version]
    i = 0
    while i < len(text):
        letter = text[i]
        takes = i + 1 < len(text) and text[i + 1] == ":"
        row = by_short.get(letter)
        shorts[letter] = (takes, row.key if row else "")
        i += 2 if takes else 1
    longs = tuple(
        LongOption(name, rows[name].takes_arg[version], name) for name in LONG_ORDER[version]
    )
    support = {row.key: row.support[version] for row in OPTION_ROWS if version in row.support}
    features = frozenset(f for f, vs in FEATURES.items() if version in vs)
    name_max, name_error = _NAME_RULES.get(version, _NAME_RULE_DEFAULT)
    return Release(
        version=version, shorts=shorts, longs=longs, support=support,
        emulations=EMULATIONS[version], features=features, name_max=name_max,
        name_error=name_error, rows=rows,
    )


_BY_VERSION: dict[str, Release] = {}
_BY_KEY: dict[str, Release] = {}


def get_release(version: str | Release) -> Release:
    """The profile for ``version`` (``"3.2"``, ``"v3.2"``); raises UnknownReleaseError."""
    if isinstance(version, Release):
        return version
    found = _BY_KEY.get(version)  # the hot path: a key seen before, as spelled
    if found is None:
        canonical = normalize_version(version)
        found = _BY_VERSION.get(canonical)
        if found is None:
            found = _BY_VERSION[canonical] = _build(canonical)
        _BY_KEY[version] = found
    return found


def all_releases() -> tuple[Release, ...]:
    return tuple(get_release(v) for v in VERSIONS)
