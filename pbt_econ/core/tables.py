"""Parquet tables: atomic writes with a schema version in the file metadata.

Every table pbt-econ writes goes through :func:`write_table`: rows (frozen
dataclasses or mappings) become a ``pyarrow.Table``, written to a temporary
file beside the target and renamed over it, so an interrupted write leaves
the previous file intact. A field that is itself a dataclass, or a
:class:`ColumnGroup` (columns an economy declares, e.g. the descriptors inside
an outcome row or the per-agent-type columns), is flattened into its own
columns, in place. The metadata carries ``pbt_econ.table`` (the table
kind) and ``pbt_econ.schema_version``; :func:`read_table` checks both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pbt_econ.core.files import atomic_write

__all__ = ["SCHEMA_VERSION", "ColumnGroup", "TableError", "columns_of", "flatten", "read_table", "rows_to_table", "schema_of",
           "unflatten", "write_table"]

SCHEMA_VERSION = "2"
"""2: per-type and descriptor columns come from the economy (:class:`ColumnGroup`), not from code."""


class ColumnGroup(Mapping):
    """An ordered, immutable ``column -> value`` mapping whose keys are data, not code.

    Rows hold one where the columns depend on the economy (its descriptors, its
    agent types); :func:`flatten` writes its items as columns in place. Values
    can also be read as attributes (``group.price``).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), /, **more: Any) -> None:
        merged = dict(values)
        merged.update(more)
        object.__setattr__(self, "_values", merged)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no column {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ColumnGroup):
            return type(self) is type(other) and self._values == other._values
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._values!r})"

    def __reduce__(self):
        return (type(self), (self._values,))

    def replace(self, **changes: Any):
        return type(self)({**self._values, **changes})


class TableError(ValueError):
    """A Parquet file is missing, unreadable, or not the expected pbt-econ table."""


def flatten(row: Any) -> dict[str, Any]:
    """A dataclass row as one flat ``column -> value`` dict (nested dataclasses expanded in place)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(row):
        value = getattr(row, f.name)
        if dataclasses.is_dataclass(value):
            items = flatten(value).items()
        elif isinstance(value, ColumnGroup):
            items = value.items()
        else:
            items = ((f.name, value),)
        for key, v in items:
            if key in out:
                raise TypeError(f"{type(row).__name__}: column {key!r} appears twice after flattening")
            out[key] = v
    return out


def unflatten(row_type: type, columns: Mapping[str, Any], groups: Mapping[str, Iterable[str]] | None = None) -> Any:
    """The inverse of :func:`flatten`: a ``row_type`` instance from one flat row (extra columns ignored;
    columns added in later versions take their defaults when an older table lacks them).

    ``groups`` names the columns of each :class:`ColumnGroup` field (by field name; nested rows share
    the mapping); a group column missing from ``columns`` is NaN.
    """
    import typing

    hints = typing.get_type_hints(row_type)
    values = {}
    for f in dataclasses.fields(row_type):
        kind = hints[f.name]
        if isinstance(kind, type) and issubclass(kind, ColumnGroup):
            keys = (groups or {}).get(f.name)
            if keys is None:
                raise KeyError(f"unflatten({row_type.__name__}): the columns of group {f.name!r} were not given")
            values[f.name] = kind({k: columns.get(k, float("nan")) for k in keys})
        elif dataclasses.is_dataclass(kind):
            values[f.name] = unflatten(kind, columns, groups)
        elif f.name in columns or f.default is dataclasses.MISSING:
            values[f.name] = columns[f.name]  # a missing column without a default is a KeyError
        # else: a column added later, absent from an older table: its default
    return row_type(**values)


def _as_mapping(row: Any) -> Mapping[str, Any]:
    if dataclasses.is_dataclass(row):
        return flatten(row)
    if isinstance(row, Mapping):
        return row
    raise TypeError(f"row must be a dataclass or a mapping, not {type(row).__name__}")


_ARROW_TYPES = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def schema_of(row_type: type) -> pa.Schema:
    """The Arrow schema of a dataclass of ``str``/``int``/``float``/``bool`` fields
    (:class:`ColumnGroup` fields are left out: their columns are data; see :func:`rows_to_table`)."""
    import typing

    hints = typing.get_type_hints(row_type)
    columns: list[tuple[str, pa.DataType]] = []
    for f in dataclasses.fields(row_type):
        kind = hints[f.name]
        if isinstance(kind, type) and issubclass(kind, ColumnGroup):
            continue
        columns += ([(c.name, c.type) for c in schema_of(kind)] if dataclasses.is_dataclass(kind)
                    else [(f.name, _ARROW_TYPES[kind])])
    return pa.schema(columns)


def columns_of(row_type: type) -> tuple[str, ...]:
    """Column names of ``row_type`` as written (nested dataclasses flattened)."""
    return tuple(schema_of(row_type).names)


def rows_to_table(rows: Iterable[Any], kind: str, row_type: type | None = None) -> pa.Table:
    """Rows -> ``pyarrow.Table`` carrying the table kind and schema version.

    With ``row_type`` (a dataclass), the schema comes from its fields, so an
    empty table still has every column.
    """
    records = [_as_mapping(r) for r in rows]
    if row_type is not None and records and set(records[0]) != set(columns_of(row_type)):
        row_type = None  # rows carry group or extra columns (e.g. the search's segment): infer
    schema = schema_of(row_type) if row_type is not None else None
    table = pa.Table.from_pylist(records, schema=schema)
    meta = dict(table.schema.metadata or {})
    meta.update({b"pbt_econ.table": kind.encode(), b"pbt_econ.schema_version": SCHEMA_VERSION.encode()})
    return table.replace_schema_metadata(meta)


def write_table(table: pa.Table | Iterable[Any], path: str | Path, kind: str | None = None,
                row_type: type | None = None) -> Path:
    """Write atomically (temporary file in the same folder, then ``os.replace``)."""
    path = Path(path)
    if not isinstance(table, pa.Table):
        if kind is None:
            raise ValueError("kind is required when writing rows")
        table = rows_to_table(table, kind, row_type)
    elif kind is not None:
        meta = dict(table.schema.metadata or {})
        meta.update({b"pbt_econ.table": kind.encode(), b"pbt_econ.schema_version": SCHEMA_VERSION.encode()})
        table = table.replace_schema_metadata(meta)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_table(path: str | Path, kind: str | None = None) -> pa.Table:
    """Read a pbt-econ Parquet table; with ``kind``, check that it is that table."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: file not found")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
        raise TableError(f"{path}: not a readable Parquet file ({exc})") from None
    meta = table.schema.metadata or {}
    version = meta.get(b"pbt_econ.schema_version", b"").decode()
    found = meta.get(b"pbt_econ.table", b"").decode()
    if kind is not None and found != kind:
        raise TableError(f"{path}: expected a pbt-econ {kind!r} table, found {found or 'no pbt-econ metadata'!r}")
    if version and version != SCHEMA_VERSION:
        raise TableError(f"{path}: schema version {version}, this pbt-econ reads version {SCHEMA_VERSION}")
    return table
