"""Plain-text views for the ``gamedb`` command: a game's state, line score and box score, a
list of games, a rollback and the migration status::

    snapshot = await db.load_game_state(game_id)
    print(game_state(snapshot))
    print(box_score(await db.get_box_score(game_id), snapshot))

Text read from the database is shown through :func:`printable`, so stored terminal control
sequences reach the operator as visible escapes (``\x1b[2J``), never as commands.
"""

from __future__ import annotations

from collections.abc import Sequence

from gamedb.migrate import MigrationStatus
from gamedb.models import BoxScore, BoxScoreLine, GameSnapshot, RollbackResult
from gamedb_gen.models import Game, GameStatus, Half, Play

__all__ = [
    "box_score",
    "count",
    "game_list",
    "game_state",
    "line_score",
    "migration_status",
    "printable",
    "rollback",
    "situation",
]

_BATTING = ("AB", "H", "2B", "3B", "HR", "RBI", "BB", "SO")
_PITCHING = ("IP", "BF", "H", "R", "BB", "SO", "HR")


_IRREGULAR = {"entry": "entries", "retry": "retries"}


def count(number: int, noun: str) -> str:
    """``1 game``, ``1,238 substitutions``: thousands separated, singular for one."""
    if number == 1:
        return f"1 {noun}"
    head, _, last = noun.rpartition(" ")
    plural = _IRREGULAR.get(last, last + "s")
    return f"{number:,} {head + ' ' if head else ''}{plural}"


def printable(text: str) -> str:
    """``text`` with every non-printable character (escape sequences, newlines, NUL)
    shown as a Python escape, so nothing stored can steer the terminal."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def _who(line: BoxScoreLine) -> str:
    return f"card {line.card_id}" if line.card_id is not None else f"player {line.player_id}"


def situation(game: Game, plays: Sequence[Play]) -> str:
    """``final``, ``final, 11 innings``, ``top 4, 1 out (active)`` or ``not started``."""
    if game.status is GameStatus.COMPLETED:
        innings = max((play.inning for play in plays), default=game.current_inning)
        return "final" if innings == 9 else f"final, {innings} innings"
    if game.status is GameStatus.PENDING and not plays:
        return "not started"
    return f"{game.current_half} {game.current_inning}, {count(game.outs, 'out')} ({game.status})"


def game_state(snapshot: GameSnapshot) -> str:
    """The game's row, its last play and what recovery holds for it, one fact a line."""
    game, plays = snapshot.game, snapshot.plays
    substitutions = sum(entry.replacing_id is not None for entry in snapshot.active_lineups)
    rows = [
        (
            "Game",
            f"{game.id}  {str(game.league_id).upper()} · {game.game_mode} · {game.visibility}",
        ),
        ("Teams", f"away {game.away_team_id} at home {game.home_team_id}"),
        ("Score", f"away {game.away_score}, home {game.home_score} — {situation(game, plays)}"),
        ("Plays", f"{len(plays):,} (last: {_last_play(plays)})"),
        (
            "Lineups",
            f"{count(len(snapshot.active_lineups), 'active entry')} "
            f"({count(substitutions, 'substitute')}), roster of {len(snapshot.roster):,}",
        ),
        (
            "Version",
            f"state version {game.state_version}, updated {game.updated_at:%Y-%m-%d %H:%M:%S %Z}",
        ),
    ]
    if snapshot.session is not None:
        rows.append(
            ("Session", f"last action {snapshot.session.last_action_at:%Y-%m-%d %H:%M:%S %Z}")
        )
    return "\n".join(f"{label:<9} {value}" for label, value in rows)


def _last_play(plays: Sequence[Play]) -> str:
    if not plays or not plays[-1].result_description:
        return "-"
    return printable(plays[-1].result_description)


def line_score(game: Game, plays: Sequence[Play]) -> str:
    """Runs by inning, then runs, hits and errors, for both teams (``X``: the home team
    did not need its last turn at bat)."""
    innings = max(9, max((play.inning for play in plays), default=1))
    runs: dict[tuple[int, Half], int] = {}
    hits = {Half.TOP: 0, Half.BOTTOM: 0}
    errors = {Half.TOP: 0, Half.BOTTOM: 0}  # by the batting half, charged to the fielders
    for play in plays:
        runs[play.inning, play.half] = runs.get((play.inning, play.half), 0) + play.run
        hits[play.half] += play.hit
        errors[play.half] += play.error
    last_inning = max((play.inning for play in plays), default=0)
    completed = game.status is GameStatus.COMPLETED

    def cell(inning: int, half: Half) -> str:
        if (inning, half) in runs:
            return str(runs[inning, half])
        if completed and half is Half.BOTTOM and inning == last_inning:
            return "X"
        return ""

    width = len(str(max(game.home_team_id, game.away_team_id)))
    header = " " * (10 + width) + "".join(f"{n:>3}" for n in range(1, innings + 1))
    rows = [header + "     R   H   E"]
    for name, team_id, half, other in (
        ("Away", game.away_team_id, Half.TOP, Half.BOTTOM),
        ("Home", game.home_team_id, Half.BOTTOM, Half.TOP),
    ):
        score = game.away_score if half is Half.TOP else game.home_score
        cells = "".join(f"{cell(n, half):>3}" for n in range(1, innings + 1))
        rows.append(
            f"{name} team {team_id:<{width}}{cells}   {score:>3} {hits[half]:>3} {errors[other]:>3}"
        )
    return "\n".join(rows)


