"""``tables.ods``: the bulletin's tables as an accessible spreadsheet (docs/bulletin.md, "The spreadsheet").

Follows the Government Analysis Function's guidance "Releasing statistics in spreadsheets" (the conventions
ONS's gptables implements):

- a **Cover** sheet (title, what the tables are, the period the sheets cover, source and where its extract
  date came from, publication dates, status, contact, disclosure rule), a **Contents** sheet (one row per
  table sheet), a **Notes** sheet (the shorthand ``[c]``, ``[x]``, ``[z]``, rounding, and the notes the
  tables refer to) and a **Column names** sheet (each title against the CSVs' machine column name);
- **one table per sheet**, named and numbered as the bulletin numbers its tables ("Table 1", "Tables 2 and
  3" when one CSV holds two of the bulletin's tables; "Table S1", ... for the supporting tables the bulletin
  does not show), its title in cell A1, a line saying the sheet holds one table and where its notes are, its
  source, then the table: one header row in words with units (reoffend/bulletin/columns.py) and the data,
  with no blank rows, no merged cells and nothing to the right of or below it;
- numbers stored as numbers, rounded to the precision shown and given a number format (a proportion as a
  percentage to one decimal place, counts with thousands separators, p-values to three places), never as
  text; a cell with no value holds the shorthand: ``[c]`` for a figure suppressed for confidentiality
  (reoffend/disclosure.py), ``[x]`` for a figure not available (a ratio with a zero denominator, a test that
  cannot be run); ``[z]`` (not applicable) is for a category with nobody in it. The ``suppressed`` column of a
  published row holds "no", and a yes/no value is the word "Yes" or "No", never TRUE/FALSE. Headers take the
  config's ``[labels.columns]`` titles where it gives them, as the HTML does. The CSVs keep the unrounded
  values under their machine column names.

Written with odfpy (a maintained OpenDocument library), the data rows as the XML odfpy would write for them
(:class:`RowsXml`); the ZIP entries get a fixed timestamp so that the same tables give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import polars as pl
from odf import dc
from odf.element import Text, _quoteattr, _sanitize
from odf.namespaces import nsdict
from odf.number import Number, NumberStyle, PercentageStyle
from odf.number import Text as NumberText
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Map, Style, TableCellProperties, TableColumnProperties, TextProperties
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import A, P

from ..disclosure import SHORTHAND, SUPPRESSED
from . import document, text
from .chartrules import VERDICTS
from .columns import FORMATS, Format, PValue, column
from .labels import Labels, plain_words
from .publication import DAYS_COLUMNS

if TYPE_CHECKING:
    from .build import Bulletin

NOT_AVAILABLE = "[x]"
NOT_APPLICABLE = "[z]"
# the suppressed column of a published row: a plain word. [z] means "not applicable" only (Analysis Function
# guidance), and nothing about a published row's suppression is inapplicable: it was checked and not withheld
PUBLISHED = "no"
LANGUAGE = "en-GB"
ONE_TABLE = "This worksheet contains one table. Shorthand in its cells is explained in the Notes worksheet."
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a ZIP can record: no build time in the file
# columns that hold cohort labels: what the Cover's period is worked out from
COHORT_COLUMNS = ("cohort", "current", "baseline", "earlier_cohort")
# the supporting tables (the CSVs the bulletin does not show as a table) in the bulletin's order, with titles
# for those the caller does not name (build.SHEET_TITLES names the others)
SUPPORTING_TITLES = {
    "changes.csv": "",
    "establishments.csv": "",
    "establishment_summary.csv": "",
    "comparison_baseline.csv": "Baseline comparison: every column",
    "comparison_matched.csv": "Matched comparison: every column",
    "comparison_matched_balance.csv": "",
    "comparison_adjusted.csv": "Risk-adjusted comparison: every unit compared",
    "comparison_adjusted_summary.csv": "",
    "comparison_adjusted_models.csv": "",
    "court_lag.csv": "Proven reoffending counted by the length of the waiting period",
    "cohorts.csv": "",
    "provisional.csv": "Provisional estimates for cohorts still in follow-up",
    "provisional_backtest.csv": "Provisional estimates made at earlier extract dates against the final figures",
    "parameters.csv": "",
}
# The columns whose empty cells are "not applicable" ([z], Analysis Function guidance), not "not available" ([x]):
# the figure does not exist for the row by definition. Revisions: a row of one table has no columns of another's
# groups, a completed cohort no previous figure, a cohort gone no current one. Baseline: no payment step below
# the first. Matched: the Rosenbaum bound of the pooled row only; a numeric covariate has no category.
# Models: no AUC of a count model. Backtest: an open band ("6+") has no most. Provisional: a cohort in
# follow-up has no final figures.
ALL_COLUMNS = frozenset({"*"})
NOT_APPLICABLE_COLUMNS: dict[str, frozenset[str]] = {
    "revisions.csv": ALL_COLUMNS,
    "comparison_baseline.csv": frozenset({"schedule_step_pp", "schedule_payment"}),
    "comparison_matched.csv": frozenset({"binary_rosenbaum_gamma"}),
    "comparison_matched_balance.csv": frozenset({"level"}),
    "comparison_adjusted_models.csv": frozenset({"auc"}),
    "provisional_backtest.csv": frozenset({"months_max"}),
    "provisional.csv": frozenset(
        {"binary_rate", "binary_rate_low", "binary_rate_high", "events_per_100", "reoffences_per_offender"}
    ),
}


def not_applicable_columns(csv: str, frame: pl.DataFrame) -> frozenset[str]:
    """The columns of ``csv`` whose empty cells are [z] (:data:`NOT_APPLICABLE_COLUMNS`)."""
    found = NOT_APPLICABLE_COLUMNS.get(csv, frozenset())
    return frozenset(frame.columns) if found == ALL_COLUMNS else found


def group_keys(csv: str, frame: pl.DataFrame) -> frozenset[str]:
    """The revisions' group columns (each row fills those of its own table only): [z] wherever empty."""
    if csv != "revisions.csv":
        return frozenset()
    start, end = frame.columns.index("cohort") + 1, frame.columns.index("previous_cohort_size")
    return frozenset(frame.columns[start:end])


