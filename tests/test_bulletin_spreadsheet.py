"""tables.ods read back with an independent reader (python-calamine, Rust's calamine) and checked cell by cell
against the CSVs, and against the Analysis Function's spreadsheet conventions (reoffend/bulletin/spreadsheet.py)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import polars as pl
import pytest

from reoffend.bulletin import columns
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


# the empty cells that are "not applicable" ([z]), not "not available" ([x]) (issue 26 review, item 6), by hand:
# a payment step not reached, the bound only the pooled row has, a numeric covariate's category, a count
# model's AUC, an open band's most, a cohort in follow-up's final figures
NOT_APPLICABLE = {
    "comparison_baseline.csv": {"schedule_step_pp", "schedule_payment"},
    "comparison_matched.csv": {"binary_rosenbaum_gamma"},
    "comparison_matched_balance.csv": {"level"},
    "comparison_adjusted_models.csv": {"auc"},
    "provisional_backtest.csv": {"months_max"},
    "provisional.csv": {"binary_rate", "binary_rate_low", "binary_rate_high", "events_per_100",
                        "reoffences_per_offender"},
}  # fmt: skip
# codes the spreadsheet words as the HTML does (issue 26 review, item 6): never "similar", "pooled" or "all"
WORDED = {
    ("establishments.csv", "compared_unadjusted"): {
        "similar": "Not significantly different", "lower": "Significantly lower", "higher": "Significantly higher"
    },
    ("comparison_matched.csv", "scope"): {"pooled": "All cohorts", "cohort": "One cohort"},
    ("comparison_matched.csv", "cohort"): {"all": "All cohorts"},
    ("comparison_adjusted_models.csv", "model"): {
        "binary": "Proven reoffending rate", "frequency": "Reoffences per offender"
    },
    ("comparison_adjusted_models.csv", "outcome"): {
        "reoffended": "Whether a person reoffended", "reoffences": "Number of proven reoffences"
    },
    ("comparison_matched_balance.csv", "covariate"): {
        "age": "Age (years)", "sex": "Sex", "sentence_months": "Sentence length (months)",
        "prior_convictions": "Previous convictions", "index_offence": "Offence at index release",
        "propensity score (logit)":
            "Propensity score (the modelled chance of being in the treated group, on the log-odds scale)",
    },
}  # fmt: skip
WORDED[("establishments.csv", "compared_with_all")] = WORDED[("establishments.csv", "compared_unadjusted")]
# words with no code in them, checked by what they leave out
PLAIN = {("comparison_adjusted_models.csv", "description")}


def expected(text: str | None, row: dict[str, str | None], column: str, dtype: pl.DataType, csv: str = "") -> object:
    """What the spreadsheet cell must hold for the CSV cell ``text`` (read as text) of a ``dtype`` column: the
    shorthand for an empty cell, else the value rounded to the places its format shows."""
    if text is None:
        if column == "suppressed":
            return "no"  # published: [z] means "not applicable" only
        if row.get("suppressed") is not None:
            return "[c]"
        if column in NOT_APPLICABLE.get(csv, ()):
            return "[z]"
        # the days to first reoffence of a published group are withheld when too few people reoffended
        days = column in ("mean_days_to_first", "median_days_to_first")
        return "[c]" if days and (row.get("reoffenders") or "0") not in ("0", "") else "[x]"
    if dtype == pl.Boolean:
        return "Yes" if text == "true" else "No"  # words, never TRUE/FALSE (issue 26, item 3)
    if not dtype.is_numeric():
        return text
    number_format = columns.column(column).format
    value = int(text) if dtype.is_integer() else float(text)
    return float(number_format.round(value) if number_format else value)


LABELS = parse_config(str(SAMPLE / "job.toml")).labels


def labelled_column(csv: str) -> str | None:
    """The column a sheet shows in words (a breakdown's, the establishments'): its CSV keeps the codes."""
    if csv.startswith("breakdown_"):
        return csv.removeprefix("breakdown_").removesuffix(".csv")
    return "establishment" if csv == "establishments.csv" else None


def test_categories_are_words_in_the_spreadsheet_and_codes_in_the_csv(folder, workbook):
    # review of issue 26: "F"/"M" and "public_order" were codes in tables.ods, words in the bulletin
    sheet = rows_of(workbook, sheets_by_csv(workbook)["breakdown_sex.csv"])
    assert {row[1] for row in sheet[4:]} <= {"Female", "Male", "Not recorded"}
    assert set(pl.read_csv(folder / "tables" / "breakdown_sex.csv")["sex"].drop_nulls()) <= {"F", "M"}


def sheets_by_csv(workbook) -> dict[str, str]:
    """Each table sheet's CSV, read from its source line (row 3)."""
    out = {}
    for name in workbook.sheet_names[4:]:
        source = rows_of(workbook, name)[2][0]
        out[re.match(r"Source: tables/(\S+?\.csv)", source).group(1)] = name
    return out


