"""A result's rows as a GitHub-flavoured Markdown pipe table (``--format markdown``).

The cells are the values the CSV holds (docs/output-dictionary.md), not a rounded view: the table is for pasting
into a report or an issue, where a reader checks it against the CSV. Every header and cell is Markdown-escaped
(:func:`reoffend.bulletin.document.md_text`, and ``|``), so a value from the data (a site named ``*x*`` or
``<script>``) is shown as written, never as markup; numeric columns are right-aligned (``---:``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from ..bulletin.document import md_text


def markdown_cell(value: Any) -> str:
    """One cell: empty for a missing value (as in the CSV), ``true``/``false``, ISO dates, floats as polars writes
    them to CSV (shortest round-trip form), text escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    # a line break or tab shows as \n, \r, \t (as in the terminal table), so "a\nb" and "a b" stay two labels
    shown = str(value).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return md_text(shown).replace("|", "\\|")


def markdown_table(rows: pl.DataFrame) -> str:
    """``rows`` as a pipe table: a header of column names, one line per row, ending in a line break."""
    numeric = [dtype.is_numeric() for dtype in rows.dtypes]
    header = "| " + " | ".join(md_text(name).replace("|", "\\|") for name in rows.columns) + " |"
    rule = "|" + "|".join("---:" if right else "---" for right in numeric) + "|"
    body = ["| " + " | ".join(markdown_cell(value) for value in row) + " |" for row in rows.iter_rows()]
    return "\n".join([header, rule, *body]) + "\n"
