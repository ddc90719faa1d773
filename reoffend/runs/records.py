"""A small result without polars: plain rows written as CSV, TSV and JSON byte for byte as polars writes their
frame, so that ``reoffend power`` from numbers loads no polars (issue 30)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


RECORD_FORMATS = {"csv": ",", "tsv": "\t", "json": ""}  # written from a Records (the separator of its cells)


@dataclass(frozen=True)
class Records:
    """A small result as plain dicts, one a row with its keys in column order, beside its column types (a typed
    row class's :meth:`reoffend.report.schema.Row.column_types`) and a function that makes its polars frame.

    CSV, TSV and JSON (:data:`RECORD_FORMATS`) are written from the dicts, byte for byte as from the frame, so
    that ``reoffend power`` from numbers loads no polars (issue 30); the table, the other formats and
    ``--columns`` take the frame.
    """

    rows: list[dict[str, Any]]
    kinds: Mapping[str, type]  # column -> str, int, float or bool
    frame: Callable[[], pl.DataFrame]

    def __reduce__(self) -> tuple[type[Records], tuple[Any, ...]]:
        """Pickled (a result of the Python API kept or sent to another process) with its frame made: the
        function that makes it is the run's closure."""
        return (Records, (self.rows, dict(self.kinds), MadeFrame(self.frame())))

    @property
    def height(self) -> int:
        return len(self.rows)

    def typed_rows(self) -> list[dict[str, Any]]:
        """The rows with each value of a float column a float, as the frame holds it (``12`` is ``12.0``)."""
        floats = [name for name, kind in self.kinds.items() if kind is float]
        return [{**row, **{name: float(row[name]) for name in floats if row[name] is not None}} for row in self.rows]


@dataclass(frozen=True)
class MadeFrame:
    """A frame already made, as :attr:`Records.frame` (a callable) gives it: what a pickled Records holds."""

    frame: pl.DataFrame

    def __call__(self) -> pl.DataFrame:
        return self.frame


def records_csv(records: Records, separator: str) -> bytes:
    """The rows as polars' ``write_csv`` writes their frame (:func:`csv_cell`): a header, one line a row."""
    columns = list(records.kinds)
    lines = [separator.join(csv_cell(name, separator) for name in columns)]
    lines += [separator.join(csv_cell(row[name], separator) for name in columns) for row in records.typed_rows()]
    return ("\n".join(lines) + "\n").encode()


def csv_cell(value: Any, separator: str) -> str:
    """One cell as polars' ``write_csv`` writes it: null empty, ``true``/``false``, a float by :func:`csv_float`,
    text in quotes (doubled inside) when it is empty or holds the separator, a quote or a line break."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return csv_float(value)
    text = str(value)
    if not text or separator in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_float(value: float) -> str:
    """A float as polars writes it: Python's shortest round-trip digits (``repr``), but in fixed point down to
    1e-5 where Python turns to an exponent below 1e-4 (``0.00005``, not ``5e-05``), an exponent below that
    unpadded (``1.5e-7``, not ``1.5e-07``), and NaN as ``NaN``."""
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    mantissa, exponent_mark, exponent = text.partition("e")
    if not exponent_mark or not exponent.startswith("-"):
        return text
    if int(exponent) == -5:
        sign = "-" if mantissa.startswith("-") else ""
        return f"{sign}0.0000{mantissa.lstrip('-').replace('.', '')}"
    return f"{mantissa}e{int(exponent)}"
