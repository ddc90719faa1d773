"""The bulletin as a publishable release: disclosure control, breakdowns, publication furniture, accessible charts
(docs/bulletin.md). The sample bulletin has [disclosure], [breakdowns] and [publication] set."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin import figures
from reoffend.bulletin.build import build_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.bulletin.text import cohort_words, long_date

from .test_bulletin_cli import write_job

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
JOB = SAMPLE / "job.toml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("publication") / "bulletin"
    build_bulletin(parse_config(str(JOB)), str(target))
    return target


# ------------------------------------------------------------------------------------------- words
def test_dates_and_cohorts_in_words():
    assert long_date(dt.date(2026, 4, 30)) == "30 April 2026"
    assert long_date(dt.date(2026, 5, 1)) == "1 May 2026"  # no leading zero, no ordinal
    assert cohort_words("2023Q4", "quarter") == "October to December 2023"
    assert cohort_words("2024Q1", "quarter") == "January to March 2024"
    assert cohort_words("2023-02", "month") == "February 2023"
    assert cohort_words("2023-24", "financial-year") == "April 2023 to March 2024"
    assert cohort_words("2023", "year") == "the year 2023"


# ------------------------------------------------------------------------------------ disclosure control
def test_defaults_suppress_a_tiny_bulletin(tmp_path):
    """With no [disclosure] section the conservative defaults apply: the 3- and 2-person cohorts are [c]."""
    job = write_job(tmp_path, disclosure="", extract_date="2024-12-31")
    target = tmp_path / "out"
    build_bulletin(parse_config(str(job)), str(target))
    trend = pl.read_csv(target / "tables" / "trend.csv")
    assert trend["suppressed"].to_list() == ["[c]", "[c]"]  # one mark, whatever the reason
    assert trend["reoffenders"].null_count() == 2 and trend["cohort_size"].to_list() == [3, 2]
    changes = pl.read_csv(target / "tables" / "changes.csv")
    assert changes["difference_pp"].null_count() == changes.height
    text = (target / "bulletin.md").read_text()
    assert (
        "The reoffending figures of the 2 people released from custody in April to June 2022 are withheld ([c])" in text
    )
    # 2 of 3 (66.7%) and 1 of 2 (50.0%) are never published, nor the change between them
    for secret in ("66.7", "50.0%", "16.7"):
        assert secret not in text
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["facts"]["disclosure"]["min_cohort"] == 10
    assert manifest["facts"]["disclosure"]["suppressed_rows"]["trend.csv"] == 2
    assert manifest["parameters"]["config"]["disclosure"] == {
        "min_cohort": 10,
        "min_count": 3,
        "protection": 3,
        "shorthand": "[c]",
        "secondary_suppression": True,
    }
    assert manifest["facts"]["disclosure"]["audit"]["passed"] is True


def test_sample_establishments_follow_the_rule(sample):
    rows = pl.read_csv(sample / "tables" / "establishments.csv")
    hidden = rows.filter(pl.col("suppressed").is_not_null())
    shown = rows.filter(pl.col("suppressed").is_null())
    assert hidden.height and shown.height
    # primary: every published establishment has 10+ releases and 3+ reoffenders and non-reoffenders
    assert (shown["cohort_size"] >= 10).all()
    assert (shown["reoffenders"] >= 3).all() and ((shown["cohort_size"] - shown["reoffenders"]) >= 3).all()
    assert set(rows.filter(pl.col("cohort_size") < 10)["suppressed"].to_list()) <= {"[c]"}
    assert (
        hidden["binary_rate"].null_count() == hidden.height
        and hidden["compared_with_all"].null_count() == hidden.height
    )
    summary = pl.read_csv(sample / "tables" / "establishment_summary.csv").row(0, named=True)
    assert summary["suppressed_establishments"] == hidden.height
    text = (sample / "bulletin.md").read_text()
    assert f"The figures of {hidden.height} establishments are suppressed ([c])" in text
    assert "To protect the people in small groups" in text and "fewer than 10 people released" in text


def test_no_comparison_names_a_suppressed_establishment_with_its_figures(sample):
    rows = pl.read_csv(sample / "tables" / "comparison_adjusted.csv")
    hidden = rows.filter(pl.col("suppressed").is_not_null())
    assert hidden.height and hidden["reoffenders"].null_count() == hidden.height
    assert set(hidden.filter(pl.col("cohort_size") < 10)["suppressed"]) == {"[c]"}
    text = (sample / "bulletin.md").read_text()

    def named_with_figures(unit: str) -> list[str]:
        """The lines naming ``unit`` other than a row of the table of every establishment that shows [c] for
        all its figures (its name and number released are shown, as in establishments.csv)."""
        out = []
        for line in text.splitlines():
            if not re.search(rf"\b{unit}\b", line):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not (line.startswith("|") and cells[0] == unit and all(c == "[c]" for c in cells[2:])):
                out.append(line)
        return out

    for unit in hidden["establishment"].to_list():
        assert not named_with_figures(unit), unit
    # the examples: EST031 (0 of 5) and EST038 (6 of 6) are not published
    assert not named_with_figures("EST031") and not named_with_figures("EST038")


# ---------------------------------------------------------------------------------------------- breakdowns
def test_breakdown_is_one_measure_call_away(sample, cli):
    status, out, err = cli(
        "measure",
        SAMPLE / "releases.csv",
        SAMPLE / "convictions.csv",
        "--exclude-offences",
        SAMPLE / "excluded_offences.txt",
        "--by",
        "cohort,age",
        "--band",
        "age=18,21,25,30,35,40,50",
        "--incomplete",
        "exclude",
        "--csv",
    )
    assert status == 0, err
    measured = pl.read_csv(io.StringIO(out), schema_overrides={"cohort": pl.String})
    written = pl.read_csv(sample / "tables" / "breakdown_age.csv", schema_overrides={"cohort": pl.String})
    assert written["age"].unique(maintain_order=True).to_list()[:2] == ["18 to 20", "21 to 24"]
    # every published cell is measure's; withheld rows ([c]) and days of too few reoffenders are empty
    assert written.select("cohort", "age", "cohort_size").equals(measured.select("cohort", "age", "cohort_size"))
    published = written["suppressed"].is_null()
    days = ["mean_days_to_first", "median_days_to_first"]
    shown = written.filter(published).drop("suppressed", *days)
    assert shown.equals(measured.filter(published).drop(*days))
    for column in days:
        both = written.select(column).hstack(measured.select(pl.col(column).alias("m"))).filter(published)
        kept = both.filter(pl.col(column).is_not_null())
        assert kept[column].equals(kept["m"].alias(column))
    # each cohort's bands add up to the cohort in the trend
    trend = pl.read_csv(sample / "tables" / "trend.csv", schema_overrides={"cohort": pl.String})
    sums = written.group_by("cohort").agg(pl.col("cohort_size").sum()).sort("cohort")
    assert sums["cohort_size"].to_list() == trend["cohort_size"].to_list()


def test_the_sample_configures_bands_it_can_publish_and_merges_nothing(sample):
    """Before issue 26 the sample withheld "48 or more" (a handful of people) and, by secondary suppression, a
    neighbour large enough to publish. Merging it away is for one-off releases only (docs/bulletin.md,
    "Disclosure control", rule 8: across releases a merge that differs gives a withheld count away), so the
    sample, a quarterly series, configures the bands it can publish ("24 or more") and nothing is withheld;
    where a breakdown still withholds rows, at least two go."""
    rows = pl.read_csv(sample / "tables" / "breakdown_sentence_months.csv", schema_overrides={"cohort": pl.String})
    assert set(rows["sentence_months"].drop_nulls()) == {"Under 6", "6 to 11", "12 to 23", "24 or more"}
    assert rows["suppressed"].null_count() == rows.height
    manifest = json.loads((sample / "manifest.json").read_text())
    assert manifest["facts"]["breakdown_bands"]["sentence_months"] == {
        "configured_bands": [6, 12, 24],
        "published_bands": [6, 12, 24],
    }
    assert manifest["facts"]["disclosure"]["audit"]["passed"]
    for path in (sample / "tables").glob("breakdown_*.csv"):
        table = pl.read_csv(path, schema_overrides={"cohort": pl.String})
        for (_cohort,), group in table.group_by(["cohort"]):
            hidden = group.filter(pl.col("suppressed").is_not_null())
            if hidden.height and hidden.height < group.height:
                assert hidden.height >= 2  # one alone could be recovered from the cohort's total
    html = (sample / "index.html").read_text()
    assert 'id="breakdown-sentence_months"' in html
    assert "joins configured bands" not in html


# ---------------------------------------------------------------------------------------------- furniture
def test_publication_furniture(sample):
    html = (sample / "index.html").read_text()
    for text in (
        "Published:</dt><dd>30 April 2026",
        "Next release:</dt><dd>30 July 2026",
        "Official statistics in development",
        "statistics@example.org",
        "Figures for earlier cohorts are revised",
        '<a href="https://www.example.org/proven-reoffending/methodology">',
        "October to December 2023",
    ):
        assert text in html, text
    params = pl.read_csv(sample / "tables" / "parameters.csv")
    values = dict(zip(params["parameter"], params["value"], strict=True))
    assert values["publication_published"] == "2026-04-30" and values["disclosure_min_cohort"] == "10"


def test_main_point_cards_do_not_repeat_the_first_bullet(sample):
    html = (sample / "index.html").read_text()
    cards = re.findall(r'<div class="keyfigure">(.*?)</div></div>', html)
    first = re.search(r'<ul class="bullets"><li>(.*?)</li>', html).group(1)
    assert len(cards) == 4

    def numbers(fragment: str) -> set[str]:
        words = re.sub("<[^>]+>", " ", fragment).replace(cohort_words("2023Q4", "quarter"), " ")
        return set(re.findall(r"\d[\d,.]*\d|\d", words.replace(cohort_words("2022Q4", "quarter"), " ")))

    card_numbers = {n for card in cards for n in numbers(card)}
    bullet_numbers = numbers(first)
    # the headline rate may be in both; the bullet's counts and interval are not repeated on a card
    assert len(card_numbers & bullet_numbers) <= 1, card_numbers & bullet_numbers


# ---------------------------------------------------------------------------------------------- charts
def contrast(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


def test_chart_colours_have_3_to_1_contrast_and_no_red_green_pair():
    for colour in figures.MEANINGFUL:
        assert contrast(colour) >= 3.0, colour
    assert contrast(figures.BAND) < 3.0  # the band's fill is never the only cue: its edges are drawn in MID
    assert contrast(figures.MID) >= 3.0
    assert "#00703c" not in figures.MEANINGFUL  # the former green against red


def test_svgs_have_title_and_a_desc_stating_the_finding(sample):
    for path in sorted((sample / "figures").glob("*.svg")):
        svg = path.read_text()
        title = re.search(r"<title id=\"chart-title\">(.*?)</title>", svg)
        desc = re.search(r"<desc id=\"chart-desc\">(.*?)</desc>", svg)
        assert title and desc, path.name
        assert re.search(r"\d", desc.group(1)), f"{path.name}: the description states no finding"
        assert 'role="img"' in svg
    html = (sample / "index.html").read_text()
    alts = re.findall(r'<img src="data:image/png;base64,[^"]*" alt="([^"]*)"', html)
    assert len(alts) == 9 and all(re.search(r"\d", alt) and "chart of" not in alt.lower() for alt in alts)
    assert '<th scope="row">2023Q4</th>' in html


def test_svg_labels_are_text_not_outlines(sample):
    svg = (sample / "figures" / "trend.svg").read_text()
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    assert "Proven reoffending rate by cohort" in texts and "cohort (period of release)" in texts
    assert "font-family: 'DejaVu Sans'" in svg and "sans-serif" in svg
    assert 'id="DejaVuSans-' not in svg  # no glyph drawn as a path


def test_a_suppressed_value_is_never_plotted(tmp_path):
    rows = pl.DataFrame(
        {
            "band": ["A", "B"],
            "binary_rate": [None, 0.5],
            "binary_rate_low": [None, 0.4],
            "binary_rate_high": [None, 0.6],
        }
    )
    _png, svg = figures.breakdown_chart(rows, "band", "2023Q4", 0.5, 0.95, "t", "d")
    # one marker (B) is drawn; A is labelled [c] on the axis (text is drawn as paths, so count the markers)
    assert svg.count(b'id="m') >= 1
    _png, svg_both = figures.breakdown_chart(
        rows.with_columns(
            pl.lit(0.5).alias("binary_rate"),
            pl.lit(0.4).alias("binary_rate_low"),
            pl.lit(0.6).alias("binary_rate_high"),
        ),
        "band",
        "2023Q4",
        0.5,
        0.95,
        "t",
        "d",
    )
    assert svg_both.count(b"<use ") > svg.count(b"<use ")


# ---------------------------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[disclosure]\nmin_cohort = -1\n", "[disclosure] min_cohort: expected a whole number at least 0"),
        ("[disclosure]\nthreshold = 5\n", "[disclosure] threshold: unknown key"),
        ('[breakdowns]\ncolumns = ["age"]\nbands = { age = [21, 18] }\n', "edges must increase strictly"),
        ('[breakdowns]\ncolumns = ["sex"]\nbands = { age = [18] }\n', "'age' is banded but not in columns"),
        ('[publication]\npublished = "soon"\n', "[publication] published: expected a date"),
    ],
)
def test_bad_publication_config_exit_2(tmp_path, cli, extra, message):
    job = write_job(tmp_path, extra=extra, disclosure="")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 2 and message in err, err


def test_breakdown_of_a_missing_column_is_a_usage_error(tmp_path, cli):
    job = write_job(tmp_path, extra='[breakdowns]\ncolumns = ["age"]\n', extract_date="2024-12-31")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 2 and "[breakdowns] columns" in err and "'age'" in err, err


def test_a_label_with_dollar_signs_is_drawn_as_written_not_as_mathtext():
    """matplotlib reads text between two '$' as mathtext: an establishment called '$\\foo{$' failed the
    bulletin (ValueError, exit 70) and '$x^2$' would have been drawn as a formula. Labels are drawn as written."""
    rows = pl.DataFrame(
        {
            "establishment": ["$\\foo{$", "$x^2$ & <b>"],
            "binary_rate": [0.4, 0.5],
            "binary_rate_low": [0.3, 0.4],
            "binary_rate_high": [0.5, 0.6],
            "compared_with_all": ["similar", "higher"],
        }
    )
    _png, svg = figures.establishment_chart(rows, "establishment", 0.45, "2023Q4", "t", "d")
    text = svg.decode()
    assert "$\\foo{$" in text and "$x^2$ &amp; &lt;b&gt;" in text
