"""``tables.ods``: the bulletin's tables as an accessible spreadsheet (docs/bulletin.md, "The spreadsheet").

Follows the Government Analysis Function's guidance "Releasing statistics in spreadsheets" (the conventions
ONS's gptables implements):

- a **Cover** sheet (title, what the tables are, period covered, source, publication dates, status, contact,
  disclosure rule), a **Contents** sheet (one row per table sheet) and a **Notes** sheet (the shorthand
  ``[c]``, ``[x]``, ``[z]`` and the notes the tables refer to);
- **one table per sheet**, its title in cell A1, a line saying the sheet holds one table and where its notes
  are, its source, then the table: one header row and the data, with no blank rows, no merged cells and
  nothing to the right of or below it;
- numbers stored as numbers (exact values, as in the CSVs), never as text; a cell with no value holds the
  shorthand: ``[c]`` for a figure suppressed for confidentiality (reoffend/disclosure.py), ``[x]`` for a
  figure not available (a ratio with a zero denominator, a test that cannot be run), ``[z]`` in the
  ``suppressed`` column of a published row (no reason applies).

Written with odfpy (a maintained OpenDocument library), the data rows as the XML odfpy would write for them
(:class:`RowsXml`); the ZIP entries get a fixed timestamp so that the same tables give byte-identical files.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import polars as pl
from odf import dc
from odf.element import Text, _quoteattr, _sanitize
from odf.namespaces import nsdict
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TableColumnProperties, TextProperties
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import P

from ..disclosure import SHORTHAND, SUPPRESSED
from .publication import DAYS_COLUMNS

NOT_AVAILABLE = "[x]"
NOT_APPLICABLE = "[z]"
# the suppressed column of a published row: a plain word. [z] means "not applicable" only (Analysis Function
# guidance), and nothing about a published row's suppression is inapplicable: it was checked and not withheld
PUBLISHED = "no"
LANGUAGE = "en-GB"
ONE_TABLE = "This worksheet contains one table. Shorthand in its cells is explained in the Notes worksheet."
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a ZIP can record: no build time in the file


@dataclass(frozen=True)
class SheetTable:
    """One table of the bulletin: its sheet name, title (cell A1), source line and data."""

    sheet: str
    title: str
    source: str
    frame: pl.DataFrame


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


def cell_values(frame: pl.DataFrame) -> Iterator[list[object]]:
    """:func:`cell_value` of every cell, row by row (read from the frame's rows at once, not cell by cell)."""
    suppressed = frame.columns.index(SUPPRESSED) if SUPPRESSED in frame.columns else None
    days = {frame.columns.index(c) for c in DAYS_COLUMNS if c in frame.columns}
    for values in frame.iter_rows():
        hidden = suppressed is not None and values[suppressed] is not None
        missing = SHORTHAND if hidden else NOT_AVAILABLE
        days_missing = SHORTHAND if hidden or (days and _days_withheld(frame.columns, values)) else NOT_AVAILABLE
        yield [
            value if value is not None else PUBLISHED if i == suppressed else days_missing if i in days else missing
            for i, value in enumerate(values)
        ]


def ods_bytes(
    tables: Sequence[SheetTable],
    cover: Sequence[tuple[str, str]],
    notes: Sequence[tuple[str, str]],
    title: str,
) -> bytes:
    """The ``.ods`` file: Cover, Contents, Notes, then one sheet per table."""
    doc = OpenDocumentSpreadsheet()
    # the document's title and language in its metadata, as the guidance asks (screen readers announce them)
    doc.meta.addElement(dc.Title(text=title))
    doc.meta.addElement(dc.Language(text=LANGUAGE))
    bold = Style(name="heading", family="table-cell")
    bold.addElement(TextProperties(fontweight="bold"))
    big = Style(name="title", family="table-cell")
    big.addElement(TextProperties(fontweight="bold", fontsize="14pt"))
    wide = Style(name="wide", family="table-column")
    wide.addElement(TableColumnProperties(columnwidth="6cm"))
    normal = Style(name="normal", family="table-column")
    normal.addElement(TableColumnProperties(columnwidth="3cm"))
    for style in (bold, big):
        doc.automaticstyles.addElement(style)
    for style in (wide, normal):
        doc.automaticstyles.addElement(style)

    def sheet(name: str, columns: int) -> Table:
        table = Table(name=name)
        table.addElement(TableColumn(stylename=wide))
        if columns > 1:
            table.addElement(TableColumn(stylename=normal, numbercolumnsrepeated=columns - 1))
        doc.spreadsheet.addElement(table)
        return table

    def row(table: Table, values: Sequence[object], style: Style | None = None) -> None:
        element = TableRow()
        for value in values:
            element.addElement(_cell(value, style))
        table.addElement(element)

    # -- cover
    sheet_cover = sheet("Cover", 1)
    row(sheet_cover, [title], big)
    for heading, text in cover:
        row(sheet_cover, [heading], bold)
        row(sheet_cover, [text])

    # -- contents
    contents = sheet("Contents", 2)
    row(contents, ["Table of contents"], big)
    row(contents, ["This worksheet contains one table."])
    row(contents, ["Sheet name", "Table title"], bold)
    row(contents, ["Notes", "Notes and the shorthand used in the tables"])
    for table in tables:
        row(contents, [table.sheet, table.title])

    # -- notes
    sheet_notes = sheet("Notes", 2)
    row(sheet_notes, ["Notes"], big)
    row(sheet_notes, ["This worksheet contains one table."])
    row(sheet_notes, ["Note", "Note text"], bold)
    for note, text in notes:
        row(sheet_notes, [note, text])

    # -- one table per sheet
    for table in tables:
        frame = table.frame
        sheet_table = sheet(table.sheet, max(frame.width, 1))
        row(sheet_table, [table.title], big)
        row(sheet_table, [ONE_TABLE])
        row(sheet_table, [table.source])
        row(sheet_table, list(frame.columns), bold)
        if frame.height:
            sheet_table.appendChild(RowsXml("".join(rows_xml(cell_values(frame)))))

    buffer = io.BytesIO()
    doc.write(buffer)
    return _fixed_times(buffer.getvalue())


class RowsXml(Text):
    """Table rows already written as the XML odfpy writes for them (:func:`rows_xml`), placed as they are.

    odfpy builds an object per row, cell and paragraph, checks each attribute and walks the tree again for the
    styles it uses: about a tenth of a second for the bulletin's 1M tables (bench/NOTES.md). The data rows
    carry no style, so writing them directly changes nothing else in the file (tests/test_fast_paths.py).
    """

    def toXml(self, level, f) -> None:
        f.write(self.data)


def rows_xml(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The XML of unstyled table rows, byte for byte what odfpy writes for rows of :func:`_cell` cells: its
    own escaping (``_sanitize`` for text, ``_quoteattr`` for attribute values), its attribute order, and an
    empty paragraph for an empty text (odfpy adds no text node for "")."""
    for values in rows:
        yield "<table:table-row>"
        for value in values:
            if isinstance(value, bool):
                text = "TRUE" if value else "FALSE"
                cell = f'"boolean" office:boolean-value="{text.lower()}"'
            elif isinstance(value, int | float):
                text = repr(value) if isinstance(value, float) else str(value)
                cell = f'"float" office:value={_quoteattr(text)}'
            else:
                text, cell = str(value), '"string"'
            paragraph = f"<text:p>{_sanitize(text)}</text:p>" if text else "<text:p/>"
            yield f"<table:table-cell office:value-type={cell}>{paragraph}</table:table-cell>"
        yield "</table:table-row>"


def _cell(value: object, style: Style | None) -> TableCell:
    if isinstance(value, bool):
        cell = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int | float):
        cell = TableCell(valuetype="float", value=repr(value) if isinstance(value, float) else str(value))
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        cell = TableCell(valuetype="string")
        text = str(value)
    if style is not None:
        cell.setAttribute("stylename", style)
    cell.addElement(P(text=text))
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


def sheet_tables(tables: Mapping[str, pl.DataFrame], titles: Mapping[str, str]) -> list[SheetTable]:
    """One :class:`SheetTable` per CSV, in a fixed order (the bulletin's order, then the rest by name)."""
    order = [name for name in titles if name in tables] + sorted(n for n in tables if n not in titles)
    out = []
    for name in order:
        stem = name.removesuffix(".csv")
        out.append(
            SheetTable(
                sheet=stem[:31],  # a sheet name has at most 31 characters
                title=titles.get(name, stem.replace("_", " ").capitalize()),
                source=f"Source: tables/{name} (the same values, with empty cells where this sheet has shorthand)",
                frame=tables[name],
            )
        )
    return out
