"""The ``gamedb`` command: migrate and inspect a gamedb database, and the demo::

    gamedb migrate                   # apply pending migrations (dbmate, under a lock)
    gamedb migrate new add_weather   # schema/<UTC timestamp>_add_weather.sql
    gamedb migrate down              # undo the newest migration
    gamedb status --exit-code        # applied and pending migrations; 3 when some are pending
    gamedb list --status active      # games, newest first
    gamedb show GAME_ID              # a game's state and box score
    gamedb export GAME_ID > game.json && gamedb import game.json --url postgresql://…/other
    gamedb rollback GAME_ID 12 --yes
    gamedb server status             # the embedded development server
    gamedb demo                      # play 20 games, recover them, verify them

Every command that uses a database takes ``--url``, else ``DATABASE_URL``; without either
it fails, unless ``GAMEDB_EMBEDDED=1`` chooses the embedded development server (``gamedb
demo`` chooses it by itself). Exit status: 0 success, 1 the operation failed (the database,
a game that does not exist), 2 bad usage, 3 migrations pending (``status --exit-code``).
Errors are one line on stderr; the global ``--debug`` adds the traceback and gamedb's log.

A new command is a function decorated with ``@cli.command()`` (and ``@url_option`` when it
uses a database) that runs its work with :func:`run` inside :func:`connect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO, TypeVar

import asyncpg
import click
from pydantic import ValidationError

from gamedb import legacy, views
from gamedb import migrate as migrations
from gamedb.database import Database
from gamedb.errors import (
    ConfigurationError,
    ConnectionFailed,
    DatabaseNotFound,
    GameDBError,
    GameNotFound,
    InvalidInput,
    PlayNotFound,
    translate,
)
from gamedb.models import GameSnapshot
from gamedb.settings import Settings
from gamedb.transfer import import_snapshot
from gamedb_gen import games as game_queries
from gamedb_gen.models import GameStatus, League
from gamedb_schema.embedded import (
    EMBEDDED_DATABASE,
    data_dir,
    embedded_database_url,
    embedded_server_state,
    stop_embedded_server,
)
from gamedb_schema.urls import redact_url

__all__ = ["cli", "connect", "main", "run", "url_option"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT_GAMES = 20
_DEFAULT_SEED = 7
PENDING_EXIT_STATUS = 3


class _Group(click.Group):
    """Turns every failure of a command into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # click reports these itself (a closed pipe: quietly)
        except GameDBError as exc:
            raise _failure(ctx, exc, str(exc)) from exc
        except Exception as exc:
            raise _failure(ctx, exc, f"unexpected {type(exc).__name__}: {exc}") from exc


def _failure(ctx: click.Context, exc: BaseException, message: str) -> click.ClickException:
    # One line (dbmate's report spans lines), no second "Error:" after click's own, and
    # nothing that could steer the terminal.
    message = views.printable(" ".join(message.split()).removeprefix("Error: "))
    root = ctx.find_root()
    if root.params.get("debug"):
        traceback.print_exception(exc, file=sys.stderr)
    elif not isinstance(exc, GameDBError):
        message += " (--debug shows the traceback)"
    return click.ClickException(message)


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's async ``work`` to completion."""
    return asyncio.run(work())


def url_option(command: F) -> F:
    """The ``--url`` option every command that uses a database takes."""
    return click.option(
        "--url",
        metavar="URL",
        help="The database, postgresql://user:password@host:port/database (default: DATABASE_URL).",
    )(command)


def _wait_timeout_option(command: F) -> F:
    return click.option(
        "--wait-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=migrations.DEFAULT_WAIT_TIMEOUT,
        show_default=True,
        help="Seconds to wait for another migrator of the same database to finish.",
    )(command)


def _settings(url: str | None, **overrides: Any) -> Settings:
    return Settings.load(**overrides, **({"database_url": url} if url else {}))


_NO_DATABASE = (
    "no database given: pass --url or set DATABASE_URL (postgresql://user@host/database); "
    "GAMEDB_EMBEDDED=1 chooses the embedded development server instead"
)