CAPTION_NUMBER = re.compile(r"Table (\d+): (.*)", re.DOTALL)
SHEET_NAME_LENGTH = 31  # the most characters a sheet name may have


@dataclass(frozen=True)
class SheetTable:
    """One table of the bulletin: its sheet name, title (cell A1), source line and data; ``shown`` says where
    the bulletin shows it ("Tables 2 and 3", or "" for a supporting table)."""

    sheet: str
    title: str
    source: str
    frame: pl.DataFrame
    csv: str = ""
    shown: str = ""


def _days_withheld(columns: Sequence[str], values: Sequence[object]) -> bool:
    """The days to first reoffence of a published row with reoffenders are missing only when withheld (a
    statistic of too few people: reoffend.bulletin.publication.withhold_days)."""
    if "reoffenders" not in columns:
        return False
    reoffenders = values[list(columns).index("reoffenders")]
    return isinstance(reoffenders, int) and reoffenders > 0


def cell_value(frame: pl.DataFrame, row: int, column: str) -> str | float | int | bool:
    """The value a table cell holds: the CSV's value, or the shorthand for a missing one."""
    value = frame[column][row]
    if value is None:
        if column == SUPPRESSED:
            return PUBLISHED
        hidden = SUPPRESSED in frame.columns and frame[SUPPRESSED][row] is not None
        if not hidden and column in DAYS_COLUMNS:
            hidden = _days_withheld(frame.columns, frame.row(row))
        return SHORTHAND if hidden else NOT_AVAILABLE
    return value


def cell_values(
    frame: pl.DataFrame, not_applicable: Collection[str] = (), keys: Collection[str] = ()
) -> Iterator[list[object]]:
    """:func:`cell_value` of every cell, row by row (read from the frame's rows at once, not cell by cell); an
    empty cell of a column in ``not_applicable`` (:data:`NOT_APPLICABLE_COLUMNS`) that is not withheld is
    ``[z]``, not ``[x]``: the figure does not apply to its row. An empty cell of a group key in ``keys`` is
    ``[z]`` even in a withheld row: a revision of the trend has no sex, whatever is withheld."""
    suppressed = frame.columns.index(SUPPRESSED) if SUPPRESSED in frame.columns else None
    days = {frame.columns.index(c) for c in DAYS_COLUMNS if c in frame.columns}
    inapplicable = {i for i, c in enumerate(frame.columns) if c in not_applicable}
    key_columns = {i for i, c in enumerate(frame.columns) if c in keys}
    for values in frame.iter_rows():
        hidden = suppressed is not None and values[suppressed] is not None
        missing = SHORTHAND if hidden else NOT_AVAILABLE
        days_missing = SHORTHAND if hidden or (days and _days_withheld(frame.columns, values)) else NOT_AVAILABLE
        yield [
            value
            if value is not None
            else PUBLISHED
            if i == suppressed
            else NOT_APPLICABLE
            if i in key_columns or (i in inapplicable and not hidden)
            else days_missing
            if i in days
            else missing
            for i, value in enumerate(values)
        ]


