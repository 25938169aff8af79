"""What gamedb's operations take and return, beyond the generated row models.

Every input is declared here once, with its bounds: the input models (:class:`PlayData`,
:class:`StateChange`, :class:`SubstitutionData`, ...) and the :class:`Argument` of each
argument that stands alone (:data:`GAME_ID`, :data:`TEAM_ID`, ...). The operations and the
persister's hand-offs check through them before anything reaches the database, so a bad
value raises :class:`gamedb.errors.InvalidInput` naming the field, and nothing is written::

    play = PlayData(game_id=gid, play_number=1, inning=1, half="top", outs_before=0,
                    batter_id=lead_off.id, pitcher_id=starter.id, away_score=0, home_score=0)
    gid = GAME_ID("0b6f...")          # a UUID, or InvalidInput naming game_id
"""

from __future__ import annotations

import datetime
import enum
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Protocol, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from gamedb.validation import Argument, Fields, validate_input
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
from gamedb_gen.stats import GetBatterStatsRow, GetBoxScoreRow, GetPitcherStatsRow
from gamedb_schema.payloads import RollData, StoredJson

__all__ = [
    "CONNECTED_USERS",
    "DELETE_AFTER",
    "EXPECTED_VERSION",
    "GAME_ID",
    "INCLUDE_ROLLS",
    "LINEUP_ID",
    "PLAY_NUMBER",
    "ROLLBACK_TO",
    "ROSTER_ID",
    "ROSTER_TEAM_ID",
    "STATE_SNAPSHOT",
    "TEAM_ID",
    "BatterLine",
    "BoxScore",
    "BoxScoreLine",
    "EngineRoll",
    "GameSnapshot",
    "GameState",
    "LineupEntryData",
    "NewGame",
    "PdRosterLinkData",
    "PitcherLine",
    "PlayData",
    "RecordedPlay",
    "RollRecord",
    "RollbackResult",
    "RosterEntryData",
    "SbaRosterLinkData",
    "StateChange",
    "StateUpdate",
    "SubstitutionData",
    "TeamLine",
]

# Strict: a bool, "3" or 3.7 where a number belongs (or 0 for a time) is a caller's bug, not a
# value to coerce.
Int32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
Id32 = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Id64 = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
AfterPlay = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]
"""A play number, or 0 for before the first play."""
Version = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
Count = Annotated[StrictInt, Field(ge=0, le=32767)]
Score = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]
Inning = Annotated[StrictInt, Field(ge=1, le=1000)]
Outs = Annotated[StrictInt, Field(ge=0, le=2)]
BattingOrder = Annotated[StrictInt, Field(ge=1, le=9)]
Text = Annotated[StrictStr, Field(max_length=10_000, pattern=r"^[^\x00]*$")]


def _in_utc(moment: datetime.datetime) -> datetime.datetime:
    # The same instant in UTC: JSON keeps an offset to the minute only (a historic zone's
    # -00:16:08 would lose 8 s), and a time that is outside the years 1-9999 in UTC (as
    # 0001-01-01T00:00+14:00 is) would be stored but no Python datetime could read it back.
    try:
        utc = moment.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError("the time is outside the years 1-9999 in UTC") from None
    # The driver sends the first and last instants Python can hold as PostgreSQL's -infinity
    # and infinity, which would read back as neither.
    if utc in (_FIRST_INSTANT, _LAST_INSTANT):
        raise ValueError(
            "the time must lie strictly between 0001-01-01 and 9999-12-31T23:59:59.999999 UTC"
        )
    return utc


_FIRST_INSTANT = datetime.datetime.min.replace(tzinfo=datetime.UTC)
_LAST_INSTANT = datetime.datetime.max.replace(tzinfo=datetime.UTC)


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def arguments(self) -> dict[str, Any]:
        """The fields, as keyword arguments for a generated query function: what
        ``model_dump()`` returns for these flat models of plain values, read from the frozen
        model without building a copy (every write goes through here)."""
        return self.__dict__


