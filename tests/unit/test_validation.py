"""Fields: a model's fields checked without the model, refusing exactly what it refuses."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamedb import InvalidInput, PlayData, StateChange
from gamedb.models import STATE_CHANGE
from gamedb.validation import Fields

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.integers(min_value=-3, max_value=30),
    st.floats(allow_nan=True),
    st.sampled_from(["top", "bottom", "middle", "active", "completed", "", "3", "TOP"]),
    st.uuids(),
    st.just(str(uuid.UUID(int=5))),
    st.lists(st.integers(), max_size=2),
)


VALID = (
    st.uuids(),
    st.integers(min_value=1, max_value=20),
    st.sampled_from(["top", "bottom"]),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=30),
    st.sampled_from([None, 0, 1, 2]),
    st.sampled_from([None, "active", "completed"]),
)


@st.composite
def arguments(draw: st.DrawFn) -> tuple[object, ...]:
    """Valid arguments, or valid ones but one (about half the time)."""
    values = [draw(valid) for valid in VALID]
    if draw(st.booleans()):
        values[draw(st.integers(min_value=0, max_value=len(values) - 1))] = draw(ANYTHING)
    return tuple(values)


@settings(max_examples=400, deadline=None)
@given(arguments())
def test_state_change_fields_refuse_what_the_model_refuses(values: tuple[object, ...]) -> None:
    refused: InvalidInput | None = None
    try:
        model = StateChange.of(*values)
    except InvalidInput as error:
        refused = error
    if refused is not None:
        with pytest.raises(InvalidInput) as also_refused:
            STATE_CHANGE(*values)
        assert str(also_refused.value) == str(refused)
        return
    checked = STATE_CHANGE(*values)
    dumped = model.model_dump()
    assert checked == tuple(dumped.values())
    assert [type(value) for value in checked] == [type(value) for value in dumped.values()]


def test_the_error_names_the_field_and_the_game() -> None:
    game = uuid.uuid4()
    with pytest.raises(InvalidInput, match="inning") as refused:
        STATE_CHANGE(game, 0, "top", 1, 2, None, None)
    assert refused.value.game_id == game


def test_a_model_with_validators_of_its_own_is_refused() -> None:
    with pytest.raises(TypeError, match="PlayData has validators"):
        Fields(PlayData)