def _number_styles(doc: OpenDocumentSpreadsheet) -> None:
    """A data style and a cell style (named as the :class:`Format`) for each number format: thousands
    separators, the places shown, a percentage sign; a p-value below its floor shown as "<0.001". They are
    common styles (styles.xml): odfpy writes only the automatic styles it sees used, and the data rows
    (:class:`RowsXml`) are not elements it looks into."""
    for number_format in FORMATS:
        data_name = f"N-{number_format.name}"
        if number_format.percent:
            data = PercentageStyle(name=data_name)
            data.addElement(Number(decimalplaces=number_format.decimals, minintegerdigits=1, grouping="true"))
            data.addElement(NumberText(text="%"))
        else:
            data = NumberStyle(name=data_name)
            data.addElement(Number(decimalplaces=number_format.decimals, minintegerdigits=1, grouping="true"))
        if isinstance(number_format, PValue):
            floor = NumberStyle(name=f"{data_name}-floor")
            floor.addElement(NumberText(text=f"<{number_format.floor:g}"))
            doc.styles.addElement(floor)
            data.addElement(Map(condition=f"value()<{number_format.floor:g}", applystylename=f"{data_name}-floor"))
        doc.styles.addElement(data)
        doc.styles.addElement(Style(name=number_format.name, family="table-cell", datastylename=data_name))


def ods_bytes(
    tables: Sequence[SheetTable],
    cover: Sequence[tuple[str, str]],
    notes: Sequence[tuple[str, str]],
    title: str,
    labels: Labels | None = None,
) -> bytes:
    """The ``.ods`` file: Cover, Contents, Notes, Column names, then one sheet per table; columns titled by
    :func:`column_title` (``labels``: the config's ``[labels.columns]``)."""
    labels = labels or Labels()
    book = _Workbook(title)
    _cover_sheet(book, title, cover)
    _contents_sheet(book, tables)
    _notes_sheet(book, notes)
    _column_names_sheet(book, tables, labels)
    for table in tables:
        _table_sheet(book, table, labels)
    buffer = io.BytesIO()
    book.doc.write(buffer)
    return _fixed_times(buffer.getvalue())


class _Workbook:
    """The spreadsheet being written: its document (title and language in the metadata), the cell and column
    styles every sheet uses, and how a sheet and a row are added."""

    def __init__(self, title: str) -> None:
        doc = OpenDocumentSpreadsheet()
        # the document's title and language in its metadata, as the guidance asks (screen readers announce them)
        doc.meta.addElement(dc.Title(text=title))
        doc.meta.addElement(dc.Language(text=LANGUAGE))
        # headers in bold, wrapped within the column's width: "Proven reoffending rate, lower bound of the
        # confidence interval (%)" is read whole, not cut off by the next header
        self.bold = Style(name="heading", family="table-cell")
        self.bold.addElement(TableCellProperties(wrapoption="wrap", verticalalign="top"))
        self.bold.addElement(TextProperties(fontweight="bold"))
        self.big = Style(name="title", family="table-cell")
        self.big.addElement(TextProperties(fontweight="bold", fontsize="14pt"))
        self.wide = Style(name="wide", family="table-column")
        self.wide.addElement(TableColumnProperties(columnwidth="6cm"))
        self.normal = Style(name="normal", family="table-column")
        self.normal.addElement(TableColumnProperties(columnwidth="4cm"))
        for style in (self.bold, self.big, self.wide, self.normal):
            doc.automaticstyles.addElement(style)
        _number_styles(doc)
        self.doc = doc

    def sheet(self, name: str, columns: int) -> Table:
        """A new sheet of ``columns`` columns, the first wide (labels), the others normal."""
        table = Table(name=name)
        table.addElement(TableColumn(stylename=self.wide))
        if columns > 1:
            table.addElement(TableColumn(stylename=self.normal, numbercolumnsrepeated=columns - 1))
        self.doc.spreadsheet.addElement(table)
        return table

    def row(self, table: Table, values: Sequence[object], style: Style | None = None) -> None:
        element = TableRow()
        for value in values:
            element.addElement(_cell(value, style))
        table.addElement(element)


def _cover_sheet(book: _Workbook, title: str, cover: Sequence[tuple[str, str]]) -> None:
    """The Cover: the title, then each heading in bold above its words."""
    sheet = book.sheet("Cover", 1)
    book.row(sheet, [title], book.big)
    for heading, words in cover:
        book.row(sheet, [heading], book.bold)
        book.row(sheet, [words])


