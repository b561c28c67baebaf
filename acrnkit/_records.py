"""Frozen dataclasses without importing :mod:`dataclasses` at run time.

Why: the fake acrn-dm must start in a few milliseconds, and ``import dataclasses`` alone costs
more than the whole budget (it pulls in ``inspect``, ``ast``, ``dis``, ``tokenize``, ``enum``,
``re``...), then spends ~0.3 ms per class compiling generated methods. The modules on the fake's
check path (releases, model, argv) declare their records with this module's ``dataclass`` and
``field`` instead.

Type checkers see the standard library's ``dataclass``/``field``/``fields``/``replace``
(``TYPE_CHECKING`` below), so mypy checks every record as the frozen dataclass it is. At run
time the same declarations get methods that behave like the standard ones for the subset acrnkit
uses: ``init``, ``repr``, ``eq``, ``order``, ``frozen``, ``unsafe_hash``; fields with
``default``, ``default_factory``, ``init``, ``repr``, ``hash``, ``compare``, ``metadata``;
inheritance, ``ClassVar`` and ``__post_init__``. ``tests/test_records.py`` compares them with
the standard library's on the same declarations.

The records stay interoperable: ``dataclasses.fields()``, ``replace()``, ``asdict()`` and
``is_dataclass()`` work on them, because ``__dataclass_fields__`` and ``__dataclass_params__``
are computed (with the real ``dataclasses`` module) the first time something asks for them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import MISSING as MISSING
    from dataclasses import dataclass as dataclass
    from dataclasses import field as field
    from dataclasses import fields as fields
    from dataclasses import replace as replace
else:
    __all__ = ["MISSING", "dataclass", "field", "fields", "replace"]

    class _Missing:
        __slots__ = ()

        def __repr__(self):
            return "MISSING"

    MISSING = _Missing()

    class Field:
        """What ``field()`` declares; ``name`` and ``type`` are filled in by ``dataclass``."""

        __slots__ = (
            "compare",
            "default",
            "default_factory",
            "hash",
            "init",
            "metadata",
            "name",
            "repr",
            "type",
        )

        def __init__(self, default, default_factory, init, repr, hash, compare, metadata):
            if default is not MISSING and default_factory is not MISSING:
                raise ValueError("cannot specify both default and default_factory")
            self.name = ""
            self.type = None
            self.default = default
            self.default_factory = default_factory
            self.init = init
            self.repr = repr
            self.hash = hash
            self.compare = compare
            self.metadata = {} if metadata is None else metadata

        def __repr__(self):
            return (f"Field(name={self.name!r},type={self.type!r},default={self.default!r},"
                    f"default_factory={self.default_factory!r},init={self.init!r},"
                    f"repr={self.repr!r},hash={self.hash!r},compare={self.compare!r})")

    def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, hash=None,
              compare=True, metadata=None):
        return Field(default, default_factory, init, repr, hash, compare, metadata)

    class _Spec:
        """Everything ``dataclass`` learnt about one class, kept on it as ``__acrnkit_record__``;
        the shared methods below read it from ``type(self)``."""

        __slots__ = (
            "compared",
            "fields",
            "hashed",
            "names",
            "owner",
            "params",
            "shown",
            "std_fields",
        )

        def __init__(self, owner, fields, params):
            self.owner = owner
            self.fields = fields
            self.params = params
            self.std_fields = None
            self.names = frozenset(f.name for f in fields)
            self.compared = tuple(f.name for f in fields if f.compare)
            self.hashed = tuple(f.name for f in fields
                                if (f.compare if f.hash is None else f.hash))
            self.shown = tuple(f.name for f in fields if f.repr)

    def _spec_of(cls):
        for klass in cls.__mro__:
            spec = klass.__dict__.get("__acrnkit_record__")
            if spec is not None:
                return spec
        return None

    def fields(class_or_instance):
        spec = _spec_of(class_or_instance if isinstance(class_or_instance, type)
                        else type(class_or_instance))
        if spec is None:
            raise TypeError("must be called with a dataclass type or instance")
        return spec.fields

    def replace(obj, /, **changes):
        spec = _spec_of(type(obj))
        if spec is None or isinstance(obj, type):
            raise TypeError("replace() should be called on dataclass instances")
        for f in spec.fields:
            if not f.init:
                if f.name in changes:
                    raise ValueError(f"field {f.name} is declared with init=False, it cannot be "
                                     "specified with replace()")
                continue
            if f.name not in changes:
                changes[f.name] = getattr(obj, f.name)
        return obj.__class__(**changes)

    class _StdlibView:
        """``__dataclass_fields__``/``__dataclass_params__``, built with the real module on first
        use so that code written for :mod:`dataclasses` accepts these records."""

        def __init__(self, attr):
            self.attr = attr

        def __get__(self, obj, owner):
            import dataclasses

            spec = _spec_of(owner)
            if self.attr == "__dataclass_params__":
                return _Params(spec.params)
            if spec.std_fields is None:
                made = {}
                for f in spec.fields:
                    options = {"init": f.init, "repr": f.repr, "hash": f.hash,
                               "compare": f.compare, "metadata": f.metadata or None}
                    if f.default is not MISSING:
                        options["default"] = f.default
                    if f.default_factory is not MISSING:
                        options["default_factory"] = f.default_factory
                    std = dataclasses.field(**options)
                    std.name = f.name
                    std.type = f.type
                    std._field_type = dataclasses._FIELD  # the marker of an ordinary field
                    std.kw_only = False
                    made[f.name] = std
                spec.std_fields = made
            return spec.std_fields

    _FIELDS_VIEW = _StdlibView("__dataclass_fields__")
    _PARAMS_VIEW = _StdlibView("__dataclass_params__")

    class _Params:
        __slots__ = (
            "eq",
            "frozen",
            "init",
            "kw_only",
            "match_args",
            "order",
            "repr",
            "slots",
            "unsafe_hash",
            "weakref_slot",
        )

        def __init__(self, params):
            (self.init, self.repr, self.eq, self.order, self.unsafe_hash,
             self.frozen) = params
            self.match_args = True
            self.kw_only = False
            self.slots = False
            self.weakref_slot = False

    def _collect(cls):
        # not inspect.get_annotations(): importing inspect is what this module avoids
        own = cls.__dict__.get("__annotations__")  # noqa: RUF063
        by_name = {}
        for base in cls.__mro__[-1:0:-1]:
            spec = base.__dict__.get("__acrnkit_record__")
            if spec is not None:
                for f in spec.fields:
                    by_name[f.name] = f
        if not own:
            return tuple(by_name.values())
        for name, annotation in own.items():
            if isinstance(annotation, str):
                if annotation.startswith(("ClassVar", "typing.ClassVar")):
                    continue
                if "InitVar" in annotation:
                    raise TypeError(f"{cls.__name__}.{name}: InitVar is not supported here")
            elif repr(annotation).startswith("typing.ClassVar"):
                continue
            declared = cls.__dict__.get(name, MISSING)
            if declared.__class__ is Field:
                f = declared
                if f.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, f.default)
            else:
                if declared is not MISSING and type(declared).__hash__ is None:
                    raise ValueError(f"mutable default {type(declared)} for field {name} is "
                                     "not allowed: use default_factory")
                f = Field(declared, MISSING, True, True, None, True, None)
            f.name = name
            f.type = annotation
            by_name[name] = f
        return tuple(by_name.values())

    def _make_init(cls, all_fields):
        names = []
        statics = {}
        factories = []
        later = []
        seen_default = False
        for f in all_fields:
            if not f.init:
                if f.default is not MISSING or f.default_factory is not MISSING:
                    later.append((f.name, f.default, f.default_factory))
                continue
            names.append(f.name)
            if f.default is not MISSING:
                statics[f.name] = f.default
            elif f.default_factory is not MISSING:
                factories.append((f.name, f.default_factory))
            elif seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            else:
                continue
            seen_default = True
        names = tuple(names)
        known = frozenset(names)
        count = len(names)
        post_init = hasattr(cls, "__post_init__")
        plain = not later and not post_init
        title = cls.__qualname__

        def _fail(args, kwargs):
            if len(args) > count:
                raise TypeError(f"{title}.__init__() takes {count + 1} positional arguments but "
                                f"{len(args) + 1} were given")
            for name in kwargs:
                if name not in known:
                    raise TypeError(f"{title}.__init__() got an unexpected keyword argument "
                                    f"{name!r}")
            for name in names[:len(args)]:
                if name in kwargs:
                    raise TypeError(f"{title}.__init__() got multiple values for argument "
                                    f"{name!r}")
            with_default = set(statics).union(name for name, _ in factories)
            missing = [n for n in names[len(args):] if n not in kwargs and n not in with_default]
            raise TypeError(f"{title}.__init__() missing {len(missing)} required argument(s): "
                            + ", ".join(repr(n) for n in missing))

        calls = 0

        def __init__(self, *args, **kwargs):
            nonlocal calls
            calls += 1
            if calls == _COMPILE_AFTER and cls.__dict__.get("__init__") is __init__:
                cls.__init__ = _compiled_init(cls, all_fields, post_init)
            if plain and not kwargs and len(args) == count:
                for name, value in zip(names, args, strict=True):
                    _setattr(self, name, value)
                return
            if args:
                if len(args) > count:
                    _fail(args, kwargs)
                for name, value in zip(names, args, strict=False):
                    if name in kwargs:
                        _fail(args, kwargs)
                    kwargs[name] = value
            values = {**statics, **kwargs} if statics else kwargs
            for name, factory in factories:
                if name not in values:
                    values[name] = factory()
            if len(values) != count or not known.issuperset(kwargs):
                _fail(args, {k: v for k, v in kwargs.items() if k not in names[:len(args)]})
            for name, default, factory in later:
                values[name] = default if factory is MISSING else factory()
            for name, value in values.items():
                _setattr(self, name, value)
            if post_init:
                self.__post_init__()

        __init__.__qualname__ = f"{title}.__init__"
        return __init__

    # The generic __init__ stores attributes with object.__setattr__: building an instance's
    # __dict__ from a differently ordered dict left CPython's attribute reads on it slower
    # (render was a third slower that way). The compiled __init__ below makes one
    # __dict__.update with the fields in declaration order, which measured as fast to read and
    # faster to build.
    _setattr = object.__setattr__

    #: A class gets a compiled __init__ (what dataclasses makes for every class up front) once it
    #: has been instantiated this often: a one-shot check never pays the ~60 us per class that
    #: compiling costs, and a long run gets the fast constructor for its hot classes.
    _COMPILE_AFTER = 64

    def _compiled_init(cls, all_fields, post_init):
        scope = {"__record_missing__": MISSING}
        params = []
        prelude = []
        stored = []
        for f in all_fields:
            name = f.name
            if f.init:
                if f.default is not MISSING:
                    scope[f"__default_{name}__"] = f.default
                    params.append(f"{name}=__default_{name}__")
                elif f.default_factory is not MISSING:
                    scope[f"__factory_{name}__"] = f.default_factory
                    params.append(f"{name}=__record_missing__")
                    prelude.append(f"    if {name} is __record_missing__:\n"
                                   f"        {name} = __factory_{name}__()")
                else:
                    params.append(name)
                stored.append(f"{name}={name}")
            elif f.default is not MISSING:
                scope[f"__default_{name}__"] = f.default
                stored.append(f"{name}=__default_{name}__")
            elif f.default_factory is not MISSING:
                scope[f"__factory_{name}__"] = f.default_factory
                stored.append(f"{name}=__factory_{name}__()")
        # one dict.update with keywords: the fastest store that a frozen __setattr__ allows
        body = [*prelude, f"    __record_self__.__dict__.update({', '.join(stored)})"]
        if post_init:
            body.append("    __record_self__.__post_init__()")
        signature = ", ".join(["__record_self__", *params])
        exec(f"def __init__({signature}):\n" + "\n".join(body), scope)
        compiled = scope["__init__"]
        compiled.__qualname__ = f"{cls.__qualname__}.__init__"
        return compiled

    # The methods below are shared by every record: each reads its class's _Spec, so decorating a
    # class costs a few dictionary stores instead of compiling or closing over anything.

    def _values(self, names):
        return tuple([getattr(self, n) for n in names])

    def __repr__(self):
        shown = type(self).__acrnkit_record__.shown
        inner = ", ".join([f"{n}={getattr(self, n)!r}" for n in shown])
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            names = type(self).__acrnkit_record__.compared
            return _values(self, names) == _values(other, names)
        return NotImplemented

    def _ordering(test):
        def method(self, other):
            if other.__class__ is self.__class__:
                names = type(self).__acrnkit_record__.compared
                return test(_values(self, names), _values(other, names))
            return NotImplemented
        return method

    _ORDER = (("__lt__", _ordering(lambda a, b: a < b)),
              ("__le__", _ordering(lambda a, b: a <= b)),
              ("__gt__", _ordering(lambda a, b: a > b)),
              ("__ge__", _ordering(lambda a, b: a >= b)))

    def __hash__(self):
        return hash(_values(self, type(self).__acrnkit_record__.hashed))

    def _frozen_owner_or_field(self, name):
        spec = type(self).__acrnkit_record__
        return spec.owner is type(self) or name in spec.names

    def __setattr__(self, name, value):
        if _frozen_owner_or_field(self, name):
            _frozen_error(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if _frozen_owner_or_field(self, name):
            _frozen_error(name)
        object.__delattr__(self, name)

    def _frozen_error(name):
        import dataclasses  # only on the error path: the real exception type, for callers

        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def _add_methods(cls, all_fields, params):
        init, want_repr, eq, order, unsafe_hash, frozen = params
        own = cls.__dict__
        if init and "__init__" not in own:
            cls.__init__ = _make_init(cls, all_fields)
        if want_repr and "__repr__" not in own:
            cls.__repr__ = __repr__
        if eq and "__eq__" not in own:
            cls.__eq__ = __eq__
        if order:
            for name, method in _ORDER:
                if name not in own:
                    setattr(cls, name, method)
        if frozen:
            if "__setattr__" in own or "__delattr__" in own:
                raise TypeError(f"Cannot overwrite attribute __setattr__ in class {cls.__name__}")
            cls.__setattr__ = __setattr__
            cls.__delattr__ = __delattr__
        class_hash = own.get("__hash__", MISSING)
        explicit = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
        if unsafe_hash and explicit:
            raise TypeError(f"Cannot overwrite attribute __hash__ in class {cls.__name__}")
        if unsafe_hash or (eq and not explicit):
            cls.__hash__ = __hash__ if (frozen or unsafe_hash) else None
        if "__match_args__" not in own:
            cls.__match_args__ = tuple(f.name for f in all_fields if f.init)

    def dataclass(cls=None, /, *, init=True, repr=True, eq=True, order=False,
                  unsafe_hash=False, frozen=False):
        if order and not eq:
            raise ValueError("eq must be true if order is true")
        params = (init, repr, eq, order, unsafe_hash, frozen)

        def wrap(klass):
            all_fields = _collect(klass)
            klass.__acrnkit_record__ = _Spec(klass, all_fields, params)
            klass.__dataclass_fields__ = _FIELDS_VIEW
            klass.__dataclass_params__ = _PARAMS_VIEW
            _add_methods(klass, all_fields, params)
            return klass

        return wrap if cls is None else wrap(cls)
