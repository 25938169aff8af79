"""From a parsed request to what the generated modules contain (names, types, shapes).

All validation happens here, so rendering cannot fail.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Literal

from .errors import GenerateError
from .naming import (
    dedupe,
    enum_member_name,
    pascal_case,
    safe_identifier,
    singular,
    snake_case,
    upper_snake,
)
from .options import NullabilityOverride, Options, TypeOverride
from .request import Column, Query, Request, Table
from .types import (
    JSON_TYPES,
    Import,
    PyType,
    TypeMapper,
    UnknownTypeError,
    normalise_type_name,
)

__all__ = [
    "SUPPORTED_COMMANDS",
    "EnumPlan",
    "FieldPlan",
    "ModelPlan",
    "ModulePlan",
    "PackagePlan",
    "ParamPlan",
    "QueryPlan",
    "build_plan",
    "module_name",
    "singular_name",
]

SUPPORTED_COMMANDS = (":one", ":many", ":exec", ":execrows", ":execresult", ":copyfrom")

#: Tables that belong to the migration tool, not to the application.
SKIPPED_TABLES = frozenset({"schema_migrations"})

_REJECTED_COMMANDS = {
    ":execlastid": "PostgreSQL has no last insert id; use RETURNING with :one",
    ":batchexec": "batch commands are not supported; use :copyfrom for bulk inserts, or "
    "pass all keys at once with = ANY(@ids::T[]) / unnest(@col::T[]) in one statement",
}
_REJECTED_COMMANDS[":batchmany"] = _REJECTED_COMMANDS[":batchexec"]
_REJECTED_COMMANDS[":batchone"] = _REJECTED_COMMANDS[":batchexec"]

#: Attribute names of pydantic.BaseModel a field must not shadow.
_BASEMODEL_NAMES = frozenset(
    {
        "construct", "copy", "dict", "from_orm", "json", "model_computed_fields",
        "model_config", "model_construct", "model_copy", "model_dump", "model_dump_json",
        "model_extra", "model_fields", "model_fields_set", "model_json_schema",
        "model_parametrized_name", "model_post_init", "model_rebuild", "model_validate",
        "model_validate_json", "model_validate_strings", "parse_file", "parse_obj",
        "parse_raw", "schema", "schema_json", "update_forward_refs", "validate",
    }
)  # fmt: skip
#: Attribute names of tuples a NamedTuple field must not shadow.
_TUPLE_NAMES = frozenset({"count", "index"})
#: Local names used in generated function bodies, by command; parameters with these names
#: get a trailing ``_``.
_RESERVED_PARAMS = {
    ":one": frozenset({"conn", "row", "value"}),
    ":many": frozenset({"conn", "rows"}),
}
_RESERVED_ALWAYS = frozenset({"conn"})
#: Module names taken by the package itself.
_RESERVED_MODULES = frozenset({"models", "_executor", "__init__"})


@dataclass(frozen=True)
class EnumPlan:
    """A StrEnum class."""

    name: str
    members: tuple[tuple[str, str], ...]  # (member name, value)


@dataclass(frozen=True)
class FieldPlan:
    """A model (or NamedTuple) field; ``alias`` is the column name when it differs."""

    name: str
    alias: str
    type: PyType

    @property
    def key(self) -> str:
        """The column name the field reads from."""
        return self.alias or self.name


@dataclass(frozen=True)
class ModelPlan:
    """A frozen pydantic model (table model or query Row model)."""

    name: str
    fields: tuple[FieldPlan, ...]
    #: build from row positions (duplicate column names) instead of ``dict(row)``
    positional: bool = False
    #: the table a table model describes
    table: str = ""
    #: a NamedTuple rather than a pydantic model: a result row holding whole table rows,
    #: already models, which only a tuple carries to the caller without a second look
    named_tuple: bool = False


@dataclass(frozen=True)
class ParamPlan:
    """A keyword-only function parameter."""

    name: str
    column: str
    number: int
    type: PyType


@dataclass(frozen=True)
class QueryPlan:
    """One generated function."""

    query: Query
    function: str
    constant: str
    params: tuple[ParamPlan, ...]
    #: the model returned by :one/:many (a table model or ``row_model``)
    model: str = ""
    #: a Row model defined in the query module
    row_model: ModelPlan | None = None
    #: single-column :one/:many results
    scalar: PyType | None = None
    #: :copyfrom
    params_tuple: ModelPlan | None = None
    copy_table: str = ""
    copy_schema: str = ""

    @property
    def cmd(self) -> str:
        """The sqlc command (``:one`` …)."""
        return self.query.cmd


@dataclass(frozen=True)
class ModulePlan:
    """One generated query module."""

    module: str
    source: str
    queries: tuple[QueryPlan, ...]


@dataclass(frozen=True)
class PackagePlan:
    """Everything generated for one request."""

    package: str
    sqlc_version: str
    enums: tuple[EnumPlan, ...]
    models: tuple[ModelPlan, ...]
    modules: tuple[ModulePlan, ...]


def _model_field(name: str, fallback: str, py_type: PyType, *, tuple_fields: bool) -> FieldPlan:
    py = safe_identifier(name, fallback).lstrip("_") or fallback
    if py[0].isdigit():
        py = f"{fallback}_{py}"
    reserved = _TUPLE_NAMES if tuple_fields else _BASEMODEL_NAMES
    if py in reserved or (not tuple_fields and py.startswith(("model_validate", "model_dump"))):
        py += "_"
    return FieldPlan(name=py, alias="" if py == name else name, type=py_type)


def _fields(
    columns: list[tuple[str, PyType]], *, tuple_fields: bool = False
) -> tuple[tuple[FieldPlan, ...], bool]:
    """Fields for columns; the flag says the names collide and rows must be read by position."""
    fields = [
        _model_field(name or f"column_{i}", f"column_{i}", t, tuple_fields=tuple_fields)
        for i, (name, t) in enumerate(columns, start=1)
    ]
    unique = dedupe([f.name for f in fields])
    keys = [name for name, _ in columns]
    positional = len(set(keys)) != len(keys) or any(not k for k in keys)
    result = []
    for f, name in zip(fields, unique, strict=True):
        if positional:
            result.append(FieldPlan(name=name, alias="", type=f.type))
        else:
            result.append(FieldPlan(name=name, alias=f.alias, type=f.type))
    return tuple(result), positional


class _Planner:
    def __init__(self, request: Request, options: Options) -> None:
        self.request = request
        self.options = options
        self.default_schema = request.catalog.default_schema
        self.enum_plans: list[EnumPlan] = []
        enum_classes: dict[str, str] = {}
        for enum in sorted(request.catalog.enums, key=lambda e: e.name):
            cls = pascal_case(enum.name)
            names = dedupe([enum_member_name(v) for v in enum.values])
            self.enum_plans.append(EnumPlan(cls, tuple(zip(names, enum.values, strict=True))))
            enum_classes[enum.name] = cls
        self.mapper = TypeMapper(enum_classes)
        self.tables: dict[str, Table] = {
            t.rel.name: t
            for t in request.catalog.tables
            if t.rel.name not in SKIPPED_TABLES and t.rel.schema in ("", self.default_schema)
        }
        self.table_models = {name: pascal_case(singular_name(name)) for name in self.tables}
        self.table_overrides: dict[tuple[str, str], TypeOverride] = {}
        self.query_overrides: dict[tuple[str, str], TypeOverride] = {}
        self.nullability: dict[tuple[str, str], NullabilityOverride] = {}
        self.used: set[str] = set()
        self._index_options()
        self._check_model_names()

    # -- options ---------------------------------------------------------------------------

    def _index_options(self) -> None:
        for o in self.options.overrides:
            if o.table:
                table = self.tables.get(o.table)
                if table is None or all(c.name != o.column for c in table.columns):
                    raise GenerateError(
                        f"invalid plugin options: {o.describe()}: no column "
                        f"{o.table}.{o.column} in the schema"
                    )
                self.table_overrides[(o.table, o.column)] = o
            else:
                self.query_overrides[(o.query, o.column)] = o
        for n in self.options.nullability:
            self.nullability[(n.query, n.column)] = n
        queries = {q.name: q for q in self.request.queries}
        checks: list[tuple[str, str, str, bool]] = [
            (o.query, o.column, o.describe(), False) for o in self.options.overrides if o.query
        ]
        checks += [(n.query, n.column, n.describe(), True) for n in self.options.nullability]
        for query_name, column, where, on_parameters in checks:
            query = queries.get(query_name)
            if query is None:
                raise GenerateError(f"invalid plugin options: {where}: no query {query_name}")
            if any(c.name == column for c in query.columns):
                continue
            param = next((p.column for p in query.params if p.column.name == column), None)
            if on_parameters and param is not None and self._dims(param):
                continue
            raise GenerateError(
                f"invalid plugin options: {where}: query {query_name} has no result "
                f"column {column!r}" + (" nor array parameter" if on_parameters else ""),
                filename=query.filename,
            )
        for n in self.options.nullability:
            if n.not_null and all(c.name != n.column for c in queries[n.query].columns):
                raise GenerateError(
                    f"invalid plugin options: {n.describe()}: an array parameter takes only "
                    "'not_null: false' (its elements may be NULL)",
                    filename=queries[n.query].filename,
                )

    def _check_model_names(self) -> None:
        seen: dict[str, str] = {}
        for enum in self.enum_plans:
            seen[enum.name] = f"enum {enum.name}"
        for table, model in sorted(self.table_models.items()):
            if model in seen:
                raise GenerateError(
                    f"table {table} and {seen[model]} both map to the Python name {model}"
                )
            seen[model] = f"table {table}"

    # -- types -----------------------------------------------------------------------------

    def _override_type(self, override: TypeOverride, column: Column) -> PyType:
        if override.db_type:
            try:
                resolved = self.mapper.scalar(override.db_type, self.default_schema)
            except UnknownTypeError as exc:
                raise GenerateError(
                    f"invalid plugin options: {override.describe()}: unknown db_type {exc}"
                ) from None
            return resolved
        if not override.py_module:
            return PyType(override.py_name, frozenset(), "plain", self._dims(column))
        base, _ = normalise_type_name(column.type.name)
        kind: Literal["plain", "model"] = "model" if base in JSON_TYPES else "plain"
        return PyType(
            override.py_name,
            frozenset({Import(override.py_module, override.py_name)}),
            kind,
            self._dims(column),
        )

    @staticmethod
    def _dims(column: Column) -> int:
        _, name_dims = normalise_type_name(column.type.name)
        return max(column.array_dims, 1 if column.is_array else 0, name_dims)

    def column_type(
        self, column: Column, *, query: Query | None = None, what: str = "column"
    ) -> PyType:
        """The Python type of a table column, result column or parameter."""
        override = None
        if query is not None and what == "column":
            override = self.query_overrides.get((query.name, column.name))
        if override is None and column.table is not None:
            key = (column.table.name, column.original_name or column.name)
            override = self.table_overrides.get(key)
        if override is not None:
            resolved = self._override_type(override, column)
        elif self._row_table(column.type.name):
            resolved = self.row_type(self._row_table(column.type.name)).with_dims(
                self._dims(column)
            )
        else:
            try:
                resolved = self.mapper.scalar(column.type.name, self.default_schema)
            except UnknownTypeError as exc:
                label = column.name or "(unnamed)"
                raise GenerateError(
                    f"{what} {label!r} has type {exc} which has no Python mapping; cast it "
                    f"in SQL (e.g. ::int8) or add an override in the plugin options",
                    filename=query.filename if query else "",
                    query=query.name if query else "",
                ) from None
            resolved = resolved.with_dims(max(resolved.array_dims, self._dims(column)))
        not_null = column.not_null
        if query is not None:
            nullability = self.nullability.get((query.name, column.name))
            if nullability is not None and what == "column":
                not_null = nullability.not_null
            elif nullability is not None:
                resolved = resolved.with_nullable_elements()
        return resolved.with_nullable(not not_null)

    def _row_table(self, type_name: str) -> str:
        """The table whose composite (row) type ``type_name`` is, else ''."""
        name, _ = normalise_type_name(type_name)
        name = name.removeprefix(f"{self.default_schema}.")
        return name if name in self.tables else ""

    def row_type(self, table: str) -> PyType:
        """A whole row of ``table``, as the table's model."""
        model = self.table_model(table)
        imports = {Import(self.mapper.models_module, model.name)}
        for f in model.fields:
            if f.type.kind != "plain":
                imports |= f.type.imports
        return PyType(
            model.name,
            frozenset(imports),
            "row",
            fields=tuple((f.alias or f.name, f.name, f.type) for f in model.fields),
            table=table,
        )

    # -- tables ----------------------------------------------------------------------------

    def table_model(self, name: str) -> ModelPlan:
        table = self.tables[name]
        fields, positional = _fields([(c.name, self.column_type(c)) for c in table.columns])
        return ModelPlan(self.table_models[name], fields, positional, table=name)

    # -- queries ---------------------------------------------------------------------------

    def _fail(self, query: Query, message: str) -> GenerateError:
        return GenerateError(message, filename=query.filename, query=query.name)

    def _params(self, query: Query) -> tuple[ParamPlan, ...]:
        params = sorted(query.params, key=lambda p: p.number)
        names: list[str] = []
        for p in params:
            col = p.column
            if col.is_sqlc_slice:
                raise self._fail(
                    query,
                    f"sqlc.slice({col.name}) is not supported on PostgreSQL (the query "
                    f"would be a plain IN ($N)); use = ANY(@{col.name}::int[]) with an "
                    "array parameter instead",
                )
            name = snake_case(col.name) if col.name else ""
            name = safe_identifier(name, f"param_{p.number}") if name else f"param_{p.number}"
            if name in _RESERVED_PARAMS.get(query.cmd, _RESERVED_ALWAYS):
                name += "_"
            names.append(name)
        unique = dedupe(names)
        return tuple(
            ParamPlan(
                name=n,
                column=p.column.original_name or p.column.name,
                number=p.number,
                type=self.column_type(p.column, query=query, what="parameter"),
            )
            for n, p in zip(unique, params, strict=True)
        )

    def _table_match(self, query: Query, types: list[PyType]) -> str:
        """The table model when the result columns are exactly one table's columns."""
        cols = query.columns
        if not cols or cols[0].table is None:
            return ""
        name = cols[0].table.name
        table = self.tables.get(name)
        if table is None or len(table.columns) != len(cols):
            return ""
        model = self.table_model(name)
        for col, tcol, field, t in zip(cols, table.columns, model.fields, types, strict=True):
            if col.table is None or col.table.name != name or col.name != tcol.name:
                return ""
            if (col.original_name or col.name) != tcol.name or field.type != t:
                return ""
        return model.name

    def query(self, query: Query) -> QueryPlan:
        if query.cmd in _REJECTED_COMMANDS:
            raise self._fail(query, f"{query.cmd}: {_REJECTED_COMMANDS[query.cmd]}")
        if query.cmd not in SUPPORTED_COMMANDS:
            raise self._fail(
                query,
                f"unsupported command {query.cmd!r}; supported: {', '.join(SUPPORTED_COMMANDS)}",
            )
        for col in query.columns:
            if col.embed_table is not None:
                raise self._fail(
                    query,
                    f"sqlc.embed({col.embed_table.name}) is not supported; select the "
                    "columns (t.*) instead — a result of exactly one table's columns returns "
                    "that table's model",
                )
        function = safe_identifier(snake_case(query.name), "query")
        constant = upper_snake(query.name)
        params = self._params(query)
        plan = QueryPlan(query=query, function=function, constant=constant, params=params)
        if query.cmd in (":one", ":many"):
            if not query.columns:
                raise self._fail(
                    query, f"{query.cmd} query returns no columns; use :exec or add RETURNING"
                )
            types = [self.column_type(c, query=query) for c in query.columns]
            if len(types) == 1:
                return replace(plan, scalar=types[0])
            model = self._table_match(query, types)
            if model:
                return replace(plan, model=model)
            row_name = f"{pascal_case(query.name)}Row"
            holds_rows = any(t.kind == "row" for t in types)
            fields, positional = _fields(
                [(c.name, t) for c, t in zip(query.columns, types, strict=True)],
                tuple_fields=holds_rows,
            )
            row = ModelPlan(row_name, fields, positional or holds_rows, named_tuple=holds_rows)
            return replace(plan, model=row_name, row_model=row)
        if query.cmd == ":copyfrom":
            table = query.insert_into_table
            if table is None or not table.name:
                raise self._fail(query, ":copyfrom needs an INSERT INTO <table> (...) VALUES")
            fields, _ = _fields([(p.column, p.type) for p in params], tuple_fields=True)
            tuple_plan = ModelPlan(f"{pascal_case(query.name)}Params", fields)
            schema = table.schema if table.schema not in ("", self.default_schema) else ""
            return replace(plan, params_tuple=tuple_plan, copy_table=table.name, copy_schema=schema)
        return plan