class PlayData(_Input):
    """One play as the engine hands it over (``save_play`` also takes the same as a dict)."""

    game_id: uuid.UUID
    play_number: Id32
    inning: Inning
    half: Half
    outs_before: Outs
    outs_recorded: Annotated[StrictInt, Field(ge=0, le=3)] = 0
    batter_id: Id64
    pitcher_id: Id64
    catcher_id: Id64 | None = None
    on_first_id: Id64 | None = None
    on_second_id: Id64 | None = None
    on_third_id: Id64 | None = None
    dice_roll: Text | None = None
    result_description: Text | None = None
    outcome: Text | None = None
    pa: Count = 0
    ab: Count = 0
    hit: Count = 0
    double: Count = 0
    triple: Count = 0
    homerun: Count = 0
    bb: Count = 0
    so: Count = 0
    hbp: Count = 0
    rbi: Count = 0
    run: Count = 0
    sb: Count = 0
    cs: Count = 0
    error: Count = 0
    wild_pitch: Count = 0
    passed_ball: Count = 0
    away_score: Score
    home_score: Score
    complete: StrictBool = True

    @model_validator(mode="after")
    def _outs_fit_the_inning(self) -> Self:
        if self.outs_before + self.outs_recorded > 3:
            raise ValueError("outs_before + outs_recorded exceeds 3")
        return self

    def matches(self, stored: Play) -> bool:
        """Whether ``stored`` holds exactly this play (a retry, not a conflict)."""
        return all(getattr(stored, name) == value for name, value in self)


class GameState(_Input):
    """The game's state after a play: what ``record_play`` and ``update_game_state`` write."""

    inning: Inning
    half: Half
    home_score: Score
    away_score: Score
    outs: Outs = 0


class EngineRoll(Protocol):
    """The engine's dice object, which :class:`RollRecord` reads by attribute: besides these,
    ``play_number``, ``team_id``, ``player_id``, ``context``, ``roll_data`` (else its
    ``to_dict()``) and ``rolled_at`` (else ``timestamp``) when it has them."""

    @property
    def roll_id(self) -> str: ...

    @property
    def game_id(self) -> uuid.UUID: ...

    @property
    def roll_type(self) -> object: ...


class StateChange(_Input):
    """One game's state as ``update_game_state`` writes it (and takes it, besides
    ``expected_version``), for a batch of many games too: ``outs`` / ``status`` left
    ``None`` keep the stored ones."""

    game_id: uuid.UUID
    inning: Inning
    half: Half
    home_score: Score
    away_score: Score
    outs: Outs | None = None
    status: GameStatus | None = None

    @classmethod
    def of(
        cls,
        game_id: object,
        inning: object,
        half: object,
        home_score: object,
        away_score: object,
        outs: object,
        status: object,
    ) -> StateChange:
        """``update_game_state``'s arguments checked, for the operation and the persister
        alike (:class:`InvalidInput` naming the one refused)."""
        return validate_input(
            cls,
            {
                "game_id": game_id,
                "inning": inning,
                "half": half,
                "home_score": home_score,
                "away_score": away_score,
                "outs": outs,
                "status": status,
            },
        )

    def then(self, later: StateChange) -> StateChange:
        """The state ``later`` leaves when written right after this one: its values, and this
        one's outs and status where ``later`` keeps the stored ones."""
        return later.model_copy(
            update={
                "outs": self.outs if later.outs is None else later.outs,
                "status": self.status if later.status is None else later.status,
            }
        )


class RollRecord(_Input):
    """One dice roll, keyed by ``(game_id, roll_id)`` so a re-sent batch never duplicates."""

    game_id: uuid.UUID
    roll_id: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    roll_type: Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
    play_number: Id32 | None = None
    team_id: Int32 | None = None
    player_id: Int32 | None = None
    roll_data: RollData
    context: StoredJson | None = None
    rolled_at: Annotated[AwareDatetime, Strict(), AfterValidator(_in_utc)] | None = None

    def arguments(self) -> dict[str, Any]:
        """The fields, ``roll_data`` as a dict (not flat: the model's own dict would hold
        the :class:`RollData`)."""
        return self.model_dump()

    @model_validator(mode="before")
    @classmethod
    def _from_engine_roll(cls, value: Any) -> Any:
        """The engine's dice objects, read by attribute as the old layer read them: each
        field of the same name, ``roll_data`` else ``to_dict()``, ``rolled_at`` else
        ``timestamp``."""
        if isinstance(value, (Mapping, BaseModel)):
            return value
        fields = {name: getattr(value, name) for name in cls.model_fields if hasattr(value, name)}
        to_dict = getattr(value, "to_dict", None)
        if "roll_data" not in fields and callable(to_dict):
            fields["roll_data"] = to_dict()
        timestamp = getattr(value, "timestamp", None)
        if "rolled_at" not in fields and not callable(timestamp):
            fields["rolled_at"] = timestamp
        return fields

    @field_validator("roll_type", mode="before")
    @classmethod
    def _enum_value(cls, value: Any) -> Any:
        # The engine's RollType is an enum; its value is what is stored.
        return value.value if isinstance(value, enum.Enum) else value

    def matches(self, other: RollRecord | Roll) -> bool:
        """Whether ``other`` (stored, or handed over in the same batch) is this roll again
        (a retry, not a conflict): the same content, and the same ``rolled_at`` where both
        say when. ``save_rolls_batch`` applies the same rule in SQL to stored rolls."""
        return (
            self.roll_type,
            self.play_number,
            self.team_id,
            self.player_id,
            self.roll_data,
            self.context,
        ) == (
            other.roll_type,
            other.play_number,
            other.team_id,
            other.player_id,
            other.roll_data,
            other.context,
        ) and (self.rolled_at is None or other.rolled_at in (None, self.rolled_at))


