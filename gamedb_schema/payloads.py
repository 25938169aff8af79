"""Typed shapes of the JSON the database stores: the generated models type their jsonb
columns with them (``rolls.roll_data``, by the override in ``sqlc.yaml``), and ``gamedb``
re-exports :class:`RollData`::

    roll = RollData(dice={"d6_one": 4, "d20": 17}, total=4, note="steal attempt")
    roll.model_dump()   # {'dice': {'d6_one': 4, 'd20': 17}, 'total': 4, 'note': 'steal attempt'}
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, StrictInt, StrictStr

__all__ = ["MAX_JSON_DEPTH", "RollData", "StoredJson"]

MAX_JSON_DEPTH = 100
"""How deeply arrays and objects may nest in stored JSON: recovery reads a whole game as one
JSON document, and pydantic's JSON parser gives up at 200 levels."""

_BIGINT = range(-(2**63), 2**63)


def _storable(value: JsonValue) -> JsonValue:
    """``value``, if PostgreSQL stores it unchanged and gamedb can read it back: finite
    numbers (JSON has no NaN), integers and floats within bigint range (Python will not even
    parse an integer of more than 4,300 digits), text without NUL or lone surrogates
    (neither jsonb nor UTF-8 holds them), at most :data:`MAX_JSON_DEPTH` levels deep."""
    pending: list[tuple[JsonValue, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _storable_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{item} is not a JSON number")
        elif isinstance(item, float) and not -(2.0**63) < item < 2.0**63:
            # jsonb keeps the decimal of its shortest form (-2.0**63 is -9.223372036854776e18)
            # exactly, which reads back as an integer: one outside bigint range, which gamedb
            # would then refuse to read.
            raise ValueError("JSON numbers must lie within bigint range (64 bits)")
        elif isinstance(item, int) and not isinstance(item, bool) and item not in _BIGINT:
            raise ValueError("JSON integers must lie within bigint range (64 bits)")
        elif isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    _storable_text(key)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return value


def _storable_text(text: str) -> str:
    if "\x00" in text:
        raise ValueError("JSON text cannot hold NUL (\\u0000) in PostgreSQL")
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            raise ValueError("JSON text holds a lone surrogate (not UTF-8)") from None
    return text


StoredJson = Annotated[JsonValue, AfterValidator(_storable)]
"""JSON that round-trips through a ``jsonb`` column exactly (see :func:`_storable`)."""

_BigInt = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]


class RollData(BaseModel):
    """What one dice roll produced: each die by name and its face, plus any detail the
    engine attaches (kept as given)::

        RollData(dice={"d6_one": 4, "d6_two_a": 2, "d20": 17}, total=6)
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    __pydantic_extra__: dict[str, StoredJson] = Field(init=False)

    dice: dict[Annotated[StrictStr, AfterValidator(_storable_text)], _BigInt] = {}
    total: _BigInt | None = None
