"""``load_game_state`` against the least raw work that recovers the same game.

The candidate reads the game, both active lineups, every play, the roster and the session
as one :class:`~gamedb.GameSnapshot`. A raw asyncpg program needing the same models in one
round trip has two shapes to choose from, and both run as baselines, taking turns with the
candidate; the row's baseline is whichever is faster in this run:

* **typed rows**: one ``UNION ALL`` statement whose rows carry each table's columns in a slot
  of their own (binary, decoded by asyncpg), ordered like the snapshot, and each row
  validated into its generated model (``Model.model_validate``);
* **JSON document**: one statement building the snapshot as JSON on the server, parsed
  straight into the models (``GameSnapshot.model_validate_json``).

Separate statements are not a baseline: they cost one round trip each, and reading them from
one snapshot costs a transaction around them::

    row = await measure_load_game_state(db, game, scale, tick)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from pydantic import BaseModel

from benchmarks.report import Budget, Row
from benchmarks.scale import Scale
from benchmarks.scenario import PreparedGame
from benchmarks.timing import Tick, interleave
from gamedb import Database, Game, GameSession, GameSnapshot, Lineup, Play, RosterLink

__all__ = ["measure_load_game_state"]

LOAD_BUDGET = Budget("ratio_at_most", 1.5)


@dataclasses.dataclass(frozen=True, slots=True)
class _Part:
    table: str
    model: type[BaseModel]
    where: str
    order: tuple[str, ...]
    """ORDER BY keys over the statement's output columns, named ``"table.column"``."""


_PARTS = (
    _Part("games", Game, "id = $1", ()),
    _Part(
        "lineups",
        Lineup,
        "game_id = $1 AND is_active",
        ('"lineups.team_id"', '"lineups.batting_order" NULLS LAST', '"lineups.id"'),
    ),
    _Part("plays", Play, "game_id = $1", ('"plays.play_number"',)),
    _Part(
        "roster_links", RosterLink, "game_id = $1", ('"roster_links.team_id"', '"roster_links.id"')
    ),
    _Part("game_sessions", GameSession, "game_id = $1", ()),
)

_SNAPSHOT_DOCUMENT = """
SELECT json_build_object(
    'game', row_to_json(g),
    'lineups', COALESCE((
        SELECT json_agg(l ORDER BY l.team_id, l.batting_order NULLS LAST, l.id)
        FROM lineups AS l WHERE l.game_id = g.id AND l.is_active), '[]'),
    'plays', COALESCE((
        SELECT json_agg(p ORDER BY p.play_number) FROM plays AS p WHERE p.game_id = g.id), '[]'),
    'roster', COALESCE((
        SELECT json_agg(r ORDER BY r.team_id, r.id)
        FROM roster_links AS r WHERE r.game_id = g.id), '[]'),
    'session', (SELECT row_to_json(s) FROM game_sessions AS s WHERE s.game_id = g.id)
)::text
FROM games AS g WHERE g.id = $1
"""

_COLUMN_TYPES = """
SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
"""


class _TypedRows:
    """The one-statement ``UNION ALL`` reader and the slot of each table's columns."""

    __slots__ = ("_slots", "query")

    def __init__(self, columns: Sequence[Sequence[tuple[str, str]]]) -> None:
        every = [
            (part, name, kind)
            for part, cols in zip(_PARTS, columns, strict=True)
            for name, kind in cols
        ]
        branches = []
        for number, part in enumerate(_PARTS):
            values = [f"{number} AS part"] + [
                f'x."{name}" AS "{owner.table}.{name}"'
                if owner is part
                else f'NULL::{kind} AS "{owner.table}.{name}"'
                for owner, name, kind in every
            ]
            branches.append(f"SELECT {', '.join(values)} FROM {part.table} AS x WHERE {part.where}")
        order = ["part"] + [key for part in _PARTS for key in part.order]
        self.query = " UNION ALL ".join(branches) + " ORDER BY " + ", ".join(order)
        self._slots: list[tuple[int, tuple[str, ...]]] = []
        start = 1
        for cols in columns:
            names = tuple(name for name, _ in cols)
            self._slots.append((start, names))
            start += len(names)

    def snapshot(self, rows: Sequence[asyncpg.Record]) -> GameSnapshot:
        parts: list[list[Any]] = [[] for _ in _PARTS]
        for row in rows:
            number = row[0]
            start, names = self._slots[number]
            values = dict(zip(names, row[start : start + len(names)], strict=True))
            parts[number].append(_PARTS[number].model.model_validate(values))
        game, lineups, plays, roster, session = parts
        return GameSnapshot(
            game=game[0],
            lineups=lineups,
            plays=plays,
            roster=roster,
            session=session[0] if session else None,
        )


async def measure_load_game_state(
    db: Database, game: PreparedGame, scale: Scale, tick: Tick
) -> Row:
    """``load_game_state`` vs the faster of the two one-round-trip raw readers."""
    pool = db.pool
    async with pool.acquire() as conn:
        columns = [await conn.fetch(_COLUMN_TYPES, part.table) for part in _PARTS]
    typed = _TypedRows([[(c["attname"], c["type"]) for c in cols] for cols in columns])
    expected = await db.load_game_state(game.game_id)
    if typed.snapshot(await pool.fetch(typed.query, game.game_id)) != expected:
        raise RuntimeError("the typed-rows baseline does not read the snapshot gamedb reads")

    async def candidate(_: int) -> object:
        return await db.load_game_state(game.game_id)

    async def typed_rows(_: int) -> object:
        return typed.snapshot(await pool.fetch(typed.query, game.game_id))

    async def document(_: int) -> object:
        text = await pool.fetchval(_SNAPSHOT_DOCUMENT, game.game_id)
        return GameSnapshot.model_validate_json(text)

    steps: list[Callable[[int], Awaitable[object]]] = [candidate, typed_rows, document]
    timed, by_rows, by_document = await interleave(
        steps, iterations=scale.load_iterations, warmup=scale.slow_warmup, tick=tick
    )
    rows_wins = by_rows.p50 <= by_document.p50
    best = by_rows if rows_wins else by_document
    return Row.timed(
        f"load_game_state ({len(expected.plays)} plays)",
        timed,
        best,
        baseline_name=(
            "one raw UNION ALL of typed rows + model_validate"
            if rows_wins
            else "one raw JSON document + GameSnapshot.model_validate_json"
        ),
        budget=LOAD_BUDGET,
        details={
            "typed_rows_p50": by_rows.p50 * 1e3,
            "json_document_p50": by_document.p50 * 1e3,
            "lineups": len(expected.lineups),
            "roster": len(expected.roster),
        },
    )
