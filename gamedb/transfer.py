"""Storing a game that ``gamedb export`` wrote: the inverse of exporting it::

    snapshot = await db.load_game_state(game_id, include_rolls=True)   # export
    await import_snapshot(other_db, snapshot)                          # import

The game is rebuilt through the same operations the engine calls, in one retried
transaction, so an imported game obeys every rule a played one does. Lineup entries, plays
and roster links get new ids in the target database (ids are the target's to hand out); each
play's references to lineup entries follow them. What no operation sets (creation times,
``state_version``) is the target's own.
"""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from gamedb.database import Database, Transaction
from gamedb.errors import InvalidInput
from gamedb.models import GameSnapshot, PlayData
from gamedb_gen.models import Game, League, Lineup, Play

__all__ = ["import_snapshot"]

_LINEUP_REFERENCES = (
    "batter_id",
    "pitcher_id",
    "catcher_id",
    "on_first_id",
    "on_second_id",
    "on_third_id",
)


async def import_snapshot(db: Database, snapshot: GameSnapshot) -> Game:
    """Store ``snapshot`` (with its rolls, if it has them) as a new game; return its row.

    Raises :class:`InvalidInput`, writing nothing, when the game exists already, when the
    snapshot is not whole (a play or substitution refers to a lineup entry it lacks), or
    when it holds rows of another game; a value an operation refuses raises that
    operation's error, also writing nothing.
    """
    game = snapshot.game
    rows = [*snapshot.lineups, *snapshot.plays, *snapshot.roster, *(snapshot.rolls or ())]
    if snapshot.session is not None:
        rows.append(snapshot.session)
    for row in rows:
        if row.game_id != game.id:
            raise InvalidInput(
                f"the exported game {game.id} holds a {type(row).__name__} of game {row.game_id}",
                game_id=game.id,
            )

    async def work(tx: Transaction) -> Game:
        if await tx.get_game(game.id) is not None:
            raise InvalidInput(
                f"game {game.id} exists already in this database; delete it first to replace it",
                game_id=game.id,
            )
        await tx.create_game(
            game_id=game.id,
            league_id=game.league_id,
            home_team_id=game.home_team_id,
            away_team_id=game.away_team_id,
            game_mode=game.game_mode,
            visibility=game.visibility,
        )
        # A substitution follows the play it was made after, and later plays name it.
        lineup_ids: dict[int, int] = {}
        made_after: dict[int, list[Lineup]] = {}
        for entry in sorted(snapshot.lineups, key=lambda entry: entry.id):
            if entry.replacing_id is not None:
                made_after.setdefault(entry.after_play or 0, []).append(entry)
        starters = [entry for entry in snapshot.lineups if entry.replacing_id is None]
        await _add_lineups(tx, game, starters, lineup_ids)
        await _add_lineups(tx, game, made_after.pop(0, []), lineup_ids)
        for play in snapshot.plays:
            await tx.save_play(_play_data(play, lineup_ids))
            await _add_lineups(tx, game, made_after.pop(play.play_number, []), lineup_ids)
        for later in made_after.values():  # after a play the export lacks: refused
            await _add_lineups(tx, game, later, lineup_ids)
        for link in snapshot.roster:
            if link.card_id is not None:
                await tx.add_pd_roster_card(
                    game_id=game.id, card_id=link.card_id, team_id=link.team_id
                )
            elif link.player_id is not None:
                await tx.add_sba_roster_player(
                    game_id=game.id, player_id=link.player_id, team_id=link.team_id
                )
        if snapshot.session is not None:
            await tx.create_game_session(game.id, snapshot.session.connected_users)
            if snapshot.session.state_snapshot is not None:
                await tx.update_session_snapshot(game.id, snapshot.session.state_snapshot)
        if snapshot.rolls:
            await tx.save_rolls_batch(
                [roll.model_dump(exclude={"ordinal"}) for roll in snapshot.rolls]
            )
        await tx.update_game_state(
            game_id=game.id,
            inning=game.current_inning,
            half=game.current_half,
            home_score=game.home_score,
            away_score=game.away_score,
            outs=game.outs,
            status=game.status,
        )
        stored = await tx.get_game(game.id)
        assert stored is not None  # created above, in this transaction
        return stored

    return await db.run_in_transaction(work, game_id=game.id)


async def _add_lineups(
    tx: Transaction, game: Game, entries: list[Lineup], new_ids: dict[int, int]
) -> None:
    """Add the lineup entries, a substitute after the entry it replaced (ids grow with
    time), recording each exported id's new one in ``new_ids``."""
    for entry in sorted(entries, key=lambda entry: entry.id):
        if entry.replacing_id is not None:
            added = await tx.add_substitution(
                game_id=game.id,
                replacing_id=_mapped(new_ids, entry.replacing_id, f"lineup entry {entry.id}", game),
                after_play=entry.after_play or 0,
                position=entry.position,
                card_id=entry.card_id,
                player_id=entry.player_id,
                batting_order=entry.batting_order,
            )
        elif game.league_id is League.PD:
            added = await tx.add_pd_lineup_card(
                card_id=_required(entry.card_id, "card", entry), **_slot(entry, game.id)
            )
        else:
            added = await tx.add_sba_lineup_player(
                player_id=_required(entry.player_id, "player", entry), **_slot(entry, game.id)
            )
        new_ids[entry.id] = added.id


class _Slot(TypedDict):
    game_id: uuid.UUID
    team_id: int
    position: str
    batting_order: int | None
    is_starter: bool


def _slot(entry: Lineup, game_id: uuid.UUID) -> _Slot:
    """Where a starter (or bench player) stands in the lineup, whichever league."""
    return _Slot(
        game_id=game_id,
        team_id=entry.team_id,
        position=entry.position,
        batting_order=entry.batting_order,
        is_starter=entry.is_starter,
    )


def _play_data(play: Play, lineup_ids: dict[int, int]) -> dict[str, Any]:
    """The play as ``save_play`` takes it (which checks it), its lineup references mapped."""
    fields = play.model_dump(include=set(PlayData.model_fields))
    for name in _LINEUP_REFERENCES:
        if fields[name] is not None:
            fields[name] = _mapped(
                lineup_ids, fields[name], f"play {play.play_number}'s {name}", play
            )
    return fields


def _mapped(new_ids: dict[int, int], old: int, what: str, row: Game | Play) -> int:
    game_id = row.id if isinstance(row, Game) else row.game_id
    if old not in new_ids:
        raise InvalidInput(
            f"{what} refers to lineup entry {old}, which the exported game does not hold",
            game_id=game_id,
        )
    return new_ids[old]


def _required(person: int | None, noun: str, entry: Lineup) -> int:
    if person is None:
        raise InvalidInput(f"lineup entry {entry.id} names no {noun}", game_id=entry.game_id)
    return person
