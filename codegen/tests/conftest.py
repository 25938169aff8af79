"""Fixtures for the plugin's tests: captured sqlc requests and helpers to run sqlc.

The JSON requests under ``fixtures/`` were captured from real ``sqlc generate`` runs over the
projects in ``fixtures/src/`` (regenerate with
``python -m gamedb_codegen.capture codegen/tests/fixtures/src/basic
codegen/tests/fixtures/basic.json``, same for ``errors``).
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_request(name: str) -> dict[str, Any]:
    """A captured request by fixture name (``basic``, ``errors``)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def with_options(request: dict[str, Any], options: object) -> dict[str, Any]:
    """A copy of ``request`` with other plugin options (any JSON value, or raw text)."""
    text = options if isinstance(options, str) else json.dumps(options)
    result = copy.deepcopy(request)
    result["plugin_options"] = base64.b64encode(text.encode()).decode()
    return result


def only_queries(request: dict[str, Any], *names: str) -> dict[str, Any]:
    """A copy of ``request`` keeping only the named queries."""
    result = copy.deepcopy(request)
    result["queries"] = [q for q in result["queries"] if q["name"] in names]
    assert {q["name"] for q in result["queries"]} == set(names)
    return result


@pytest.fixture(scope="session")
def basic_request() -> dict[str, Any]:
    """Every supported command, type and naming case (fixtures/src/basic)."""
    return load_request("basic")


@pytest.fixture(scope="session")
def errors_request() -> dict[str, Any]:
    """One query per unsupported construct (fixtures/src/errors)."""
    return load_request("errors")
