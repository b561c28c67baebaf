"""acrnkit._records against the standard library: the same declarations, decorated both ways,
must behave the same (construction, errors, equality, hashing, ordering, repr, frozen-ness,
``replace``) and the records must satisfy code written for :mod:`dataclasses`."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acrnkit import _records

Decorator = Callable[..., Any]
BOTH = pytest.mark.parametrize("impl", ["stdlib", "records"])


def kit(impl: str) -> tuple[Decorator, Callable[..., Any]]:
    if impl == "stdlib":
        return dataclasses.dataclass, dataclasses.field
    return _records.dataclass, _records.field


def declare(impl: str) -> dict[str, type[Any]]:
    """A family of classes using every feature acrnkit's records rely on."""
    dataclass, field = kit(impl)

    @dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        label: str = field(default="", compare=False)
        tags: tuple[str, ...] = ()
        KIND: ClassVar[str] = "point"

    @dataclass(frozen=True, order=True)
    class Version:
        major: int
        minor: int = 0
        note: str = field(default="", compare=False, repr=False)

    @dataclass
    class Bag:
        name: str
        items: list[int] = field(default_factory=list)
        meta: dict[str, int] = field(default_factory=dict)

        def __post_init__(self) -> None:
            self.items.append(len(self.name))

    @dataclass(frozen=True)
    class Derived(Point):
        z: int = 0
        y: int = 7  # an override keeps the base field's place

    @dataclass(frozen=True)
    class Computed:
        a: int
        b: int = field(default=0, hash=False)
        total: int = field(init=False, repr=False, compare=False, default=0)

        def __post_init__(self) -> None:
            object.__setattr__(self, "total", self.a + self.b)

    @dataclass(frozen=True, eq=False)
    class Identity:
        value: int

    @dataclass(unsafe_hash=True)
    class Hashable:
        value: int

    return {"Point": Point, "Version": Version, "Bag": Bag, "Derived": Derived,
            "Computed": Computed, "Identity": Identity, "Hashable": Hashable}


def outcome(make: Callable[[], Any]) -> tuple[str, Any]:
    """What a call did: its value's repr, or its exception type and message."""
    try:
        return ("value", repr(make()))
    except Exception as err:  # the exception itself is what is compared
        return (type(err).__name__, str(err))


def both() -> tuple[dict[str, type[Any]], dict[str, type[Any]]]:
    return declare("stdlib"), declare("records")


def test_runtime_is_not_the_stdlib_module() -> None:
    # The point of the module: the run-time decorator is acrnkit's own, not dataclasses'.
    assert _records.dataclass is not dataclasses.dataclass
    assert _records.field is not dataclasses.field


CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Point", (1,), {}), ("Point", (1, 2), {}), ("Point", (), {"x": 1, "label": "a"}),
    ("Point", (1, 2, "l", ("t",)), {}), ("Point", (), {}), ("Point", (1,), {"x": 2}),
    ("Point", (1,), {"nope": 1}), ("Point", (1, 2, "l", (), 5), {}),
    ("Version", (3, 2), {}), ("Version", (3,), {"note": "n"}),
    ("Bag", ("abc",), {}), ("Bag", (), {"name": "x", "items": [9]}), ("Bag", (), {}),
    ("Derived", (1, 2, "", (), 3), {}), ("Derived", (), {"x": 1, "z": 5}), ("Derived", (1,), {}),
    ("Computed", (2, 3), {}), ("Computed", (2,), {"total": 1}),
    ("Identity", (1,), {}), ("Hashable", (4,), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS)
def test_construction_and_repr_match(name: str, args: tuple[Any, ...],
                                     kwargs: dict[str, Any]) -> None:
    std, ours = both()
    expected = outcome(lambda: std[name](*args, **copy.deepcopy(kwargs)))
    got = outcome(lambda: ours[name](*args, **copy.deepcopy(kwargs)))
    if expected[0] == "value":
        assert got == expected
    else:  # same exception type; the message names the same argument
        assert got[0] == expected[0]
        assert any(word in got[1] for word in ("nope", "x", "positional", "missing")), got


@given(st.integers(-3, 3), st.integers(-3, 3), st.text(max_size=2), st.integers(-3, 3),
       st.integers(-3, 3), st.text(max_size=2))
