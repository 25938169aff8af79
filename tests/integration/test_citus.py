"""gamedb on a Citus cluster (``make citus && make test-citus``): every per-game operation runs
on the one node that holds the game, touching only that game's shards, without a two-phase
commit; the persister loses nothing when a worker's connections are killed mid-stream.

The rest of the suite runs on the cluster too (load_game_state's one round trip:
``tests/integration/test_recovery.py``); these tests need the cluster itself and skip elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import asyncpg
import pytest
from asyncpg.pool import PoolConnectionProxy

from gamedb import Database, GamePersister, RollData, RollRecord, WriteHandle
from gamedb.citus import distribute
from gamedb.delegation import delegated_calls
from gamedb.errors import ConfigurationError
from gamedb.retry import RetryPolicy
from gamedb.settings import Settings
from gamedb_gen import register_codecs
from gamedb_schema.urls import with_database
from tests.factories import AWAY, HOME, play_dict, set_up_game
from tests.integration.test_persister import write_through_kills

ON_CITUS = os.environ.get("GAMEDB_TEST_BACKEND") == "citus"
Traced: TypeAlias = tuple[Database, list[asyncpg.PostgresLogMessage]]

pytestmark = [
    pytest.mark.skipif(
        not ON_CITUS, reason="needs the Citus cluster: make citus && make test-citus"
    ),
    # asyncpg warns that the traced connection goes back to the pool still listening.
    pytest.mark.filterwarnings("ignore::asyncpg.InterfaceWarning"),
]

KILL_WORKER_CONNECTIONS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
    AND application_name LIKE 'citus_internal%'
"""
TABLES = ("games", "lineups", "plays", "roster_links", "rolls", "game_sessions")
# With citus.log_remote_commands, the coordinator reports each command it sends to a node.
_SERVER = re.compile(r"on server \S+@(\S+:\d+)")
_SHARD = re.compile(rf"\b(?:{'|'.join(TABLES)})_(\d+)\b")


@pytest.fixture
async def traced_db(database_url: str) -> AsyncIterator[Traced]:
    """A one-connection Database whose coordinator reports every command it sends on
    (listened to from each acquire to its release)."""
    sent: list[asyncpg.PostgresLogMessage] = []

    async def listen(conn: PoolConnectionProxy[asyncpg.Record], /) -> None:
        conn.add_log_listener(lambda _, message: sent.append(message))

    pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=1,
        init=register_codecs,
        setup=listen,
        server_settings={"citus.log_remote_commands": "on", "client_min_messages": "log"},
    )
    settings = Settings.load(database_url=database_url)
    database = Database(
        pool,
        url=database_url,
        settings=settings,
        retry=RetryPolicy(),
        delegated_calls=await delegated_calls(pool),
    )
    async with database as db:
        yield db, sent