def _contents_sheet(book: _Workbook, tables: Sequence[SheetTable]) -> None:
    """The Contents: every other sheet, its name a link to it, its title, and where the bulletin shows it."""
    contents = book.sheet("Contents", 3)
    book.row(contents, ["Table of contents"], book.big)
    book.row(contents, ["This worksheet contains one table."])
    book.row(contents, ["Sheet name", "Table title", "In the bulletin"], book.bold)
    listed = [
        ("Notes", "Notes and the shorthand used in the tables", ""),
        ("Column names", "The column names of the CSV files against the column titles", ""),
    ]
    listed += [
        (table.sheet, table.title, table.shown or "Supporting table, not shown in the bulletin") for table in tables
    ]
    for name, words, shown in listed:  # each sheet name a link to its sheet, as the guidance asks
        element = TableRow()
        element.addElement(_sheet_link(name))
        element.addElement(_cell(words, None))
        element.addElement(_cell(shown, None))
        contents.addElement(element)


def _notes_sheet(book: _Workbook, notes: Sequence[tuple[str, str]]) -> None:
    """The Notes: each note and its text, as one table."""
    sheet = book.sheet("Notes", 2)
    book.row(sheet, ["Notes"], book.big)
    book.row(sheet, ["This worksheet contains one table."])
    book.row(sheet, ["Note", "Note text"], book.bold)
    for note, words in notes:
        book.row(sheet, [note, words])


def _column_names_sheet(book: _Workbook, tables: Sequence[SheetTable], labels: Labels) -> None:
    """The CSVs' machine column names against their titles, and the sheets each is in."""
    names = book.sheet("Column names", 3)
    book.row(names, ["Column names"], book.big)
    book.row(names, ["This worksheet contains one table: each column by its title here and its name in the CSV files."])
    book.row(names, ["Column title", "CSV column name", "Sheets"], book.bold)
    used: dict[str, list[str]] = {}
    for table in tables:
        for name in table.frame.columns:
            used.setdefault(name, []).append(table.sheet)
    for name, sheets in used.items():
        book.row(names, [column_title(name, labels), name, ", ".join(sheets)])


def _table_sheet(book: _Workbook, table: SheetTable, labels: Labels) -> None:
    """One table's sheet: its title, the one-table note, its source, the column titles, then its rows."""
    frame = table.frame
    sheet = book.sheet(table.sheet, max(frame.width, 1))
    book.row(sheet, [table.title], book.big)
    book.row(sheet, [ONE_TABLE])
    book.row(sheet, [table.source])
    book.row(sheet, [column_title(name, labels) for name in frame.columns], book.bold)
    if frame.height:
        formats = [column(name).format for name in frame.columns]
        values = cell_values(frame, not_applicable_columns(table.csv, frame), group_keys(table.csv, frame))
        sheet.appendChild(RowsXml("".join(rows_xml(values, formats))))


def column_title(name: str, labels: Labels) -> str:
    """A column's header: the config's ``[labels.columns]`` title when it gives one (as the HTML tables and the
    text title it), else the dictionary's title in words with units (reoffend/bulletin/columns.py)."""
    return labels.columns.get(name) or column(name).title


class RowsXml(Text):
    """Table rows already written as the XML odfpy writes for them (:func:`rows_xml`), placed as they are.

    odfpy builds an object per row, cell and paragraph, checks each attribute and walks the tree again for the
    styles it uses: about a tenth of a second for the bulletin's 1M tables (bench/NOTES.md). The number styles
    the rows name are added to the document by :func:`_number_styles`, so writing the rows directly changes
    nothing else in the file (tests/test_fast_paths.py).
    """

    def toXml(self, level, f) -> None:
        f.write(self.data)


def _number(value: object, number_format: Format | None) -> tuple[object, Format | None]:
    """The value a cell stores: a number of a column with a format rounded to what the format shows."""
    if number_format is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value, None
    return number_format.round(value), number_format


@dataclass(frozen=True)
class CellContent:
    """What one cell holds, whichever way it is written (:func:`rows_xml` or :func:`_cell`): its OpenDocument
    value type, the number stored (none for text), the words shown and the number style's name."""

    kind: str  # "float", "percentage" or "string"
    stored: str | None
    words: str
    style: str | None = None


def cell_content(raw: object, number_format: Format | None = None) -> CellContent:
    """The one rule for a cell: a number of a formatted column rounded and styled as its format shows it; a
    true/false value as the words "Yes" or "No" (the guidance: no TRUE/FALSE a reader must decode); anything
    else as its text."""
    value, number_format = _number(raw, number_format)
    if isinstance(value, bool):
        return CellContent("string", None, "Yes" if value else "No")
    if isinstance(value, int | float):
        kind = "percentage" if number_format is not None and number_format.percent else "float"
        stored = repr(value) if isinstance(value, float) else str(value)
        if number_format is None:
            return CellContent(kind, stored, stored)
        return CellContent(kind, stored, number_format.text(value), number_format.name)
    return CellContent("string", None, str(value))


