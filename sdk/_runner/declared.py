"""Values in the kinds a task declares, in this process as from literals in another one.

In one process, values pass between tasks as Python objects, unconverted. Where a value's
literal would read back as another kind, the runner adapts it, so a task sees what it would
see in a worker or on a server: a path returned as text for a File is a File; a stream's
items, collected when the task that made them ends, reach each consumer as an iterator of
its own (and a list where a list is declared).
"""

from __future__ import annotations

import typing
from typing import Any

from wingspan.core.types.files import files_from_text, mentions_files
from wingspan.core.types.iterators import Items, is_stream_type

__all__ = ["DeclaredKinds"]


class DeclaredKinds:
    """What one task's inputs and outputs need adapted; ``adapts_*`` is False for most tasks,
    which then pay nothing."""

    def __init__(self, input_types: dict[str, Any], output_types: dict[str, Any]) -> None:
        self._output_types = output_types
        self._stream_inputs = [n for n, t in input_types.items() if is_stream_type(t)]
        self._list_inputs = [n for n, t in input_types.items() if list in (t, typing.get_origin(t))]
        self._file_outputs = [n for n, t in output_types.items() if mentions_files(t)]
        self._stream_outputs = [n for n, t in output_types.items() if is_stream_type(t)]
        self.adapts_inputs = bool(self._stream_inputs or self._list_inputs)
        self.adapts_outputs = bool(self._file_outputs or self._stream_outputs)

    def inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Each call reads a stream from its first item, whoever read it before."""
        adapted = inputs
        for name in self._stream_inputs:
            if name in inputs:
                value = inputs[name]
                adapted = adapted if adapted is not inputs else dict(inputs)
                adapted[name] = value.fresh() if isinstance(value, Items) else Items(value)
        for name in self._list_inputs:
            value = inputs.get(name)
            if isinstance(value, Items):  # a stream into a list: copy the inputs only then
                adapted = adapted if adapted is not inputs else dict(inputs)
                adapted[name] = list(value.fresh())
        return adapted

    def outputs(self, outputs: dict[str, Any]) -> None:
        """Adapts checked outputs in place."""
        for name in self._file_outputs:
            outputs[name] = files_from_text(outputs[name], self._output_types[name])
        for name in self._stream_outputs:
            # a generator is read once: its items, collected now, feed every consumer
            if not isinstance(outputs[name], Items):
                outputs[name] = Items(outputs[name])
