"""The ``gamedb`` command: migrate and inspect a gamedb database, and the demo::

    gamedb demo                      # play 20 games, recover them, verify them
    gamedb status                    # applied and pending migrations, server version
    gamedb show GAME_ID              # a game's state and box score
    gamedb rollback GAME_ID 12 --yes

Every command uses ``DATABASE_URL`` or, when it is unset, the embedded PostgreSQL server kept
in ``.gamedb/`` (``GAMEDB_DATA_DIR``). Exit status: 0 success, 1 the operation failed (the
database, a game that does not exist), 2 bad usage. Errors are one line on stderr; the
global ``--debug`` adds the traceback and gamedb's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import asyncpg
import click

from gamedb import legacy, render
from gamedb import migrate as migrations
from gamedb.database import Database
from gamedb.demo import HALF_INNINGS, run_demo
from gamedb.embedded import EMBEDDED_DATABASE, data_dir, embedded_database_url
from gamedb.errors import ConnectionFailed, GameDBError, GameNotFound, PlayNotFound
from gamedb.models import GameSnapshot
from gamedb.settings import Settings, redact_url

__all__ = ["cli", "main"]

T = TypeVar("T")

_DEFAULT_GAMES = 20
_DEFAULT_SEED = 7


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
    message = " ".join(message.split())  # dbmate's report spans lines; the error is one
    if ctx.params.get("debug"):
        traceback.print_exception(exc, file=sys.stderr)
    else:
        message += " (--debug shows the traceback)" if not isinstance(exc, GameDBError) else ""
    return click.ClickException(message)


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(work())


def _target(settings: Settings) -> tuple[str, str]:
    """The database URL to use and how to name it to a person (no password)."""
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        return url, redact_url(url)
    url = embedded_database_url()
    return url, f"the embedded server's {EMBEDDED_DATABASE!r} database (data in {data_dir()})"


async def _reach(settings: Settings, *, must_exist: bool) -> tuple[str, str]:
    """:func:`_target`, once its server has answered within ``DB_CONNECT_TIMEOUT`` (dbmate
    would wait on a silent server for as long as the network lets it) and, when
    ``must_exist``, shown that the database exists."""
    url, where = _target(settings)
    try:
        conn = await asyncpg.connect(url, timeout=settings.db_connect_timeout)
    except asyncpg.InvalidCatalogNameError as exc:
        if must_exist:
            raise GameDBError(f"{where} does not exist yet: `gamedb migrate` creates it") from exc
        return url, where
    except TimeoutError as exc:
        reason = f"no answer within {settings.db_connect_timeout:g} s (DB_CONNECT_TIMEOUT)"
        raise ConnectionFailed(f"cannot connect to {where}: {reason}") from exc
    except ConnectionRefusedError as exc:
        reason = "connection refused; is PostgreSQL running there?"
        raise ConnectionFailed(f"cannot connect to {where}: {reason}") from exc
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise ConnectionFailed(f"cannot connect to {where}: {exc}") from exc
    await conn.close()
    return url, where


@contextlib.asynccontextmanager
async def _connect(*, migrate: bool | None = None, **overrides: Any) -> AsyncIterator[Database]:
    """Open a :class:`Database` as the command's settings say (``overrides``: pool size)."""
    settings = Settings.load(**overrides)
    if migrate is None:
        # As Database.connect does: the embedded database is gamedb's own to migrate.
        migrate = settings.database_url is None
    url, _ = await _reach(settings, must_exist=not migrate)
    async with await Database.connect(url, settings=settings, migrate=migrate) as db:
        yield db


async def _snapshot(
    db: Database, game_id: uuid.UUID, *, include_rolls: bool = False
) -> GameSnapshot:
    snapshot = await db.load_game_state(game_id, include_rolls=include_rolls)
    if snapshot is None:
        raise GameNotFound(game_id)
    return snapshot


_ENVIRONMENT = """\b
Environment:
  DATABASE_URL        the database; unset: the embedded server
  GAMEDB_DATA_DIR     where the embedded server keeps its data (.gamedb/)
  DB_POOL_SIZE        connections kept open (10); DB_MAX_OVERFLOW more under load (20)
  DB_CONNECT_TIMEOUT  seconds to wait for the server to answer (5)

Exit status: 0 success, 1 the operation failed, 2 bad usage.
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

    Every command uses DATABASE_URL (postgresql://user:password@host:port/database) or, when
    it is unset, an embedded PostgreSQL server kept in .gamedb/ that starts by itself.
    Start with `gamedb demo`; GAME_ID is a game's UUID, as `gamedb demo` prints.
    """
    logger = logging.getLogger("gamedb")
    if debug:
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logger.setLevel(logging.DEBUG)
    elif not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        # The command reports failures itself, once; gamedb's own log stays quiet.
        logger.addHandler(logging.NullHandler())


@cli.command()
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse to apply a migration older than the newest one applied.",
)
def migrate(strict: bool) -> None:
    """Create the database if needed and apply every pending migration.

    dbmate applies the files of schema/; a PostgreSQL advisory lock keeps two migrators from
    running at once.
    """

    async def work() -> None:
        url, where = await _reach(Settings.load(), must_exist=False)
        report = await migrations.migrate(url, strict=strict)
        if report:
            click.echo(report)
        status = await migrations.migration_status(url)
        click.echo(
            f"Up to date: {len(status.applied)} migrations applied to {where} "
            f"(PostgreSQL {status.server_version})."
        )

    _run(work)