def rows_xml(rows: Iterable[Sequence[object]], formats: Sequence[Format | None] = ()) -> Iterator[str]:
    """The XML of table rows, byte for byte what odfpy writes for rows of :func:`_cell` cells (both from
    :func:`cell_content`): odfpy's own escaping (``_sanitize`` for text, ``_quoteattr`` for attribute
    values), its attribute order, and an empty paragraph for an empty text (odfpy adds no text node for "").
    ``formats[i]`` is the number format of column ``i`` (none: the number as it is, unstyled)."""
    for values in rows:
        yield "<table:table-row>"
        for index, raw in enumerate(values):
            content = cell_content(raw, formats[index] if index < len(formats) else None)
            cell = f'"{content.kind}"'
            if content.stored is not None:
                cell += f" office:value={_quoteattr(content.stored)}"
            if content.style is not None:
                cell += f" table:style-name={_quoteattr(content.style)}"
            words = content.words
            paragraph = f"<text:p>{_sanitize(words)}</text:p>" if words else "<text:p/>"
            yield f"<table:table-cell office:value-type={cell}>{paragraph}</table:table-cell>"
        yield "</table:table-row>"


def sheet_link_target(sheet: str) -> str:
    """The ``xlink:href`` of a link to cell A1 of ``sheet``: ``#'Table 1'.A1`` (the sheet name quoted as in
    a formula, a quote in it doubled)."""
    quoted = sheet.replace("'", "''")
    return f"#'{quoted}'.A1"


def _sheet_link(sheet: str) -> TableCell:
    """A text cell holding the sheet's name as a link to it (the Contents sheet)."""
    cell = TableCell(valuetype="string")
    paragraph = P()
    paragraph.addElement(A(href=sheet_link_target(sheet), type="simple", text=sheet))
    cell.addElement(paragraph)
    return cell


def _cell(value: object, style: Style | None, number_format: Format | None = None) -> TableCell:
    """One cell as an odfpy element (:func:`cell_content`); ``style`` (a header's bold) replaces a number's."""
    content = cell_content(value, number_format)
    cell = TableCell(valuetype=content.kind)
    if content.stored is not None:
        cell.setAttribute("value", content.stored)
    if content.style is not None:
        cell.setAttribute("stylename", content.style)
    if style is not None:
        cell.setAttribute("stylename", style)
    cell.addElement(P(text=content.words))
    return cell


ROOT_NAMESPACES = re.compile(rb'\s+xmlns:[\w-]+="[^"]*"')


def _canonical_xml(part: bytes) -> bytes:
    """An XML part whose root declares every OpenDocument namespace, in a fixed order.

    odfpy declares on the root the namespaces it has met so far in the process, so a second spreadsheet
    written by the same process would differ from the first; declaring them all (harmless) makes it stable.
    """
    match = re.search(rb"<(?!\?)[^>]*>", part)
    if match is None or b"xmlns:" not in match.group(0):
        return part
    tag = ROOT_NAMESPACES.sub(b"", match.group(0))
    declarations = "".join(f' xmlns:{prefix}="{uri}"' for uri, prefix in sorted(nsdict.items(), key=lambda i: i[1]))
    name_end = re.match(rb"<[\w:.-]+", tag)
    assert name_end is not None
    tag = tag[: name_end.end()] + declarations.encode() + tag[name_end.end() :]
    return part[: match.start()] + tag + part[match.end() :]


