"""Typed shapes of the JSON the database stores, used by the generated models.

This module imports nothing else from gamedb: ``gamedb_gen`` imports it while ``gamedb``
itself may still be initialising.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["RollData"]


class RollData(BaseModel):
    """What one dice roll produced: each die by name and its face, plus any detail the
    engine attaches (kept as given)::

        RollData(dice={"d6_one": 4, "d6_two_a": 2, "d20": 17}, total=6)
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    dice: dict[str, int] = {}
    total: int | None = None
