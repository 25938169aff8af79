"""Where pydantic's verdict on an argument becomes :class:`gamedb.errors.InvalidInput`.

The arguments themselves are declared once, in :mod:`gamedb.models`: the input models
(:class:`~gamedb.models.PlayData`, :class:`~gamedb.models.StateChange`, ...) and the
:class:`Argument` of each argument that stands alone. The operations and the persister's
hand-offs check through them alike, so both refuse the same values with the same error::

    play = validate_input(PlayData, play)       # a PlayData, or InvalidInput naming the field
    team_id = TEAM_ID(team_id, game_id)          # an Argument of gamedb.models
    values = STATE_CHANGE(game_id, inning, ...)  # a model's fields, checked without the model
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from gamedb.errors import InvalidInput

__all__ = ["Argument", "Fields", "shown", "validate_input", "validate_inputs"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Argument(Generic[T]):
    """One argument of the operations: its name, and its type with its bounds (an
    ``Annotated`` pydantic type). Calling it checks a value::

        TEAM_ID: Argument[int] = Argument("team_id", Int32)
        team_id = TEAM_ID(value, game_id)   # the value, or InvalidInput naming team_id
    """

    __slots__ = ("_adapter", "name")

    def __init__(self, name: str, kind: Any) -> None:
        self.name = name
        self._adapter: TypeAdapter[T] = TypeAdapter(kind)

    def __call__(self, value: object, game_id: uuid.UUID | None = None) -> T:
        try:
            return self._adapter.validate_python(value)
        except ValidationError as exc:
            raise _invalid(self.name, exc, game_id) from exc


class Fields(Generic[M]):
    """The fields of an input model, checked as the model checks them but without building
    it: for an operation that only hands the values on (pydantic checks a tuple several
    times faster than it builds a model). The types and bounds are the model's own
    (:meth:`pydantic.fields.FieldInfo.rebuild_annotation`); a value refused is refused by
    the model itself, so the error is the one :func:`validate_input` raises::

        STATE_CHANGE: Fields[StateChange] = Fields(StateChange)
        game_id, inning, half, home, away, outs, status = STATE_CHANGE(
            game_id, inning, half, home, away, outs, status
        )

    Only for a model whose fields are all there is to check: one with validators of its
    own is refused at once (:class:`TypeError`)."""

    __slots__ = ("_model", "_names", "_validate")

    def __init__(self, model: type[M]) -> None:
        decorators = model.__pydantic_decorators__
        if decorators.model_validators or decorators.field_validators:
            raise TypeError(f"{model.__name__} has validators a tuple of its fields would skip")
        fields = model.model_fields
        kinds = tuple(field.rebuild_annotation() for field in fields.values())
        shape: Any = tuple.__class_getitem__(kinds)
        adapter: TypeAdapter[tuple[Any, ...]] = TypeAdapter(shape)
        self._model = model
        self._names = tuple(fields)
        self._validate = adapter.validator.validate_python

    def __call__(self, *values: object) -> tuple[Any, ...]:
        """``values``, one a field in the model's order, checked."""
        try:
            checked: tuple[Any, ...] = self._validate(values)
        except ValidationError as exc:
            # The model's error names the fields (the tuple's would number them).
            validate_input(self._model, dict(zip(self._names, values, strict=True)))
            raise _invalid(self._model.__name__, exc, None) from exc
        return checked


def validate_input(model: type[M], value: object, *, game_id: uuid.UUID | None = None) -> M:
    """``value`` (a ``model``, or the mapping of its fields) as a ``model``."""
    if isinstance(value, model):
        return value
    try:
        # model_validate() without its wrapper's bookkeeping: every write validates here
        validated: M = model.__pydantic_validator__.validate_python(value)
        return validated
    except ValidationError as exc:
        raise _invalid(model.__name__, exc, _game_of(value) or game_id) from exc


def validate_inputs(
    model: type[M], values: object, *, field: str, game_id: uuid.UUID | None = None
) -> list[M]:
    """``values`` (a list, or another sequence that is not text) each as a ``model``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidInput(
            f"{field} must be a list of {model.__name__}, got {type(values).__name__}",
            game_id=game_id,
        )
    return [validate_input(model, value, game_id=game_id) for value in values]


def _invalid(what: str, exc: ValidationError, game_id: uuid.UUID | None) -> InvalidInput:
    """The one translation of pydantic's errors: each refused field and why, never its value
    (which may be too long to print, or a secret)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
        if error["loc"]
        else error["msg"]
        for error in exc.errors(include_url=False)
    )
    return InvalidInput(f"invalid {what}: {problems}", game_id=game_id)


def _game_of(value: object) -> uuid.UUID | None:
    """The game a refused mapping names, when it names one readably."""
    game_id = value.get("game_id") if isinstance(value, Mapping) else None
    if isinstance(game_id, str):
        try:
            return uuid.UUID(game_id)
        except ValueError:
            return None
    return game_id if isinstance(game_id, uuid.UUID) else None


def shown(value: object) -> str:
    """``repr(value)`` cut short for an error message (and one that cannot fail)."""
    try:
        text = repr(value)
    except ValueError:  # an integer beyond sys.get_int_max_str_digits()
        return f"an {type(value).__name__} too long to print"
    return text if len(text) <= 60 else f"{text[:57]}..."