def _fixed_times(data: bytes) -> bytes:
    """The same ZIP with every entry dated :data:`ZIP_TIME` (odfpy stamps the time of writing) and its XML
    parts' namespace declarations made canonical (:func:`_canonical_xml`)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, ZIP_TIME)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename.endswith(".xml"):
                content = _canonical_xml(content)
            target.writestr(fixed, content)
    return out.getvalue()


def _numbers_in_words(numbers: Sequence[int]) -> str:
    """Table numbers as the sheet name says them: "Table 1", "Tables 2 and 3", "Tables 4, 5 and 6"."""
    if len(numbers) == 1:
        return f"Table {numbers[0]}"
    return "Tables " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"


def sheet_tables(
    tables: Mapping[str, pl.DataFrame], blocks: Sequence[document.Block], titles: Mapping[str, str]
) -> list[SheetTable]:
    """One :class:`SheetTable` per CSV, in the bulletin's order and with its table numbers.

    A CSV the bulletin shows as Table N (its ``source``) is the sheet "Table N"; one shown as two tables (a
    breakdown's latest cohort and its cohorts) is "Tables N and N+1", titled with both captions. The CSVs the
    bulletin does not show follow as supporting tables "Table S1", "Table S2", ... in the order of ``titles``,
    then by name, titled from ``titles`` (else from the file name).
    """
    shown: dict[str, list[tuple[int, str]]] = {}
    for block in document.numbered(blocks):
        if isinstance(block, document.Table) and block.source in tables:
            found = CAPTION_NUMBER.fullmatch(block.caption)
            if found is not None:
                shown.setdefault(block.source, []).append((int(found.group(1)), found.group(2)))
    supporting = [name for name in titles if name in tables and name not in shown]
    supporting += sorted(name for name in tables if name not in shown and name not in supporting)
    out = []
    for name, captions in shown.items():
        numbers = _numbers_in_words([number for number, _caption in captions])
        words = "; ".join(caption for _number, caption in captions)
        out.append(_sheet(name, numbers[:SHEET_NAME_LENGTH], f"{numbers}: {words}", tables[name], numbers))
    for index, name in enumerate(supporting, start=1):
        stem = name.removesuffix(".csv")
        caption = titles.get(name, stem.replace("_", " ").capitalize())
        out.append(_sheet(name, f"Table S{index}", f"Table S{index}: {caption}", tables[name], ""))
    return out


def _sheet(name: str, sheet: str, title: str, frame: pl.DataFrame, shown: str) -> SheetTable:
    return SheetTable(
        sheet=sheet,
        title=title,
        source=f"Source: tables/{name}, the same table with unrounded values and the column names of the Column "
        "names worksheet.",
        frame=frame,
        csv=name,
        shown=shown,
    )


# ------------------------------------------------------------------------------------ the bulletin's workbook
def extract_date_words(source: str) -> str:
    """Where the extract date came from (``ValidatedInputs.extract_date_source``), in words."""
    if source == "--extract-date":
        return "given with --extract-date when the bulletin was made"
    if source == "--as-at":
        return "the date the bulletin was made as at (--as-at, or as_at in [inputs]): later records left out"
    if source.startswith("latest conviction_date"):
        return "the latest conviction date in the data"
    return source.replace("[inputs] extract_date", "the extract_date of the [inputs] section")


def period_covered(bulletin: Bulletin) -> str:
    """The cohorts the sheets hold, first to last, in words and codes, with which are final and which are
    provisional estimates: worked out from the tables' cohort columns, so the Cover says what the sheets do."""
    facts, period = bulletin.facts, bulletin.params.period
    known = set(facts["complete_cohorts"]) | set(facts.get("incomplete_cohorts") or ())
    present = sorted(
        {
            str(label)
            for frame in bulletin.tables.values()
            for name in COHORT_COLUMNS
            if name in frame.columns
            for label in frame[name].drop_nulls().cast(pl.String).unique().to_list()
            if str(label) in known
        }
    )
    if not present:
        return "No cohort."
    first, last = present[0], present[-1]
    complete = [c for c in present if c in set(facts["complete_cohorts"])]
    when = (
        f"in {text.cohort_words(first, period)}" if first == last else text.cohort_span(first, last, period)
    )  # one cohort is one period: "in July to September 2023", never "2022Q1 to 2022Q1"
    words = f"People released from custody {when} ({_cohorts(present)})."
    if complete:
        words += f" Final figures for {_cohorts(complete)}"
        words += "." if len(complete) == 1 else f", the latest {text.cohort_words(complete[-1], period)}."
    provisional = [c for c in present if c in set(facts.get("provisional_cohorts") or ())]
    if provisional:
        words += (
            f" Provisional estimates for {_cohorts(provisional)}, whose follow-up is not yet complete (not final "
            "figures)."
        )
    listed = [c for c in present if c not in complete and c not in provisional]
    if listed:
        are = "is" if len(listed) == 1 else "are"
        words += f" T{_cohorts(listed)[1:]} {are} listed without figures (follow-up not complete)."
    return words


def _cohorts(labels: Sequence[str]) -> str:
    """Cohorts as the sheets' cohort column shows them: "the cohort 2023Q3", "the cohorts 2022Q1 to 2023Q3"."""
    return f"the cohort {labels[0]}" if len(labels) == 1 else f"the cohorts {labels[0]} to {labels[-1]}"


def notes(bulletin: Bulletin) -> list[tuple[str, str]]:
    """The Notes sheet: the shorthand, the rounding and the column names, the intervals."""
    return [
        (
            SHORTHAND,
            "Confidential: suppressed to protect the people in small groups (see Disclosure control on the Cover "
            "worksheet). The Figures withheld column marks a withheld row with [c], whatever the reason.",
        ),
        (NOT_AVAILABLE, "Not available: a ratio with a zero denominator, or a test that cannot be run."),
        (
            NOT_APPLICABLE,
            "Not applicable: the figure does not exist for the row (no one in the group was released in that "
            "cohort; a figure of the previous bulletin for a cohort it did not publish; a payment step not "
            "reached; a bound or category that only some rows have).",
        ),
        (
            "Rounding",
            "Numbers are rounded to the places shown: rates and shares are percentages to one decimal place, "
            "changes in percentage points and per cent to one decimal place, counts whole numbers, reoffences "
            "per offender and ratios to two decimal places, p-values to three (below 0.001 shown as <0.001). "
            "Totals and rates worked out from rounded figures can differ slightly from those shown.",
        ),
        (
            "Column names",
            "The columns are titled in words with their units. The CSV files under tables/ hold the same tables "
            "with unrounded values and machine column names (such as cohort_size and binary_rate); the Column "
            "names worksheet gives each title's CSV name, and docs/output-dictionary.md its definition.",
        ),
        (
            "Intervals",
            f"Intervals are {100 * bulletin.params.confidence:g}% Wilson score intervals; changes between "
            "cohorts use Newcombe's hybrid score interval.",
        ),
    ]


def cover(bulletin: Bulletin) -> list[tuple[str, str]]:
    """The Cover sheet's (heading, text) pairs: what the tables are, the period of the sheets, the source and
    where its extract date came from, the publication furniture under the bulletin's title, disclosure."""
    config, facts = bulletin.config, bulletin.facts
    publication = config.publication
    extracted = facts.get("extract_date")
    when = text.long_date(dt.date.fromisoformat(extracted)) if extracted else "on an unknown date"
    rows = [
        ("About these tables", f"The tables of the bulletin: {config.title}. " + bulletin.document.subtitle),
        ("Period covered", period_covered(bulletin)),
        (
            "Source",
            f"{bulletin.inputs['releases']['rows']:,} release records and {bulletin.inputs['convictions']['rows']:,} "
            f"conviction records, extracted {when} (the extract date: "
            f"{extract_date_words(str(facts.get('extract_date_source', '')))}).",
        ),
    ]
    rows += [(term, value) for term, value in bulletin.document.meta if term != "Period covered"]
    rows.append(("Disclosure control", config.disclosure.describe()))
    if publication.revisions:
        rows.append(("Revisions", publication.revisions))
    if publication.methodology_url:
        rows.append(("Methodology", publication.methodology_url))
    if config.publisher:
        rows.append(("Publisher", config.publisher))
    rows.append(
        (
            "Rounding and column names",
            "Numbers here are rounded to the places shown and columns are titled in words; the CSV files hold "
            "the unrounded values under machine column names (see the Notes and Column names worksheets).",
        )
    )
    return rows


def workbook(bulletin: Bulletin, supporting_titles: Mapping[str, str]) -> bytes:
    """``tables.ods`` of a bulletin: every CSV of ``tables/`` as one sheet (:func:`sheet_tables`), after the
    Cover, Contents, Notes and Column names sheets."""
    titles = {name: SUPPORTING_TITLES.get(name, "") for name in SUPPORTING_TITLES} | dict(supporting_titles)
    labels = bulletin.config.labels
    if bulletin.facts.get("establishment_column"):  # as the bulletin words its caption: the cohort in words
        latest = text.cohort_words(bulletin.facts["latest_cohort"], bulletin.params.period)
        by = labels.name(bulletin.facts["establishment_column"])
        titles["establishments.csv"] = f"Proven reoffending by {by}, {latest}"
    titles = {name: title for name, title in titles.items() if title}
    sheets = sheet_tables(labelled_tables(bulletin), bulletin.document.blocks, titles)
    # the revisions say which table each figure was published in by its title, as the sheets name it
    titled = {sheet.csv: sheet.title for sheet in sheets}
    sheets = [
        replace(sheet, frame=in_words(sheet.csv, bulletin.tables[sheet.csv], labels, titled))
        if sheet.csv == "revisions.csv"
        else sheet
        for sheet in sheets
    ]
    return ods_bytes(sheets, cover(bulletin), notes(bulletin), bulletin.config.title, labels)


def labelled_tables(bulletin: Bulletin) -> dict[str, pl.DataFrame]:
    """The tables with their categories in words, as the bulletin's text and HTML tables show them ("Female", not
    "F"; "Public order", not "public_order"): a breakdown's column and the establishments'. The CSVs keep the
    codes, for machines (the Cover and Notes say so)."""
    labels = bulletin.config.labels
    out = dict(bulletin.tables)
    for name, frame in bulletin.tables.items():
        stem = name.removesuffix(".csv")
        column = stem.removeprefix("breakdown_") if stem.startswith("breakdown_") else None
        if name == "establishments.csv":
            column = bulletin.facts.get("establishment_column")
        if column and column in frame.columns and frame.schema[column] == pl.String:
            out[name] = frame.with_columns(
                pl.Series(column, [labels.value(column, v) for v in frame[column]], pl.String)
            )
    return {name: in_words(name, frame, labels) for name, frame in out.items()}


def _mapped(frame: pl.DataFrame, column: str, words: Callable[[str], str]) -> pl.DataFrame:
    """``column``'s non-empty values through ``words`` (an empty cell stays empty: its shorthand is decided later)."""
    if column not in frame.columns or frame.schema[column] != pl.String:
        return frame
    return frame.with_columns(pl.Series(column, [None if v is None else words(v) for v in frame[column]], pl.String))


def capitalised(words: str) -> str:
    return words[:1].upper() + words[1:]


# codes of the tables in the HTML's words (issue 26 review, item 6): the establishments' verdicts
# (chartrules.VERDICTS), the matched table's scope, the models and the backtest's bands
VERDICT_WORDS = {code: capitalised(words) for code, words in VERDICTS.items()}
SCOPE_WORDS = {"pooled": "All cohorts", "cohort": "One cohort"}
POOLED_COHORT = "All cohorts"
MODEL_WORDS = {"binary": "Proven reoffending rate", "frequency": "Reoffences per offender"}
OUTCOME_WORDS = {"reoffended": "Whether a person reoffended", "reoffences": "Number of proven reoffences"}
MODEL_FAMILY_WORDS = {
    "binary": "Logistic regression: the chance that a person reoffends, from their characteristics",
    "frequency": "Negative binomial regression: the number of reoffences a person commits, from their "
    "characteristics, allowing the numbers to vary more than their average would suggest",
}
PROPENSITY = "Propensity score (the modelled chance of being in the treated group, on the log-odds scale)"


def _band_words(band: str) -> str:
    """A backtest band in words: "6+" is "6 or more", "12-14" is "12 to 14"."""
    if band.endswith("+"):
        return f"{band[:-1]} or more"
    return band.replace("-", " to ")


def in_words(name: str, frame: pl.DataFrame, labels: Labels, titles: Mapping[str, str] | None = None) -> pl.DataFrame:
    """The codes of one table in words, as the bulletin's HTML says them (never "similar", "pooled", "F").

    ``titles`` (csv name to its sheet's title) words the revisions' ``table`` column; without it the column is
    left as it is (:func:`workbook` words it once the sheets are numbered)."""
    if name == "establishments.csv":
        for column in ("compared_unadjusted", "compared_with_all"):
            frame = _mapped(frame, column, lambda code: VERDICT_WORDS.get(code, code))
    elif name == "comparison_matched.csv" and "scope" in frame.columns:
        pooled = frame["scope"] == "pooled"
        frame = frame.with_columns(
            pl.when(pooled).then(pl.lit(POOLED_COHORT)).otherwise(pl.col("cohort")).alias("cohort")
        )
        frame = _mapped(frame, "scope", lambda code: SCOPE_WORDS.get(code, code))
    elif name == "comparison_matched_balance.csv":
        covariates = frame["covariate"].to_list()
        frame = frame.with_columns(
            pl.Series(
                "level",
                [
                    None if level is None else labels.value(covariate, level)
                    for covariate, level in zip(covariates, frame["level"].to_list(), strict=True)
                ],
                pl.String,
            ),
            pl.Series(
                "covariate",
                [PROPENSITY if c.startswith("propensity") else column_title(c, labels) for c in covariates],
                pl.String,
            ),
        )
    elif name == "comparison_adjusted_models.csv":
        models = frame["model"].to_list()
        frame = frame.with_columns(
            pl.Series("description", [MODEL_FAMILY_WORDS.get(m, "") or None for m in models], pl.String)
        )
        frame = _mapped(frame, "model", lambda code: MODEL_WORDS.get(code, code))
        frame = _mapped(frame, "outcome", lambda code: OUTCOME_WORDS.get(code, code))
    elif name == "provisional_backtest.csv":
        frame = _mapped(frame, "months_observed_band", _band_words)
    elif name == "revisions.csv":
        for column in frame.columns:
            if column not in ("table", "cohort", "reason", SUPPRESSED) and frame.schema[column] == pl.String:
                frame = _mapped(frame, column, partial(labels.value, column))
        frame = _mapped(frame, "reason", capitalised)
        if titles is not None:
            frame = _mapped(frame, "table", lambda csv: titles.get(csv) or plain_words(csv.removesuffix(".csv")))
    if "status" in frame.columns and name == "provisional.csv":
        frame = _mapped(frame, "status", capitalised)
    return frame
