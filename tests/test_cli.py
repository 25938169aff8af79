"""The ``gamedb`` command end to end, against a real database: every subcommand, its help,
bad arguments, unknown games, and servers that refuse or never answer.

The commands run their own event loop (``asyncio.run``), so the tests that invoke them are
plain functions; async fixtures prepare the database before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner, Result

from gamedb import Database, GameSnapshot, GameStatus
from gamedb.cli import cli
from gamedb.demo import DemoReport, compare, run_demo
from gamedb.settings import redact_url, with_database

COMMANDS = ["demo", "export", "migrate", "rollback", "show", "status"]
REFUSING_URL = "postgresql://postgres@127.0.0.1:1/x"
SCHEMA = Path(__file__).resolve().parent.parent / "schema"


def run(*args: str, url: str | None, input: str | None = None, **env: str) -> Result:
    """``gamedb ARGS`` with ``DATABASE_URL=url`` (unset for ``None``)."""
    environment: dict[str, str | None] = {"DATABASE_URL": url, **env}
    return CliRunner().invoke(cli, list(args), env=environment, input=input)


def one_line_error(result: Result) -> str:
    """The error ``result`` printed: exactly one line on stderr, nothing on stdout."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
async def played(database_url: str) -> DemoReport:
    """Two finished demo games (one SBA, one PD) in the test's database."""
    async with await Database.connect(database_url, db_pool_size=2) as db:
        return await run_demo(db, games=2, seed=11)


async def count_rows(url: str, game_id: uuid.UUID) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table} WHERE game_id = $1", game_id)
            for table in ("plays", "rolls", "lineups", "roster_links")
        }
    finally:
        await conn.close()


# ---- help and usage ----------------------------------------------------------------------


def test_help_lists_every_command_and_the_environment() -> None:
    result = run("--help", url=None)
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f"\n  {command} " in result.stdout
    assert "DATABASE_URL" in result.stdout
    assert "Exit status: 0 success, 1 the operation failed, 2 bad usage" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str) -> None:
    result = run(command, "--help", url=REFUSING_URL)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: gamedb {command} ")
    # A paragraph of its own under the usage line, not just a name.
    assert len(result.stdout.split("\n\n")[1].split()) >= 6


def test_python_dash_m_runs_the_same_command() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "gamedb", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("gamedb ")


@pytest.mark.parametrize(
    "args",
    [
        ["show", "not-a-uuid"],
        ["export", "12345"],
        ["rollback", "not-a-uuid", "3"],
        ["rollback", str(uuid.uuid4()), "three"],
        ["rollback", str(uuid.uuid4()), "--", "-1"],
        ["rollback", str(uuid.uuid4())],
        ["show"],
        ["demo", "--games", "0"],
        ["demo", "--seed", "x"],
        ["migrate", "--sloppy"],
        ["no-such-command"],
    ],
)
def test_bad_arguments_exit_2_before_connecting(args: list[str]) -> None:
    result = run(*args, url=REFUSING_URL)
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr
    assert "cannot connect" not in result.stderr


# ---- servers that cannot be used ---------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["show", str(uuid.uuid4())], ["status"], ["migrate"], ["demo", "--games", "1"]]
)
def test_refusing_server_is_one_line_and_exit_1(args: list[str]) -> None:
    started = time.perf_counter()
    result = run(*args, url=REFUSING_URL)
    assert result.exit_code == 1
    assert one_line_error(result) == (
        "Error: cannot connect to postgresql://postgres@127.0.0.1:1/x: "
        "connection refused; is PostgreSQL running there?"
    )
    assert time.perf_counter() - started < 5


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        yield f"postgresql://postgres:secret@127.0.0.1:{port}/games"


@pytest.mark.parametrize("args", [["export", str(uuid.uuid4())], ["status"], ["migrate"]])
def test_silent_server_times_out_quickly(silent_server: str, args: list[str]) -> None:
    started = time.perf_counter()
    result = run(*args, url=silent_server, DB_CONNECT_TIMEOUT="0.5")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 1
    error = one_line_error(result)
    assert error.startswith("Error: cannot connect to postgresql://postgres:***@127.0.0.1:")
    assert error.endswith("/games: no answer within 0.5 s (DB_CONNECT_TIMEOUT)")
    assert "secret" not in result.output
    assert elapsed < 4


def test_malformed_database_url_is_one_line() -> None:
    result = run("status", url="mysql://localhost/games")
    assert result.exit_code == 1
    assert "DATABASE_URL must start with postgresql://" in one_line_error(result)


