"""Tables a person can read at 80 columns, drawn on a console the front end gives (issue 24): the columns that
fit (the groups first, then the verdict, then the measures left to right in order of importance), and which were
left out and how to see them, instead of squeezing every header to ``offences/offe…``. The command line draws on
standard output (:func:`reoffend.cli.tables.render_table`), the Python API on a console of its own
(``Result.summary()``); neither prints anything else from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import OutputWriteError, escape_controls, one_line, os_reason, printable
from ..format import DASH, count, number, p_value, pct, yes_no

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

# rich's default box: one border character before each column and after the last, one space padding each side
BORDER = 1
PADDING = 2


LABEL_CELLS = 40  # the widest a cell or header from the data (a label) is shown, at most a third of the terminal
NARROWEST_LABEL = 24  # ... and at least this: room for some of the label beside "… (1,048,576 more)"


def label_cells(width: int) -> int:
    """The terminal cells a label may take in a table ``width`` cells wide: a long label is cut to this, so the
    measure columns beside it stay in view (issue 24: one 5,000-character label hid them all)."""
    return min(LABEL_CELLS, max(NARROWEST_LABEL, width // 3))


def cut_label(text: str, cells: int) -> str:
    """``text`` (already one escaped line) in at most ``cells`` terminal cells: whole if it fits, else as many
    of its first characters as fit beside ``… (N more)``, N the characters of ``text`` left out."""
    from rich.cells import cell_len

    if cell_len(text) <= cells:
        return text
    room = cells - cell_len(f"… ({len(text):,} more)")  # the longest the note can be: N < len(text)
    kept, used = 0, 0
    while kept < len(text) and used + cell_len(text[kept]) <= room:
        used += cell_len(text[kept])
        kept += 1
    return f"{text[:kept]}… ({len(text) - kept:,} more)"


def cut_header(text: str, cells: int) -> str:
    """A header wraps at its spaces: cut (:func:`cut_label`) only when a word is wider than ``cells`` or it
    would take more than three lines of ``cells``."""
    from rich.cells import cell_len

    longest_word = max((cell_len(word) for word in text.split()), default=0)
    return cut_label(text, 3 * cells if longest_word <= cells else cells)


def fit_labels(
    headers: Sequence[str], cells: Sequence[Sequence[str]], width: int
) -> tuple[list[str], list[list[str]], bool]:
    """Headers and cells (each one escaped line) cut so that no label costs the table a column (issue 24): the
    widest cut that shows as many columns as cutting every label to :func:`label_cells` would, and fits
    ``width`` with no header wrapped for it; nothing is cut when everything fits whole. Also whether anything
    was cut."""
    from rich.cells import cell_len

    def cut_to(limit: int) -> tuple[list[str], list[list[str]]]:
        return [cut_header(h, limit) for h in headers], [[cut_label(c, limit) for c in row] for row in cells]

    def shown_and_fits(limit: int) -> tuple[int, bool]:
        cut_headers, cut_cells = cut_to(limit)
        shown = len(plan_widths(cut_headers, cut_cells, width))
        natural = [natural_width(cut_headers[i], [row[i] for row in cut_cells]) for i in range(shown)]
        return shown, sum(natural) + shown * (PADDING + BORDER) + BORDER <= width  # no header wraps for it

    floor = label_cells(width)
    widest = max([0, *(cell_len(h) for h in headers), *(cell_len(c) for row in cells for c in row)])
    if widest <= floor:
        return list(headers), [list(row) for row in cells], False
    target, _ = shown_and_fits(floor)
    low, high = floor, min(widest, width)  # the largest limit showing `target` columns within `width`
    while low < high:
        middle = (low + high + 1) // 2
        shown, fits = shown_and_fits(middle)
        if shown >= target and fits:
            low = middle
        else:
            high = middle - 1
    cut_headers, cut_cells = cut_to(low)
    changed = cut_headers != list(headers) or any(
        c != original for row, row_original in zip(cut_cells, cells, strict=True)
        for c, original in zip(row, row_original, strict=True)
    )  # fmt: skip
    return cut_headers, cut_cells, changed


def min_width(header: str, cells: Sequence[str]) -> int:
    """The narrowest a column can be without cutting a word: its widest cell or the longest word of its header."""
    from rich.cells import cell_len  # imported where a terminal table is made (render_table)

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


PERCENT_COLUMNS = {"binary_rate", "binary_rate_low", "binary_rate_high"}

# a verdict column (a view's "Significant (adjusted)", "Target", a balance table's "SMD after"; a result's
# events_verdict, target_met): kept
# on a narrow terminal before any detail (:func:`plan_columns`)
VERDICT_COLUMN = re.compile(r"(^|[ _])(significant|verdict|target|smd)")

# a p-value column of any result (docs/output-dictionary.md): p_reduction, binary_p_adjusted, ...
P_COLUMN = re.compile(r"(^|_)p_(two_sided|reduction|increase|adjusted|value)$")


def default_format(column: str, value: Any) -> str:
    """A cell of a table without a view of its own (``--columns``): a p-value as every table and headline
    prints it (:func:`reoffend.report.format.p_value`: ``0.044``, ``< 0.001``), never rounded to two decimals
    (``0.05`` beside a significant verdict, ``0.00``)."""
    if value is None:
        return DASH
    if P_COLUMN.search(column) and isinstance(value, float):
        return p_value(value)
    if column in PERCENT_COLUMNS or column.endswith("_rate") or column.endswith("_share"):
        return pct(value)
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int):
        return count(value)
    if isinstance(value, float):
        return number(value, 2)
    return str(value)


def render_table(
    rows: pl.DataFrame,
    *,
    title: str = "",
    formats: Mapping[str, Callable] | None = None,
    caption: str | None = None,
    console: Console,
    numeric: Sequence[bool] = (),
) -> None:
    """A human table on ``console``: rates as percentages with one decimal (display only).

    Columns that do not fit the terminal's width whole are left out, from the right, and named under the table
    (:func:`plan_columns`); the first column is always shown, and no cell or header word is cut.
    """
    from rich.table import Table
    from rich.text import Text

    formats = formats or {}

    def as_label(text: str) -> str:
        # a value from the data: one line, every control character and tab escaped, never cut to 4,000
        # characters by printable (fit_labels cuts it to the table, and counts what it leaves out)
        return escape_controls(one_line(text)).replace("\t", "\\t")

    headers, cells, cut = fit_labels(
        [as_label(column.replace("_", " ")) for column in rows.columns],
        [
            [as_label(formats[c](v) if c in formats else default_format(c, v)) for c, v in row.items()]
            for row in rows.iter_rows(named=True)
        ],
        console.width,
    )
    verdicts = [index for index, column in enumerate(rows.columns) if VERDICT_COLUMN.search(column.lower())]
    plan = plan_columns(headers, cells, console.width, verdicts=verdicts)
    shown = [index for index, _ in plan]
    # a title carries labels (--site) and a caption names from the data (unseen values): one line of the title,
    # every control character escaped, and never rich markup ("[reverse]EST1[/reverse]" is shown as written)
    table = Table(
        title=Text(printable(one_line(title))) if title else None,
        caption=Text(printable(caption)) if caption else None,
        header_style="bold",
    )
    # right-aligned: numeric columns, or those a table spec (reoffend.report.tables) declares numeric
    right = list(numeric) or [dtype.is_numeric() for dtype in rows.dtypes]
    for index, width in plan:
        is_numeric = index < len(right) and right[index]
        table.add_column(Text(headers[index]), justify="right" if is_numeric else "left", width=width)
    for row in cells:
        # cells are data, never rich markup: "[c]" (a suppressed cell) or a value in brackets is shown as is
        table.add_row(*[Text(row[index]) for index in shown])
    try:
        console.print(table)
    except OSError as error:  # a closed pipe is handled by pipe_console(); this is a full disk or an I/O error
        raise OutputWriteError(f"writing standard output: {os_reason(error)}") from None
    if len(shown) < len(headers):
        hidden = [header for index, header in enumerate(headers) if index not in shown]
        console.print(hidden_note(hidden, console.width), highlight=False, markup=False)
    if cut:
        console.print(
            "Long labels are cut to fit the terminal: '… (N more)' counts the characters left out. See them whole "
            "with --format csv or --json.",
            highlight=False,
            markup=False,
        )
