"""The compact encodings of a map's aggregate round-trip: item indices as runs, a chunk's outputs
as one literal map of lists (through the wire codec, merged with what an earlier write held)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wingspan.core.model import codec
from wingspan.core.model.literals import Literal, LiteralMap
from wingspan.server.services.map_item_reads import StoredMap
from wingspan.server.services.map_items import (
    PROMOTED,
    Links,
    chunk_outputs,
    decode_indices,
    decode_logs,
    encode_indices,
    encode_logs,
    item_of,
    item_outputs,
)

#: no per-example time limit: the first example decodes through the IDL code, on a shared machine
_SETTINGS = settings(deadline=None)
_INDICES = st.sets(st.integers(min_value=0, max_value=2**31), max_size=300)
_VALUES = st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda v: Literal("integer", v)),
                    st.text(max_size=20).map(lambda v: Literal("string", v)))


@_SETTINGS
@given(_INDICES)
def test_indices_round_trip_in_order(indices: set[int]) -> None:
    assert decode_indices(encode_indices(indices)) == sorted(indices)


_LINKS = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=40)), max_size=3).map(tuple)


@_SETTINGS
@given(st.dictionaries(_LINKS, _INDICES.filter(bool), max_size=5))
def test_a_chunks_log_links_round_trip_with_their_items(groups: dict[Links, set[int]]) -> None:
    assert decode_logs(encode_logs(groups)) == groups


def test_a_chunk_of_consecutive_items_costs_one_run() -> None:
    assert len(encode_indices(range(5000, 6024))) == 8
    assert len(encode_indices([1, 2, 3, 7, 8])) == 16


@_SETTINGS
@given(st.data(), st.sets(st.integers(min_value=0, max_value=5000), min_size=1, max_size=60))
def test_a_chunks_outputs_round_trip_per_item(data: st.DataObject, indices: set[int]) -> None:
    ordered = sorted(indices)
    first = {i: LiteralMap({"o0": data.draw(_VALUES)}) for i in ordered if data.draw(st.booleans())}
    stored = codec.decode(LiteralMap, codec.encode(chunk_outputs(ordered, first)))
    # a later write adds the items that succeeded since, keeping the earlier ones' outputs
    later = {i: LiteralMap({"o0": data.draw(_VALUES)}) for i in ordered if i not in first}
    merged = codec.decode(LiteralMap, codec.encode(chunk_outputs(ordered, later, stored)))
    for position, index in enumerate(ordered):
        expected = first.get(index) or later.get(index)
        if expected is not None:
            assert item_outputs(merged, position) == expected


_BYTES = st.sampled_from([0, 2, 3, 4, PROMOTED])


@_SETTINGS
@given(st.lists(st.tuples(_BYTES, _BYTES), max_size=200), st.integers(min_value=0, max_value=220))
def test_the_aggregates_counts_match_a_count_per_item(items: list[tuple[int, int]], first: int) -> None:
    stored = StoredMap("n0", bytes(p for p, _ in items), bytes(a for _, a in items), None, [])
    assert stored.started_from(first) == sum(1 for p, a in items[first:] if p or a)
    assert stored.aggregated_count() == sum(1 for i in range(len(items)) if stored.aggregated(i))
    assert stored.promoted() == [i for i, (_, a) in enumerate(items) if a == PROMOTED]


def test_an_items_node_id_names_its_map_and_index() -> None:
    assert item_of("n3/n0/17") == ("n3/n0", 17)
    assert item_of("n0") is None and item_of("n0/x") is None
