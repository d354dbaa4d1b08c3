"""A type no registered transformer serves asks once for the plugins' transformers before the
pickle fallback takes it (a task module imported before any run loaded the plugins)."""

from __future__ import annotations

from typing import Any

from wingspan.core.model.literals import Literal, LiteralType, SimpleType
from wingspan.core.types import TransferContext, TypeEngine, TypeTransformer, default_engine
from wingspan.core.types.pickled import PickleTransformer


class Late:
    pass


class LateTransformer(TypeTransformer):
    name = "late"

    def handles(self, py_type: Any) -> bool:
        return py_type is Late

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("simple", SimpleType.STRING)

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, Late)

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine, ctx: TransferContext) -> Literal:
        return Literal("string", "late")

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        return Late()


def test_the_installer_runs_once_and_its_transformer_serves_the_type() -> None:
    engine = TypeEngine(list(default_engine().transformers), fallback=PickleTransformer())
    calls: list[int] = []

    def install() -> int:
        calls.append(1)
        engine.register(LateTransformer())
        return 1

    engine.before_fallback(install)
    assert isinstance(engine.transformer_for(Late), LateTransformer)
    assert isinstance(engine.transformer_for(complex), PickleTransformer)
    assert calls == [1]


def test_an_installer_that_adds_nothing_leaves_the_fallback() -> None:
    engine = TypeEngine(list(default_engine().transformers), fallback=PickleTransformer())
    engine.before_fallback(lambda: 0)
    assert isinstance(engine.transformer_for(Late), PickleTransformer)
