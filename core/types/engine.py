"""The type engine: finds the transformer for an annotation and runs conversions."""

from __future__ import annotations

import contextlib
import threading
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wingspan.core.errors import TypeTransformerError
from wingspan.core.model.literals import Literal, LiteralMap, LiteralType
from wingspan.core.types.passthrough import LiteralSlot
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["TypeEngine", "UnsupportedTypeError", "type_repr"]

_NO_CONTEXT = TransferContext()


class UnsupportedTypeError(TypeTransformerError):
    """No transformer serves an annotation."""

    def __init__(self, py_type: Any, where: str = "", reason: str = "") -> None:
        self.py_type = py_type
        self.where = where
        self.reason = reason
        location = f"{where}: " if where else ""
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"{location}type {type_repr(py_type)} is not supported{why}. Use a supported type "
            "(int, float, bool, str, bytes, datetime, timedelta, Enum, Optional/Union, list[T], "
            "dict[K, T], a dataclass, a pydantic model, File, Directory, DataFrame, np.ndarray), or register "
            "a transformer for it: wingspan.core.types.default_engine().register(MyTransformer()) "
            "in code, or return it from a plugin's wingspan_type_transformers hook"
        )

    def located(self, variable: str) -> UnsupportedTypeError:
        """This error naming the variable being converted, unless it already says where."""
        if self.where or not variable:
            return self
        return UnsupportedTypeError(self.py_type, f"variable {variable!r}", self.reason)


_FRAME_LIBRARIES = {"pandas": "pd", "pyarrow": "pa"}


def type_repr(py_type: Any) -> str:
    """How an annotation reads in messages: ``int``, ``list[Point]``, ``int | None``."""
    if py_type is None or py_type is type(None):
        return "None"
    if isinstance(py_type, type) and not typing.get_args(py_type):
        library = _FRAME_LIBRARIES.get(py_type.__module__.partition(".")[0])
        # pd.DataFrame, not DataFrame: that one is Wingspan's own
        return f"{library}.{py_type.__qualname__}" if library else py_type.__qualname__
    origin = typing.get_origin(py_type)
    if origin is typing.Annotated:
        extras = ", ".join(_extra_repr(extra) for extra in py_type.__metadata__)
        return f"Annotated[{type_repr(py_type.__origin__)}, {extras}]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_repr(a) for a in typing.get_args(py_type))
    if origin is not None:
        args = ", ".join("..." if a is Ellipsis else type_repr(a) for a in typing.get_args(py_type))
        return f"{type_repr(origin)}[{args}]"
    return str(py_type).replace("typing.", "")


def _extra_repr(extra: Any) -> str:
    if isinstance(extra, Mapping):  # a frame's columns: {'a': int}
        return "{" + ", ".join(f"{k!r}: {type_repr(v)}" for k, v in extra.items()) + "}"
    return repr(extra)


