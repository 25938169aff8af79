"""Every operation the engine calls, with the names and keyword arguments it already uses.

:class:`Operations` is shared by :class:`gamedb.Database` (each call retried on transient
failures; one of several writes that stand or fall together runs in a transaction of its own,
any other runs its statements on a pooled connection, each atomic by itself) and
:class:`gamedb.Transaction` (calls share the block's transaction). Each operation is the
generated query functions of ``gamedb_gen`` plus the checks that turn "no row" into a typed
error; no SQL is written here::

    game = await db.create_game(game_id=gid, league_id="sba", home_team_id=1, away_team_id=2)
    pitcher = await db.add_sba_lineup_player(game_id=gid, team_id=1, player_id=101, position="P")
    play_id = await db.save_play({"game_id": gid, "play_number": 1, ...})
"""

from __future__ import annotations

import collections
import datetime
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import JsonValue, TypeAdapter, ValidationError
from pydantic_core import to_json

from gamedb import replay
from gamedb.errors import (
    ConstraintViolation,
    GameNotFound,
    InvalidInput,
    PlayNotFound,
    StaleState,
    WrongLeague,
)
from gamedb.models import (
    CONNECTED_USERS,
    DELETE_AFTER,
    EXPECTED_VERSION,
    GAME_ID,
    INCLUDE_ROLLS,
    LINEUP_ID,
    ROLLBACK_TO,
    ROSTER_ID,
    ROSTER_TEAM_ID,
    STATE_CHANGE,
    STATE_SNAPSHOT,
    TEAM_ID,
    BatterLine,
    BoxScore,
    EngineRoll,
    GameSnapshot,
    GameState,
    LineupEntryData,
    NewGame,
    PdRosterLinkData,
    PitcherLine,
    PlayData,
    RecordedPlay,
    RollbackResult,
    RollRecord,
    RosterEntryData,
    SbaRosterLinkData,
    StateChange,
    StateUpdate,
    SubstitutionData,
    TeamLine,
)
from gamedb.validation import validate_input, validate_inputs
from gamedb_gen import (
    Executor,
    games,
    lineups,
    plays,
    rolls,
    rosters,
    sessions,
    stats,
    trusted_model,
)
from gamedb_gen import rolls as roll_queries
from gamedb_gen.models import (
    Game,
    GameMode,
    GameSession,
    GameStatus,
    GameVisibility,
    Half,
    League,
    Lineup,
    Play,
    Roll,
    RosterLink,
)
from gamedb_schema.payloads import RollData

__all__ = ["Operations"]


T = TypeVar("T")
_plays_json = TypeAdapter(list[PlayData])
_states_json = TypeAdapter(list[StateChange])
_substitutions_json = TypeAdapter(list[SubstitutionData])


