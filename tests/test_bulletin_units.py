"""The bulletin's pieces on their own: cohort labels, the change test, completeness, the court lag, rendering and
the atomic folder, with hand-worked values and properties."""

from __future__ import annotations

import datetime as dt
import math
import re

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats import proportion as sm_proportion

from reoffend.bulletin.document import Document, Figure, Heading, Paragraph, Table, strong, to_html, to_markdown
from reoffend.bulletin.folder import write_folder
from reoffend.bulletin.stats import cohort_completeness, court_lag, proportion_change, year_earlier
from reoffend.errors import UsageError
from reoffend.intervals import score_difference_interval
from reoffend.measure import MeasureParams

from .conftest import convictions_frame, releases_frame, validated


@pytest.mark.parametrize(
    ("label", "period", "expected"),
    [
        ("2023Q4", "quarter", "2022Q4"),
        ("2000Q1", "quarter", "1999Q1"),
        ("2024-02", "month", "2023-02"),
        ("2024", "year", "2023"),
        ("2023-24", "financial-year", "2022-23"),
        ("2000-01", "financial-year", "1999-00"),
        ("custom", "quarter", None),
        ("2023Q5", "quarter", None),
    ],
)
def test_year_earlier(label, period, expected):
    assert year_earlier(label, period) == expected


def test_proportion_change_hand_worked():
    # 480/1000 against 530/1000: difference -0.05; pooled p = 1010/2000 = 0.505,
    # se = sqrt(0.505 * 0.495 * (2/1000)) = 0.022360; z = -0.05/0.022360 = -2.2361; two-sided p = 0.02535
    change = proportion_change((480, 1000), (530, 1000), 0.95)
    assert change["difference"] == pytest.approx(-0.05)
    se = math.sqrt(0.505 * 0.495 * 2 / 1000)
    assert change["p_value"] == pytest.approx(math.erfc(0.05 / se / math.sqrt(2)), rel=1e-9)
    assert change["p_value"] == pytest.approx(0.02535, abs=5e-5)
    assert change["difference_low"] < -0.05 < change["difference_high"] < 0


def test_proportion_change_without_variation_has_no_test():
    change = proportion_change((0, 10), (0, 12), 0.95)
    assert change["difference"] == 0 and change["p_value"] is None
    assert proportion_change((0, 0), (1, 2), 0.95)["difference"] is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels' ratio statistics with a zero count
