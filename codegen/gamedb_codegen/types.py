"""PostgreSQL type → Python type mapping."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "JSON_TYPES",
    "Import",
    "PyType",
    "TypeMapper",
    "UnknownTypeError",
    "normalise_type_name",
]


@dataclass(frozen=True, order=True)
class Import:
    """One imported name: ``import module`` when ``name`` is empty, else ``from module import
    name``."""

    module: str
    name: str = ""


_SCALARS: dict[str, tuple[str, tuple[Import, ...]]] = {}


def _register(py: str, imports: tuple[Import, ...], *pg_names: str) -> None:
    for pg in pg_names:
        _SCALARS[pg] = (py, imports)


_DT = (Import("datetime"),)
_register(
    "int",
    (),
    "int2", "smallint", "int4", "integer", "int", "serial", "serial4", "int8", "bigint",
    "bigserial", "serial8", "smallserial", "serial2", "oid",
)  # fmt: skip
_register("bool", (), "bool", "boolean")
_register("float", (), "float4", "real", "float8", "double precision", "float")
_register("decimal.Decimal", (Import("decimal"),), "numeric", "decimal")
_register(
    "str",
    (),
    "text", "varchar", "character varying", "bpchar", "char", "character", "citext", "name",
)  # fmt: skip
_register("uuid.UUID", (Import("uuid"),), "uuid")
_register(
    "datetime.datetime",
    _DT,
    "timestamptz", "timestamp with time zone", "timestamp", "timestamp without time zone",
)  # fmt: skip
_register("datetime.date", _DT, "date")
_register("datetime.time", _DT, "time", "time without time zone", "timetz", "time with time zone")
_register("datetime.timedelta", _DT, "interval")
_register("bytes", (), "bytea")
_register("JsonValue", (Import("pydantic", "JsonValue"),), "json", "jsonb")

JSON_TYPES = frozenset({"json", "jsonb"})

_MODIFIERS = re.compile(r"\(\s*\d+(\s*,\s*\d+)?\s*\)")


def normalise_type_name(name: str) -> tuple[str, int]:
    """Return the canonical lower-case name and the array dimensions implied by the name.

    ``pg_catalog.int4`` → ``('int4', 0)``; ``text[]`` → ``('text', 1)``; ``_uuid`` →
    ``('uuid', 1)``; ``character varying(20)`` → ``('character varying', 0)``.
    """
    name = _MODIFIERS.sub("", name.strip().lower()).strip()
    dims = 0
    while name.endswith("[]"):
        name = name[:-2].rstrip()
        dims += 1
    name = name.removeprefix("pg_catalog.").strip('"')
    name = " ".join(name.split())
    if dims == 0 and name.startswith("_") and name[1:] in _SCALARS:
        name = name[1:]
        dims = 1
    return name, dims


Kind = Literal["plain", "enum", "model", "row"]


@dataclass(frozen=True)
class PyType:
    """A resolved Python type.

    ``element`` is the annotation of one scalar value; ``kind`` says how values cross the
    driver boundary: ``plain`` values pass as they are, ``enum`` results need the StrEnum
    constructor, ``model`` values are pydantic models stored as json/jsonb
    (``model_dump(mode="json")`` on the way in, ``model_validate`` on the way out).
    ``elements_nullable`` lets an array hold ``None`` (SQL NULL) elements. ``row`` values are
    a table's composite type (a whole row, e.g. ``ARRAY(SELECT t FROM t …)``), decoded by
    asyncpg into a record and returned as the table's model; ``fields`` are the table's
    columns, each as (column, model field, type), ``table`` the table's name.
    """

    element: str
    imports: frozenset[Import]
    kind: Kind = "plain"
    array_dims: int = 0
    nullable: bool = False
    elements_nullable: bool = False
    fields: tuple[tuple[str, str, PyType], ...] = ()
    table: str = ""

    @property
    def annotation(self) -> str:
        """The full annotation, e.g. ``list[uuid.UUID] | None`` or ``list[int | None]``."""
        text = self.element
        if self.array_dims and self.elements_nullable:
            text = f"{text} | None"
        for _ in range(self.array_dims):
            text = f"list[{text}]"
        return f"{text} | None" if self.nullable else text

    def with_nullable(self, nullable: bool) -> PyType:
        """The same type with the given nullability."""
        return replace(self, nullable=nullable)

    def with_dims(self, dims: int) -> PyType:
        """The same type with the given array dimensions."""
        return replace(self, array_dims=dims)

    def with_nullable_elements(self) -> PyType:
        """The same array type, its elements allowed to be ``None``."""
        return replace(self, elements_nullable=True)


class UnknownTypeError(Exception):
    """Raised by :meth:`TypeMapper.scalar` for a type with no mapping."""


class TypeMapper:
    """Maps PostgreSQL type names (and catalog enums) to :class:`PyType` values."""

    def __init__(self, enums: dict[str, str], models_module: str = ".models") -> None:
        #: enum type name → Python class name
        self.enums = enums
        self.models_module = models_module

    def scalar(self, type_name: str, default_schema: str = "public") -> PyType:
        """Resolve a type name; arrays in the name become ``array_dims``.

        Raises :class:`UnknownTypeError` for types with no mapping.
        """
        name, dims = normalise_type_name(type_name)
        name = name.removeprefix(f"{default_schema}.")
        if name in _SCALARS:
            py, imports = _SCALARS[name]
            return PyType(py, frozenset(imports), "plain", dims)
        if name not in self.enums and name.startswith("_") and name[1:] in self.enums:
            name = name[1:]
            dims += 1
        if name in self.enums:
            cls = self.enums[name]
            return PyType(cls, frozenset({Import(self.models_module, cls)}), "enum", dims)
        raise UnknownTypeError(name or "(no type)")