def test_eq_hash_order_match(x1: int, y1: int, l1: str, x2: int, y2: int, l2: str) -> None:
    std, ours = both()
    for impl in (std, ours):
        a, b = impl["Point"](x1, y1, l1), impl["Point"](x2, y2, l2)
        assert (a == b) == ((x1, y1) == (x2, y2))  # label is compare=False
        if a == b:
            assert hash(a) == hash(b)
        v, w = impl["Version"](x1, y1, l1), impl["Version"](x2, y2, l2)
        assert (v < w, v <= w, v > w, v >= w) == ((x1, y1) < (x2, y2), (x1, y1) <= (x2, y2),
                                                  (x1, y1) > (x2, y2), (x1, y1) >= (x2, y2))
    assert hash(std["Point"](x1, y1)) == hash(ours["Point"](x1, y1))  # both hash (x, y, tags)


def test_hash_rules_match() -> None:
    std, ours = both()
    for impl in (std, ours):
        assert impl["Bag"].__hash__ is None  # eq without frozen: unhashable
        ident = impl["Identity"](1)
        assert ident != impl["Identity"](1) and hash(ident) == object.__hash__(ident)
        assert hash(impl["Hashable"](4)) == hash(impl["Hashable"](4))
        computed = impl["Computed"](2, 3)
        assert computed.total == 5 and computed == impl["Computed"](2, 3)
        assert computed != impl["Computed"](2, 4)  # but b still compares
    for impl in (std, ours):  # b is hash=False: it does not enter the hash
        assert hash(impl["Computed"](2, 3)) == hash(impl["Computed"](2, 99))


@BOTH
def test_frozen_assignment_raises_the_stdlib_error(impl: str) -> None:
    classes = declare(impl)
    p = classes["Point"](1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.y  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.other = 1  # type: ignore[attr-defined]
    bag = classes["Bag"]("n")
    bag.name = "m"  # not frozen
    assert bag.name == "m"


@BOTH
def test_factories_are_fresh_and_post_init_runs(impl: str) -> None:
    bag = declare(impl)["Bag"]
    one, two = bag("ab"), bag("abc")
    assert one.items == [2] and two.items == [3] and one.items is not two.items
    assert one.meta == {} and one.meta is not two.meta


def test_stdlib_functions_accept_records() -> None:
    std, ours = both()
    for name in ("Point", "Derived", "Computed", "Bag"):
        assert dataclasses.is_dataclass(ours[name])
        want = [(f.name, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(std[name])]
        got = [(f.name, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(ours[name])]
        assert got == want
        assert [f.name for f in _records.fields(ours[name])] == [w[0] for w in want]
    point = ours["Derived"](1, 2, "l", ("t",), 3)
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "label": "l", "tags": ("t",), "z": 3}
    assert dataclasses.replace(point, z=9) == ours["Derived"](1, 2, "l", ("t",), 9)
    assert _records.replace(point, x=5).x == 5
    assert dataclasses.fields(ours["Point"])[1].default == 0
    assert dataclasses.fields(ours["Bag"])[1].default_factory is list
    with pytest.raises(ValueError, match="init=False"):
        _records.replace(ours["Computed"](1), total=3)
    assert ours["Point"].__match_args__ == std["Point"].__match_args__
    assert ours["Point"].__dataclass_params__.frozen is True
    assert ours["Point"].KIND == "point" and "KIND" not in [f.name for f in _records.fields(
        ours["Point"])]


def test_declaration_errors_match() -> None:
    for dataclass, field in (kit("stdlib"), kit("records")):
        with pytest.raises(ValueError, match="mutable default"):
            @dataclass
            class Bad:
                items: list[int] = []  # noqa: RUF012 - the error under test

        with pytest.raises(TypeError, match="non-default argument"):
            @dataclass
            class Order:
                a: int = 0
                b: int  # type: ignore[misc]

        with pytest.raises(ValueError):
            field(default=1, default_factory=list)


def test_records_pickle_and_copy() -> None:
    # pickling needs a module-level class: one of acrnkit's own records
    from acrnkit.model.slots import Bdf

    bdf = Bdf.parse("0:3:1")
    assert pickle.loads(pickle.dumps(bdf)) == bdf
    assert copy.deepcopy(bdf) == bdf and copy.copy(bdf).key == (0, 3, 1)


def test_model_classes_are_records_on_the_check_path() -> None:
    from acrnkit.argv.getopt import Opt
    from acrnkit.model.devices.virtio_blk import VirtioBlk
    from acrnkit.model.vm import VM

    for cls in (Opt, VirtioBlk, VM):
        assert "__acrnkit_record__" in cls.__dict__, cls
        assert dataclasses.is_dataclass(cls)
