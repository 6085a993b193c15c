"""Read a CSV or Parquet table into drift columns with pyarrow (pandas is not a dependency).

Numbers and booleans become float64 (nulls -> NaN); strings and dictionaries become
:class:`~foresight.drift.columns.Categorical` through Arrow's hash encoder (fast on millions of
rows); any other type (dates, lists, ...) is skipped and named, so a report can list it. A
file that cannot be read, or that names a column twice (which of the two would be compared?),
is an :class:`~foresight.errors.InputError` naming the file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from foresight.drift.columns import Categorical, Column
from foresight.errors import InputError

__all__ = ["Table", "encode", "from_arrow", "read_table"]


@dataclass(frozen=True)
class Table:
    """Drift columns by name, the Arrow type of each, and the columns skipped with why."""

    columns: dict[str, Column]
    types: dict[str, str]
    unsupported: dict[str, str]
    rows: int


def encode(values: pa.Array | pa.ChunkedArray | np.ndarray) -> Categorical:
    """Labels to codes with Arrow's dictionary encoder; nulls become ``-1``.

    >>> encode(np.array(["b", "a", "b"], dtype=object)).codes.tolist()
    [0, 1, 0]
    """
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr.cast(pa.string()))
    codes = arr.indices.to_numpy(zero_copy_only=False)
    codes = np.where(arr.is_null().to_numpy(zero_copy_only=False), -1, codes).astype(np.int64)
    return Categorical(codes, tuple(str(c) for c in arr.dictionary.to_pylist()))


def from_arrow(table: pa.Table, source: str = "table") -> Table:
    """Arrow table -> drift columns (see the module docstring for the type mapping).

    ``source`` names the table in errors: a column name used twice is refused, not silently
    reduced to its last occurrence.
    """
    counts = Counter(table.column_names)
    repeated = [f"{name!r} ({n} times)" for name, n in counts.items() if n > 1]
    if repeated:
        raise InputError(f"{source}: duplicate column names {', '.join(repeated)}: rename them so each feature is one column")
    columns: dict[str, Column] = {}
    unsupported: dict[str, str] = {}
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
            columns[name] = col.cast(pa.float64()).to_numpy()
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
            columns[name] = encode(col)
        elif pa.types.is_null(t):
            columns[name] = np.full(len(col), np.nan)
        else:
            unsupported[name] = f"unsupported type {t}"
    return Table(columns, {n: str(c.type) for n, c in zip(table.column_names, table.columns)}, unsupported,
                 table.num_rows)


def read_table(path: Path) -> Table:
    """Read ``.parquet``/``.pq`` with pyarrow.parquet, anything else as CSV (header row required)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pq.read_table(path)
        else:
            # an empty CSV field is a missing value, for strings as for numbers
            table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise InputError(f"{path}: cannot read as {'Parquet' if path.suffix.lower() in ('.parquet', '.pq') else 'CSV'}: {exc}") from exc
    if table.num_columns == 0:
        raise InputError(f"{path}: no columns")
    return from_arrow(table, str(path))