class NewGame(_Input):
    """``create_game``'s arguments."""

    game_id: uuid.UUID
    league_id: League
    home_team_id: Id32
    away_team_id: Id32
    game_mode: GameMode = GameMode.FRIENDLY
    visibility: GameVisibility = GameVisibility.PUBLIC

    @model_validator(mode="after")
    def _two_teams(self) -> Self:
        if self.home_team_id == self.away_team_id:
            raise ValueError("home_team_id and away_team_id must differ")
        return self


class _CardOrPlayer(_Input):
    """A PD card or an SBA player: exactly one of the two."""

    card_id: Id32 | None = None
    player_id: Id32 | None = None

    @model_validator(mode="after")
    def _one_of_card_or_player(self) -> Self:
        if (self.card_id is None) == (self.player_id is None):
            raise ValueError("give exactly one of card_id (PD) or player_id (SBA)")
        return self


class LineupEntryData(_CardOrPlayer):
    """``add_pd_lineup_card``'s and ``add_sba_lineup_player``'s arguments."""

    game_id: uuid.UUID
    team_id: Id32
    position: StrictStr
    batting_order: BattingOrder | None = None
    is_starter: StrictBool = True


class SubstitutionData(_CardOrPlayer):
    """``add_substitution``'s arguments (one substitution of ``add_substitutions_batch``)."""

    game_id: uuid.UUID
    replacing_id: Id64
    after_play: AfterPlay
    position: StrictStr
    batting_order: BattingOrder | None = None

    @classmethod
    def of(
        cls,
        game_id: object,
        replacing_id: object,
        after_play: object,
        position: object,
        card_id: object,
        player_id: object,
        batting_order: object,
    ) -> SubstitutionData:
        """``add_substitution``'s arguments checked, for the operation and the persister
        alike (:class:`InvalidInput` naming the one refused)."""
        return validate_input(
            cls,
            {
                "game_id": game_id,
                "replacing_id": replacing_id,
                "after_play": after_play,
                "position": position,
                "card_id": card_id,
                "player_id": player_id,
                "batting_order": batting_order,
            },
        )

    @property
    def replaced(self) -> tuple[uuid.UUID, int]:
        """The lineup entry it replaces."""
        return self.game_id, self.replacing_id


class RosterEntryData(_CardOrPlayer):
    """``add_pd_roster_card``'s and ``add_sba_roster_player``'s arguments."""

    game_id: uuid.UUID
    team_id: Id32


GAME_ID: Argument[uuid.UUID] = Argument("game_id", uuid.UUID)
"""A game: its UUID, or the UUID's text (or 16 bytes)."""
TEAM_ID: Argument[int] = Argument("team_id", Int32)
"""The team whose active lineup ``get_active_lineup`` reads."""
ROSTER_TEAM_ID: Argument[int | None] = Argument("team_id", Int32 | None)
"""The team whose roster ``get_pd_roster`` / ``get_sba_roster`` read (``None``: both)."""
ROSTER_ID: Argument[int] = Argument("roster_id", Int64)
LINEUP_ID: Argument[int | None] = Argument("lineup_id", Int64 | None)
PLAY_NUMBER: Argument[int] = Argument("play_number", Id32)
"""A play's number, as :class:`PlayData` takes it."""
ROLLBACK_TO: Argument[int] = Argument("play_number", AfterPlay)
"""The play ``rollback_to_play`` rewinds to (0: before the first play)."""
DELETE_AFTER: Argument[int] = Argument("play_number", Int32)
"""The play after which ``delete_plays_after`` and its kin delete."""
EXPECTED_VERSION: Argument[int] = Argument("expected_version", Version)
INCLUDE_ROLLS: Argument[bool] = Argument("include_rolls", StrictBool)
CONNECTED_USERS: Argument[JsonValue] = Argument("connected_users", StoredJson)
STATE_SNAPSHOT: Argument[JsonValue] = Argument("state_snapshot", StoredJson)
STATE_CHANGE: Fields[StateChange] = Fields(StateChange)
"""``update_game_state``'s arguments, checked as :meth:`StateChange.of` checks them."""


