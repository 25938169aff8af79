"""Plugin options: ``sql[].codegen[].options`` in sqlc.yaml, validated strictly.

.. code-block:: yaml

    options:
      package: gamedb_gen
      overrides:
        - column: rolls.roll_data            # everywhere this table column appears
          py_type: gamedb_schema.payloads:RollData  # module:Name (a pydantic model for json/jsonb)
        - query: GetBatterStats              # one result column of one query
          column: total
          db_type: int8                      # or py_type; db_type maps like a PostgreSQL type
      nullability:
        - query: GetBatterStats
          column: hits
          not_null: true

Unknown keys, wrong value types and overrides that match nothing are errors.
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass
from typing import Any

from .errors import GenerateError

__all__ = ["NullabilityOverride", "Options", "TypeOverride", "parse_options"]

_BUILTIN_PY_TYPES = frozenset({"int", "str", "float", "bool", "bytes"})


@dataclass(frozen=True)
class TypeOverride:
    """Replace the Python type of a table column, or of one query's result column.

    Exactly one of ``py_type`` (``module:Name``, or a builtin such as ``int``) and
    ``db_type`` (a PostgreSQL type name mapped as usual, e.g. ``int8`` or ``text[]``) is set.
    ``table`` is set for table-column overrides, ``query`` for query-column ones.
    """

    index: int
    column: str
    table: str = ""
    query: str = ""
    py_type: str = ""
    db_type: str = ""

    @property
    def py_module(self) -> str:
        """The module to import ``py_name`` from ('' for builtins)."""
        return self.py_type.partition(":")[0] if ":" in self.py_type else ""

    @property
    def py_name(self) -> str:
        """The imported (or builtin) name."""
        return self.py_type.rpartition(":")[2]

    def describe(self) -> str:
        """Where this override sits in the options, for error messages."""
        return f"options.overrides[{self.index}]"


@dataclass(frozen=True)
class NullabilityOverride:
    """Force the nullability of one result column of one query, or (``not_null: false``)
    let the elements of one array parameter be NULL."""

    index: int
    query: str
    column: str
    not_null: bool

    def describe(self) -> str:
        """Where this override sits in the options, for error messages."""
        return f"options.nullability[{self.index}]"


@dataclass(frozen=True)
class Options:
    """All plugin options."""

    package: str = "gamedb_gen"
    overrides: tuple[TypeOverride, ...] = ()
    nullability: tuple[NullabilityOverride, ...] = ()


def _fail(message: str) -> GenerateError:
    return GenerateError(f"invalid plugin options: {message}")


def _check_keys(where: str, raw: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _string(where: str, raw: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise _fail(f"{where}: missing {key!r}")
        return ""
    if not isinstance(value, str) or not value:
        raise _fail(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _check_identifier_path(where: str, value: str) -> None:
    parts = value.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise _fail(f"{where}: {value!r} is not a dotted Python module name")


def _parse_override(index: int, raw: Any) -> TypeOverride:
    where = f"options.overrides[{index}]"
    if not isinstance(raw, dict):
        raise _fail(f"{where}: expected a mapping, got {raw!r}")
    _check_keys(where, raw, {"column", "query", "py_type", "db_type"})
    column = _string(where, raw, "column")
    query = _string(where, raw, "query", required=False)
    py_type = _string(where, raw, "py_type", required=False)
    db_type = _string(where, raw, "db_type", required=False)
    if bool(py_type) == bool(db_type):
        raise _fail(f"{where}: set exactly one of 'py_type' and 'db_type'")
    if py_type:
        if ":" in py_type:
            module, _, name = py_type.partition(":")
            _check_identifier_path(f"{where}.py_type", module)
            if not name.isidentifier():
                raise _fail(f"{where}.py_type: {name!r} is not a Python name")
        elif py_type not in _BUILTIN_PY_TYPES:
            raise _fail(
                f"{where}.py_type: expected 'module:Name' or one of "
                f"{', '.join(sorted(_BUILTIN_PY_TYPES))}, got {py_type!r}"
            )
    table = ""
    if not query:
        table, dot, column = column.rpartition(".")
        if not dot or not table or not column:
            raise _fail(
                f"{where}.column: expected 'table.column' (or set 'query' to override "
                f"one query's result column), got {raw['column']!r}"
            )
    return TypeOverride(
        index=index, column=column, table=table, query=query, py_type=py_type, db_type=db_type
    )


def _parse_nullability(index: int, raw: Any) -> NullabilityOverride:
    where = f"options.nullability[{index}]"
    if not isinstance(raw, dict):
        raise _fail(f"{where}: expected a mapping, got {raw!r}")
    _check_keys(where, raw, {"query", "column", "not_null"})
    not_null = raw.get("not_null")
    if not isinstance(not_null, bool):
        raise _fail(f"{where}.not_null: expected true or false, got {not_null!r}")
    return NullabilityOverride(
        index=index,
        query=_string(where, raw, "query"),
        column=_string(where, raw, "column"),
        not_null=not_null,
    )


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(f"options.{key}: expected a list, got {value!r}")
    return value


def parse_options(data: bytes) -> Options:
    """Parse the (already base64-decoded) JSON options text; empty means defaults."""
    if not data.strip():
        return Options()
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise _fail(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise _fail(f"expected a mapping, got {raw!r}")
    _check_keys("options", raw, {"package", "overrides", "nullability"})
    package = _string("options", raw, "package", required=False) or "gamedb_gen"
    _check_identifier_path("options.package", package)
    if "." in package:
        raise _fail(f"options.package: expected a single package name, got {package!r}")
    return Options(
        package=package,
        overrides=tuple(_parse_override(i, o) for i, o in enumerate(_list(raw, "overrides"))),
        nullability=tuple(
            _parse_nullability(i, n) for i, n in enumerate(_list(raw, "nullability"))
        ),
    )