class Operations:
    """The engine-facing operations; subclasses say how a unit of work runs."""

    __slots__ = ()

    async def _run(
        self,
        game_id: uuid.UUID | None,
        operation: Callable[[Executor], Awaitable[T]],
        *,
        atomic: bool = False,
    ) -> T:
        raise NotImplementedError

    @property
    def _on_citus(self) -> bool:
        """Whether the database is a Citus coordinator's. There the batch statements of many
        plays, states or substitutions give way to the statements of one each: they lock game
        and play rows (FOR KEY SHARE) in common table expressions that also insert, which Citus
        plans in several steps, and it locks rows only in a statement on one shard. A roll
        batch of several games goes one statement a game (SaveGameRolls), each a single-shard
        one."""
        return False

    @property
    def _is_rerun(self) -> bool:
        """Whether this call re-runs a transaction whose first run may have committed (its
        COMMIT's reply was lost), so finding its own write applied means "already applied"."""
        return False

    # ---- games ---------------------------------------------------------------------------

    async def create_game(
        self,
        game_id: uuid.UUID,
        league_id: League | str,
        home_team_id: int,
        away_team_id: int,
        game_mode: GameMode | str = GameMode.FRIENDLY,
        visibility: GameVisibility | str = GameVisibility.PUBLIC,
    ) -> Game:
        """Create a game. Calling again with the same values returns the stored game; the
        same id with other values raises :class:`ConstraintViolation`."""
        new = validate_input(
            NewGame,
            {
                "game_id": game_id,
                "league_id": league_id,
                "home_team_id": home_team_id,
                "away_team_id": away_team_id,
                "game_mode": game_mode,
                "visibility": visibility,
            },
        )
        gid = new.game_id

        async def work(conn: Executor) -> Game:
            created = await games.create_game(
                conn,
                id=gid,
                league_id=new.league_id,
                home_team_id=new.home_team_id,
                away_team_id=new.away_team_id,
                game_mode=new.game_mode,
                visibility=new.visibility,
            )
            if created is not None:
                return created
            stored = await games.get_game(conn, id=gid)
            if stored is not None and (
                stored.league_id,
                stored.home_team_id,
                stored.away_team_id,
                stored.game_mode,
                stored.visibility,
            ) == (new.league_id, new.home_team_id, new.away_team_id, new.game_mode, new.visibility):
                return stored
            raise ConstraintViolation(
                f"game {gid} already exists with other values", game_id=gid, constraint="games_pkey"
            )

        return await self._run(gid, work)

    async def get_game(self, game_id: uuid.UUID) -> Game | None:
        """The game, or ``None`` when there is no such game."""
        gid = GAME_ID(game_id)
        return await self._run(gid, lambda conn: games.get_game(conn, id=gid))

    async def update_game_state(
        self,
        game_id: uuid.UUID,
        inning: int,
        half: Half | str,
        home_score: int,
        away_score: int,
        *,
        outs: int | None = None,
        status: GameStatus | str | None = None,
        expected_version: int | None = None,
    ) -> StateUpdate:
        """Write the game's state in one UPDATE. Unchanged values write nothing
        (``changed=False``); a write bumps ``state_version``. With ``expected_version``,
        raises :class:`StaleState` rather than overwrite a newer state."""
        gid, new_inning, new_half, home, away, new_outs, new_status = STATE_CHANGE(
            game_id, inning, half, home_score, away_score, outs, status
        )
        if expected_version is not None:
            EXPECTED_VERSION(expected_version, gid)
        # What both statements take: the write, and the one that explains a write refused.
        state: dict[str, Any] = {
            "id": gid,
            "current_inning": new_inning,
            "current_half": new_half,
            "home_score": home,
            "away_score": away,
            "outs": new_outs,
            "status": new_status,
            "expected_version": expected_version,
        }
        attempts = 0

        async def work(conn: Executor) -> StateUpdate:
            nonlocal attempts
            attempts += 1
            written = await games.update_game_state(conn, **state)
            if written is not None:
                return _state_update(written, changed=True)
            # Nothing written: the statement that also says why (and writes if a concurrent
            # change made the state differ since).
            row = await games.update_game_state_or_explain(conn, **state)
            if row is None or row.previous_version is None:
                raise GameNotFound(gid)
            if row.new_version is not None:
                return _state_update(row.new_version, changed=True)
            if expected_version is None or row.previous_version == expected_version:
                return _state_update(row.previous_version, changed=False)
            if (
                row.matches
                and (attempts > 1 or self._is_rerun)
                and row.previous_version == expected_version + 1
            ):
                # The first attempt committed but its reply was lost: already applied.
                return _state_update(row.previous_version, changed=True)
            raise StaleState(gid, expected_version=expected_version)

        return await self._run(gid, work)

    async def delete_game(self, game_id: uuid.UUID) -> bool:
        """Delete the game and everything that belongs to it; ``False`` if there was none."""
        gid = GAME_ID(game_id)
        return await self._run(gid, lambda conn: games.delete_game(conn, id=gid)) > 0

    # ---- lineups -------------------------------------------------------------------------

    async def _add_lineup_entry(
        self,
        *,
        game_id: uuid.UUID,
        league: League,
        team_id: int,
        card_id: int | None,
        player_id: int | None,
        position: str,
        batting_order: int | None,
        is_starter: bool,
    ) -> Lineup:
        entry = validate_input(
            LineupEntryData,
            {
                "game_id": game_id,
                "team_id": team_id,
                "card_id": card_id,
                "player_id": player_id,
                "position": position,
                "batting_order": batting_order,
                "is_starter": is_starter,
            },
        )
        gid = entry.game_id

        async def work(conn: Executor) -> Lineup:
            added = await lineups.add_lineup_entry(conn, league_id=league, **entry.arguments())
            if added is not None:
                return added
            await _require_game_of_league(conn, gid, league, entry.team_id)
            stored = await lineups.find_lineup_entry(
                conn,
                game_id=gid,
                team_id=entry.team_id,
                card_id=entry.card_id,
                player_id=entry.player_id,
            )
            if stored is not None and (
                stored.position,
                stored.batting_order,
                stored.is_starter,
                stored.replacing_id,
            ) == (entry.position, entry.batting_order, entry.is_starter, None):
                return stored
            who = (
                f"card {entry.card_id}"
                if entry.card_id is not None
                else f"player {entry.player_id}"
            )
            raise ConstraintViolation(
                f"{who} is already in team {entry.team_id}'s lineup for game {gid}",
                game_id=gid,
                constraint="lineups_card_once"
                if entry.card_id is not None
                else "lineups_player_once",
            )

        return await self._run(gid, work)

    async def add_pd_lineup_card(
        self,
        game_id: uuid.UUID,
        team_id: int,
        card_id: int,
        position: str,
        batting_order: int | None = None,
        is_starter: bool = True,
    ) -> Lineup:
        """Put a card in a PD team's lineup. Raises :class:`WrongLeague` on an SBA game."""
        return await self._add_lineup_entry(
            game_id=game_id,
            league=League.PD,
            team_id=team_id,
            card_id=card_id,
            player_id=None,
            position=position,
            batting_order=batting_order,
            is_starter=is_starter,
        )

    async def add_sba_lineup_player(
        self,
        game_id: uuid.UUID,
        team_id: int,
        player_id: int,
        position: str,
        batting_order: int | None = None,
        is_starter: bool = True,
    ) -> Lineup:
        """Put a player in an SBA team's lineup. Raises :class:`WrongLeague` on a PD game."""
        return await self._add_lineup_entry(
            game_id=game_id,
            league=League.SBA,
            team_id=team_id,
            card_id=None,
            player_id=player_id,
            position=position,
            batting_order=batting_order,
            is_starter=is_starter,
        )

    async def add_substitution(
        self,
        *,
        game_id: uuid.UUID,
        replacing_id: int,
        after_play: int,
        position: str,
        card_id: int | None = None,
        player_id: int | None = None,
        batting_order: int | None = None,
    ) -> Lineup:
        """Replace an active lineup entry after play ``after_play`` (0 before the first play).
        The replaced entry goes inactive; the new one inherits its team and batting order.
        Exactly one of ``card_id`` (PD) / ``player_id`` (SBA) is required."""
        substitution = SubstitutionData.of(
            game_id, replacing_id, after_play, position, card_id, player_id, batting_order
        )
        return await self._run(
            substitution.game_id, lambda conn: _add_substitution(conn, substitution), atomic=True
        )

    async def add_substitutions_batch(
        self, substitutions: Sequence[SubstitutionData | Mapping[str, Any]]
    ) -> list[Lineup]:
        """:meth:`add_substitution` for each mapping of its keyword arguments (or
        :class:`SubstitutionData`), in order, all or nothing, in one statement where they are
        independent; returns the new rows."""
        batch = validate_inputs(SubstitutionData, substitutions, field="substitutions")
        if not batch:
            return []
        games_ = {substitution.game_id for substitution in batch}
        gid = games_.pop() if len(games_) == 1 else None
        replaced = collections.Counter(s.replaced for s in batch)
        # Two substitutions of one entry depend on each other's order: those go one by one.
        bulk = [s for s in batch if replaced[s.replaced] == 1]
        payload = _substitutions_json.dump_json(bulk).decode()

        async def work(conn: Executor) -> list[Lineup]:
            added = {}
            if bulk and not self._on_citus:
                added = {
                    (row.game_id, row.replacing_id): row
                    for row in await lineups.add_substitutions_batch(conn, substitutions=payload)
                }
            return [added.get(s.replaced) or await _add_substitution(conn, s) for s in batch]

        return await self._run(gid, work, atomic=True)

    async def get_active_lineup(self, game_id: uuid.UUID, team_id: int) -> list[Lineup]:
        """A team's active lineup in batting order."""
        gid = GAME_ID(game_id)
        TEAM_ID(team_id, gid)
        return await self._run(
            gid, lambda conn: lineups.get_active_lineup(conn, game_id=gid, team_id=team_id)
        )

    # ---- plays ---------------------------------------------------------------------------

    async def save_play(self, play: PlayData | Mapping[str, Any]) -> int:
        """Store a play; returns its id. Re-sending the same play returns the same id and
        writes nothing; another play under a taken number raises
        :class:`ConstraintViolation`. Plays are numbered 1, 2, 3, … without gaps: a play
        whose predecessor is not stored (never written, or rolled back) raises
        :class:`PlayNotFound` and nothing is written."""
        data = validate_input(PlayData, play)
        return await self._run(data.game_id, lambda conn: _save_play(conn, data))

    async def save_plays_batch(self, plays_: Sequence[PlayData | Mapping[str, Any]]) -> list[int]:
        """Store plays (of one game or of many) in one statement, all or nothing; returns
        their ids in order. Each game's plays are taken in order exactly as :meth:`save_play`
        takes them one by one: a re-sent play returns its id, a refused play raises the
        error ``save_play`` raises for it, and then nothing of the batch is written."""
        return await self.record_plays_batch(plays_, ())

    async def record_plays_batch(
        self,
        plays_: Sequence[PlayData | Mapping[str, Any]],
        states: Sequence[StateChange | Mapping[str, Any]],
    ) -> list[int]:
        """Store plays and write game states, of any number of games, in one statement, all
        or nothing; returns the plays' ids in order. The same as :meth:`save_plays_batch`
        followed by :meth:`update_game_state` for each state in order (without
        ``expected_version``): a game's states after one another leave what the last leaves,
        its ``outs`` / ``status`` left ``None`` keeping the earlier ones'. A state of an
        unknown game raises :class:`GameNotFound`."""
        batch = validate_inputs(PlayData, plays_, field="plays")
        changes = validate_inputs(StateChange, states, field="states")
        by_game: dict[uuid.UUID, list[PlayData]] = {}
        for data in batch:
            by_game.setdefault(data.game_id, []).append(data)
        # One statement checks only each game's first play's predecessor, so a game whose
        # plays are not consecutive goes play by play, as save_play would take them.
        stepwise: list[list[PlayData]] = []
        consecutive: list[list[PlayData]] = []
        for game in by_game.values():
            (consecutive if _consecutive(game) else stepwise).append(game)
        bulk = [data for game in consecutive for data in game]
        merged: dict[uuid.UUID, StateChange] = {}
        for change in changes:
            earlier = merged.get(change.game_id)
            merged[change.game_id] = change if earlier is None else earlier.then(change)
        games_ = set(by_game) | set(merged)
        gid = next(iter(games_)) if len(games_) == 1 else None
        if not batch and not merged:
            return []
        per_game: list[tuple[uuid.UUID, str]] = []
        plays_payload = states_payload = ""
        if self._on_citus:
            # Each game's plays are one statement of their own, which runs on the game's node.
            per_game = [
                (game[0].game_id, _plays_json.dump_json(game).decode()) for game in consecutive
            ]
        else:
            plays_payload = _plays_json.dump_json(bulk).decode()
            states_payload = _states_json.dump_json(list(merged.values())).decode()

        async def work(conn: Executor) -> list[int]:
            ids: dict[tuple[uuid.UUID, int], int] = {}
            for game in stepwise:
                for data in game:
                    ids[data.game_id, data.play_number] = await _save_play(conn, data)
            versions: set[uuid.UUID] = set()
            if self._on_citus:
                for game_id, payload in per_game:
                    for saved in await plays.save_game_plays(conn, game_id=game_id, plays=payload):
                        ids[game_id, saved.play_number] = saved.id
                for change in merged.values():
                    versions |= await _write_state_change(conn, change)
            else:
                for row in await plays.record_plays_batch(
                    conn, plays=plays_payload, states=states_payload
                ):
                    assert row.game_id is not None
                    if row.play_id is not None and row.play_number is not None:
                        ids[row.game_id, row.play_number] = row.play_id
                    else:
                        versions.add(row.game_id)
            unseen = [data for data in bulk if (data.game_id, data.play_number) not in ids]
            stored: dict[tuple[uuid.UUID, int], Play] = {}
            for game_id in dict.fromkeys(data.game_id for data in unseen):
                numbers = [data.play_number for data in unseen if data.game_id == game_id]
                for play in await plays.get_plays_by_numbers(
                    conn, game_id=game_id, play_numbers=numbers
                ):
                    stored[game_id, play.play_number] = play
            for data in unseen:  # in order: the first play refused raises
                key = data.game_id, data.play_number
                ids[key] = await _existing_play_id(conn, data, stored.get(key))
            for game_id in merged:
                if game_id not in versions:
                    raise GameNotFound(game_id)
            return [ids[data.game_id, data.play_number] for data in batch]

        return await self._run(gid, work, atomic=True)

    async def record_play(
        self,
        play: PlayData | Mapping[str, Any],
        state: GameState | Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> RecordedPlay:
        """Store a play and the game state after it in one statement (one round trip, one
        transaction). Re-sending it returns what was stored; with ``expected_version`` a
        newer state raises :class:`StaleState` and nothing is written. A stored play whose
        game no longer holds the state given after it raises :class:`StaleState` (with an
        ``expected_version`` the game has left) or :class:`ConstraintViolation`, never writing
        that older state over a newer one; like
        :meth:`save_play`, a play whose predecessor is not stored raises
        :class:`PlayNotFound`."""
        data = validate_input(PlayData, play)
        after = validate_input(GameState, state, game_id=data.game_id)
        gid = data.game_id
        if expected_version is not None:
            EXPECTED_VERSION(expected_version, gid)

        async def work(conn: Executor) -> RecordedPlay:
            row = await plays.record_play(
                conn,
                **data.arguments(),
                current_inning=after.inning,
                current_half=after.half,
                outs=after.outs,
                state_home_score=after.home_score,
                state_away_score=after.away_score,
                expected_version=expected_version,
            )
            if row is not None and row.play_id is not None and row.new_version is not None:
                return RecordedPlay(play_id=row.play_id, state_version=row.new_version)
            game = await games.get_game(conn, id=gid)
            if game is None:
                raise GameNotFound(gid)
            stored = await plays.get_play(conn, game_id=gid, play_number=data.play_number)
            if stored is not None:
                play_id = await _existing_play_id(conn, data, stored)
                current = (
                    game.current_inning,
                    game.current_half,
                    game.outs,
                    game.home_score,
                    game.away_score,
                )
                if current == (
                    after.inning,
                    after.half,
                    after.outs,
                    after.home_score,
                    after.away_score,
                ) and (expected_version is None or game.state_version == expected_version + 1):
                    # This very call applied already (a re-sent one, or a lost COMMIT reply).
                    return RecordedPlay(play_id=play_id, state_version=game.state_version)
                if expected_version is not None and game.state_version != expected_version:
                    raise StaleState(gid, expected_version=expected_version)
                # Writing the state now could take the game back to before later plays.
                raise ConstraintViolation(
                    f"game {gid} already has play {data.play_number}, and its state is not "
                    "the one given after it",
                    game_id=gid,
                    constraint="plays_play_number_key",
                )
            if row is not None and row.game_matched:
                raise await _missing_previous_play(conn, data)
            raise StaleState(gid, expected_version=expected_version or 0)

        return await self._run(gid, work)

    async def get_plays(self, game_id: uuid.UUID) -> list[Play]:
        """Every play of the game in order."""
        gid = GAME_ID(game_id)
        return await self._run(gid, lambda conn: plays.get_plays(conn, game_id=gid))

    # ---- rosters -------------------------------------------------------------------------

    async def _add_roster_link(
        self,
        game_id: uuid.UUID,
        league: League,
        team_id: int,
        card_id: int | None,
        player_id: int | None,
    ) -> RosterLink:
        entry = validate_input(
            RosterEntryData,
            {"game_id": game_id, "team_id": team_id, "card_id": card_id, "player_id": player_id},
        )
        gid = entry.game_id

        async def work(conn: Executor) -> RosterLink:
            link = await rosters.add_roster_link(conn, league_id=league, **entry.arguments())
            if link is not None:
                return link
            await _require_game_of_league(conn, gid, league, entry.team_id)
            stored = await rosters.find_roster_link(
                conn, game_id=gid, card_id=entry.card_id, player_id=entry.player_id
            )
            if stored is not None and stored.team_id == entry.team_id:
                return stored
            who = (
                f"card {entry.card_id}"
                if entry.card_id is not None
                else f"player {entry.player_id}"
            )
            raise ConstraintViolation(
                f"{who} is already on another team's roster in game {gid}",
                game_id=gid,
                constraint="roster_links_card_key"
                if entry.card_id is not None
                else "roster_links_player_key",
            )

        return await self._run(gid, work)

    async def add_pd_roster_card(
        self, game_id: uuid.UUID, card_id: int, team_id: int
    ) -> PdRosterLinkData:
        """Link a card to a PD team for this game (idempotent)."""
        link = await self._add_roster_link(game_id, League.PD, team_id, card_id, None)
        return PdRosterLinkData.from_link(link)

    async def add_sba_roster_player(
        self, game_id: uuid.UUID, player_id: int, team_id: int
    ) -> SbaRosterLinkData:
        """Link a player to an SBA team for this game (idempotent)."""
        link = await self._add_roster_link(game_id, League.SBA, team_id, None, player_id)
        return SbaRosterLinkData.from_link(link)

    async def _get_roster(self, game_id: uuid.UUID, team_id: int | None) -> list[RosterLink]:
        gid = GAME_ID(game_id)
        ROSTER_TEAM_ID(team_id, gid)
        return await self._run(
            gid, lambda conn: rosters.get_roster(conn, game_id=gid, team_id=team_id)
        )

    async def get_pd_roster(
        self, game_id: uuid.UUID, team_id: int | None = None
    ) -> list[PdRosterLinkData]:
        """The game's PD cards, of one team when ``team_id`` is given."""
        links = await self._get_roster(game_id, team_id)
        return [PdRosterLinkData.from_link(link) for link in links if link.card_id is not None]

    async def get_sba_roster(
        self, game_id: uuid.UUID, team_id: int | None = None
    ) -> list[SbaRosterLinkData]:
        """The game's SBA players, of one team when ``team_id`` is given."""
        links = await self._get_roster(game_id, team_id)
        return [SbaRosterLinkData.from_link(link) for link in links if link.player_id is not None]

    async def remove_roster_entry(self, game_id: uuid.UUID, roster_id: int) -> bool:
        """Remove one roster link; ``False`` when it was not there."""
        gid = GAME_ID(game_id)
        ROSTER_ID(roster_id, gid)
        removed = await self._run(
            gid, lambda conn: rosters.remove_roster_entry(conn, game_id=gid, id=roster_id)
        )
        return removed > 0

    # ---- sessions ------------------------------------------------------------------------

    async def create_game_session(
        self, game_id: uuid.UUID, connected_users: JsonValue | None = None
    ) -> GameSession:
        """Open the game's session (returns the existing one when already open)."""
        gid = GAME_ID(game_id)
        users = CONNECTED_USERS({} if connected_users is None else connected_users, gid)
        return await self._run(
            gid,
            lambda conn: _required(
                sessions.create_game_session(conn, game_id=gid, connected_users=users), gid
            ),
        )

    async def update_session_snapshot(
        self, game_id: uuid.UUID, state_snapshot: JsonValue
    ) -> GameSession:
        """Store the engine's latest state snapshot for the game."""
        gid = GAME_ID(game_id)
        snapshot = STATE_SNAPSHOT(state_snapshot, gid)
        return await self._run(
            gid,
            lambda conn: _required(
                sessions.update_session_snapshot(conn, game_id=gid, state_snapshot=snapshot),
                gid,
            ),
        )

    async def get_game_session(self, game_id: uuid.UUID) -> GameSession | None:
        """The game's session, if one was opened."""
        gid = GAME_ID(game_id)
        return await self._run(gid, lambda conn: sessions.get_game_session(conn, game_id=gid))

    # ---- rolls ---------------------------------------------------------------------------

    async def save_rolls_batch(
        self, rolls: Sequence[RollRecord | Mapping[str, Any] | EngineRoll]
    ) -> int:
        """Store a batch of rolls in one statement, in the order given; returns how many were
        new. A roll already stored (same game and ``roll_id``) with the same content is
        skipped, so a re-sent batch never duplicates; one with other content (or two of the
        batch with one id and other content) raises :class:`ConstraintViolation` and stores
        nothing of the batch. A roll is a :class:`RollRecord`, its dict, or the engine's dice
        object (read by attribute, see :class:`RollRecord`)."""
        batch = _distinct_rolls(validate_inputs(RollRecord, rolls, field="rolls"))
        if not batch:
            return 0
        # An error names the batch's game only when it has one: "game X does not exist" must
        # not blame the first roll's game for another roll's.
        # Keyed by the UUIDs' integers: a UUID hashes itself in Python, an int in C.
        games_ = list({roll.game_id.int: roll.game_id for roll in batch}.values())
        gid = games_[0] if len(games_) == 1 else None

        async def work(conn: Executor) -> int:
            if gid is not None:
                inserted = await roll_queries.save_game_rolls(
                    conn, game_id=gid, **_roll_columns(batch)
                )
            elif self._on_citus:
                # One statement a game, each on that game's shards alone.
                inserted = 0
                for game_id in games_:
                    inserted += await roll_queries.save_game_rolls(
                        conn,
                        game_id=game_id,
                        **_roll_columns([roll for roll in batch if roll.game_id == game_id]),
                    )
            else:
                inserted = await roll_queries.save_rolls_batch(
                    conn,
                    games=games_,
                    game_ids=[roll.game_id for roll in batch],
                    **_roll_columns(batch),
                )
            if inserted < len(batch):
                await _check_stored_rolls(conn, batch)
            return inserted

        # Rolls of several games may go in several statements (on Citus): all or nothing.
        return await self._run(gid, work, atomic=len(games_) > 1)

    async def get_rolls_for_game(self, game_id: uuid.UUID) -> list[Roll]:
        """The game's rolls in the order they were handed over."""
        gid = GAME_ID(game_id)
        return await self._run(gid, lambda conn: rolls.get_rolls_for_game(conn, game_id=gid))

    # ---- recovery ------------------------------------------------------------------------

    async def load_game_state(
        self, game_id: uuid.UUID, *, include_rolls: bool = False
    ) -> GameSnapshot | None:
        """The whole game (game, every lineup entry, plays, roster, session, and rolls when
        asked) read by one statement, so from one consistent snapshot; ``None`` for an
        unknown game."""
        gid = GAME_ID(game_id)
        INCLUDE_ROLLS(include_rolls, gid)
        rows = await self._run(
            gid,
            lambda conn: games.load_game_state(conn, game_id=gid, include_rolls=include_rolls),
        )
        game: Game | None = None
        session: GameSession | None = None
        lineups_: list[Lineup] = []
        plays_: list[Play] = []
        roster: list[RosterLink] = []
        rolls_: list[Roll] | None = None
        for row in rows:
            if row.play is not None:
                plays_.append(row.play)
            elif row.lineup is not None:
                lineups_.append(row.lineup)
            elif row.roster_link is not None:
                roster.append(row.roster_link)
            elif row.game is not None:
                game = row.game
            elif row.session is not None:
                session = row.session
            elif row.rolls is not None:
                rolls_ = _rolls_of_document(row.rolls, gid)
        if game is None:
            return None
        # The parts are models of trusted rows already: constructing skips checking them again.
        return GameSnapshot.model_construct(
            game=game,
            lineups=lineups_,
            plays=plays_,
            roster=roster,
            session=session,
            rolls=rolls_,
        )

    # ---- rollback ------------------------------------------------------------------------

    async def delete_plays_after(self, game_id: uuid.UUID, play_number: int) -> int:
        """Remove the plays numbered above ``play_number``; returns how many. Like every
        rollback building block, takes the game's row lock first, so no writer interleaves."""
        return await self._delete_after(
            game_id,
            play_number,
            lambda conn, gid: plays.delete_plays_after(conn, game_id=gid, play_number=play_number),
        )

    async def delete_substitutions_after(self, game_id: uuid.UUID, play_number: int) -> int:
        """Remove substitutions made after play ``play_number`` or later, reactivating the
        entries they replaced; returns how many were removed (after the game's row lock)."""
        return await self._delete_after(
            game_id,
            play_number,
            lambda conn, gid: lineups.delete_substitutions_after(
                conn, game_id=gid, after_play=play_number
            ),
        )

    async def delete_rolls_after(self, game_id: uuid.UUID, play_number: int) -> int:
        """Remove the rolls of plays numbered above ``play_number``; returns how many (after
        the game's row lock)."""
        return await self._delete_after(
            game_id,
            play_number,
            lambda conn, gid: rolls.delete_rolls_after(conn, game_id=gid, play_number=play_number),
        )

    async def _delete_after(
        self,
        game_id: uuid.UUID,
        play_number: int,
        delete: Callable[[Executor, uuid.UUID], Awaitable[int | None]],
    ) -> int:
        """A rollback building block: ``delete`` run after the game's row lock is taken, as
        :meth:`rollback_to_play` does (writers share-lock the game row, so they finish before
        the delete, or start after it); 0 for an unknown game."""
        gid = GAME_ID(game_id)
        DELETE_AFTER(play_number, gid)

        async def work(conn: Executor) -> int:
            if await games.get_game_for_update(conn, id=gid) is None:
                return 0
            return await delete(conn, gid) or 0

        return await self._run(gid, work, atomic=True)

    async def rollback_to_play(self, game_id: uuid.UUID, play_number: int) -> RollbackResult:
        """Rewind the game to just after play ``play_number`` (0: before the first play), all
        or nothing: later plays, substitutions made at or after it (reactivating whom they
        replaced), rolls of later plays go, and the game's state is recomputed from the
        plays kept. A completed game rolled back to an earlier play is active again; to its
        last play, it stays completed. Takes the game's row lock first, so no writer
        interleaves."""
        gid = GAME_ID(game_id)
        ROLLBACK_TO(play_number, gid)

        async def work(conn: Executor) -> RollbackResult:
            if await games.get_game_for_update(conn, id=gid) is None:
                raise GameNotFound(gid)
            last = await plays.get_last_play_number(conn, game_id=gid) or 0
            if play_number > last:
                raise PlayNotFound(gid, play_number, last)
            removed_plays = (
                await plays.delete_plays_after(conn, game_id=gid, play_number=play_number) or 0
            )
            removed_subs = await lineups.delete_substitutions_after(
                conn, game_id=gid, after_play=play_number
            )
            removed_rolls = await rolls.delete_rolls_after(
                conn, game_id=gid, play_number=play_number
            )
            kept = (
                await plays.get_play(conn, game_id=gid, play_number=play_number)
                if play_number
                else None
            )
            try:
                state = replay.state_after(kept)
            except ValidationError as exc:
                problem = exc.errors()[0]
                field = ".".join(str(part) for part in problem["loc"])
                raise InvalidInput(
                    f"cannot roll game {gid} back to play {play_number}: the state after it "
                    f"is not one gamedb keeps ({field}: {problem['msg']})",
                    game_id=gid,
                ) from exc
            game = await games.rollback_to_play(
                conn,
                id=gid,
                current_inning=state.inning,
                current_half=state.half,
                outs=state.outs,
                home_score=state.home_score,
                away_score=state.away_score,
                # A completed game rolled back to its last play is still over.
                reopen=play_number < last,
            )
            if game is None:
                raise GameNotFound(gid)
            return RollbackResult(
                plays_removed=removed_plays,
                substitutions_removed=removed_subs,
                rolls_removed=removed_rolls,
                game=game,
            )

        return await self._run(gid, work, atomic=True)

    # ---- stats ---------------------------------------------------------------------------

    async def get_batter_stats(
        self, game_id: uuid.UUID, lineup_id: int | None = None
    ) -> list[BatterLine]:
        """Batting line of each lineup entry (or of one)."""
        gid = GAME_ID(game_id)
        LINEUP_ID(lineup_id, gid)
        return await self._run(
            gid, lambda conn: stats.get_batter_stats(conn, game_id=gid, lineup_id=lineup_id)
        )

    async def get_pitcher_stats(
        self, game_id: uuid.UUID, lineup_id: int | None = None
    ) -> list[PitcherLine]:
        """Pitching line of each lineup entry that pitched (or of one)."""
        gid = GAME_ID(game_id)
        LINEUP_ID(lineup_id, gid)
        return await self._run(
            gid, lambda conn: stats.get_pitcher_stats(conn, game_id=gid, lineup_id=lineup_id)
        )

    async def get_box_score(self, game_id: uuid.UUID) -> BoxScore:
        """Both teams' runs, hits and errors and every player's line, in one round trip."""
        gid = GAME_ID(game_id)
        lines = await self._run(gid, lambda conn: stats.get_box_score(conn, game_id=gid))
        if lines:
            first = lines[0]
            home_id, away_id = first.home_team_id, first.away_team_id
            home_runs, away_runs, status = first.home_score, first.away_score, first.status
        else:
            game = await self.get_game(gid)
            if game is None:
                raise GameNotFound(gid)
            home_id, away_id = game.home_team_id, game.away_team_id
            home_runs, away_runs, status = game.home_score, game.away_score, game.status

        def team(team_id: int, runs: int) -> TeamLine:
            mine = [line for line in lines if line.team_id == team_id]
            return TeamLine(
                team_id=team_id,
                runs=runs,
                hits=sum(line.hit for line in mine),
                errors=sum(line.errors for line in mine),
            )

        return BoxScore(
            game_id=gid,
            away=team(away_id, away_runs),
            home=team(home_id, home_runs),
            status=status,
            lines=lines,
        )


async def _required(pending: Awaitable[T | None], game_id: uuid.UUID) -> T:
    value = await pending
    if value is None:
        raise GameNotFound(game_id)
    return value


async def _require_game_of_league(
    conn: Executor, game_id: uuid.UUID, league: League, team_id: int
) -> Game:
    game = await games.get_game(conn, id=game_id)
    if game is None:
        raise GameNotFound(game_id)
    if game.league_id != league:
        raise WrongLeague(game_id, expected=str(league), actual=str(game.league_id))
    if team_id not in (game.home_team_id, game.away_team_id):
        raise InvalidInput(f"team {team_id} does not play in game {game_id}", game_id=game_id)
    return game


async def _write_state_change(conn: Executor, change: StateChange) -> set[uuid.UUID]:
    """Write one game's state in the one statement of UpdateGameStateOrExplain (the fallback
    of ``update_game_state``, which writes only what changes); the game's id, or none for an
    unknown game."""
    row = await games.update_game_state_or_explain(
        conn,
        id=change.game_id,
        current_inning=change.inning,
        current_half=change.half,
        home_score=change.home_score,
        away_score=change.away_score,
        outs=change.outs,
        status=change.status,
        expected_version=None,
    )
    return set() if row is None or row.previous_version is None else {change.game_id}


async def _save_play(conn: Executor, data: PlayData) -> int:
    play_id = await plays.save_play(conn, **data.arguments())
    if play_id is not None:
        return play_id
    return await _existing_play_id(conn, data)


def _state_update(state_version: int, *, changed: bool) -> StateUpdate:
    # Two values gamedb itself just read: built as they are, every update_game_state ends here.
    return trusted_model(StateUpdate, {"state_version": state_version, "changed": changed})


def _consecutive(batch: list[PlayData]) -> bool:
    return all(
        later.play_number == earlier.play_number + 1 for earlier, later in itertools.pairwise(batch)
    )


async def _add_substitution(conn: Executor, sub: SubstitutionData) -> Lineup:
    gid = sub.game_id
    added = await lineups.add_substitution(conn, **sub.arguments())
    if added is not None:
        return added
    game = await games.get_game(conn, id=gid)
    if game is None:
        raise GameNotFound(gid)
    replaced = await lineups.get_lineup_entry(conn, game_id=gid, id=sub.replacing_id)
    if replaced is None:
        raise InvalidInput(f"lineup entry {sub.replacing_id} is not in game {gid}", game_id=gid)
    stored = await lineups.find_lineup_entry(
        conn, game_id=gid, team_id=replaced.team_id, card_id=sub.card_id, player_id=sub.player_id
    )
    if stored is not None and (stored.replacing_id, stored.after_play, stored.position) == (
        sub.replacing_id,
        sub.after_play,
        sub.position,
    ):
        return stored
    league = League.SBA if sub.card_id is None else League.PD
    if game.league_id != league:
        raise WrongLeague(gid, expected=str(league), actual=str(game.league_id))
    last = await plays.get_last_play_number(conn, game_id=gid) or 0
    if sub.after_play > last:
        raise PlayNotFound(gid, sub.after_play, last)
    raise ConstraintViolation(
        f"lineup entry {sub.replacing_id} of game {gid} is no longer active",
        game_id=gid,
        constraint="lineups_replacing_fkey",
    )


def _distinct_rolls(batch: list[RollRecord]) -> list[RollRecord]:
    """``batch`` with a roll handed over twice kept once (its first time); two rolls under
    one id that are not the same roll raise :class:`ConstraintViolation`."""
    seen: dict[tuple[int, str], RollRecord] = {}
    for roll in batch:
        first = seen.setdefault((roll.game_id.int, roll.roll_id), roll)
        if first is not roll and not first.matches(roll):
            raise ConstraintViolation(
                f"the batch holds two different rolls {roll.roll_id!r} for game {roll.game_id}",
                game_id=roll.game_id,
                constraint="rolls_pkey",
            )
    return batch if len(seen) == len(batch) else list(seen.values())


def _roll_columns(batch: list[RollRecord]) -> dict[str, list[Any]]:
    """The batch as the arrays ``SaveGameRolls`` (and ``SaveRollsBatch``, with the game ids)
    take, one a column, JSON as text."""
    return {
        "roll_ids": [roll.roll_id for roll in batch],
        "roll_types": [roll.roll_type for roll in batch],
        "play_numbers": [roll.play_number for roll in batch],
        "team_ids": [roll.team_id for roll in batch],
        "player_ids": [roll.player_id for roll in batch],
        "roll_data": [roll.roll_data.model_dump_json() for roll in batch],
        "contexts": [
            None if roll.context is None else to_json(roll.context).decode() for roll in batch
        ],
        "rolled_ats": [roll.rolled_at for roll in batch],
    }


def _rolls_of_document(document: str, game_id: uuid.UUID) -> list[Roll]:
    """The rolls of ``LoadGameState``'s JSON array of ``rolls`` rows, as models.

    The rows are gamedb's own, whose ``roll_data`` was a :class:`RollData` when written:
    parsing them and building the models as they are costs a fraction of validating each
    field again (the extra keys of ``roll_data`` above all, checked one by one in Python).
    """
    stored = []
    for row in json.loads(document):
        data = row["roll_data"]
        fields = {"dice": data.pop("dice", {}), "total": data.pop("total", None)}
        row["roll_data"] = trusted_model(RollData, fields, extra=data)
        row["game_id"] = game_id
        row["rolled_at"] = datetime.datetime.fromisoformat(row["rolled_at"])
        stored.append(trusted_model(Roll, row))
    return stored


async def _check_stored_rolls(conn: Executor, batch: list[RollRecord]) -> None:
    """Raise unless every roll of ``batch`` is stored as given, after SaveRollsBatch stored
    fewer: :class:`ConstraintViolation` for the first roll stored with other content (the
    batch clashed, or a concurrent writer committed it with other dice meanwhile), else
    :class:`GameNotFound` for a roll of an unknown game (SaveRollsBatch stores none), else
    :class:`ConstraintViolation` for one still missing."""
    stored: dict[tuple[uuid.UUID, str], Roll] = {}
    for game_id in dict.fromkeys(roll.game_id for roll in batch):
        for found in await rolls.get_rolls_by_ids(
            conn,
            game_id=game_id,
            roll_ids=[roll.roll_id for roll in batch if roll.game_id == game_id],
        ):
            stored[game_id, found.roll_id] = found
    for roll in batch:
        kept = stored.get((roll.game_id, roll.roll_id))
        if kept is not None and not roll.matches(kept):
            raise _roll_conflict(roll)
    for roll in batch:
        if (roll.game_id, roll.roll_id) not in stored:
            if await games.get_game(conn, id=roll.game_id) is None:
                raise GameNotFound(roll.game_id)
            raise _roll_conflict(roll)


def _roll_conflict(roll: RollRecord) -> ConstraintViolation:
    return ConstraintViolation(
        f"game {roll.game_id} already has a different roll {roll.roll_id!r}",
        game_id=roll.game_id,
        constraint="rolls_pkey",
    )


async def _existing_play_id(conn: Executor, data: PlayData, stored: Play | None = None) -> int:
    if stored is None:
        stored = await plays.get_play(conn, game_id=data.game_id, play_number=data.play_number)
    if stored is not None and data.matches(stored):
        return stored.id
    if stored is None:
        if await games.get_game(conn, id=data.game_id) is None:
            raise GameNotFound(data.game_id)
        raise await _missing_previous_play(conn, data)
    raise ConstraintViolation(
        f"game {data.game_id} already has a different play {data.play_number}",
        game_id=data.game_id,
        constraint="plays_play_number_key",
    )


async def _missing_previous_play(conn: Executor, data: PlayData) -> PlayNotFound:
    """Why a play was refused although its number is free: the one before it is missing."""
    last = await plays.get_last_play_number(conn, game_id=data.game_id) or 0
    return PlayNotFound(data.game_id, data.play_number - 1, last)