class TypeEngine:
    """Transformers in priority order, with the literal type of each annotation cached."""

    def __init__(self, transformers: Iterable[TypeTransformer] = (),
                 fallback: TypeTransformer | None = None) -> None:
        self._transformers: list[TypeTransformer] = list(transformers)
        # serves what no transformer does, after every registered one (the pickle fallback)
        self._fallback = fallback
        self._by_type: dict[Any, TypeTransformer] = {}
        self._literal_types: dict[Any, LiteralType] = {}
        # ids of the annotations whose literal type is being worked out, per thread: a type
        # met again inside itself is recursive
        self._resolving = threading.local()
        # called once, the first time a type reaches the fallback (see before_fallback)
        self._before_fallback: Callable[[], int] | None = None

    @property
    def transformers(self) -> tuple[TypeTransformer, ...]:
        return tuple(self._transformers)

    def register(self, transformer: TypeTransformer, *, first: bool = True) -> None:
        """Adds a transformer; ``first`` lets it take over types others already serve."""
        if first:
            self._transformers.insert(0, transformer)
        else:
            self._transformers.append(transformer)
        self._by_type.clear()
        self._literal_types.clear()

    def before_fallback(self, install: Callable[[], int]) -> None:
        """Calls ``install`` (which registers transformers and returns how many) once, the first
        time no registered transformer serves a type: a task module names a plugin's type (a
        Dask DataFrame) when it is imported, before anything loaded the plugins that serve it."""
        self._before_fallback = install

    def transformer_for(self, py_type: Any, where: str = "") -> TypeTransformer:
        try:
            return self._by_type[py_type]
        except (KeyError, TypeError):
            pass
        for transformer in self._transformers:
            if transformer.handles(py_type):
                with contextlib.suppress(TypeError):  # an unhashable annotation: not cached
                    self._by_type[py_type] = transformer
                return transformer
        install, self._before_fallback = self._before_fallback, None
        if install is not None and install():
            return self.transformer_for(py_type, where)
        if self._fallback is not None and self._fallback.handles(py_type):
            with contextlib.suppress(TypeError):
                self._by_type[py_type] = self._fallback
            return self._fallback
        raise UnsupportedTypeError(py_type, where)

    def literal_type(self, py_type: Any, where: str = "") -> LiteralType:
        """The literal type of an annotation; ``where`` (function and parameter) goes in errors."""
        try:
            return self._literal_types[py_type]
        except (KeyError, TypeError):
            pass
        resolving: set[int] = self._resolving.__dict__.setdefault("ids", set())
        outermost = not resolving
        try:
            if id(py_type) in resolving:  # by id: an annotation need not be hashable
                raise UnsupportedTypeError(py_type, where, "it contains itself; recursive types "
                                                           "have no literal type")
            resolving.add(id(py_type))
            if outermost:
                self._resolving.where = where
            try:
                result = self.transformer_for(py_type, where).literal_type(py_type, self)
            finally:
                resolving.discard(id(py_type))
                if outermost:
                    self._resolving.where = ""
        except UnsupportedTypeError as exc:
            if where and not exc.where:
                raise UnsupportedTypeError(exc.py_type, where, exc.reason) from None
            raise
        with contextlib.suppress(TypeError):
            self._literal_types[py_type] = result
        return result

    def resolving_where(self) -> str:
        """While a literal type is worked out: where its annotation is (for messages)."""
        return str(getattr(self._resolving, "where", ""))

    def fits(self, value: Any, py_type: Any, *, exact: bool = False) -> bool:
        return self.transformer_for(py_type).fits(value, py_type, self, exact=exact)

    # ---- conversions ----------------------------------------------------------------------

    async def to_literal(self, value: Any, py_type: Any, ctx: TransferContext | None = None,
                         *, name: str = "") -> Literal:
        """Converts one variable's value; offloads it when larger than the context allows.

        A value that does not fit ``py_type`` raises TypeTransformerError naming ``name``,
        the place inside it, the expected and the actual type.
        """
        ctx = ctx or _NO_CONTEXT
        try:
            literal = await self.to_literal_nested(value, py_type, ctx)
        except ValueMismatch as exc:
            raise TypeTransformerError(exc.render(name)) from None
        except UnsupportedTypeError as exc:
            raise exc.located(name) from None
        if ctx.store is not None and ctx.prefix:
            from wingspan.core.types.offload import estimate_size, offload

            if estimate_size(literal) > ctx.offload_threshold:
                literal = await offload(literal, self.literal_type(py_type), ctx)
        return literal

    async def to_literal_nested(self, value: Any, py_type: Any, ctx: TransferContext) -> Literal:
        """For transformers converting their parts: no offloading, mismatches keep their path."""
        transformer = self.transformer_for(py_type)
        return await transformer.to_literal(value, py_type, self, ctx)

    async def to_python(self, literal: Literal, py_type: Any, ctx: TransferContext | None = None,
                        *, name: str = "") -> Any:
        try:
            return await self.to_python_nested(literal, py_type, ctx or _NO_CONTEXT)
        except ValueMismatch as exc:
            raise TypeTransformerError(exc.render(name)) from None
        except UnsupportedTypeError as exc:
            raise exc.located(name) from None

    async def to_python_nested(self, literal: Literal, py_type: Any, ctx: TransferContext) -> Any:
        if literal.kind == "offloaded" and not isinstance(py_type, LiteralSlot):
            from wingspan.core.types.offload import load_offloaded

            literal = await load_offloaded(literal, ctx)
        return await self.transformer_for(py_type).to_python(literal, py_type, self, ctx)

    async def to_literal_map(self, values: Mapping[str, Any], py_types: Mapping[str, Any],
                             ctx: TransferContext | None = None) -> LiteralMap:
        """Converts named values (task inputs or outputs); each error names its variable."""
        unknown = sorted(set(values) - set(py_types))
        if unknown:
            raise TypeTransformerError(
                f"unexpected variables {unknown}; expected only {sorted(py_types)}"
            )
        literals = {}
        for var, value in values.items():
            literals[var] = await self.to_literal(value, py_types[var], ctx, name=var)
        return LiteralMap(literals)

    async def to_python_map(self, literal_map: LiteralMap, py_types: Mapping[str, Any],
                            ctx: TransferContext | None = None) -> dict[str, Any]:
        out = {}
        for var, literal in literal_map.literals.items():
            if var not in py_types:
                raise TypeTransformerError(f"unexpected variable {var!r}; expected {sorted(py_types)}")
            out[var] = await self.to_python(literal, py_types[var], ctx, name=var)
        return out


def mismatch_from_literal(expected: Any, literal: Literal) -> ValueMismatch:
    """A literal of the wrong kind reached a transformer (corrupt or foreign data)."""
    return ValueMismatch(type_repr(expected), f"a literal of kind {literal.kind or 'unset'!r}")