def box_score(box: BoxScore, snapshot: GameSnapshot) -> str:
    """Line score, then each team's batting and pitching lines."""
    game = snapshot.game
    parts = [line_score(game, snapshot.plays)]
    for name, team_id in (("Away", game.away_team_id), ("Home", game.home_team_id)):
        lines = [line for line in box.lines if line.team_id == team_id]
        parts.append(_batting(f"{name} team {team_id}", lines))
        parts.append(_pitching(f"{name} team {team_id}", lines))
    return "\n\n".join(parts)


def _batting(title: str, lines: Sequence[BoxScoreLine]) -> str:
    batters = sorted(
        (line for line in lines if line.batting_order is not None),
        key=lambda line: (line.batting_order or 0, not line.is_starter, line.lineup_id),
    )
    rows = [f"{title + ' batting':<29} POS" + "".join(f"{h:>5}" for h in _BATTING)]
    for line in batters:
        # A substitute is indented under the starter whose slot he took.
        slot, name = (
            (f"{line.batting_order:>2} ", _who(line))
            if line.is_starter
            else ("   ", f"  {_who(line)}")
        )
        stats = (
            line.ab,
            line.hit,
            line.double,
            line.triple,
            line.homerun,
            line.rbi,
            line.bb,
            line.so,
        )
        rows.append(
            f"{slot}{name:<26} {printable(line.position):<3}"
            + "".join(f"{value:>5}" for value in stats)
        )
    return "\n".join(rows)


def _pitching(title: str, lines: Sequence[BoxScoreLine]) -> str:
    pitchers = sorted(
        (line for line in lines if line.batters_faced), key=lambda line: line.lineup_id
    )
    rows = [f"{title + ' pitching':<34}" + "".join(f"{h:>5}" for h in _PITCHING)]
    for line in pitchers:
        stats = (
            f"{line.outs // 3}.{line.outs % 3}",
            line.batters_faced,
            line.hits_allowed,
            line.runs_allowed,
            line.walks,
            line.strikeouts,
            line.homeruns_allowed,
        )
        rows.append(f"   {_who(line):<31}" + "".join(f"{value:>5}" for value in stats))
    return "\n".join(rows)


def rollback(result: RollbackResult, play_number: int) -> str:
    """What a rollback removed and where the game now stands."""
    game = result.game
    return (
        f"Rolled game {game.id} back to play {play_number}: removed "
        f"{count(result.plays_removed, 'play')}, "
        f"{count(result.substitutions_removed, 'substitution')} and "
        f"{count(result.rolls_removed, 'roll')}.\n"
        f"Now {game.current_half} {game.current_inning}, {count(game.outs, 'out')}, "
        f"away {game.away_score}, home {game.home_score} ({game.status})."
    )


def migration_status(status: MigrationStatus, where: str) -> str:
    """Where, which server, which migrations are applied and pending, and any applied
    migration this code does not know (the database is ahead of it)."""
    rows = [f"{'Database':<9} {where}", f"{'Server':<9} PostgreSQL {status.server_version}"]
    for label, names in (("Applied", status.applied), ("Pending", status.pending)):
        rows.append(f"{label:<9} {len(names) or 'none'}")
        rows.extend(f"          {name}" for name in names)
    if status.ahead:
        rows.append(
            f"{'Ahead':<9} {len(status.unknown)}: applied by a newer gamedb, unknown to this one"
        )
        rows.extend(f"          {version}" for version in status.unknown)
    return "\n".join(rows)


def game_list(games: Sequence[Game]) -> str:
    """One line per game: id, league, status, teams, score, inning, created."""
    if not games:
        return "No games."
    rows = [
        f"{'GAME':<36}  {'LEAGUE':<6}  {'STATUS':<9}  {'AWAY':>6}  {'HOME':>6}  "
        f"{'SCORE':>7}  {'INNING':<9}  CREATED (UTC)"
    ]
    for game in games:
        rows.append(
            f"{game.id!s:<36}  {str(game.league_id).upper():<6}  {game.status!s:<9}  "
            f"{game.away_team_id:>6}  {game.home_team_id:>6}  "
            f"{f'{game.away_score}-{game.home_score}':>7}  "
            f"{f'{game.current_half} {game.current_inning}':<9}  "
            f"{game.created_at:%Y-%m-%d %H:%M}"
        )
    rows.append(count(len(games), "game"))
    return "\n".join(rows)
