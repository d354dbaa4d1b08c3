"""numpy arrays, stored as ``.npy`` files in the blob store (never pickled).

numpy is imported only when an annotation names it (it is then imported already), so
``import wingspan`` stays fast. An array of Python objects (dtype object) has no ``.npy``
form without pickle and is refused, naming what to use instead.
"""

from __future__ import annotations

import io
import sys
import typing
from typing import Any

from wingspan.core.model.literals import NPY_FORMAT, Blob, BlobDimensionality, BlobType, Literal, LiteralType
from wingspan.core.types.engine import TypeEngine, mismatch_from_literal, type_repr
from wingspan.core.types.transformer import TransferContext, TypeTransformer, ValueMismatch

__all__ = ["NPY", "NumpyTransformer"]

NPY = NPY_FORMAT
_BLOB = BlobType(NPY, BlobDimensionality.SINGLE)


def _ndarray() -> Any:
    numpy = sys.modules.get("numpy")
    return None if numpy is None else numpy.ndarray


def _to_npy(array: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _from_npy(data: bytes) -> Any:
    import numpy as np

    return np.load(io.BytesIO(data), allow_pickle=False)


class NumpyTransformer(TypeTransformer):
    """``np.ndarray`` and ``numpy.typing.NDArray[...]``."""

    name = "numpy"

    def handles(self, py_type: Any) -> bool:
        ndarray = _ndarray()
        return ndarray is not None and (py_type is ndarray or typing.get_origin(py_type) is ndarray)

    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        return LiteralType("blob", _BLOB, annotation=type_repr(py_type))

    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        return isinstance(value, _ndarray())

    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        import anyio.to_thread

        if not self.fits(value, py_type, engine, exact=False):
            raise ValueMismatch.of(type_repr(py_type), value)
        if value.dtype.hasobject:
            raise ValueMismatch.of("an array of numbers, text or records", value,
                                   "an array of Python objects (dtype object) has no .npy form: "
                                   "give it a numeric dtype, or pass a list instead")
        store = ctx.require_store("a numpy array")
        data = await anyio.to_thread.run_sync(_to_npy, value)
        uri = ctx.new_uri("array.npy")
        await store.put(uri, data)
        ctx.uploaded.append(uri)
        return Literal("blob", Blob(uri, _BLOB))

    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        import anyio.to_thread

        if literal.kind != "blob" or literal.value.type is None or literal.value.type.format != NPY:
            raise mismatch_from_literal(py_type, literal)
        data = await ctx.require_store("a numpy array").get(literal.value.uri)
        return await anyio.to_thread.run_sync(_from_npy, data)
