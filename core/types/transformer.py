"""What a type transformer is, and the context conversions that move data run in."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from wingspan.core.errors import TypeTransformerError

if TYPE_CHECKING:
    from wingspan.core.model.literals import Literal, LiteralType
    from wingspan.core.storage.interface import BlobStore
    from wingspan.core.types.engine import TypeEngine

__all__ = ["TransferContext", "TypeTransformer", "ValueMismatch"]

DEFAULT_OFFLOAD_THRESHOLD = 4 * 1024 * 1024


@dataclass
class TransferContext:
    """Where converted data goes: the blob store and the prefix for new objects.

    Conversions of plain values need none of it; files, data frames and literals
    over ``offload_threshold`` bytes are written under ``prefix``.
    """

    store: BlobStore | None = None
    # URI under which uploads are written, e.g. file:///.../blobs/data/<execution>/<node>
    prefix: str = ""
    offload_threshold: int = DEFAULT_OFFLOAD_THRESHOLD
    # where remote files and directories are downloaded to; a temporary folder when unset
    download_dir: Path | None = None
    # conversions made in this context, so a caller can tell what was uploaded
    uploaded: list[str] = field(default_factory=list)
    # keep local files and folders where they are, referenced by file:// URI, instead of
    # uploading them: for graphs that never leave this machine (a dynamic task run in-process)
    reference_local_files: bool = False

    def require_store(self, what: str) -> BlobStore:
        if self.store is None or not self.prefix:
            raise TypeTransformerError(
                f"cannot move {what} without a blob store: give the conversion a TransferContext "
                "with a store and a prefix (the engine does this for every task)"
            )
        return self.store

    def new_uri(self, name: str) -> str:
        """A fresh object URI under the prefix, keeping ``name`` as its last part."""
        from wingspan.core.storage.uris import join_uri

        # joined, not concatenated: a file URI percent-encodes a name like "a#1.csv"
        return join_uri(self.prefix, uuid.uuid4().hex, name)


class ValueMismatch(TypeTransformerError):
    """A value does not fit its declared type; ``path`` locates it inside the variable."""

    def __init__(self, expected: str, actual: str, value_repr: str = "",
                 path: tuple[str, ...] = (), detail: str = "") -> None:
        self.expected, self.actual, self.value_repr = expected, actual, value_repr
        self.path, self.detail = path, detail
        super().__init__(self.render(""))

    @classmethod
    def of(cls, expected: Any, value: Any, detail: str = "") -> ValueMismatch:
        return cls(str(expected), type(value).__name__, _short_repr(value), (), detail)

    def within(self, step: str) -> ValueMismatch:
        """The same mismatch, one level further inside (``[3]``, ``.field``, ``['key']``)."""
        return ValueMismatch(self.expected, self.actual, self.value_repr, (step, *self.path),
                             self.detail)

    def render(self, variable: str) -> str:
        where = variable + "".join(self.path)
        subject = f"{where!r}: " if where else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{subject}expected {self.expected}, got {self.actual} {self.value_repr}{extra}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class TypeTransformer(abc.ABC):
    """Converts values of some Python types to literals and back.

    ``handles`` decides which annotations it serves; the engine asks transformers
    in registration order (plugins first), so a plugin can take over a type.
    Conversions are async because files and data frames move through the blob store;
    plain values never wait.
    """

    #: shown by ``wingspan plugins list`` and in error messages
    name: ClassVar[str] = ""

    @abc.abstractmethod
    def handles(self, py_type: Any) -> bool:
        """True when this transformer serves the annotation ``py_type``."""

    @abc.abstractmethod
    def literal_type(self, py_type: Any, engine: TypeEngine) -> LiteralType:
        """The literal type of ``py_type``; raises TypeTransformerError if it cannot be one."""

    @abc.abstractmethod
    def fits(self, value: Any, py_type: Any, engine: TypeEngine, *, exact: bool) -> bool:
        """Whether ``value`` is a ``py_type``; ``exact`` refuses lossless widening (int as float)."""

    @abc.abstractmethod
    async def to_literal(self, value: Any, py_type: Any, engine: TypeEngine,
                         ctx: TransferContext) -> Literal:
        """The literal for ``value``; raise ValueMismatch when it does not fit."""

    @abc.abstractmethod
    async def to_python(self, literal: Literal, py_type: Any, engine: TypeEngine,
                        ctx: TransferContext) -> Any:
        """The value of ``literal`` as a ``py_type``."""

    def copy_for_task(self, value: Any) -> Any:
        """``value`` (another task's output in this process) as a consuming task's own: a copy
        it may change without changing what its siblings receive. A deep copy by default; a
        transformer whose values cannot be deep-copied, or need not be, says what suffices."""
        import copy

        return copy.deepcopy(value)

    def as_arrow_table(self, value: Any) -> Any:
        """A data frame of this transformer's kind as a pyarrow Table, for a task in the same
        process that declares another kind of frame (pandas, arrow); None when it is not one."""
        return None

    def adapt(self, value: Any, py_type: Any, engine: TypeEngine) -> Any:
        """``value``, another task's output in this process, as an input declared ``py_type``
        receives it (no literal in between): as it is, unless the declared type asks for a
        different form of the same data (a pandas frame for an arrow input, a column subset)."""
        return value
