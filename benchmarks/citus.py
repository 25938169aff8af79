"""``python -m benchmarks --citus`` (``make bench ARGS=--citus``): gamedb on the Citus cluster
of ``make citus`` against the embedded server, in the same run.

Each side gets a fresh database (on Citus: created on every node, migrated and distributed
through the coordinator). Per-operation latency is timed call by call on one game; the
persister's throughput is the plays/s of 100 games written at once (on Citus their shards
are spread over both workers, and the table says how)::

    python -m benchmarks --citus --iterations 300
"""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg

from benchmarks.scenario import PlayScript, prepare_game, prepare_games
from benchmarks.server import bench_database
from benchmarks.timing import percentile
from gamedb import Database, GamePersister
from gamedb.citus import distribute
from gamedb.migrate import migrate

__all__ = ["run_citus_comparison"]

_GAMES = 100
_GAME_PLAYS = 30
_LOADED_PLAYS = 300


@contextlib.asynccontextmanager
async def _citus_database() -> AsyncIterator[str]:
    from devtools.citus_cluster import create_database, drop_database, running_cluster

    cluster = running_cluster()
    name = f"gamedb_bench_{uuid.uuid4().hex[:12]}"
    url = await create_database(cluster, name)
    try:
        await migrate(url, lock=False)
        await distribute(url)
        yield url
    finally:
        await drop_database(cluster, name)


@contextlib.asynccontextmanager
async def _embedded_database() -> AsyncIterator[str]:
    async with bench_database() as target:
        yield target.url


async def _time(call: Callable[[int], Awaitable[object]], iterations: int) -> tuple[float, float]:
    """Median and p95 in ms of ``iterations`` calls (after ``iterations // 10`` untimed)."""
    for index in range(iterations // 10):
        await call(index)
    samples = []
    for index in range(iterations // 10, iterations // 10 + iterations):
        started = time.perf_counter()
        await call(index)
        samples.append((time.perf_counter() - started) * 1e3)
    return statistics.median(samples), percentile(samples, 95)


async def _latencies(db: Database, iterations: int) -> dict[str, tuple[float, float]]:
    loaded = await prepare_game(db, plays=_LOADED_PLAYS, seed=11)
    written = await prepare_game(db, seed=12)
    plays = list(PlayScript(written, seed=12).plays(1, iterations + iterations // 10))
    gid = loaded.game_id

    async def update_state(index: int) -> object:
        return await db.update_game_state(
            game_id=gid, inning=1 + index % 9, half="top", home_score=index, away_score=0
        )

    calls: dict[str, Callable[[int], Awaitable[object]]] = {
        "get_game": lambda _: db.get_game(gid),
        "load_game_state (300 plays)": lambda _: db.load_game_state(gid),
        "get_box_score (300 plays)": lambda _: db.get_box_score(gid),
        "update_game_state": update_state,
        "update_session_snapshot": lambda i: db.update_session_snapshot(gid, {"i": i}),
        "save_play": lambda i: db.save_play(plays[i]),
    }
    return {name: await _time(call, iterations) for name, call in calls.items()}


async def _persister_rate(db: Database) -> float:
    games = await prepare_games(db, _GAMES, seed=100)
    scripts = [PlayScript(game, seed=7).plays(1, _GAME_PLAYS) for game in games]
    async with GamePersister(db) as persister:
        started = time.perf_counter()
        for round_plays in zip(*scripts, strict=True):
            for play in round_plays:
                await persister.save_play(play)
        await persister.flush()
        elapsed = time.perf_counter() - started
        if persister.metrics.failed:
            raise RuntimeError(f"the persister failed {persister.metrics.failed} writes")
    return _GAMES * _GAME_PLAYS / elapsed


async def _games_per_node(url: str) -> dict[int, int]:
    conn = await asyncpg.connect(url)
    try:
        game_ids = [row["id"] for row in await conn.fetch("SELECT id FROM games")]
        rows = await conn.fetch(
            "SELECT s.nodeport, count(*) AS games FROM unnest($1::uuid[]) AS g (id) "
            "JOIN citus_shards AS s "
            "ON s.shardid = get_shard_id_for_distribution_column('games', g.id) "
            "GROUP BY s.nodeport ORDER BY s.nodeport",
            game_ids,
        )
    finally:
        await conn.close()
    return {row["nodeport"]: row["games"] for row in rows}


async def run_citus_comparison(iterations: int) -> str:
    """Run both sides; return the comparison as a Markdown table and a spread line."""
    results: dict[str, dict[str, tuple[float, float]]] = {}
    rates: dict[str, float] = {}
    spread: dict[int, int] = {}
    for side, database in (("embedded", _embedded_database), ("citus", _citus_database)):
        async with database() as url, await Database.connect(url, db_pool_size=10) as db:
            results[side] = await _latencies(db, iterations)
            rates[side] = await _persister_rate(db)
            if side == "citus":
                spread = await _games_per_node(url)
    lines = [
        "| operation | embedded p50 / p95 ms | Citus p50 / p95 ms |",
        "|---|---|---|",
    ]
    for name, (p50, p95) in results["embedded"].items():
        c50, c95 = results["citus"][name]
        lines.append(f"| {name} | {p50:.2f} / {p95:.2f} | {c50:.2f} / {c95:.2f} |")
    lines.append(
        f"| persister, {_GAMES} games x {_GAME_PLAYS} plays | {rates['embedded']:,.0f} plays/s "
        f"| {rates['citus']:,.0f} plays/s |"
    )
    shown = ", ".join(f"port {port}: {games}" for port, games in spread.items())
    lines.append(f"\nGames per Citus node in the persister run and the latency games: {shown}.")
    return "\n".join(lines)
