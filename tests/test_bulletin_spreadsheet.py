"""tables.ods read back with an independent reader (python-calamine, Rust's calamine) and checked cell by cell
against the CSVs, and against the Analysis Function's spreadsheet conventions (reoffend/bulletin/spreadsheet.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin.build import build_bulletin
from reoffend.bulletin.config import parse_config

calamine = pytest.importorskip("python_calamine", reason="python-calamine (make install) reads the .ods back")

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("ods") / "bulletin"
    build_bulletin(parse_config(str(SAMPLE / "job.toml")), str(target))
    return target


@pytest.fixture(scope="module")
def workbook(folder):
    return calamine.CalamineWorkbook.from_path(str(folder / "tables.ods"))


def rows_of(workbook, name: str) -> list[list]:
    return workbook.get_sheet_by_name(name).to_python()


def expected(text: str | None, row: dict[str, str | None], column: str, dtype: pl.DataType) -> object:
    """What the spreadsheet cell must hold for the CSV cell ``text`` (read as text) of a ``dtype`` column."""
    if text is None:
        if column == "suppressed":
            return "no"  # published: [z] means "not applicable" only
        if row.get("suppressed") is not None:
            return "[c]"
        # the days to first reoffence of a published group are withheld when too few people reoffended
        days = column in ("mean_days_to_first", "median_days_to_first")
        return "[c]" if days and (row.get("reoffenders") or "0") not in ("0", "") else "[x]"
    if dtype == pl.Boolean:
        return text == "true"
    return float(text) if dtype.is_numeric() else text


def test_every_csv_is_a_sheet_and_every_cell_matches(folder, workbook):
    csvs = sorted(p.name for p in (folder / "tables").glob("*.csv"))
    assert sorted(f"{name}.csv" for name in workbook.sheet_names[3:]) == csvs
    checked = 0
    for name in csvs:
        frame = pl.read_csv(folder / "tables" / name, infer_schema_length=0)  # every column as text
        schema = pl.read_csv(folder / "tables" / name, infer_schema_length=None).schema  # and its type
        sheet = rows_of(workbook, name.removesuffix(".csv"))
        title, one_table, source, header, *data = sheet
        assert title[0] and all(v == "" for v in title[1:])  # the title alone in A1
        assert "one table" in one_table[0] and source[0].startswith(f"Source: tables/{name}")
        assert header == frame.columns
        assert len(data) == frame.height  # no blank rows, nothing below the table
        for written, row in zip(data, frame.iter_rows(named=True), strict=True):
            for column, value in zip(frame.columns, written, strict=True):
                want = expected(row[column], row, column, schema[column])
                if isinstance(want, float):
                    assert isinstance(value, float | int) and not isinstance(value, bool), (name, column, value)
                    assert value == want, (name, column, value, want)
                else:
                    assert value == want, (name, column, value, want)
                checked += 1
    assert checked > 5000
    # the suppressed cells of the sample are [c] in the spreadsheet
    establishments = rows_of(workbook, "establishments")
    assert any(row[3] == "[c]" for row in establishments[4:])


def test_cover_contents_and_notes(workbook):
    assert workbook.sheet_names[:3] == ["Cover", "Contents", "Notes"]
    cover = [row[0] for row in rows_of(workbook, "Cover")]
    assert cover[0].startswith("Proven reoffending statistics")
    for heading in (
        "About these tables",
        "Period covered",
        "Source",
        "Published",
        "Statistics status",
        "Contact",
        "Disclosure control",
    ):
        assert heading in cover, heading
    assert cover[cover.index("Published") + 1] == "30 April 2026"
    contents = rows_of(workbook, "Contents")
    assert contents[2] == ["Sheet name", "Table title"]
    assert [row[0] for row in contents[4:]] == workbook.sheet_names[3:]
    notes = {row[0]: row[1] for row in rows_of(workbook, "Notes")[3:]}
    assert {"[c]", "[x]", "[z]"} <= set(notes) and "Confidential" in notes["[c]"]


def test_no_merged_cells_and_fixed_zip_times(folder):
    with zipfile.ZipFile(folder / "tables.ods") as archive:
        content = archive.read("content.xml").decode()
        assert archive.namelist()[0] == "mimetype"
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "number-columns-spanned" not in content and "number-rows-spanned" not in content
    assert "covered-table-cell" not in content


def test_document_title_and_language_are_in_the_metadata(folder):
    import zipfile

    meta = zipfile.ZipFile(folder / "tables.ods").read("meta.xml").decode()
    title = next(line for line in (folder / "bulletin.md").read_text().splitlines() if line.startswith("# "))[2:]
    assert f"<dc:title>{title}</dc:title>" in meta and "<dc:language>en-GB</dc:language>" in meta