def _target(settings: Settings, *, embedded: bool = False) -> tuple[str, str]:
    """The database URL to use and how to name it to a person (no password). Without a
    URL, the embedded server only when chosen: ``GAMEDB_EMBEDDED=1`` or ``embedded``."""
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        return url, redact_url(url)
    if not (embedded or settings.gamedb_embedded):
        raise ConfigurationError(_NO_DATABASE)
    url = embedded_database_url()
    return url, f"the embedded server's {EMBEDDED_DATABASE!r} database (data in {data_dir()})"


async def _reach(
    settings: Settings, *, must_exist: bool, embedded: bool = False
) -> tuple[str, str]:
    """:func:`_target`, once its server has answered within ``DB_CONNECT_TIMEOUT`` (dbmate
    would wait on a silent server for as long as the network lets it) and, when
    ``must_exist``, shown that the database exists."""
    url, where = _target(settings, embedded=embedded)
    try:
        conn = await asyncpg.connect(url, timeout=settings.db_connect_timeout)
    except asyncpg.InvalidCatalogNameError as exc:
        if must_exist:
            raise DatabaseNotFound(
                f"{where} does not exist yet: `gamedb migrate` creates it"
            ) from exc
        return url, where
    except TimeoutError as exc:
        reason = f"no answer within {settings.db_connect_timeout:g} s (DB_CONNECT_TIMEOUT)"
        raise ConnectionFailed(f"cannot connect to {where}: {reason}") from exc
    except ConnectionRefusedError as exc:
        reason = "connection refused; is PostgreSQL running there?"
        raise ConnectionFailed(f"cannot connect to {where}: {reason}") from exc
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        error = translate(exc)
        if isinstance(error, ConfigurationError):  # a refused login or TLS handshake
            raise type(error)(f"cannot connect to {where}: {error}") from exc
        raise ConnectionFailed(f"cannot connect to {where}: {exc}") from exc
    await conn.close()
    return url, where


@contextlib.asynccontextmanager
async def connect(url: str | None, *, migrate: bool | None = None) -> AsyncIterator[Database]:
    """A one-connection :class:`Database` on the command's database (``--url``, else
    ``DATABASE_URL``, else the embedded server when chosen, which is migrated first)."""
    settings = _settings(url, db_pool_size=1, db_max_overflow=0)
    if migrate is None:
        # As Database.connect does: the embedded database is gamedb's own to migrate.
        migrate = settings.database_url is None
    target, _ = await _reach(settings, must_exist=not migrate)
    async with await Database.connect(target, settings=settings, migrate=migrate) as db:
        yield db


async def _snapshot(
    db: Database, game_id: uuid.UUID, *, include_rolls: bool = False
) -> GameSnapshot:
    snapshot = await db.load_game_state(game_id, include_rolls=include_rolls)
    if snapshot is None:
        raise GameNotFound(game_id)
    return snapshot


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


_ENVIRONMENT = """\b
Environment:
  DATABASE_URL        the database, unless --url names one
  GAMEDB_EMBEDDED=1   without a URL, use the embedded development server
  GAMEDB_DATA_DIR     where the embedded server keeps its data (.gamedb/)
  DB_POOL_SIZE        connections kept open (10); DB_MAX_OVERFLOW more under load (20)
  DB_CONNECT_TIMEOUT  seconds to wait for the server to answer (5)

Exit status: 0 success, 1 the operation failed, 2 bad usage, 3 migrations
pending (status --exit-code).
"""


@click.group(
    "gamedb",
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_ENVIRONMENT,
)
@click.option("--debug", is_flag=True, help="On failure, show the traceback; log what gamedb does.")
@click.version_option(package_name="gamedb", message="gamedb %(version)s")
def cli(debug: bool) -> None:
    """gamedb: the PostgreSQL persistence layer of the baseball game engine.

    Every command that uses a database takes --url, else DATABASE_URL
    (postgresql://user:password@host:port/database). GAMEDB_EMBEDDED=1 chooses the
    embedded development server in .gamedb/ instead. Start with `gamedb demo`; GAME_ID is
    a game's UUID, as `gamedb demo` and `gamedb list` print.
    """
    logger = logging.getLogger("gamedb")
    if debug:
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logger.setLevel(logging.DEBUG)
    elif not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        # The command reports failures itself, once; gamedb's own log stays quiet.
        logger.addHandler(logging.NullHandler())


# ---- migrations ---------------------------------------------------------------------------