def singular_name(table: str) -> str:
    """``roster_links`` → ``roster_link``."""
    head, sep, last = table.rpartition("_")
    return f"{head}{sep}{singular(last)}"


def module_name(filename: str) -> str:
    """``games.sql`` → ``games``."""
    stem = PurePosixPath(filename).name.removesuffix(".sql")
    name = snake_case(stem) or "queries"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"q_{name}"
    return name


def build_plan(request: Request, options: Options) -> PackagePlan:
    """Validate the request against the options and decide every generated name and type."""
    planner = _Planner(request, options)
    models = tuple(planner.table_model(name) for name in sorted(planner.tables))
    by_module: dict[str, list[QueryPlan]] = {}
    sources: dict[str, str] = {}
    for query in request.queries:
        module = module_name(query.filename)
        if module in _RESERVED_MODULES:
            raise GenerateError(
                f"query file name maps to the reserved module {module!r}; rename the file",
                filename=query.filename,
            )
        other = sources.setdefault(module, query.filename)
        if other != query.filename:
            raise GenerateError(
                f"query files {other} and {query.filename} both map to module {module!r}",
                filename=query.filename,
            )
        by_module.setdefault(module, []).append(planner.query(query))
    modules = []
    for module in sorted(by_module):
        queries = by_module[module]
        _check_module_names(queries, sources[module])
        modules.append(ModulePlan(module, PurePosixPath(sources[module]).name, tuple(queries)))
    return PackagePlan(
        package=options.package,
        sqlc_version=request.sqlc_version,
        enums=tuple(planner.enum_plans),
        models=models,
        modules=tuple(modules),
    )


def _check_module_names(queries: list[QueryPlan], filename: str) -> None:
    seen: dict[str, str] = {}
    for q in queries:
        names = [q.function, q.constant]
        if q.row_model:
            names.append(q.row_model.name)
        if q.params_tuple:
            names.append(q.params_tuple.name)
        for name in names:
            if name in seen:
                raise GenerateError(
                    f"generated name {name} collides with the one from query {seen[name]}; "
                    "rename one of the queries",
                    filename=filename,
                    query=q.query.name,
                )
            seen[name] = q.query.name
