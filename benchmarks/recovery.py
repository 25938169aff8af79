"""``load_game_state`` against the least raw work that reads the same game as plain dicts.

The candidate reads the game, every lineup entry, every play, the roster and the session
(and, in the second row, the game's rolls) as one :class:`~gamedb.GameSnapshot` of pydantic
models. The baseline is a raw asyncpg program that needs the same rows in one round trip and
from one snapshot, and is content with plain dicts (no models). It has three shapes to
choose from; all three take turns with the candidate, and the row's baseline is whichever is
fastest in this run:

* **JSON document**: the server builds the snapshot as one JSON text, ``json.loads`` parses it;
* **whole rows**: one ``UNION ALL`` statement returning each table row in a column of its
  table's row type (binary), each made a ``dict``;
* **typed rows**: one ``UNION ALL`` statement whose rows carry each table's columns in a slot
  of their own (binary), each row's slot made a ``dict``.

Separate statements are not a baseline: they cost one round trip each, and reading them from
one snapshot costs a transaction around them::

    rows = await measure_load_game_state(db, game, scale, tick)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from benchmarks.report import Budget, Row
from benchmarks.scale import Scale
from benchmarks.scenario import PreparedGame, roll_batch
from benchmarks.timing import Samples, Tick, interleave
from gamedb import Database, GameSnapshot

__all__ = ["ROLLS_PER_BATCH", "measure_load_game_state"]

LOAD_BUDGET = Budget("ratio_at_most", 1.3)
ROLLS_PER_BATCH = 10
"""Rolls the engine saves a half inning."""

Snapshot = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class _Part:
    key: str
    table: str
    where: str
    order: tuple[str, ...]
    """ORDER BY keys over the table's columns."""
    many: bool = True


_PARTS = (
    _Part("game", "games", "id = $1", (), many=False),
    _Part("lineups", "lineups", "game_id = $1", ("team_id", "batting_order NULLS LAST", "id")),
    _Part("plays", "plays", "game_id = $1", ("play_number",)),
    _Part("roster", "roster_links", "game_id = $1", ("team_id", "id")),
    _Part("session", "game_sessions", "game_id = $1", (), many=False),
)
_ROLLS = _Part("rolls", "rolls", "game_id = $1", ("ordinal",))


def _ordered(part: _Part, alias: str) -> str:
    keys = ", ".join(f"{alias}.{key}" for key in part.order)
    return f" ORDER BY {keys}" if keys else ""


def _document_query(parts: Sequence[_Part]) -> str:
    items = []
    for part in parts:
        source = f"FROM {part.table} AS x WHERE x.{part.where}"
        if part.many:
            value = f"COALESCE((SELECT json_agg(x{_ordered(part, 'x')}) {source}), '[]')"
        else:
            value = f"(SELECT row_to_json(x) {source})"
        items.append(f"'{part.key}', {value}")
    return f"SELECT json_build_object({', '.join(items)})::text"


def _whole_rows_query(parts: Sequence[_Part]) -> str:
    branches = []
    for number, part in enumerate(parts):
        columns = ", ".join(
            f"x::{other.table}" if other is part else f"NULL::{other.table}" for other in parts
        )
        keys = ", ".join(f"x.{key}" for key in part.order) or "1"
        branches.append(
            f"SELECT {number} AS part, row_number() OVER (ORDER BY {keys}) AS position, "
            f"{columns} FROM {part.table} AS x WHERE x.{part.where}"
        )
    return " UNION ALL ".join(branches) + " ORDER BY part, position"


def _whole_rows(parts: Sequence[_Part], rows: Sequence[asyncpg.Record]) -> Snapshot:
    found: list[list[dict[str, Any]]] = [[] for _ in parts]
    for row in rows:
        number = row[0]
        value = row[2 + number]
        found[number].append(dict(zip(value.keys(), value, strict=True)))
    return {
        part.key: values if part.many else (values[0] if values else None)
        for part, values in zip(parts, found, strict=True)
    }


_COLUMN_NAMES = """
SELECT attname FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
"""
_COLUMN_TYPES = """
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
"""


class _TypedRows:
    """The one-statement ``UNION ALL`` reader and the slot of each table's columns."""

    __slots__ = ("_parts", "_slots", "query")

    def __init__(self, parts: Sequence[_Part], columns: Sequence[Sequence[tuple[str, str]]]):
        every = [
            (part, name, kind)
            for part, cols in zip(parts, columns, strict=True)
            for name, kind in cols
        ]
        branches = []
        for number, part in enumerate(parts):
            values = [f"{number} AS part"] + [
                f'x."{name}" AS "{owner.table}.{name}"'
                if owner is part
                else f'NULL::{kind} AS "{owner.table}.{name}"'
                for owner, name, kind in every
            ]
            branches.append(f"SELECT {', '.join(values)} FROM {part.table} AS x WHERE {part.where}")
        order = ["part"] + [
            f'"{part.table}.{key.split()[0]}"{key[len(key.split()[0]) :]}'
            for part in parts
            for key in part.order
        ]
        self.query = " UNION ALL ".join(branches) + " ORDER BY " + ", ".join(order)
        self._parts = tuple(parts)
        self._slots: list[tuple[int, tuple[str, ...]]] = []
        start = 1
        for cols in columns:
            names = tuple(name for name, _ in cols)
            self._slots.append((start, names))
            start += len(names)

    def snapshot(self, rows: Sequence[asyncpg.Record]) -> Snapshot:
        found: list[list[dict[str, Any]]] = [[] for _ in self._parts]
        for row in rows:
            number = row[0]
            start, names = self._slots[number]
            found[number].append(dict(zip(names, row[start : start + len(names)], strict=True)))
        return {
            part.key: values if part.many else (values[0] if values else None)
            for part, values in zip(self._parts, found, strict=True)
        }


