"""Turning SQL names into Python names."""

from __future__ import annotations

import keyword
import re

__all__ = [
    "dedupe",
    "enum_member_name",
    "pascal_case",
    "safe_identifier",
    "singular",
    "snake_case",
    "upper_snake",
]

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")


def snake_case(name: str) -> str:
    """``GetBatterStats`` → ``get_batter_stats``; ``home_team-id`` → ``home_team_id``."""
    words = _NON_WORD.sub("_", _CAMEL_BOUNDARY.sub("_", name)).strip("_").lower()
    return re.sub("_+", "_", words)


def upper_snake(name: str) -> str:
    """``GetBatterStats`` → ``GET_BATTER_STATS``."""
    return snake_case(name).upper()


def pascal_case(name: str) -> str:
    """``game_mode`` → ``GameMode``; ``GetGame`` stays ``GetGame``."""
    return "".join(w[:1].upper() + w[1:] for w in snake_case(name).split("_") if w)


def singular(word: str) -> str:
    """Simple English singular of a table name's last word (``ies``→y, ``sses``→ss, s→'')."""
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s") and len(word) > 1:
        return word[:-1]
    return word


def safe_identifier(name: str, fallback: str) -> str:
    """``name`` usable as a Python identifier: keywords get a trailing ``_``."""
    if not name.isidentifier() or not name.isascii():
        name = snake_case(name)
        if not name or name[0].isdigit():
            name = f"{fallback}_{name}" if name else fallback
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def enum_member_name(value: str) -> str:
    """``in-progress`` → ``IN_PROGRESS``; a leading digit gets a ``V_`` prefix."""
    name = _NON_WORD.sub("_", value).strip("_").upper()
    if not name:
        return "EMPTY"
    if name[0].isdigit():
        return f"V_{name}"
    return name


def dedupe(names: list[str], taken: set[str] | None = None) -> list[str]:
    """Make names unique, keeping the first occurrence and suffixing later ones ``_2``, ``_3``."""
    seen = set(taken or ())
    result: list[str] = []
    for name in names:
        candidate = name
        n = 2
        while candidate in seen:
            candidate = f"{name}_{n}"
            n += 1
        seen.add(candidate)
        result.append(candidate)
    return result
