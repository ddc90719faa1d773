"""Tables a person can read at 80 columns: ``--columns`` for every tabular output, and terminal tables that
keep the columns that fit (the groups first, then the verdict, then the measures left to right in order of
importance) and say which were left out and how to see them, instead of squeezing every header to
``offences/offe…``.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence

import polars as pl

from ..errors import UsageError

# rich's default box: one border character before each column and after the last, one space padding each side
BORDER = 1
PADDING = 2


def select_columns(rows: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``rows`` with only ``columns``, in the order given; an unknown name is a usage error naming the nearest."""
    if not columns:
        return rows
    check_names(columns, rows.columns, "--columns")
    return rows.select(columns)


def check_names(names: Sequence[str], known: Sequence[str], option: str, after: str = "") -> None:
    """A usage error for the ``names`` not among ``known``, each with its nearest known names, then the list
    (``--columns``, ``sql --by``); ``after`` is added to the message (what to do instead)."""
    unknown = [name for name in names if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hints.append(f"{name!r}" + (f" (did you mean {' or '.join(near)}?)" if near else ""))
        raise UsageError(f"{option}: no column {', '.join(hints)}; the columns are: {', '.join(known)}{after}")


def min_width(header: str, cells: Sequence[str]) -> int:
    """The narrowest a column can be without cutting a word: its widest cell or the longest word of its header."""
    from rich.cells import cell_len  # imported where a terminal table is made (reoffend.cli.common)

    words = [cell_len(word) for word in header.split()] or [0]
    return max([max(words), *(cell_len(cell) for cell in cells)])


def natural_width(header: str, cells: Sequence[str]) -> int:
    """The width of a column with nothing wrapped."""
    from rich.cells import cell_len

    return max([cell_len(header), *(cell_len(cell) for cell in cells)])


def plan_widths(headers: Sequence[str], cells: Sequence[Sequence[str]], width: int, keep: int = 1) -> list[int]:
    """The widths of :func:`plan_columns` with no verdict column: the columns that fit, from the left."""
    return [column_width for _, column_width in plan_columns(headers, cells, width, keep)]


def plan_columns(
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    width: int,
    keep: int = 1,
    verdicts: Collection[int] = (),
) -> list[tuple[int, int]]:
    """The columns shown in ``width`` terminal cells, as (index, content width) in the table's order.

    The first ``keep`` columns (the groups) are always shown, then the ``verdicts`` that fit (the answer: a
    narrow terminal drops detail, never the verdict), then as many of the others as fit, from the left. Each
    is at its natural width, the surplus taken from the headers that can wrap at a space, widest first; no cell
    and no header word is ever cut.
    """
    columns = [[row[index] for row in cells] for index in range(len(headers))]
    minimum = [min_width(header, column) for header, column in zip(headers, columns, strict=True)]
    natural = [natural_width(header, column) for header, column in zip(headers, columns, strict=True)]
    chosen: list[int] = []
    used = BORDER
    first = list(range(min(keep, len(headers))))
    answer = [index for index in sorted(verdicts) if index >= keep]
    for index in [*first, *answer]:
        need = minimum[index] + PADDING + BORDER
        if used + need <= width or index < keep:
            chosen.append(index)
            used += need
    for index in range(len(headers)):
        if index in chosen:
            continue
        need = minimum[index] + PADDING + BORDER
        if used + need > width:
            break  # the detail stays contiguous from the left: no gap a reader would not notice
        chosen.append(index)
        used += need
    shown = sorted(chosen)
    widths = {index: natural[index] for index in shown}
    excess = sum(widths.values()) + len(shown) * (PADDING + BORDER) + BORDER - width
    for index in sorted(shown, key=lambda i: minimum[i] - natural[i]):
        if excess <= 0:
            break
        cut = min(excess, natural[index] - minimum[index])
        widths[index] -= cut
        excess -= cut
    return [(index, widths[index]) for index in shown]


def hidden_note(hidden: Sequence[str], width: int) -> str:
    """What a narrow terminal left out, and how to see it."""
    return (
        f"{len(hidden)} more column(s) do not fit in {width} columns: {', '.join(hidden)}. "
        "Widen the terminal, or see every column with --format csv or --json (--columns chooses them)."
    )