def test_every_csv_is_a_sheet_and_every_cell_matches(folder, workbook):
    csvs = sorted(p.name for p in (folder / "tables").glob("*.csv"))
    by_csv = sheets_by_csv(workbook)
    assert sorted(by_csv) == csvs
    checked = 0
    for name in csvs:
        frame = pl.read_csv(folder / "tables" / name, infer_schema_length=0)  # every column as text
        schema = pl.read_csv(folder / "tables" / name, infer_schema_length=None).schema  # and its type
        sheet = rows_of(workbook, by_csv[name])
        title, one_table, source, header, *data = sheet
        assert title[0] and all(v == "" for v in title[1:])  # the title alone in A1
        assert "one table" in one_table[0] and source[0].startswith(f"Source: tables/{name}")
        assert header == [columns.column(c).title for c in frame.columns]
        assert len(data) == frame.height  # no blank rows, nothing below the table
        for written, row in zip(data, frame.iter_rows(named=True), strict=True):
            for column, value in zip(frame.columns, written, strict=True):
                want = expected(row[column], row, column, schema[column], name)
                if labelled_column(name) == column:  # categories in words, as the bulletin shows them
                    want = LABELS.value(column, row[column])
                if (name, column) in WORDED and row[column] is not None:
                    want = WORDED[name, column].get(row[column], row[column])
                if name == "comparison_matched_balance.csv" and column == "level" and row[column] is not None:
                    want = LABELS.value(row["covariate"], row[column])  # "F" is "Female", as in the breakdowns
                    assert value not in ("F", "M", "public_order")
                if (name, column) in PLAIN:
                    assert not re.search(r"statsmodels|mu\^2|\bmu\b", value), value
                    continue
                if isinstance(want, float):
                    assert isinstance(value, float | int) and not isinstance(value, bool), (name, column, value)
                    assert value == want, (name, column, value, want)
                else:
                    assert value == want, (name, column, value, want)
                checked += 1
    assert checked > 5000
    # the suppressed cells of the sample are [c] in the spreadsheet
    establishments = rows_of(workbook, by_csv["establishments.csv"])
    assert any(row[3] == "[c]" for row in establishments[4:])


def test_headers_are_words_with_units(folder, workbook):
    """Every column of every table sheet is headed in words (no machine name such as cohort_size), and the
    Column names sheet gives each title's CSV name."""
    names = {row[1]: row[0] for row in rows_of(workbook, "Column names")[3:]}
    for sheet in workbook.sheet_names[4:]:
        header = rows_of(workbook, sheet)[3]
        for title in header:
            assert title and "_" not in title and (" " in title or title[0].isupper()), (sheet, title)
    trend = rows_of(workbook, sheets_by_csv(workbook)["trend.csv"])[3]
    assert "Number of people released" in trend and "Proven reoffending rate (%)" in trend
    assert names["cohort_size"] == "Number of people released" and names["binary_rate"] == "Proven reoffending rate (%)"
    csv_columns = {c for p in (folder / "tables").glob("*.csv") for c in pl.read_csv(p, n_rows=0).columns}
    assert set(names) == csv_columns
    # no published column falls back to its machine name made into words: each has a title in columns.py
    assert csv_columns - {"sex", "age"} <= set(columns.COLUMNS)


