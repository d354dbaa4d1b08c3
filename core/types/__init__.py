"""The type engine: Python values to literals and back, exactly.

``default_engine()`` holds the built-in transformers; plugins add theirs through
the ``wingspan_type_transformers`` hook, code through ``TypeEngine.register``. A type
none of them serves passes pickled (``pickled.py``), with a warning once per type.
"""

from __future__ import annotations

from functools import cache

from wingspan.core.types.engine import TypeEngine, UnsupportedTypeError, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = [
    "TransferContext",
    "TypeEngine",
    "TypeTransformer",
    "UnsupportedTypeError",
    "ValueMismatch",
    "builtin_transformers",
    "default_engine",
    "type_repr",
]


def builtin_transformers() -> list[TypeTransformer]:
    from wingspan.core.types.annotated import AnnotatedTransformer
    from wingspan.core.types.arrays import NumpyTransformer
    from wingspan.core.types.containers import CONTAINER_TRANSFORMERS
    from wingspan.core.types.files import FILE_TRANSFORMERS
    from wingspan.core.types.frames import FRAME_TRANSFORMERS
    from wingspan.core.types.iterators import IteratorTransformer
    from wingspan.core.types.passthrough import PassThroughTransformer
    from wingspan.core.types.records import RECORD_TRANSFORMERS
    from wingspan.core.types.scalars import SCALAR_TRANSFORMERS

    return [PassThroughTransformer(), *SCALAR_TRANSFORMERS, *CONTAINER_TRANSFORMERS, *RECORD_TRANSFORMERS,
            *FILE_TRANSFORMERS, *FRAME_TRANSFORMERS, NumpyTransformer(), IteratorTransformer(),
            AnnotatedTransformer()]


@cache
def default_engine() -> TypeEngine:
    """The process-wide engine with every built-in transformer, and the pickle fallback for
    types no transformer serves."""
    from wingspan.core.types.pickled import PickleTransformer

    return TypeEngine(builtin_transformers(), fallback=PickleTransformer())
