"""Typed view of the JSON request sqlc sends to a process plugin (``format: json``).

Only the fields the generator uses are kept. sqlc sends every proto field, with empty
messages as ``null``; the parsers accept missing keys too, so hand-written fixtures can be
small.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Catalog",
    "Column",
    "Enum",
    "Identifier",
    "Parameter",
    "Query",
    "Request",
    "Table",
    "parse_request",
]


@dataclass(frozen=True)
class Identifier:
    """A schema-qualified name (table, type)."""

    catalog: str = ""
    schema: str = ""
    name: str = ""

    @classmethod
    def parse(cls, raw: Any) -> Identifier | None:
        if not raw:
            return None
        return cls(
            catalog=str(raw.get("catalog") or ""),
            schema=str(raw.get("schema") or ""),
            name=str(raw.get("name") or ""),
        )


@dataclass(frozen=True)
class Column:
    """A table column, a query result column or a query parameter's column."""

    name: str
    not_null: bool
    is_array: bool
    array_dims: int
    type: Identifier
    table: Identifier | None
    original_name: str
    is_named_param: bool
    is_sqlc_slice: bool
    is_func_call: bool
    embed_table: Identifier | None

    @classmethod
    def parse(cls, raw: Any) -> Column:
        raw = raw or {}
        return cls(
            name=str(raw.get("name") or ""),
            not_null=bool(raw.get("not_null")),
            is_array=bool(raw.get("is_array")),
            array_dims=int(raw.get("array_dims") or 0),
            type=Identifier.parse(raw.get("type")) or Identifier(),
            table=Identifier.parse(raw.get("table")),
            original_name=str(raw.get("original_name") or ""),
            is_named_param=bool(raw.get("is_named_param")),
            is_sqlc_slice=bool(raw.get("is_sqlc_slice")),
            is_func_call=bool(raw.get("is_func_call")),
            embed_table=Identifier.parse(raw.get("embed_table")),
        )


@dataclass(frozen=True)
class Parameter:
    """A query parameter: its number (``$N``) and inferred column."""

    number: int
    column: Column


@dataclass(frozen=True)
class Query:
    """One annotated query from a query file."""

    name: str
    cmd: str
    text: str
    filename: str
    comments: tuple[str, ...]
    columns: tuple[Column, ...]
    params: tuple[Parameter, ...]
    insert_into_table: Identifier | None


@dataclass(frozen=True)
class Table:
    """A table of the catalog."""

    rel: Identifier
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Enum:
    """A PostgreSQL enum type."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """The tables and enums of the catalog's default schema (system schemas dropped)."""

    default_schema: str
    tables: tuple[Table, ...]
    enums: tuple[Enum, ...]


@dataclass(frozen=True)
class Request:
    """The generate request."""

    sqlc_version: str
    catalog: Catalog
    queries: tuple[Query, ...]
    plugin_options: bytes = field(default=b"")


def _decode_options(raw: Any) -> bytes:
    if not raw:
        return b""
    return base64.b64decode(str(raw))


def _parse_catalog(raw: Any) -> Catalog:
    raw = raw or {}
    default_schema = str(raw.get("default_schema") or "public")
    tables: list[Table] = []
    enums: list[Enum] = []
    for schema in raw.get("schemas") or []:
        name = str(schema.get("name") or "")
        if name not in ("", default_schema):
            continue
        for table in schema.get("tables") or []:
            rel = Identifier.parse(table.get("rel")) or Identifier()
            columns = tuple(Column.parse(c) for c in table.get("columns") or [])
            tables.append(Table(rel=rel, columns=columns))
        for enum in schema.get("enums") or []:
            enums.append(
                Enum(
                    name=str(enum.get("name") or ""),
                    values=tuple(str(v) for v in enum.get("vals") or []),
                )
            )
    return Catalog(default_schema=default_schema, tables=tuple(tables), enums=tuple(enums))


def _parse_query(raw: Any) -> Query:
    return Query(
        name=str(raw.get("name") or ""),
        cmd=str(raw.get("cmd") or ""),
        text=str(raw.get("text") or ""),
        filename=str(raw.get("filename") or ""),
        comments=tuple(str(c) for c in raw.get("comments") or []),
        columns=tuple(Column.parse(c) for c in raw.get("columns") or []),
        params=tuple(
            Parameter(number=int(p.get("number") or 0), column=Column.parse(p.get("column")))
            for p in raw.get("params") or []
        ),
        insert_into_table=Identifier.parse(raw.get("insert_into_table")),
    )


def parse_request(raw: dict[str, Any]) -> Request:
    """Build a :class:`Request` from the decoded JSON request."""
    return Request(
        sqlc_version=str(raw.get("sqlc_version") or ""),
        catalog=_parse_catalog(raw.get("catalog")),
        queries=tuple(_parse_query(q) for q in raw.get("queries") or []),
        plugin_options=_decode_options(raw.get("plugin_options")),
    )
