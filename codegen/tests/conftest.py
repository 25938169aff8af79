"""Fixtures for the plugin's tests: captured sqlc requests.

The JSON requests under ``fixtures/`` were captured from real ``sqlc generate`` runs over the
projects in ``fixtures/src/`` (regenerate with
``python -m gamedb_codegen.capture codegen/tests/fixtures/src/basic
codegen/tests/fixtures/basic.json``, same for ``errors``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_request(name: str) -> dict[str, Any]:
    """A captured request by fixture name (``basic``, ``errors``)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


@pytest.fixture(scope="session")
def basic_request() -> dict[str, Any]:
    """Every supported command, type and naming case (fixtures/src/basic)."""
    return load_request("basic")


@pytest.fixture(scope="session")
def errors_request() -> dict[str, Any]:
    """One query per unsupported construct (fixtures/src/errors)."""
    return load_request("errors")