@settings(max_examples=60, deadline=None)
@given(
    n1=st.integers(5, 3000),
    n0=st.integers(5, 3000),
    f1=st.floats(0, 1),
    f0=st.floats(0, 1),
    confidence=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_proportion_change_agrees_with_statsmodels(n1, n0, f1, f0, confidence):
    x1, x0 = round(f1 * n1), round(f0 * n0)
    assume(x1 + x0 not in (0, n1 + n0))
    change = proportion_change((x1, n1), (x0, n0), confidence)
    low, high = score_difference_interval([x1], [n1], [x0], [n0], confidence)
    p_value = sm_proportion.test_proportions_2indep(x1, n1, x0, n0, method="score", correction=False).pvalue
    # the interval is the score interval that inverts the pooled z test whose p the bulletin prints
    assert change["difference_low"] == pytest.approx(low[0], abs=1e-12)
    assert change["difference_high"] == pytest.approx(high[0], abs=1e-12)
    assert change["p_value"] == pytest.approx(p_value, rel=1e-6, abs=1e-12)
    excludes_zero = change["difference_low"] > 0 or change["difference_high"] < 0
    assert excludes_zero == (change["p_value"] < 1 - confidence)


def tiny_inputs(extract: str):
    releases = releases_frame(
        [
            {"offender_id": "A", "release_date": "2022-01-10", "establishment": "E1"},
            {"offender_id": "A", "release_date": "2022-03-30", "establishment": "E1"},  # not A's index release
            {"offender_id": "B", "release_date": "2022-02-01", "establishment": "E2"},
            {"offender_id": "C", "release_date": "2022-04-05", "establishment": "E1"},
        ]
    )
    convictions = convictions_frame(
        [
            {"offender_id": "A", "offence_date": "2022-02-01", "conviction_date": "2022-02-10"},  # lag 0
            {"offender_id": "B", "offence_date": "2022-12-01", "conviction_date": "2023-04-15"},  # end 2023-02-01
        ]
    )
    return validated(releases, convictions, extract_date=dt.date.fromisoformat(extract))


def test_completeness_counts_every_release_not_only_index_releases():
    # extract 2023-09-29: deadlines (12 + 6 months): A 2023-07-10, A's second release 2023-09-30 (> 2023-09-30?
    # complete needs deadline <= extract + 1 = 2023-09-30: yes, complete), B 2023-08-01, C 2023-10-05 (not)
    table = cohort_completeness(tiny_inputs("2023-09-29"), MeasureParams())
    # the releases end in April 2022, so 2022Q2 is a partial period (the last column)
    assert table.rows() == [("2022Q1", 3, 0, True, False), ("2022Q2", 1, 1, False, True)]
    # one day earlier A's second release (not an index release) is still open, and so is 2022Q1
    table = cohort_completeness(tiny_inputs("2023-09-28"), MeasureParams())
    assert table.rows() == [("2022Q1", 3, 1, False, False), ("2022Q2", 1, 1, False, True)]


def test_court_lag_by_hand():
    # B's offence (follow-up ends 2023-02-01) convicted 2023-04-15: counted from a waiting period of 3 months
    # (deadline 2023-05-01), not 2 (2023-04-01). A's is convicted within the follow-up.
    inputs = tiny_inputs("2025-12-31")
    lag = court_lag(inputs, MeasureParams(), ["2022Q1"], 12)
    assert lag["reoffences"].to_list() == [1, 1, 1] + [2] * 10
    assert lag["share_of_reoffences"].to_list() == [0.5] * 3 + [1.0] * 10
    assert lag["cohort_size"].unique().to_list() == [2]  # A (index release only) and B


def test_court_lag_with_no_reoffences_has_null_shares():
    inputs = validated(
        releases_frame([{"offender_id": "A", "release_date": "2022-01-10", "establishment": "E1"}]),
        convictions_frame([]),
        extract_date=dt.date(2025, 1, 1),
    )
    lag = court_lag(inputs, MeasureParams(), ["2022Q1"], 2)
    assert lag["share_of_reoffences"].to_list() == [None, None, None]


def test_rendering_escapes_text_and_numbers_figures_and_tables():
    document = Document(
        title="A <b>title</b> & more",
        subtitle="sub",
        blocks=[
            Heading("One", anchor="one"),
            Paragraph(strong("bold") + " <script>alert(1)</script>"),
            Figure("f", "a chart", "alt <text>", b"\x89PNG"),
            Table("a table", ["x", "y|z"], [["1", "a|b"]], source="t.csv", numeric=[True, False]),
            Figure("g", "another", "alt"),
        ],
    )
    html = to_html(document)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>bold</strong>" in html and "A &lt;b&gt;title&lt;/b&gt; &amp; more" in html
    assert "Figure 1: a chart" in html and "Figure 2: another" in html and "Table 1: a table" in html
    assert 'href="#one"' in html
    markdown = to_markdown(document)
    assert "| 1 | a\\|b |" in markdown and "|---:|:---|" in markdown
    assert "![alt &lt;text>](figures/f.png)" in markdown and "*Figure 2: another*" in markdown
    assert "**bold** &lt;script>alert(1)&lt;/script>" in markdown


def test_write_folder_refuses_a_folder_that_is_not_a_bulletin(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a bulletin"):
        write_folder(keep, {"index.html": b"x"})
    assert (keep / "notes.txt").read_text() == "mine"


def test_write_folder_replaces_an_empty_folder_and_an_earlier_bulletin(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    manifest = b'{"reoffend_bulletin": 1, "files": {"tables/a.csv": {}}}'
    write_folder(target, {"manifest.json": manifest, "tables/a.csv": b"a\n1\n"})
    assert (target / "tables" / "a.csv").read_bytes() == b"a\n1\n"
    write_folder(target, {"manifest.json": b"{}", "index.html": b"new"})
    assert sorted(p.name for p in target.iterdir()) == ["index.html", "manifest.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing left beside it


def test_empty_frame_schema_for_changes():
    from reoffend.bulletin.stats import cohort_changes

    trend = pl.DataFrame({"cohort": ["2022Q1"], "cohort_size": [3], "reoffenders": [1], "binary_rate": [1 / 3]})
    changes = cohort_changes(trend.with_columns(events_per_100=pl.lit(50.0)), [], 0.95)
    assert changes.height == 0 and "difference_pp" in changes.columns


# ------------------------------------------------------------------ print furniture (issue 26, item 5)
def test_print_margins_number_and_date_every_page():
    """The @page margin boxes: "Page N of M" bottom right, "Published <date>" bottom left; no date, no box."""
    from reoffend.bulletin.document import print_margins

    dated = Document("T", "s", [], meta=[("Published", "30 April 2026")])
    css = print_margins(dated)
    assert css.startswith("@page {") and css.endswith("}")
    assert '@bottom-right { content: "Page " counter(page) " of " counter(pages);' in css
    assert '@bottom-left { content: "Published 30 April 2026";' in css
    assert "@bottom-left" not in print_margins(Document("T", "s", []))


@given(st.text(max_size=40))
def test_a_published_date_stays_data_in_the_css(published):
    """Whatever the furniture holds, it is one CSS string: no quote, backslash, angle bracket or control
    character of it reaches the style sheet raw (so ``</style>`` or ``"; } body {`` cannot end the rule)."""
    from reoffend.bulletin.document import css_string

    literal = css_string(published)
    inner = literal[1:-1]
    assert literal[0] == literal[-1] == '"'
    assert not any(ch in inner for ch in '"<>&\n\r') and all(ch.isascii() and ch.isprintable() for ch in inner)
    # every backslash starts a hexadecimal escape that ends in a space, and the escapes decode to the text
    decoded = re.sub(r"\\([0-9a-f]+) ", lambda m: chr(int(m.group(1), 16)), inner)
    assert decoded == published


def test_png_size_and_tall_figures():
    """png_size reads the IHDR width and height (here 3 x 7, hand-written); a figure taller than wide is
    marked "tall" (it may take a printed page), a wide one is not; anything not a PNG has no size."""
    from reoffend.bulletin.document import png_size

    header = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" + (3).to_bytes(4, "big") + (7).to_bytes(4, "big")
    assert png_size(header + b"\x08\x02\x00\x00\x00") == (3, 7)
    assert png_size(b"GIF89a" + bytes(30)) is None and png_size(b"") is None
    tall = Figure(name="tall", png=header, alt="a", caption="c")
    wide_header = header[:16] + (7).to_bytes(4, "big") + (3).to_bytes(4, "big")
    wide = Figure(name="wide", png=wide_header, alt="a", caption="c")
    page = to_html(Document("T", "s", [tall, wide]))
    assert '<figure id="figure-tall" class="tall">' in page and '<figure id="figure-wide">' in page