def test_debug_shows_the_traceback(database_url: str) -> None:
    logger = logging.getLogger("gamedb")
    level = logger.level
    try:
        result = run("--debug", "show", str(uuid.uuid4()), url=database_url)
    finally:
        logger.setLevel(level)  # --debug configures this process's logging
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "GameNotFound" in result.stderr


# ---- migrate and status ------------------------------------------------------------------


@pytest.fixture
async def fresh_database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """The URL of a database that does not exist yet (dropped afterwards)."""
    name = f"gamedb_cli_{uuid.uuid4().hex[:12]}"
    yield with_database(pg_admin_url, name)
    conn = await asyncpg.connect(pg_admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def test_migrate_creates_the_database_and_status_tells(fresh_database_url: str) -> None:
    before = run("status", url=fresh_database_url)
    assert before.exit_code == 1
    assert one_line_error(before).endswith("does not exist yet: `gamedb migrate` creates it")

    migrated = run("migrate", "--strict", url=fresh_database_url)
    assert migrated.exit_code == 0, migrated.output
    applied = sorted(path.name for path in SCHEMA.glob("*.sql"))
    assert f"Applying: {applied[0]}" in migrated.stdout
    assert f"Up to date: {len(applied)} migrations applied to " in migrated.stdout

    again = run("migrate", url=fresh_database_url)
    assert again.exit_code == 0
    assert "Applying" not in again.stdout

    status = run("status", url=fresh_database_url)
    assert status.exit_code == 0, status.output
    lines = status.stdout.splitlines()
    assert lines[0] == f"Database  {redact_url(fresh_database_url)}"
    assert lines[1].startswith("Server    PostgreSQL 1")
    assert lines[2] == f"Applied   {len(applied)}"
    assert [line.strip() for line in lines[3 : 3 + len(applied)]] == applied
    assert lines[-1] == "Pending   none"


@pytest.mark.skipif(
    bool(os.environ.get("GAMEDB_TEST_DATABASE_URL") or os.environ.get("GAMEDB_TEST_BACKEND")),
    reason="the embedded server is the test server only on the default backend",
)
def test_without_database_url_the_embedded_server_is_used(pg_admin_url: str) -> None:
    migrated = run("migrate", url=None)
    assert migrated.exit_code == 0, migrated.output
    status = run("status", url=None)
    assert status.exit_code == 0, status.output
    assert status.stdout.startswith("Database  the embedded server's 'gamedb' database")
    assert status.stdout.rstrip().endswith("Pending   none")


# ---- demo --------------------------------------------------------------------------------


def test_demo_plays_recovers_and_verifies(database_url: str) -> None:
    result = run("demo", "--games", "3", "--seed", "5", url=database_url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Played     3 games (2 SBA, 1 PD) from seed 5: " in out
    assert "through the write-behind persister" in out
    assert "Recovered  3 games with load_game_state(include_rolls=True): " in out
    assert "Verified   PASS" in out
    assert "Box score of game " in out
    assert "     R   H   E" in out
    assert "batting" in out
    assert "pitching" in out
    assert "Playing 3 games" in result.stderr
    shown = uuid.UUID(out.rsplit("gamedb show ", 1)[1][:36])

    shown_again = run("show", str(shown), url=database_url)
    assert shown_again.exit_code == 0
    box = out.split("Box score of game ", 1)[1].split("\n\n", 1)[1].split("\n\nEvery game")[0]
    assert box in shown_again.stdout


async def test_demo_games_are_in_the_database(database_url: str) -> None:
    async with await Database.connect(database_url, db_pool_size=2) as db:
        report = await run_demo(db, games=3, seed=5)
        assert report.verified
        assert report.undos == 3
        assert report.substitutions > 0
        assert report.persister.retries == 0
        assert report.persister.committed == report.handoffs
        for record in report.records:
            snapshot = await db.load_game_state(record.game_id, include_rolls=True)
            assert snapshot is not None
            assert snapshot.game.status is GameStatus.COMPLETED
            assert snapshot.game.home_score != snapshot.game.away_score
            assert [p.play_number for p in snapshot.plays] == list(range(1, len(record.plays) + 1))
            assert snapshot.rolls is not None
            assert len(snapshot.rolls) == len(record.rolls)


async def test_verification_notices_what_the_database_lost(database_url: str) -> None:
    async with await Database.connect(database_url, db_pool_size=2) as db:
        report = await run_demo(db, games=1, seed=3)
        record = report.records[0]
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE plays SET rbi = rbi + 1 WHERE game_id = $1 AND play_number = 7",
                record.game_id,
            )
            await conn.execute(
                "DELETE FROM rolls WHERE game_id = $1 AND roll_id = $2",
                record.game_id,
                record.rolls[-1].roll_id,
            )
            await conn.execute(
                "UPDATE lineups SET position = 'PR' WHERE game_id = $1 AND id = $2",
                record.game_id,
                record.active_lineups[0].id,
            )
            await conn.execute(
                "UPDATE games SET outs = 2 WHERE id = $1 AND outs <> 2", record.game_id
            )
        finally:
            await conn.close()
        found = compare(record, await db.load_game_state(record.game_id, include_rolls=True))
    text = "\n".join(found)
    assert "play 7 differs in rbi" in text
    assert "rolls:" in text
    assert "\nlineups:" in text
    assert "game row" in text
    assert compare(record, None) == ["the game is not in the database"]


# ---- show, export, rollback --------------------------------------------------------------


def test_show_prints_state_line_score_and_box_score(database_url: str, played: DemoReport) -> None:
    record = played.records[1]
    result = run("show", str(record.game_id), url=database_url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"Game      {record.game_id}  PD · friendly · public\n")
    assert f"away {record.away_team_id} at home {record.home_team_id}" in out
    state = record.state
    assert f"Score     away {state.away_score}, home {state.home_score} — final" in out
    assert f"Plays     {len(record.plays)} (last: " in out
    assert f"Away team {record.away_team_id} batting" in out
    assert f"Home team {record.home_team_id} pitching" in out
    assert out.count("card ") >= 20


def test_export_prints_the_snapshot_with_rolls(database_url: str, played: DemoReport) -> None:
    record = played.records[0]
    result = run("export", str(record.game_id), url=database_url)
    assert result.exit_code == 0, result.output
    snapshot = GameSnapshot.model_validate_json(result.stdout)
    assert compare(record, snapshot) == []
    assert json.loads(result.stdout)["game"]["id"] == str(record.game_id)


def test_rollback_asks_first(database_url: str, played: DemoReport) -> None:
    record = played.records[0]
    game = str(record.game_id)
    last = len(record.plays)
    before = asyncio.run(count_rows(database_url, record.game_id))

    declined = run("rollback", game, "10", url=database_url, input="n\n")
    assert declined.exit_code == 1
    assert f"back to play 10, removing plays 11-{last}" in declined.stdout
    assert asyncio.run(count_rows(database_url, record.game_id)) == before

    accepted = run("rollback", game, "10", url=database_url, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert f"removed {last - 10} plays" in accepted.stdout
    after = asyncio.run(count_rows(database_url, record.game_id))
    assert after["plays"] == 10
    assert after["rolls"] == sum(1 for roll in record.rolls if (roll.play_number or 0) <= 10)

    shown = run("show", game, url=database_url)
    assert "(active)" in shown.stdout
    assert "Plays     10 (last: " in shown.stdout


def test_rollback_with_yes_does_not_ask(database_url: str, played: DemoReport) -> None:
    record = played.records[1]
    result = run("rollback", str(record.game_id), "0", "--yes", url=database_url)
    assert result.exit_code == 0, result.output
    assert "?" not in result.stdout
    assert "Now top 1, 0 outs, away 0, home 0 (active)." in result.stdout


def test_rollback_past_the_last_play_changes_nothing(database_url: str, played: DemoReport) -> None:
    record = played.records[0]
    last = len(record.plays)
    result = run("rollback", str(record.game_id), str(last + 1), "--yes", url=database_url)
    assert result.exit_code == 1
    assert one_line_error(result) == (
        f"Error: game {record.game_id} has no play {last + 1} (last play is {last})"
    )
    same = run("rollback", str(record.game_id), str(last), url=database_url)
    assert same.exit_code == 0
    assert "nothing to roll back" in same.stdout


@pytest.mark.parametrize("command", [["show"], ["export"], ["rollback", "--yes", "--", "0"]])
def test_unknown_game_is_one_line_and_exit_1(database_url: str, command: list[str]) -> None:
    game_id = uuid.uuid4()
    name, *rest = command
    result = run(name, str(game_id), *rest, url=database_url)
    assert result.exit_code == 1
    assert one_line_error(result) == f"Error: game {game_id} does not exist"