class StateUpdate(BaseModel):
    """What ``update_game_state`` did: the version now stored, and whether it wrote."""

    model_config = ConfigDict(frozen=True)

    state_version: int
    changed: bool


class RecordedPlay(BaseModel):
    """What ``record_play`` wrote: the play's id and the game's new state version."""

    model_config = ConfigDict(frozen=True)

    play_id: int
    state_version: int


class PdRosterLinkData(BaseModel):
    """A PD roster entry: a collectible card on a team for one game."""

    model_config = ConfigDict(frozen=True)

    id: int
    game_id: uuid.UUID
    team_id: int
    card_id: int

    @classmethod
    def from_link(cls, link: RosterLink) -> PdRosterLinkData:
        assert link.card_id is not None
        return cls(id=link.id, game_id=link.game_id, team_id=link.team_id, card_id=link.card_id)


class SbaRosterLinkData(BaseModel):
    """An SBA roster entry: a real player on a team for one game."""

    model_config = ConfigDict(frozen=True)

    id: int
    game_id: uuid.UUID
    team_id: int
    player_id: int

    @classmethod
    def from_link(cls, link: RosterLink) -> SbaRosterLinkData:
        assert link.player_id is not None
        return cls(id=link.id, game_id=link.game_id, team_id=link.team_id, player_id=link.player_id)


class GameSnapshot(BaseModel):
    """Everything needed to rebuild a game in memory, read from one point in time.

    ``lineups`` holds every lineup entry, those replaced by a substitution too (earlier plays
    name them); ``active_lineups`` the ones on the field now::

        snapshot = await db.load_game_state(game_id)
        batters = [entry for entry in snapshot.active_lineups if entry.team_id == away]
    """

    model_config = ConfigDict(frozen=True)

    game: Game
    lineups: list[Lineup]
    plays: list[Play]
    roster: list[RosterLink]
    session: GameSession | None
    rolls: list[Roll] | None = None

    def __getitem__(self, key: str) -> Any:
        """The old layer's dict-shaped result: ``snapshot["game"]["league_id"]``,
        ``snapshot["plays"]`` (lists of dicts; ``"lineups"`` the active entries, as the old
        layer gave them); a ``KeyError`` for any other key."""
        if key not in type(self).model_fields:
            raise KeyError(key)
        # The old layer's recovery gave the lineup entries on the field only.
        value = self.active_lineups if key == "lineups" else getattr(self, key)
        if isinstance(value, list):
            return [item.model_dump() for item in value]
        return value.model_dump() if isinstance(value, BaseModel) else value

    def get(self, key: str, default: Any = None) -> Any:
        """``snapshot[key]``, or ``default`` for a key the old result did not have."""
        return self[key] if key in type(self).model_fields else default

    @property
    def active_lineups(self) -> list[Lineup]:
        """The lineup entries not replaced, by team and batting order."""
        return [entry for entry in self.lineups if entry.is_active]


class RollbackResult(BaseModel):
    """What ``rollback_to_play`` removed, and the game as it now stands."""

    model_config = ConfigDict(frozen=True)

    plays_removed: int
    substitutions_removed: int
    rolls_removed: int
    game: Game


BatterLine = GetBatterStatsRow
PitcherLine = GetPitcherStatsRow
BoxScoreLine = GetBoxScoreRow


class TeamLine(BaseModel):
    """A team's runs, hits and errors."""

    model_config = ConfigDict(frozen=True)

    team_id: int
    runs: int
    hits: int
    errors: int


class BoxScore(BaseModel):
    """Both teams' totals and every player's line."""

    model_config = ConfigDict(frozen=True)

    game_id: uuid.UUID
    away: TeamLine
    home: TeamLine
    status: GameStatus
    lines: list[BoxScoreLine]