async def _placement(database_url: str, game_id: uuid.UUID) -> tuple[str, set[int]]:
    """The node holding the game ("host:port") and the ids of its shards of every table."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """
            SELECT s.shardid, n.nodename || ':' || n.nodeport AS node
            FROM unnest($1::regclass[]) AS t (relation)
            JOIN pg_dist_shard AS s
                ON s.shardid = get_shard_id_for_distribution_column(t.relation, $2::uuid)
            JOIN pg_dist_placement AS p ON p.shardid = s.shardid
            JOIN pg_dist_node AS n ON n.groupid = p.groupid
            """,
            list(TABLES),
            game_id,
        )
    finally:
        await conn.close()
    nodes = {row["node"] for row in rows}
    assert len(nodes) == 1, f"the game's shards are not co-located: {nodes}"
    return nodes.pop(), {row["shardid"] for row in rows}


async def test_every_per_game_operation_runs_on_the_games_node_only(
    traced_db: Traced, database_url: str
) -> None:
    db, sent = traced_db
    game = await set_up_game(db)
    gid = game.game_id
    node, shards = await _placement(database_url, gid)
    roll = {"game_id": gid, "roll_id": "r1", "roll_type": "ab", "play_number": 1, "roll_data": {}}
    state = {"inning": 1, "half": "top", "outs": 1, "home_score": 0, "away_score": 0}
    operations: dict[str, Callable[[], Awaitable[Any]]] = {
        "create_game": lambda: db.create_game(
            game_id=gid, league_id="sba", home_team_id=HOME, away_team_id=AWAY
        ),
        "get_game": lambda: db.get_game(gid),
        "update_game_state": lambda: db.update_game_state(
            game_id=gid, inning=1, half="top", home_score=0, away_score=0, outs=1
        ),
        "add_sba_lineup_player": lambda: db.add_sba_lineup_player(
            game_id=gid, team_id=HOME, player_id=4242, position="P"
        ),
        "get_active_lineup": lambda: db.get_active_lineup(gid, HOME),
        "save_play": lambda: db.save_play(play_dict(game, 1)),
        "record_play": lambda: db.record_play(play_dict(game, 2), state),
        "get_plays": lambda: db.get_plays(gid),
        "add_substitution": lambda: db.add_substitution(
            game_id=gid,
            replacing_id=game.home_pitcher.id,
            after_play=2,
            position="P",
            player_id=4343,
        ),
        "add_sba_roster_player": lambda: db.add_sba_roster_player(
            game_id=gid, player_id=77, team_id=HOME
        ),
        "get_sba_roster": lambda: db.get_sba_roster(gid, HOME),
        "create_game_session": lambda: db.create_game_session(gid),
        "update_session_snapshot": lambda: db.update_session_snapshot(gid, {"inning": 1}),
        "get_game_session": lambda: db.get_game_session(gid),
        "save_rolls_batch": lambda: db.save_rolls_batch([roll]),
        "get_rolls_for_game": lambda: db.get_rolls_for_game(gid),
        "load_game_state": lambda: db.load_game_state(gid, include_rolls=True),
        "get_batter_stats": lambda: db.get_batter_stats(gid),
        "get_pitcher_stats": lambda: db.get_pitcher_stats(gid),
        "get_box_score": lambda: db.get_box_score(gid),
        "delete_rolls_after": lambda: db.delete_rolls_after(gid, 1),
        "delete_substitutions_after": lambda: db.delete_substitutions_after(gid, 2),
        "delete_plays_after": lambda: db.delete_plays_after(gid, 1),
        "rollback_to_play": lambda: db.rollback_to_play(gid, 0),
        "persister": lambda: _persist_one_game(db, game.game_id, play_dict(game, 1)),
        "remove_roster_entry": lambda: _remove_roster_entries(db, gid),
        "delete_game": lambda: db.delete_game(gid),
    }
    refused: dict[str, str] = {}
    for name, operation in operations.items():
        sent.clear()
        await operation()
        commands = [m.message for m in sent if m.message.startswith("issuing")]
        servers = {match[1] for m in sent if m.detail and (match := _SERVER.search(m.detail))}
        touched = {int(s) for command in commands for s in _SHARD.findall(command)}
        if not commands:
            refused[name] = "no command reached a worker"
        elif servers != {node}:
            refused[name] = f"ran on {sorted(servers)}, the game lives on {node}"
        elif not touched <= shards:
            refused[name] = f"touched other games' shards {sorted(touched - shards)}"
        elif any("PREPARE TRANSACTION" in command for command in commands):
            refused[name] = "committed in two phases"
        elif any("intermediate_result" in m.message or "format result" in m.message for m in sent):
            refused[name] = "planned in steps joined by intermediate results"
    assert not refused, "\n".join(f"{name}: {why}" for name, why in refused.items())


async def _persist_one_game(db: Database, game_id: uuid.UUID, play: dict[str, Any]) -> None:
    async with GamePersister(db) as persister:
        handles: list[WriteHandle[Any]] = [
            await persister.save_play(play),
            await persister.save_rolls(
                [
                    RollRecord(
                        game_id=game_id,
                        roll_id="p1",
                        roll_type="ab",
                        play_number=1,
                        roll_data=RollData(dice={"d20": 3}),
                    )
                ]
            ),
            await persister.update_game_state(
                game_id=game_id, inning=1, half="top", home_score=1, away_score=0
            ),
            await persister.update_session_snapshot(game_id, {"play": 1}),
        ]
        await persister.flush()
    for handle in handles:
        await handle


async def _remove_roster_entries(db: Database, game_id: uuid.UUID) -> None:
    for link in await db.get_sba_roster(game_id):
        assert await db.remove_roster_entry(game_id, link.id)


async def test_load_game_state_plans_one_task(database_url: str) -> None:
    from gamedb_gen import games

    conn = await asyncpg.connect(database_url)
    try:
        plan = await conn.fetch(f"EXPLAIN {games.LOAD_GAME_STATE}", uuid.uuid4(), True)
    finally:
        await conn.close()
    text = "\n".join(row[0] for row in plan)
    assert "Task Count: 1" in text, text


async def test_games_are_spread_over_both_workers(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT table_name::text, count(DISTINCT nodeport) AS nodes, count(*) AS shards "
            "FROM citus_shards GROUP BY table_name"
        )
    finally:
        await conn.close()
    assert {row["table_name"]: (row["nodes"], row["shards"] > 2) for row in rows} == {
        table: (2, True) for table in TABLES
    }


async def test_distribute_is_idempotent_and_refused_without_citus(
    database_url: str, pg_admin_url: str
) -> None:
    assert await distribute(database_url) == ()
    plain = with_database(pg_admin_url, "postgres")  # the coordinator's own, without citus
    with pytest.raises(ConfigurationError, match="not a Citus coordinator"):
        await distribute(plain)


async def test_a_write_whose_function_is_missing_says_to_distribute_again(
    db: Database, database_url: str
) -> None:
    """As after upgrading gamedb to statements the database has no functions of yet."""
    game = await set_up_game(db)
    conn = await asyncpg.connect(database_url)
    try:
        found = await conn.fetchrow(
            "SELECT p.proname::text, p.oid::regprocedure::text FROM pg_proc AS p "
            "WHERE p.proname LIKE 'gamedb\\_save\\_play\\_%'"
        )
        assert found is not None
        missing, signature = found
        await conn.execute(f"DROP FUNCTION {signature}")
    finally:
        await conn.close()
    with pytest.raises(ConfigurationError, match=r"no function for SavePlay.*gamedb distribute"):
        await db.save_play(play_dict(game, 1))
    assert await db.get_plays(game.game_id) == []
    assert await distribute(database_url) == (missing,)
    assert await db.save_play(play_dict(game, 1)) > 0


@pytest.mark.slow
async def test_killed_worker_connections_lose_and_duplicate_no_acknowledged_write(
    db: Database, database_url: str
) -> None:
    """The persister keeps each transaction to one game on Citus, so to one worker: it
    commits in one phase before the coordinator answers, and a COMMIT lost with the worker's
    connection fails the transaction, which the persister retries. (A transaction spanning
    workers commits in two, and a worker that loses its connection before COMMIT PREPARED
    shows acknowledged writes only once the coordinator recovers it.)"""
    from devtools.citus_cluster import running_cluster

    cluster = running_cluster()
    worker = with_database(cluster.url(cluster.workers[0]), database_url.rsplit("/", 1)[1])
    killer = await asyncio.wait_for(asyncpg.connect(worker), 10)
    try:
        # The coordinator's connections to this worker, mid-transaction or idle.
        terminated, metrics = await write_through_kills(
            db, killer, KILL_WORKER_CONNECTIONS, total=2_000, kills=5
        )
    finally:
        await killer.close()
    print(
        f"\nworker kills: {len(terminated)} x ({sum(terminated)} coordinator connections) during "
        f"{metrics.committed} writes of 50 games: {metrics.retries} group retries, "
        "0 lost, 0 duplicated"
    )