@cli.command()
def status() -> None:
    """Show the applied and pending migrations and the server version."""

    async def work() -> None:
        url, where = await _reach(Settings.load(), must_exist=True)
        found = await migrations.migration_status(url)
        click.echo(render.migration_status(found, where))

    _run(work)


@cli.command(short_help="Distribute a migrated database over its Citus cluster.")
def distribute() -> None:
    """Distribute every table by game_id, co-located with games (Citus coordinator only).

    Run after `gamedb migrate`, and again after a migration that creates a table: tables
    already distributed are left alone. Refused on a database without the citus extension.
    """
    from gamedb.citus import distribute as distribute_tables

    async def work() -> None:
        url, where = await _reach(Settings.load(), must_exist=True)
        done = await distribute_tables(url)
        click.echo(
            f"Distributed {', '.join(done)} on {where}."
            if done
            else f"Already distributed: nothing to do on {where}."
        )

    _run(work)


@cli.command(short_help="Play simulated games, then recover and verify them.")
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
def demo(games: int, seed: int) -> None:
    """Play simulated games, recover them from the database, and verify them.

    Each game has lineups, rosters, dice rolls, substitutions and one undo; its writes go
    through the write-behind persister. Then every game is read back with load_game_state
    and compared with the game played. Prints a summary and one game's box score; exits 1
    if any recovered game differs.
    """

    async def work() -> None:
        async with _connect(migrate=True) as db:
            with click.progressbar(
                length=games * HALF_INNINGS,
                label=f"Playing {games} games",
                file=sys.stderr,
            ) as bar:
                report = await run_demo(db, games=games, seed=seed, on_progress=bar.update)
            click.echo(render.demo_summary(report))
            shown = report.records[0].game_id
            snapshot = await _snapshot(db, shown)
            box = await db.get_box_score(shown)
        league = str(snapshot.game.league_id).upper()
        where = render.situation(snapshot.game, snapshot.plays)
        click.echo(f"\nBox score of game {shown} ({league}, {where}):\n")
        click.echo(render.box_score(box, snapshot))
        click.echo(f"\nEvery game stays in the database: `gamedb show {shown}`.")
        if not report.verified:
            raise GameDBError(
                f"verification failed: {len(report.differences)} of {games} recovered games "
                "differ from the games played"
            )

    _run(work)


@cli.command()
@click.argument("game_id", type=click.UUID)
def show(game_id: uuid.UUID) -> None:
    """Show a game's state, line score and box score."""

    async def work() -> None:
        async with _connect(db_pool_size=1, db_max_overflow=0) as db:
            snapshot = await _snapshot(db, game_id)
            box = await db.get_box_score(game_id)
        click.echo(render.game_state(snapshot))
        click.echo()
        click.echo(render.box_score(box, snapshot))

    _run(work)


@cli.command(short_help="Print a game as JSON, with its dice rolls.")
@click.argument("game_id", type=click.UUID)
def export(game_id: uuid.UUID) -> None:
    """Print a game as JSON: the GameSnapshot load_game_state recovers, with its rolls."""

    async def work() -> None:
        async with _connect(db_pool_size=1, db_max_overflow=0) as db:
            snapshot = await _snapshot(db, game_id, include_rolls=True)
        click.echo(snapshot.model_dump_json(indent=2))

    _run(work)


@cli.command(short_help="Roll a game back to an earlier play.")
@click.argument("game_id", type=click.UUID)
@click.argument("play", type=click.IntRange(min=0))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def rollback(game_id: uuid.UUID, play: int, yes: bool) -> None:
    """Roll a game back to just after play PLAY (0: before the first play).

    Removes the later plays, their dice rolls, and the substitutions made after PLAY
    (reactivating the players they replaced), and restores the score, inning and outs:
    all in one transaction.
    """

    async def work() -> None:
        async with _connect(db_pool_size=1, db_max_overflow=0) as db:
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
        click.echo(render.rollback(result, play))

    _run(work)


@cli.command("import-legacy", short_help="Bring games over from the old layer's tables.")
@click.argument("source_url")
@click.option(
    "--game", "game_ids", type=click.UUID, multiple=True, help="Only this game (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Check and count every game; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON, no progress bar.")
def import_legacy(
    source_url: str, game_ids: tuple[uuid.UUID, ...], dry_run: bool, as_json: bool
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
        async with _connect(db_pool_size=1, db_max_overflow=0) as db:
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

    report = _run(work)
    click.echo(report.model_dump_json(indent=2) if as_json else report.table())
    if report.skipped:
        raise click.exceptions.Exit(1)


@cli.command("create-role", short_help="Create the application role gamedb_app.")
@click.option("--role", default=migrations.APP_ROLE, show_default=True, help="The role's name.")
def create_role(role: str) -> None:
    """Make the cluster-wide role the engine connects as (without login, unless it exists)
    and grant it what gamedb's operations need in the migrated database, nothing more.

    Migrating never makes it: a role belongs to the whole server, shared by its databases.
    Then give the engine a login role that is a member of it (see the README).
    """

    async def work() -> None:
        url, where = await _reach(Settings.load(), must_exist=True)
        await migrations.create_app_role(url, role)
        click.echo(f"Role {role} holds the application's privileges on {where}.")

    _run(work)


def main() -> None:
    """Entry point of the ``gamedb`` console script and ``python -m gamedb``."""
    cli()
