"""The sqlc process plugin that writes the ``gamedb_gen`` package.

sqlc checks every annotated query against the schema and sends a JSON description of the
catalog and the queries (``format: json``); :func:`gamedb_codegen.plugin.generate` turns it
into typed async functions over asyncpg plus frozen pydantic models.

Conventions of the generated code:

* ``models.py``: one ``enum.StrEnum`` per PostgreSQL enum, one frozen pydantic model per table
  (singular PascalCase: ``roster_links`` → ``RosterLink``); ``schema_migrations`` is skipped.
* one module per query file (``games.sql`` → ``games.py``) with, per query in file order,
  an UPPER_SNAKE ``Final`` SQL constant (sqlc's ``-- name: Query :cmd`` line, then the query
  as written, so server logs and ``pg_stat_statements`` name it) and an ``async def
  snake_name(conn: Executor, *, ...)`` taking keyword-only parameters named after sqlc's
  parameter names (``param_N`` when sqlc has none, e.g. ``$1::int``; repeated names get
  ``_2``, ``_3``). Python keywords get a trailing
  ``_`` (``from_``), and so do names of the function body's locals: ``conn`` always, ``row``
  and ``value`` in ``:one`` functions, ``rows`` in ``:many`` functions.
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
  model (sent as ``model_dump(mode="json")``, read with ``model_validate``); connections need
  ``register_codecs`` (binary json/jsonb codecs, also required by binary COPY).
* ``_executor.py``: the ``Executor`` protocol (satisfied by ``asyncpg.Connection``, pool
  connections and ``asyncpg.Pool``), ``register_codecs`` and ``rows_affected``.
* every Python file is formatted by the ruff version gamedb-codegen pins (imports sorted,
  ``ruff format``, line length 100).
* ``MANIFEST`` lists every generated file; ``python -m gamedb_codegen.prune <out>`` deletes
  modules no longer listed (sqlc itself never deletes files).

Unsupported constructs (``:execlastid``, ``:batch*``, ``sqlc.slice``, ``sqlc.embed``, types
with no mapping) fail generation with ``sqlc-gen-gamedb: <file>: query <Name>: <message>``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
