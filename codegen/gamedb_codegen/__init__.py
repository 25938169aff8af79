"""The sqlc process plugin that writes the ``gamedb_gen`` package.

sqlc checks every annotated query against the schema and sends a JSON description of the
catalog and the queries (``format: json``); :func:`gamedb_codegen.plugin.generate` turns it
into typed async functions over asyncpg plus frozen pydantic models.

Conventions of the generated code:

* ``models.py``: one ``enum.StrEnum`` per PostgreSQL enum, one frozen pydantic model per table
  (singular PascalCase: ``roster_links`` → ``RosterLink``); ``schema_migrations`` is skipped.
* one module per query file (``games.sql`` → ``games.py``) with, per query in file order,
  an UPPER_SNAKE ``Final`` SQL constant and an ``async def snake_name(conn: Executor, *, ...)``
  taking keyword-only parameters named after sqlc's parameter names (``param_N`` when sqlc has
  none; Python keywords and the body's local names get a trailing ``_``).
* results: ``:one`` → ``Model | None``; ``:many`` → ``list[Model]``; ``:exec`` → ``None``;
  ``:execrows`` → ``int`` (rows affected); ``:execresult`` → ``str`` (the status string);
  ``:copyfrom`` → ``int`` (rows copied), taking ``rows: Iterable[<QueryName>Params]`` where
  ``<QueryName>Params`` is a ``NamedTuple`` of the inserted columns.
* ``Model`` is the table's model when the result columns are exactly that table's columns
  (names, order, types, nullability), else a ``<QueryName>Row`` model defined in the query
  module. A single result column is returned as a scalar instead: ``:one`` → ``T | None``
  (``None`` for no row — and for a NULL value, when the column is nullable), ``:many`` →
  ``list[T]``.
* json/jsonb values are Python data (``pydantic.JsonValue``) or, with an override, a pydantic
  model; connections need ``register_codecs`` (binary json/jsonb codecs).

Unsupported constructs (``:execlastid``, ``:batch*``, ``sqlc.slice``, ``sqlc.embed``, types
with no mapping) fail generation with ``sqlc-gen-gamedb: <file>: query <Name>: <message>``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
