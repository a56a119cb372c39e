"""Parquet tables: atomic writes with a schema version in the file metadata.

Every table pbt-econ writes goes through :func:`write_table`: rows (frozen
dataclasses or mappings) become a ``pyarrow.Table``, written to a temporary
file beside the target and renamed over it, so an interrupted write leaves
the previous file intact. A field that is itself a dataclass (e.g. the
:class:`~pbt_econ.outcomes.Descriptors` inside an outcome row) is flattened
into its own fields' columns, in place. The metadata carries ``pbt_econ.table`` (the table
kind) and ``pbt_econ.schema_version``; :func:`read_table` checks both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pbt_econ.files import atomic_write

__all__ = ["SCHEMA_VERSION", "TableError", "columns_of", "flatten", "read_table", "rows_to_table", "schema_of",
           "unflatten", "write_table"]

SCHEMA_VERSION = "1"


class TableError(ValueError):
    """A Parquet file is missing, unreadable, or not the expected pbt-econ table."""


def flatten(row: Any) -> dict[str, Any]:
    """A dataclass row as one flat ``column -> value`` dict (nested dataclasses expanded in place)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(row):
        value = getattr(row, f.name)
        items = flatten(value).items() if dataclasses.is_dataclass(value) else ((f.name, value),)
        for key, v in items:
            if key in out:
                raise TypeError(f"{type(row).__name__}: column {key!r} appears twice after flattening")
            out[key] = v
    return out


def unflatten(row_type: type, columns: Mapping[str, Any]) -> Any:
    """The inverse of :func:`flatten`: a ``row_type`` instance from one flat row (extra columns ignored;
    columns added in later versions take their defaults when an older table lacks them)."""
    import typing

    hints = typing.get_type_hints(row_type)
    values = {}
    for f in dataclasses.fields(row_type):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            values[f.name] = unflatten(kind, columns)
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
    """The Arrow schema of a dataclass of ``str``/``int``/``float``/``bool`` fields."""
    import typing

    hints = typing.get_type_hints(row_type)
    columns: list[tuple[str, pa.DataType]] = []
    for f in dataclasses.fields(row_type):
        kind = hints[f.name]
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
        row_type = None  # rows carry extra columns (e.g. the search's segment): infer
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