def test_header_cells_wrap_within_their_column(folder):
    """The header row of every table sheet (row 4) is bold and wraps within its column, so a long title is
    read whole rather than cut off by the next header."""
    ns = {
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
        "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    }
    with zipfile.ZipFile(folder / "tables.ods") as archive:
        content = ET.fromstring(archive.read("content.xml"))
    wrapping = {
        style.get(f"{{{ns['style']}}}name")
        for style in content.iter(f"{{{ns['style']}}}style")
        for cell in style.iter(f"{{{ns['style']}}}table-cell-properties")
        if cell.get(f"{{{ns['fo']}}}wrap-option") == "wrap"
    }
    sheets = [t for t in content.iter(f"{{{ns['table']}}}table") if t.get(f"{{{ns['table']}}}name").startswith("Table")]
    assert sheets
    for sheet in sheets:
        header = sheet.findall(f"{{{ns['table']}}}table-row")[3]
        for cell in header.findall(f"{{{ns['table']}}}table-cell"):
            assert cell.get(f"{{{ns['table']}}}style-name") in wrapping, sheet.get(f"{{{ns['table']}}}name")


def test_numbers_are_numeric_with_a_number_format(folder):
    """Every number of a table sheet is stored as a number (float or percentage) with the cell style of its
    column's format: proportions as percentages (0.0%), counts with thousands separators (#,##0); the styles
    are defined (styles.xml) with those number formats; 1,892 released is shown "1,892", 54.8% as "54.8%"."""
    ns = {
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
        "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    }

    def q(tag: str) -> str:
        prefix, name = tag.split(":")
        return f"{{{ns[prefix]}}}{name}"

    with zipfile.ZipFile(folder / "tables.ods") as archive:
        content = ET.fromstring(archive.read("content.xml"))
        styles = ET.fromstring(archive.read("styles.xml"))
    data_style = {s.get(q("style:name")): s.get(q("style:data-style-name")) for s in styles.iter(q("style:style"))}
    percentage_styles = {s.get(q("style:name")) for s in styles.iter(q("number:percentage-style"))}
    grouping = {
        s.get(q("style:name"))
        for s in styles.iter(q("number:number-style"))
        for n in s.iter(q("number:number"))
        if n.get(q("number:grouping")) == "true" and n.get(q("number:decimal-places")) == "0"
    }
    counted = {"percentage": 0, "float": 0}
    for table in content.iter(q("table:table")):
        name = table.get(q("table:name"))
        if name in ("Cover", "Contents", "Notes", "Column names"):
            continue
        rows = list(table.iter(q("table:table-row")))
        header = ["".join(c.itertext()) for c in rows[3]]
        for row in rows[4:]:
            for title, cell in zip(header, row, strict=True):
                kind = cell.get(q("office:value-type"))
                if kind not in ("float", "percentage"):
                    continue
                counted[kind] += 1
                style = cell.get(q("table:style-name"))
                assert style in data_style, (name, title, style)  # every number has a number format
                shown = "".join(cell.itertext())
                if kind == "percentage":
                    assert data_style[style] in percentage_styles and title.endswith("(%)"), (name, title)
                    assert re.fullmatch(r"-?[\d,]+\.\d%", shown), (name, title, shown)
                    assert float(cell.get(q("office:value"))) == round(float(cell.get(q("office:value"))), 3)
                if title.startswith("Number of people released"):
                    assert data_style[style] in grouping and re.fullmatch(r"\d{1,3}(,\d{3})*", shown), shown
    assert counted["percentage"] > 500 and counted["float"] > 1000


def test_sheets_follow_the_bulletins_table_numbers(folder, workbook):
    """The bulletin's Table N (its caption in index.html, with the CSV under it) is on the sheet named for it:
    "Table N", or "Tables N and N+1" when one CSV holds both; sheets are in the bulletin's order; the CSVs the
    bulletin does not show follow as "Table S1", "Table S2", ..."""
    page = (folder / "index.html").read_text()
    shown = re.findall(r"<caption>Table (\d+): .*?</caption>.*?href=\"tables/([^\"]+)\"", page)
    assert shown and [int(n) for n, _csv in shown] == list(range(1, len(shown) + 1))
    by_csv = sheets_by_csv(workbook)
    numbers: dict[str, list[int]] = {}
    for number, csv in shown:
        numbers.setdefault(csv, []).append(int(number))
    for csv, found in numbers.items():
        words = (
            f"Table {found[0]}"
            if len(found) == 1
            else "Tables " + ", ".join(map(str, found[:-1])) + f" and {found[-1]}"
        )
        assert by_csv[csv] == words
        assert rows_of(workbook, words)[0][0].startswith(f"{words}: ")
    sheets = workbook.sheet_names[4:]
    numbered = sheets[: len(numbers)]
    assert [int(re.search(r"\d+", s).group()) for s in numbered] == sorted(n[0] for n in numbers.values())
    assert sheets[len(numbers) :] == [f"Table S{i}" for i in range(1, len(sheets) - len(numbers) + 1)]
    contents = rows_of(workbook, "Contents")
    assert [row[0] for row in contents[5:]] == sheets


def test_cover_contents_and_notes(workbook):
    assert workbook.sheet_names[:4] == ["Cover", "Contents", "Notes", "Column names"]
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
        "Rounding and column names",
    ):
        assert heading in cover, heading
    assert cover[cover.index("Published") + 1] == "30 April 2026"
    assert "the latest conviction date in the data" in cover[cover.index("Source") + 1]
    contents = rows_of(workbook, "Contents")
    assert contents[2] == ["Sheet name", "Table title", "In the bulletin"]
    assert [row[0] for row in contents[3:]] == workbook.sheet_names[2:]
    notes = {row[0]: row[1] for row in rows_of(workbook, "Notes")[3:]}
    assert {"[c]", "[x]", "[z]", "Rounding", "Column names"} <= set(notes) and "Confidential" in notes["[c]"]
    assert "machine column names" in notes["Column names"]


def test_contents_links_each_sheet(folder, workbook):
    """Each sheet name on the Contents sheet is a link to cell A1 of that sheet (#'Table 1'.A1), as the
    guidance asks of a contents page; a quote in a name is doubled."""
    from reoffend.bulletin.spreadsheet import sheet_link_target

    assert sheet_link_target("Tables 2 and 3") == "#'Tables 2 and 3'.A1"
    assert sheet_link_target("It's") == "#'It''s'.A1"
    ns_table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    ns_text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    ns_xlink = "http://www.w3.org/1999/xlink"
    with zipfile.ZipFile(folder / "tables.ods") as archive:
        content = ET.fromstring(archive.read("content.xml"))
    contents = next(t for t in content.iter(f"{{{ns_table}}}table") if t.get(f"{{{ns_table}}}name") == "Contents")
    links = [
        (link.text, link.get(f"{{{ns_xlink}}}href"))
        for row in contents.findall(f"{{{ns_table}}}table-row")[3:]
        for link in row.find(f"{{{ns_table}}}table-cell").iter(f"{{{ns_text}}}a")
    ]
    assert links == [(name, f"#'{name}'.A1") for name in workbook.sheet_names[2:]]


def test_cover_period_is_the_sheets_cohorts(workbook):
    """The Cover's period runs from the first to the last cohort any sheet holds (the pooled row's "all" is
    not a cohort)."""
    cohorts = set()
    for sheet in workbook.sheet_names[4:]:
        header, *data = rows_of(workbook, sheet)[3:]
        for title in ("Cohort", "Current cohort", "Baseline cohort", "Earlier cohort"):
            if title in header:
                cohorts |= {
                    row[header.index(title)]
                    for row in data
                    if re.fullmatch(r"\d{4}Q[1-4]", str(row[header.index(title)]))
                }
    cover = [row[0] for row in rows_of(workbook, "Cover")]
    period = cover[cover.index("Period covered") + 1]
    assert f"(the cohorts {min(cohorts)} to {max(cohorts)})" in period, period


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


@pytest.mark.parametrize("where", ["config", "option"])
def test_extract_date_source_says_where_the_date_came_from(tmp_path, where):
    """extract_date_source (manifest facts, parameters.csv, the Cover) names the config's [inputs] extract_date
    when the date came from there, and --extract-date only when the option gave it (it said --extract-date for
    both)."""
    import datetime as dt

    from reoffend.bulletin import spreadsheet
    from reoffend.bulletin.build import compute_bulletin

    job = (SAMPLE / "job.toml").read_text()
    for name in ("releases.csv", "convictions.csv", "excluded_offences.txt"):
        job = job.replace(f'"{name}"', f'"{SAMPLE / name}"')
    if where == "config":
        job = job.replace("[inputs]\n", "[inputs]\nextract_date = 2025-12-31\n")
    (tmp_path / "job.toml").write_text(job)
    option = dt.date(2025, 12, 31) if where == "option" else None
    bulletin = compute_bulletin(parse_config(str(tmp_path / "job.toml")), extract_date=option)
    want = "[inputs] extract_date in job.toml" if where == "config" else "--extract-date"
    assert bulletin.facts["extract_date_source"] == want
    parameters = dict(bulletin.tables["parameters.csv"].iter_rows())
    assert parameters["extract_date_source"] == want
    source = dict(spreadsheet.cover(bulletin))["Source"]
    assert "extracted 31 December 2025" in source
    assert ("[inputs] section" in source) if where == "config" else ("--extract-date" in source)


def test_true_and_false_are_words(folder, workbook):
    """Issue 26, item 3: the cohorts sheet showed TRUE/FALSE (ODS booleans); a reader gets "Yes" or "No"."""
    sheet = rows_of(workbook, sheets_by_csv(workbook)["cohorts.csv"])
    header, *data = sheet[3:]
    for title in ("Follow-up complete", "Data cover only part of the period"):
        assert {row[header.index(title)] for row in data} <= {"Yes", "No"} and data
    assert 'office:value-type="boolean"' not in zipfile.ZipFile(folder / "tables.ods").read("content.xml").decode()


def test_a_one_cohort_cover_says_the_one_period_in_words():
    """Issue 26, item 3: the Cover said "2022Q1 to 2022Q1" for a bulletin of one cohort."""
    from types import SimpleNamespace

    from reoffend.bulletin.spreadsheet import period_covered

    one = SimpleNamespace(
        facts={"complete_cohorts": ["2022Q1"], "incomplete_cohorts": [], "provisional_cohorts": []},
        params=SimpleNamespace(period="quarter"),
        tables={"trend.csv": pl.DataFrame({"cohort": ["2022Q1"]})},
    )
    words = period_covered(one)
    assert words == (
        "People released from custody in January to March 2022 (the cohort 2022Q1). "
        "Final figures for the cohort 2022Q1."
    )
    assert "2022Q1 to 2022Q1" not in words
    two = SimpleNamespace(
        facts={"complete_cohorts": ["2022Q1", "2022Q2"], "incomplete_cohorts": ["2022Q3"], "provisional_cohorts": []},
        params=SimpleNamespace(period="quarter"),
        tables={
            "trend.csv": pl.DataFrame({"cohort": ["2022Q1", "2022Q2"]}),
            "cohorts.csv": pl.DataFrame({"cohort": ["2022Q3"]}),
        },
    )
    assert period_covered(two) == (
        "People released from custody between January 2022 and September 2022 (the cohorts 2022Q1 to 2022Q3). "
        "Final figures for the cohorts 2022Q1 to 2022Q2, the latest April to June 2022. The cohort 2022Q3 is "
        "listed without figures (follow-up not complete)."
    )


def test_headers_use_the_configs_column_titles(tmp_path):
    """Issue 26, item 3: a [labels.columns] title is the sheet's header, as it is the HTML table's; a column
    without one keeps the dictionary's title with its unit."""
    from reoffend.bulletin.labels import Labels
    from reoffend.bulletin.spreadsheet import SheetTable, ods_bytes

    frame = pl.DataFrame({"establishment": ["A"], "cohort_size": [12]})
    data = ods_bytes(
        [SheetTable("Table 1", "Table 1: t", "source", frame)], [], [], "T", Labels(columns={"establishment": "Prison"})
    )
    (tmp_path / "t.ods").write_bytes(data)
    book = calamine.CalamineWorkbook.from_path(str(tmp_path / "t.ods"))
    assert rows_of(book, "Table 1")[3] == ["Prison", columns.column("cohort_size").title]
    names = rows_of(book, "Column names")
    assert ["Prison", "establishment", "Table 1"] in names


def test_the_revisions_sheet_is_in_words_with_z_for_another_tables_groups():
    """Three hand-made revisions rows: the trend's (no sex: [z], withheld or not), a breakdown's by sex ("F"
    is "Female") and a completed cohort's (no previous figure: [z]); the table named by its title."""
    from reoffend.bulletin.labels import Labels
    from reoffend.bulletin.spreadsheet import cell_values, group_keys, in_words, not_applicable_columns

    frame = pl.DataFrame(
        {
            "table": ["trend.csv", "breakdown_sex.csv", "trend.csv"],
            "cohort": ["2023Q1", "2023Q1", "2023Q3"],
            "sex": [None, "F", None],
            "index_offence": [None, None, None],
            "previous_cohort_size": [100, 40, None],
            "cohort_size": [100, 40, 120],
            "previous_binary_rate": [0.40, None, None],
            "binary_rate": [0.41, None, 0.5],
            "reason": ["late convictions", None, "cohort completed"],
            "suppressed": [None, "[c]", None],
        }
    )
    titles = {"trend.csv": "Table 1: Proven reoffending by cohort"}
    worded = in_words("revisions.csv", frame, Labels(values={"sex": {"F": "Female"}}), titles)
    cells = list(
        cell_values(worded, not_applicable_columns("revisions.csv", worded), group_keys("revisions.csv", worded))
    )
    assert cells[0][:4] == ["Table 1: Proven reoffending by cohort", "2023Q1", "[z]", "[z]"]
    assert cells[0][-2] == "Late convictions"
    assert cells[1][:4] == ["Breakdown sex", "2023Q1", "Female", "[z]"]  # a table this bulletin lacks: in words
    assert cells[1][6:8] == ["[c]", "[c]"]  # withheld figures stay [c]
    assert cells[2][4] == "[z]" and cells[2][6] == "[z]"  # no previous figure of a completed cohort
    assert "[x]" not in {c for row in cells for c in row}