def _same_rows(snapshot: GameSnapshot, raw: Snapshot, label: str) -> None:
    """Refuse a baseline that does not read the rows the candidate reads."""
    keys = {
        "lineups": [entry.id for entry in snapshot.lineups],
        "plays": [play.play_number for play in snapshot.plays],
        "roster": [link.id for link in snapshot.roster],
    }
    for key, expected in keys.items():
        field = "play_number" if key == "plays" else "id"
        if [item[field] for item in raw[key]] != expected:
            raise RuntimeError(f"the {label} baseline does not read the snapshot's {key}")
    if snapshot.rolls is not None and [r["roll_id"] for r in raw["rolls"]] != [
        roll.roll_id for roll in snapshot.rolls
    ]:
        raise RuntimeError(f"the {label} baseline does not read the snapshot's rolls")


async def _store_rolls(db: Database, game: PreparedGame, count: int) -> None:
    """``count`` rolls for the game, saved a half inning's batch at a time."""
    for batch_number in range(-(-count // ROLLS_PER_BATCH)):
        size = min(ROLLS_PER_BATCH, count - batch_number * ROLLS_PER_BATCH)
        await db.save_rolls_batch(
            roll_batch(
                game.game_id,
                prefix=f"recovery-{batch_number}",
                count=size,
                play_number=1 + batch_number,
                seed=batch_number,
            )
        )


async def _measure(
    db: Database, game: PreparedGame, scale: Scale, tick: Tick, *, include_rolls: bool
) -> Row:
    pool = db.pool
    parts = (*_PARTS, _ROLLS) if include_rolls else _PARTS
    async with pool.acquire() as conn:
        columns = [
            list(
                zip(
                    [r[0] for r in await conn.fetch(_COLUMN_NAMES, part.table)],
                    [r[0] for r in await conn.fetch(_COLUMN_TYPES, part.table)],
                    strict=True,
                )
            )
            for part in parts
        ]
    typed = _TypedRows(parts, columns)
    document_query = _document_query(parts)
    whole_rows_query = _whole_rows_query(parts)

    async def document() -> Snapshot:
        parsed: Snapshot = json.loads(await pool.fetchval(document_query, game.game_id))
        return parsed

    async def whole_rows() -> Snapshot:
        return _whole_rows(parts, await pool.fetch(whole_rows_query, game.game_id))

    async def typed_rows() -> Snapshot:
        return typed.snapshot(await pool.fetch(typed.query, game.game_id))

    expected = await db.load_game_state(game.game_id, include_rolls=include_rolls)
    if expected is None:
        raise RuntimeError("the prepared game is missing")
    readers = {"json_document": document, "whole_rows": whole_rows, "typed_rows": typed_rows}
    for label, reader in readers.items():
        _same_rows(expected, await reader(), label)

    async def candidate(_: int) -> object:
        return await db.load_game_state(game.game_id, include_rolls=include_rolls)

    def step(reader: Callable[[], Awaitable[Snapshot]]) -> Callable[[int], Awaitable[object]]:
        return lambda _: reader()

    steps = [candidate, *(step(reader) for reader in readers.values())]
    timed, *raw = await interleave(
        steps, iterations=scale.load_iterations, warmup=scale.slow_warmup, tick=tick
    )
    by_label: dict[str, Samples] = dict(zip(readers, raw, strict=True))
    fastest = min(by_label, key=lambda label: by_label[label].p50)
    names = {
        "json_document": "one raw JSON document + json.loads",
        "whole_rows": "one raw UNION ALL of whole rows + dict()",
        "typed_rows": "one raw UNION ALL of typed rows + dict()",
    }
    operation = f"load_game_state ({len(expected.plays)} plays"
    if expected.rolls is not None:
        operation += f", {len(expected.rolls)} rolls"
    return Row.timed(
        operation + ")",
        timed,
        by_label[fastest],
        baseline_name=names[fastest] + " (plain dicts)",
        budget=LOAD_BUDGET,
        details={
            **{f"{label}_p50": samples.p50 * 1e3 for label, samples in by_label.items()},
            "lineups": len(expected.lineups),
            "roster": len(expected.roster),
        },
    )


async def measure_load_game_state(
    db: Database, game: PreparedGame, scale: Scale, tick: Tick
) -> list[Row]:
    """``load_game_state`` without and with rolls (two a play, saved ten at a time) vs the
    fastest one-round-trip raw reader of plain dicts."""
    without_rolls = await _measure(db, game, scale, tick, include_rolls=False)
    await _store_rolls(db, game, 2 * scale.plays)
    with_rolls = await _measure(db, game, scale, tick, include_rolls=True)
    return [without_rolls, with_rolls]