def _inherited(ctx: click.Context, name: str, value: Any) -> Any:
    """An option given to ``gamedb migrate`` itself applies to its subcommand too."""
    if value is None and ctx.parent is not None:
        return ctx.parent.params.get(name)
    return value


def _migrate_up(url: str | None, *, strict: bool, wait_timeout: float) -> None:
    async def work() -> None:
        target, where = await _reach(_settings(url), must_exist=False)
        await migrations.migrate(
            target, strict=strict, wait_timeout=wait_timeout, on_output=click.echo
        )
        status = await migrations.migration_status(target)
        click.echo(
            f"Up to date: {views.count(len(status.applied), 'migration')} applied to {where} "
            f"(PostgreSQL {status.server_version})."
        )
        if status.ahead:
            click.echo(
                f"Note: the database also has {views.count(len(status.unknown), 'migration')} "
                f"this gamedb does not know ({', '.join(status.unknown)}): it is ahead of it.",
                err=True,
            )

    run(work)


_STRICT_HELP = "Refuse to apply a migration older than the newest one applied."


@cli.group(invoke_without_command=True, short_help="Apply pending migrations; new, down, dump.")
@url_option
@click.option("--strict", is_flag=True, help=_STRICT_HELP)
@_wait_timeout_option
@click.pass_context
def migrate(ctx: click.Context, url: str | None, strict: bool, wait_timeout: float) -> None:
    """Create the database if needed and apply every pending migration (as `gamedb migrate
    up`); dbmate's output is shown as it applies each file.

    A PostgreSQL advisory lock keeps two migrators from running at once: a second one says
    that it waits, and gives up after --wait-timeout seconds.
    """
    if ctx.invoked_subcommand is None:
        _migrate_up(url, strict=strict, wait_timeout=wait_timeout)


@migrate.command("up")
@url_option
@click.option("--strict", is_flag=True, help=_STRICT_HELP)
@_wait_timeout_option
@click.pass_context
def migrate_up(ctx: click.Context, url: str | None, strict: bool, wait_timeout: float) -> None:
    """Create the database if needed and apply every pending migration."""
    _migrate_up(_inherited(ctx, "url", url), strict=strict, wait_timeout=wait_timeout)


@migrate.command("down", short_help="Undo the newest migration applied.")
@url_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@_wait_timeout_option
@click.pass_context
def migrate_down(ctx: click.Context, url: str | None, yes: bool, wait_timeout: float) -> None:
    """Undo the newest migration applied, running its `-- migrate:down` section.

    (To roll a game back to an earlier play, see `gamedb rollback`.) Refused when the
    database has migrations this gamedb does not know.
    """

    async def work() -> None:
        target, where = await _reach(_settings(_inherited(ctx, "url", url)), must_exist=True)
        status = await migrations.migration_status(target)
        if not status.applied:
            click.echo(f"No migration is applied to {where}: nothing to undo.")
            return
        newest = status.applied[-1]
        if not yes:
            click.confirm(
                f"Undo migration {newest} on {where}? Its down section may drop data.",
                abort=True,
            )
        await migrations.rollback(target, wait_timeout=wait_timeout, on_output=click.echo)

    run(work)


@migrate.command("new", short_help="Create an empty migration file NAME.")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="The migrations folder (default: GAMEDB_MIGRATIONS_DIR, else gamedb's schema/).",
)
def migrate_new(name: str, directory: Path | None) -> None:
    """Create an empty migration NAME (verb_noun, e.g. add_weather): one `-- migrate:up` and
    one `-- migrate:down` section, named by the current UTC time."""
    path = migrations.new_migration(name, directory)
    click.echo(f"Created {path}")


@migrate.command("dump", short_help="Print the database's schema (pg_dump).")
@url_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.pass_context
def migrate_dump(ctx: click.Context, url: str | None, output: Path | None) -> None:
    """Print the database's schema as pg_dump writes it, then the migrations applied.

    The password reaches pg_dump in PGPASSWORD, never on its command line.
    """

    async def work() -> str:
        target, _ = await _reach(_settings(_inherited(ctx, "url", url)), must_exist=True)
        return await migrations.dump_schema(target)

    text = run(work)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


