"""Checks on the arguments of operations and hand-offs, each failing with
:class:`gamedb.errors.InvalidInput` that names the argument, before anything reaches the
database::

    gid = as_game_id(game_id)
    team = as_int32(team_id, "team_id", gid, minimum=1)
"""

from __future__ import annotations

import enum
import uuid
from typing import TypeVar

from pydantic import JsonValue, TypeAdapter, ValidationError

from gamedb.errors import InvalidInput
from gamedb.models import GameState, validate_input
from gamedb_gen.models import GameStatus, Half
from gamedb_schema.payloads import StoredJson

__all__ = [
    "as_batting_order",
    "as_enum",
    "as_game_id",
    "as_game_state",
    "as_int32",
    "as_int64",
    "as_stored_json",
    "as_type",
    "shown",
]

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)
_stored_json: TypeAdapter[JsonValue] = TypeAdapter(StoredJson)


def as_enum(kind: type[E], value: object, field: str, game_id: uuid.UUID | None = None) -> E:
    """``value`` as a member of the enum ``kind``."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise InvalidInput(
            f"{field} must be one of {allowed}, got {shown(value)}", game_id=game_id
        ) from None


def as_game_id(value: object) -> uuid.UUID:
    """``value`` as a game id: a UUID, or its text."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(f"game_id must be a UUID, got {shown(value)}") from None


def as_int32(value: object, field: str, game_id: uuid.UUID, *, minimum: int = -(2**31)) -> int:
    """``value`` if it is an int (not a bool) that fits a PostgreSQL integer."""
    return _integer(value, field, game_id, minimum=minimum, limit=2**31)


def as_int64(value: object, field: str, game_id: uuid.UUID, *, minimum: int = -(2**63)) -> int:
    """``value`` if it is an int (not a bool) that fits a PostgreSQL bigint."""
    return _integer(value, field, game_id, minimum=minimum, limit=2**63)


def _integer(value: object, field: str, game_id: uuid.UUID, *, minimum: int, limit: int) -> int:
    # asyncpg would send int(3.7) as 3 and True as 1: a wrong row rather than an error.
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < limit:
        raise InvalidInput(
            f"{field} must be an integer from {minimum} to {limit - 1}, got {shown(value)}",
            game_id=game_id,
        )
    return value


def as_batting_order(value: object, game_id: uuid.UUID) -> int | None:
    """``value`` if it is ``None`` or a batting slot, 1 to 9."""
    if value is None:
        return None
    slot = as_int32(value, "batting_order", game_id)
    if not 1 <= slot <= 9:
        raise InvalidInput(f"batting_order must be 1-9, got {slot}", game_id=game_id)
    return slot


def as_type(value: object, kind: type[T], field: str, game_id: uuid.UUID) -> T:
    """``value`` if it is a ``kind``."""
    # asyncpg refuses these too, but its message repr()s the value: for an integer too long
    # to print that raises ValueError instead.
    if not isinstance(value, kind):
        raise InvalidInput(
            f"{field} must be a {kind.__name__}, got {type(value).__name__}", game_id=game_id
        )
    return value


def shown(value: object) -> str:
    """``repr(value)`` cut short for an error message (and one that cannot fail)."""
    try:
        text = repr(value)
    except ValueError:  # an integer beyond sys.get_int_max_str_digits()
        return f"an {type(value).__name__} too long to print"
    return text if len(text) <= 60 else f"{text[:57]}..."


def as_stored_json(value: JsonValue, field: str, game_id: uuid.UUID) -> JsonValue:
    """``value`` if jsonb stores it unchanged (see :data:`gamedb_schema.payloads.StoredJson`)."""
    try:
        return _stored_json.validate_python(value)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]["msg"]
        raise InvalidInput(f"{field} is not storable JSON: {problem}", game_id=game_id) from None


def as_game_state(
    game_id: uuid.UUID,
    *,
    inning: object,
    half: Half | str,
    home_score: object,
    away_score: object,
    outs: object,
    status: GameStatus | str | None,
) -> tuple[GameState, GameStatus | None]:
    """The arguments of ``update_game_state`` checked: the state (``outs=None``, which keeps
    the stored outs, checks as 0) and the new status (``None`` keeps the stored one)."""
    state = validate_input(
        GameState,
        {
            "inning": inning,
            "half": half,
            "home_score": home_score,
            "away_score": away_score,
            "outs": 0 if outs is None else outs,
        },
        game_id=game_id,
    )
    new_status = None if status is None else as_enum(GameStatus, status, "status", game_id)
    return state, new_status
