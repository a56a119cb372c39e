"""Parquet tables: atomic writes with a schema version in the file metadata.

Every table pbt-econ writes goes through :func:`write_table`: rows (frozen
dataclasses or mappings) become a ``pyarrow.Table``, written to a temporary
file beside the target and renamed over it, so an interrupted write leaves
the previous file intact. The metadata carries ``pbt_econ.table`` (the table
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

__all__ = ["SCHEMA_VERSION", "TableError", "read_table", "rows_to_table", "schema_of", "write_table"]

SCHEMA_VERSION = "1"


class TableError(ValueError):
    """A Parquet file is missing, unreadable, or not the expected pbt-econ table."""


def _as_mapping(row: Any) -> Mapping[str, Any]:
    if dataclasses.is_dataclass(row):
        return dataclasses.asdict(row)
    if isinstance(row, Mapping):
        return row
    raise TypeError(f"row must be a dataclass or a mapping, not {type(row).__name__}")


_ARROW_TYPES = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def schema_of(row_type: type) -> pa.Schema:
    """The Arrow schema of a dataclass of ``str``/``int``/``float``/``bool`` fields."""
    import typing

    hints = typing.get_type_hints(row_type)
    return pa.schema([(f.name, _ARROW_TYPES[hints[f.name]]) for f in dataclasses.fields(row_type)])


def rows_to_table(rows: Iterable[Any], kind: str, row_type: type | None = None) -> pa.Table:
    """Rows -> ``pyarrow.Table`` carrying the table kind and schema version.

    With ``row_type`` (a dataclass), the schema comes from its fields, so an
    empty table still has every column.
    """
    records = [_as_mapping(r) for r in rows]
    if row_type is not None and records and set(records[0]) != {f.name for f in dataclasses.fields(row_type)}:
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