@cli.command(short_help="Show applied, pending and unknown migrations.")
@url_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option(
    "--exit-code",
    is_flag=True,
    help=f"Exit {PENDING_EXIT_STATUS} when migrations are pending (for deploy scripts).",
)
@click.pass_context
def status(ctx: click.Context, url: str | None, as_json: bool, exit_code: bool) -> None:
    """Show the applied and pending migrations, the server version, and any migration the
    database has that this gamedb does not know (the database is ahead of it)."""

    async def work() -> migrations.MigrationStatus:
        target, where = await _reach(_settings(url), must_exist=True)
        found = await migrations.migration_status(target)
        if as_json:
            _echo_json(
                {
                    "database": where,
                    "server_version": found.server_version,
                    "applied": list(found.applied),
                    "pending": list(found.pending),
                    "unknown": list(found.unknown),
                    "up_to_date": not found.pending,
                    "ahead": found.ahead,
                }
            )
        else:
            click.echo(views.migration_status(found, where))
        return found

    found = run(work)
    if exit_code and found.pending:
        ctx.exit(PENDING_EXIT_STATUS)


# ---- games --------------------------------------------------------------------------------


@cli.command("list", short_help="List games, newest first, by status, league and date.")
@url_option
@click.option(
    "--status",
    "status_",
    type=click.Choice([status.value for status in GameStatus]),
    help="Only games with this status.",
)
@click.option(
    "--league", type=click.Choice([league.value for league in League]), help="Only this league."
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    help="Only games created at or after this UTC date or time.",
)
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=100, show_default=True, help="At most."
)
@click.option("--json", "as_json", is_flag=True, help="Print the games as a JSON array.")
def list_games(
    url: str | None,
    status_: str | None,
    league: str | None,
    since: datetime.datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """List games, newest first: id, league, status, teams, score, inning, creation time."""

    async def work() -> None:
        async with connect(url) as db:
            found = await game_queries.list_games(
                db.pool,
                status=GameStatus(status_) if status_ else None,
                league_id=League(league) if league else None,
                since=since.replace(tzinfo=datetime.UTC) if since else None,
                max_games=limit,
            )
        if as_json:
            _echo_json([game.model_dump(mode="json") for game in found])
        else:
            click.echo(views.game_list(found))

    run(work)


@cli.command()
@url_option
@click.argument("game_id", type=click.UUID)
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot and box score as JSON.")
def show(url: str | None, game_id: uuid.UUID, as_json: bool) -> None:
    """Show a game's state, line score and box score."""

    async def work() -> None:
        async with connect(url) as db:
            snapshot = await _snapshot(db, game_id)
            box = await db.get_box_score(game_id)
        if as_json:
            _echo_json(
                {
                    "snapshot": snapshot.model_dump(mode="json"),
                    "box_score": box.model_dump(mode="json"),
                }
            )
            return
        click.echo(views.game_state(snapshot))
        click.echo()
        click.echo(views.box_score(box, snapshot))

    run(work)


@cli.command(short_help="Print a game as JSON, with its dice rolls.")
@url_option
@click.argument("game_id", type=click.UUID)
def export(url: str | None, game_id: uuid.UUID) -> None:
    """Print a game as JSON: the GameSnapshot load_game_state recovers, with its rolls.
    `gamedb import` stores it again."""

    async def work() -> None:
        async with connect(url) as db:
            snapshot = await _snapshot(db, game_id, include_rolls=True)
        click.echo(snapshot.model_dump_json(indent=2))

    run(work)


@cli.command("import", short_help="Store a game that `gamedb export` printed.")
@url_option
@click.argument("source", type=click.File("r"))
def import_game(url: str | None, source: TextIO) -> None:
    """Store the game in SOURCE (a file, or - for stdin) as `gamedb export` printed it: the
    game, its lineups, plays, roster, session and rolls, in one transaction. Refused,
    changing nothing, when the game exists already or the file is not a whole game."""
    try:
        snapshot = GameSnapshot.model_validate_json(source.read())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise InvalidInput(
            f"{source.name} is not a game as `gamedb export` prints it: "
            f"{views.count(exc.error_count(), 'problem')}, first at {where}: {first['msg']}"
        ) from None

    async def work() -> None:
        async with connect(url) as db:
            await import_snapshot(db, snapshot)

    run(work)
    click.echo(
        f"Imported game {snapshot.game.id}: {views.count(len(snapshot.plays), 'play')}, "
        f"{views.count(len(snapshot.rolls or ()), 'roll')}."
    )


@cli.command(short_help="Roll a game back to an earlier play.")
@url_option
@click.argument("game_id", type=click.UUID)
@click.argument("play", type=click.IntRange(min=0))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def rollback(url: str | None, game_id: uuid.UUID, play: int, yes: bool) -> None:
    """Roll a game back to just after play PLAY (0: before the first play).

    Removes the later plays, their dice rolls, and the substitutions made after PLAY
    (reactivating the players they replaced), and restores the score, inning and outs:
    all in one transaction. (To undo a migration, see `gamedb migrate down`.)
    """

    async def work() -> None:
        async with connect(url) as db:
            snapshot = await _snapshot(db, game_id)
            last = snapshot.plays[-1].play_number if snapshot.plays else 0
            if play > last:
                raise PlayNotFound(game_id, play, last)
            if play == last:
                click.echo(f"Game {game_id} has no plays after play {play}: nothing to roll back.")
                return
            if not yes:
                click.confirm(
                    f"Roll game {game_id} back to play {play}, removing plays "
                    f"{play + 1}-{last} and what came with them?",
                    abort=True,
                )
            result = await db.rollback_to_play(game_id, play)
        click.echo(views.rollback(result, play))

    run(work)


# ---- the demo -----------------------------------------------------------------------------


@cli.command(short_help="Play simulated games, then recover and verify them.")
@url_option
@click.option(
    "--games",
    type=click.IntRange(1, 10_000),
    default=_DEFAULT_GAMES,
    show_default=True,
    help="How many games to play (SBA and PD alternately, all at once).",
)
@click.option(
    "--seed",
    type=int,
    default=_DEFAULT_SEED,
    show_default=True,
    help="Seed of the dice: the same seed plays the same games.",
)
@click.option(
    "--yes", "-y", is_flag=True, help="Play in a database named by a URL without asking first."
)
@click.option("--remove", is_flag=True, help="Delete the games played once they are verified.")
def demo(url: str | None, games: int, seed: int, yes: bool, remove: bool) -> None:
    """Play simulated games, recover them from the database, and verify them.

    Each game has lineups, rosters, dice rolls, substitutions and one undo; its writes go
    through the write-behind persister. Then every game is read back with load_game_state
    and compared with the game played. Prints a summary and one game's box score; exits 1
    if any recovered game differs. Without a URL the demo uses the embedded server; in any
    other database it asks first (or --yes) and migrates it.
    """
    # The demo is no part of the library: it loads only when this command runs.
    from gamedb_demo.run import HALF_INNINGS, run_demo
    from gamedb_demo.summary import demo_summary

    async def work() -> None:
        settings = _settings(url)
        target, where = await _reach(settings, must_exist=False, embedded=True)
        if settings.database_url is not None and not yes:
            click.confirm(
                f"Play {views.count(games, 'simulated game')} in {where}, migrating it first? "
                "The games stay there unless --remove is given.",
                abort=True,
            )
        async with await Database.connect(target, settings=settings, migrate=True) as db:
            with click.progressbar(
                length=games * HALF_INNINGS,
                label=f"Playing {views.count(games, 'game')}",
                file=sys.stderr,
            ) as bar:
                report = await run_demo(db, games=games, seed=seed, on_progress=bar.update)
            click.echo(demo_summary(report))
            shown = report.records[0].game_id
            snapshot = await _snapshot(db, shown)
            box = await db.get_box_score(shown)
            if remove:
                for record in report.records:
                    await db.delete_game(record.game_id)
        league = str(snapshot.game.league_id).upper()
        situation = views.situation(snapshot.game, snapshot.plays)
        click.echo(f"\nBox score of game {shown} ({league}, {situation}):\n")
        click.echo(views.box_score(box, snapshot))
        if remove:
            click.echo(f"\nRemoved the {views.count(games, 'game')} played from {where}.")
        else:
            click.echo(f"\nEvery game stays in the database: `gamedb show {shown}`.")
        if not report.verified:
            raise GameDBError(
                f"verification failed: {len(report.differences):,} of "
                f"{views.count(games, 'recovered game')} differ from the games played"
            )

    run(work)


# ---- the embedded server ------------------------------------------------------------------


@cli.group(short_help="Inspect, start or stop the embedded development server.")
def server() -> None:
    """The embedded PostgreSQL server that GAMEDB_EMBEDDED=1, the demo and the tests use:
    its data lives in GAMEDB_DATA_DIR (.gamedb/ of the current folder), and it keeps
    running between commands until stopped."""


@server.command("status")
def server_status() -> None:
    """Say whether the embedded server runs, with its process and socket folder."""
    state = embedded_server_state()
    if state is None:
        click.echo(f"Not running (data in {data_dir()}).")
        return
    click.echo(
        f"Running: process {state.pid}, since {state.started_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"socket in {state.socket_dir}, data in {state.data_dir}."
    )


@server.command("start")
def server_start() -> None:
    """Start the embedded server if needed and print the URL of gamedb's database on it."""
    click.echo(embedded_database_url())


@server.command("stop")
def server_stop() -> None:
    """Stop the embedded server (its data stays; the next use starts it again)."""
    if stop_embedded_server():
        click.echo(f"Stopped the embedded server of {data_dir()}.")
    else:
        click.echo(f"The embedded server of {data_dir()} was not running.")


@cli.command(short_help="Create the application role gamedb_app.")
@url_option
@click.option("--role", default=migrations.APP_ROLE, show_default=True, help="The role's name.")
def create_role(url: str | None, role: str) -> None:
    """Make the cluster-wide role the engine connects as (without login, unless it exists)
    and grant it what gamedb's operations need in the migrated database, nothing more.

    Migrating never makes it: a role belongs to the whole server, shared by its databases.
    Then give the engine a login role that is a member of it (see the README).
    """

    async def work() -> None:
        target, where = await _reach(_settings(url), must_exist=True)
        await migrations.create_app_role(target, role)
        click.echo(f"Role {role} holds the application's privileges on {where}.")

    run(work)


@cli.command(short_help="Distribute a migrated database over its Citus cluster.")
@url_option
def distribute(url: str | None) -> None:
    """Distribute every table by game_id, co-located with games (Citus coordinator only).

    Run after `gamedb migrate`, and again after a migration that creates a table: tables
    already distributed are left alone. Refused on a database without the citus extension.
    """
    from gamedb.citus import distribute as distribute_tables

    async def work() -> None:
        target, where = await _reach(_settings(url), must_exist=True)
        done = await distribute_tables(target)
        click.echo(
            f"Distributed {', '.join(done)} on {where}."
            if done
            else f"Already distributed: nothing to do on {where}."
        )

    run(work)


@cli.command("import-legacy", short_help="Bring games over from the old layer's tables.")
@url_option
@click.argument("source_url")
@click.option(
    "--game", "game_ids", type=click.UUID, multiple=True, help="Only this game (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Check and count every game; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON, no progress bar.")
def import_legacy(
    url: str | None,
    source_url: str,
    game_ids: tuple[uuid.UUID, ...],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Copy games from the old SQLAlchemy layer's tables at SOURCE_URL into gamedb: the games,
    lineups with substitutions, plays, roster links, dice rolls and sessions.

    SOURCE_URL is opened read-only. Each game arrives whole or not at all, lineup and play
    ids remapped. A game gamedb's rules refuse (a position outside the list, a gap in the
    play numbers, a lineup id of another game, a card and a player on one row, ...) is
    skipped with the reason. Games already in gamedb are left alone, so a second run imports
    nothing twice and an interrupted run resumes. Exits 1 when a game was skipped.
    """

    async def work() -> legacy.ImportReport:
        async with connect(url) as db:
            with contextlib.ExitStack() as stack:
                bars: list[Any] = []

                def progress(done: int, total: int) -> None:
                    if not bars:
                        bar = click.progressbar(
                            length=total, label="Importing games", file=sys.stderr
                        )
                        bars.append(stack.enter_context(bar))
                    bars[0].update(1)

                return await legacy.import_legacy(
                    db,
                    source_url,
                    game_ids=game_ids or None,
                    dry_run=dry_run,
                    on_progress=None if as_json else progress,
                )

    report = run(work)
    click.echo(report.model_dump_json(indent=2) if as_json else report.table())
    if report.skipped:
        raise click.exceptions.Exit(1)


def main() -> None:
    """Entry point of the ``gamedb`` console script and ``python -m gamedb``."""
    cli()
