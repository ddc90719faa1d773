"""The bulletin in the house style of official statistics (issue 26 item 3; docs/bulletin.md, "House style").

Words, not codes (``[labels]``), the change since a year earlier first and set against the series, no tool
furniture in the text, one minus sign, counts and nouns that agree, and the furniture of official statistics
from ``[publication]``. The sample bulletin (data/sample/job.toml: every furniture key and some labels) is built
once in memory; the config errors run on the hand-worked fixture of tests/test_bulletin_cli.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reoffend import __version__
from reoffend.bulletin.build import Bulletin, compute_bulletin
from reoffend.bulletin.config import STATUSES, parse_config
from reoffend.bulletin.document import (
    Bullets,
    Definitions,
    Document,
    Figure,
    Heading,
    KeyFigures,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from reoffend.bulletin.labels import Labels, plain_words
from reoffend.bulletin.text import MINUS, cohort_span, cohort_words, minus
from reoffend.report.format import counted, number, plural

from .test_bulletin_cli import BASELINE, NO_DISCLOSURE, write_job

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample() -> Bulletin:
    return compute_bulletin(parse_config(str(SAMPLE / "job.toml")))


def prose(document: Document) -> str:
    """Every sentence of the bulletin that is not a table cell: what a reader reads as text."""
    out = [document.subtitle, document.footer, *(value for _term, value in document.meta)]
    for block in document.blocks:
        if isinstance(block, Heading | Paragraph):
            out.append(block.text)
        elif isinstance(block, Bullets):
            out += list(block.items)
        elif isinstance(block, KeyFigures):
            out += [f"{f.value} {f.label} {f.detail}" for f in block.figures]
        elif isinstance(block, Definitions):
            out += [f"{term}: {text}" for term, text in block.items]
        elif isinstance(block, Figure):
            out += [block.caption, block.alt]
        elif isinstance(block, Table):
            out.append(block.caption)
    return "\n".join(out)


def table(document: Document, source: str, caption_part: str = "") -> Table:
    return next(
        b
        for b in document.blocks
        if isinstance(b, Table) and b.source == source and caption_part in b.caption  # the first such
    )


# ---------------------------------------------------------------------------------------------- labels
def test_the_default_label_is_the_code_in_words():
    assert plain_words("criminal_damage") == "Criminal damage"
    assert plain_words("EST042") == "EST042" and plain_words("18 to 20") == "18 to 20"
    labels = Labels(columns={"sentence_months": "Sentence length"}, values={"sex": {"F": "Female"}})
    assert labels.value("sex", "F") == "Female" and labels.value("sex", "M") == "M"
    assert labels.value("sex", None) == "Not recorded"
    assert labels.title("sentence_months") == "Sentence length" and labels.name("sentence_months") == "sentence length"
    assert labels.title("index_offence") == "Offence at index release"  # a built-in title of a canonical column
    assert labels.title("area_code") == "Area code" and Labels(columns={"x": "PNC code"}).name("x") == "PNC code"


def test_labels_are_applied_to_tables_text_and_charts(sample):
    document = sample.document
    by_sex = table(document, "breakdown_sex.csv", "Proven reoffending by sex,")
    assert by_sex.columns[0] == "Sex" and [row[0] for row in by_sex.rows] == ["Female", "Male"]
    assert table(document, "breakdown_sex.csv", "and cohort").columns[1:] == ["Female", "Male"]
    offences = table(document, "breakdown_index_offence.csv", "Proven reoffending by offence")
    assert offences.columns[0] == "Offence at index release"
    shown = {row[0] for row in offences.rows}
    assert {"Public order", "Motoring offences", "Burglary"} <= shown and "public_order" not in shown
    headings = [b.text for b in document.blocks if isinstance(b, Heading)]
    assert "By sentence length (months)" in headings and "By previous convictions" in headings
    text = prose(document)
    assert "(Female)" in text or "Female:" in text
    # the charts: labels on the axis, the title in words (the SVG is the chart's text)
    svg = sample.figures["breakdown_sex"][1].decode()
    assert "Female" in svg and "by sex" in svg
    svg = sample.figures["breakdown_sentence_months"][1].decode()
    assert "sentence length (months)" in svg and "sentence_months" not in svg
    # the data keep the codes
    assert set(sample.tables["breakdown_sex.csv"]["sex"].drop_nulls()) == {"F", "M"}


def test_an_unknown_label_column_is_an_error_naming_the_nearest(tmp_path, cli):
    job = write_job(tmp_path, extra='[labels.columns]\nestablishmnt = "Prison"\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "[labels.columns] establishmnt" in err and "did you mean 'establishment'?" in err
    assert "line 9" in err and not (tmp_path / "out").exists()
    job = write_job(tmp_path, extra='[labels.establishmnt]\nE1 = "HMP One"\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2 and "[labels.establishmnt]" in err and "did you mean 'establishment'?" in err


def test_a_label_for_a_value_no_release_has_is_an_error_naming_the_nearest(tmp_path, cli):
    job = write_job(tmp_path, extra='[labels.establishment]\nE11 = "HMP One"\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 65, err  # as a --where value no release has (docs/data.md, value-not-found)
    assert "[labels.establishment] E11" in err and "did you mean E1" in err and "E1, E2" in err


def test_a_label_is_some_text(tmp_path, cli):
    job = write_job(tmp_path, extra='[labels.establishment]\nE1 = ""\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2 and "[labels.establishment] E1" in err and "empty value" in err


def test_an_establishment_label_reaches_the_table_and_the_chart(tmp_path, cli):
    job = write_job(
        tmp_path,
        extra='[labels.establishment]\nE1 = "HMP One"\n[labels.columns]\nestablishment = "Prison"\n',
        disclosure=NO_DISCLOSURE,
        extract_date="2024-12-31",
    )
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    page = (tmp_path / "out" / "index.html").read_text()
    assert "Latest cohort by prison" in page
    assert "HMP One" in (tmp_path / "out" / "figures" / "establishments.svg").read_text()
    assert pl.read_csv(tmp_path / "out" / "tables" / "establishments.csv")["establishment"].to_list().count("E1") == 1


def test_the_compared_group_is_named_by_its_labels_and_the_sign_is_the_tables(tmp_path, cli):
    extra = BASELINE + '[labels.columns]\nestablishment = "Prison"\n[labels.establishment]\nE2 = "HMP Two"\n'
    job = write_job(tmp_path, extra=extra, extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    text = (tmp_path / "out" / "bulletin.md").read_text()
    assert "## Against the baseline: HMP Two" in text and "The proven reoffending rate of prison HMP Two" in text
    # one sign convention (issue 26 item 1): the table's "Change (points)" is current minus baseline
    assert "a fall is negative" in text and "reduction is shown as a positive" not in text
    parameters = dict(pl.read_csv(tmp_path / "out" / "tables" / "parameters.csv").rows())
    assert parameters["baseline_site"] == "E2"  # the data keep the code


# ------------------------------------------------------------------------------------------- the lead
def test_the_change_since_a_year_earlier_leads_set_against_the_series(sample):
    points = next(b for b in sample.document.blocks if isinstance(b, Bullets)).items
    latest = sample.facts["latest_cohort"]
    year = next(r for r in sample.tables["changes.csv"].iter_rows(named=True) if r["comparison"] != "previous cohort")
    earlier = cohort_words(year["earlier_cohort"], "quarter")
    assert points[1].startswith(f"Compared with the same cohort a year earlier, {earlier}")
    assert points[2].startswith("Over the whole series, the cohorts released between January 2022 and December 2023")
    trend = sample.tables["trend.csv"]
    low, high = trend["binary_rate"].min(), trend["binary_rate"].max()
    assert f"{100 * low:.1f}%" in points[2] and f"{100 * high:.1f}%" in points[2]
    # the previous cohort is not a main point: it is in the trend section
    assert not any("previous cohort" in p for p in points)
    trend_text = [b.text for b in sample.document.blocks if isinstance(b, Paragraph)]
    assert any(t.startswith("Compared with the previous cohort") for t in trend_text)
    assert cohort_words(latest, "quarter") == "October to December 2023"


def test_cohorts_in_words():
    assert cohort_words("2024Q2", "quarter") == "April to June 2024"
    assert cohort_words("2023", "year") == "the year 2023"
    assert cohort_span("2022", "2023", "year") == "between 2022 and 2023"


# ------------------------------------------------------------------------------------- no tool furniture
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# "a manifest" in About is provenance, in words; "manifest.json" would be a file name
FILE_NAME = re.compile(r"\.(csv|json|ods|png|svg|toml|txt|parquet)\b|tables/|figures/")


def test_no_iso_date_file_name_version_or_column_name_in_the_text(sample):
    text = prose(sample.document)
    assert not ISO_DATE.search(text), ISO_DATE.search(text)
    assert not FILE_NAME.search(text), FILE_NAME.search(text)
    assert __version__ not in text and not re.search(r"\breoffend\b (\d|docs)", text)
    assert not re.search(r"\d{4}Q[1-4]", text)  # cohorts in words in the text (the tables keep the codes)
    releases = pl.read_csv(SAMPLE / "releases.csv", n_rows=1).columns
    named = [c for c in releases if "_" in c and re.search(rf"(?<!\w){c}(?!\w)", text)]
    assert not named, named
    # the rendered pages: a table's data link names the table, not its file
    markdown = to_markdown(sample.document)
    assert "Source: `tables/" not in markdown and "[Download Table 1 as a CSV file](tables/trend.csv)" in markdown
    html = to_html(sample.document)
    assert ">tables/trend.csv<" not in html and "Produced with" not in html


def test_counts_and_nouns_agree():
    assert counted(1, "release") == "1 release" and counted(2031, "release") == "2,031 releases"
    assert counted(0, "establishment") == "0 establishments" and plural(1, "is", "are") == "is"
    assert counted(1, "person", "people") == "1 person" and counted(3, "person", "people") == "3 people"


def test_the_text_has_no_pluralising_shortcuts_or_disagreeing_counts(sample):
    text = prose(sample.document)
    assert "(s)" not in text
    assert not re.search(r"(?<![\d.,])1 (releases|establishments|groups|cohorts|records|are|were)\b", text)


def test_one_minus_sign_in_the_text_and_the_figures_of_tables(sample):
    text = prose(sample.document)
    assert MINUS in text  # the sample has falls
    assert not re.search(r"(?<![\w.,/:=@-])-\d", text)
    for block in sample.document.blocks:
        if isinstance(block, Table):
            numeric = list(block.numeric) or [False] * len(block.columns)
            for row in block.rows:
                for value, is_number in zip(row, numeric, strict=True):
                    assert not (is_number and re.search(r"(?<![\w.,/:=@-])-\d", value)), (block.caption, value)
    assert minus("-4.8 to +1.3; 2023-24; EST-1; 2024-06-30") == f"{MINUS}4.8 to +1.3; 2023-24; EST-1; 2024-06-30"


# ---------------------------------------------------------------------------------------------- furniture
def test_each_furniture_section_is_there_from_the_config(sample):
    config = parse_config(str(SAMPLE / "job.toml")).publication
    document = sample.document
    anchors = [b.anchor for b in document.blocks if isinstance(b, Heading)]
    for anchor in ("things-to-know", "data-quality", "glossary", "status", "pre-release", "contact", "about"):
        assert anchor in anchors, anchor
    assert anchors[-1] == "about"  # provenance last
    assert anchors.index("things-to-know") == anchors.index("main-points") + 1
    text = prose(document)
    assert STATUSES["Official statistics in development"] in text
    assert config.pre_release in text and config.data_source in text
    assert ("Responsible statistician", config.statistician) in list(document.meta)
    definitions = {
        term: words for block in document.blocks if isinstance(block, Definitions) for term, words in block.items
    }
    assert definitions["Responsible statistician"] == config.statistician
    assert definitions["Press enquiries"] == config.press_office
    assert "proxy for actual reoffending" in text and "mix" in text
    assert "Holm" in definitions["Adjustment for multiple testing"]
    assert {"AUC (area under the curve)", "Pseudo R-squared", "Standardised mean difference"} <= set(definitions)
    html = to_html(document)
    assert f'<a href="mailto:{config.feedback_email}">{config.feedback_email}</a>' in html


def test_official_statistics_must_have_their_furniture(tmp_path, cli):
    extra = '[publication]\nstatus = "official statistics"\nstatistician = "A. Person"\n'
    job = write_job(tmp_path, extra=extra, extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "[publication] status" in err and "press_office, pre_release, feedback_email, data_source" in err


def test_management_information_leaves_out_what_it_was_not_given(tmp_path, cli):
    job = write_job(
        tmp_path, extra='[publication]\nstatus = "Management information"\n', disclosure=NO_DISCLOSURE,
        extract_date="2024-12-31",
    )  # fmt: skip
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    page = (tmp_path / "out" / "index.html").read_text()
    assert STATUSES["Management information"] in page and 'id="things-to-know"' in page
    assert 'id="pre-release"' not in page and 'id="contact"' not in page and 'id="data-quality"' in page


def test_an_unknown_status_is_an_error_naming_the_nearest(tmp_path, cli):
    job = write_job(tmp_path, extra='[publication]\nstatus = "Official statistic"\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2 and "did you mean 'Official statistics'?" in err


@pytest.mark.parametrize("address", ["javascript:alert(1)", "not an address", "a@b", "<a@b.org>"])
def test_a_feedback_address_must_be_an_email(tmp_path, cli, address):
    job = write_job(tmp_path, extra=f'[publication]\nfeedback_email = "{address}"\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2 and "[publication] feedback_email: expected an e-mail address" in err


def test_config_text_is_data_in_both_pages(tmp_path, cli):
    hostile = "<img src=x onerror=alert(1)> [x](https://evil.example) **bold**"
    extra = (
        f'[publication]\nstatus = "Management information"\npress_office = "{hostile}"\n'
        f'feedback_email = "mailto:stats@example.org"\n[labels.establishment]\nE1 = "{hostile}"\n'
    )
    job = write_job(tmp_path, extra=extra, disclosure=NO_DISCLOSURE, extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    page = (tmp_path / "out" / "index.html").read_text()
    assert "<img src=x" not in page and 'href="https://evil' not in page and "&lt;img src=x" in page
    assert '<a href="mailto:stats@example.org">stats@example.org</a>' in page
    markdown = (tmp_path / "out" / "bulletin.md").read_text()
    assert "<img" not in markdown and "](https://evil" not in markdown and "**bold**" not in markdown


# ------------------------------------------------------------------------------------------- properties
@settings(deadline=None)  # a shared machine: timing is not what is tested
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(0, 3))
def test_the_minus_sign_changes_the_sign_only(value, decimals):
    """A signed figure keeps its value and its sign: only a sign's hyphen-minus becomes U+2212 (-4.8 -> −4.8)."""
    written = minus(number(value, decimals, signed=True))
    assert "-" not in written and written.count(MINUS) <= 1
    assert float(written.replace(MINUS, "-").replace(",", "")) == float(number(value, decimals).replace(",", ""))


@settings(deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_a_default_label_is_words_and_a_configured_one_wins(code):
    """The default rule never yields an empty label or an underscore, and a configured label is shown as given."""
    assume(" ".join(code.replace("_", " ").split()))  # a code with some word in it
    shown = Labels().value("column", code)
    assert shown and "_" not in shown and shown.endswith(" ".join(code.replace("_", " ").split())[1:])
    assert Labels(values={"column": {code: "Given"}}).value("column", code) == "Given"


def test_words_replace_codes_in_a_links_text_never_in_its_address():
    # review of the change: a methodology address holding a cohort code became ".../July to September 2023/..."
    # and, no longer a safe address, was printed as plain text
    from reoffend.bulletin.document import Document, Paragraph, link, replace_text, to_html

    url = "https://example.org/2023Q3/method"
    document = Document("t", "s", [Paragraph("See " + link("the 2023Q3 method", url) + " for 2023Q3.")])
    changed = replace_text(document, lambda text: text.replace("2023Q3", "July to September 2023"))
    html = to_html(changed)
    assert f'href="{url}"' in html
    assert "the July to September 2023 method" in html and "for July to September 2023." in html
