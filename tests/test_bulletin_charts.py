"""The bulletin's charts and what it withholds, with judgement (issue 26, item 3; docs/bulletin.md "Charts",
"Breakdowns"): sparse end bands merged before withholding, and declared to the disclosure model; no chart of
fewer than two published points; a withheld cohort kept on a trend's axis, the line broken there; every
establishment in an accessible table beside a ranked chart; chart text legible on a phone.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.banding import band_inputs, merge_sparse_ends
from reoffend.bulletin import chartrules
from reoffend.bulletin.build import Bulletin, compute_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.bulletin.document import Figure, Paragraph, Table
from reoffend.bulletin.publication import Layout, audit_publication
from reoffend.disclosure import DisclosureRule
from reoffend.inputs import InputSpec, load_inputs
from reoffend.linked import Protection
from reoffend.synth import SynthParams, write

from .test_bulletin_story import sentences, unfound_numbers

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
RULE = DisclosureRule(min_cohort=10, min_count=3)


# ------------------------------------------------------------------------------ merging sparse end bands
def test_a_sparse_top_band_absorbs_the_band_below_it():
    # edges 6, 12, 24, 48: bands Under 6 | 6 to 11 | 12 to 23 | 24 to 47 | 48 or more
    # cohort A: "48 or more" has 4 people (< 10): it fails; merged with "24 to 47" it is 20 + 4 = 24 people,
    # 10 + 2 = 12 reoffenders, 12 not: it passes, so edge 48 goes and the top band is "24 or more".
    # cohort B has nobody in "48 or more" ([z], nothing to withhold): it does not decide anything.
    a = [(100, 50), (80, 40), (40, 20), (20, 10), (4, 2)]
    b = [(100, 50), (80, 40), (40, 20), (20, 10), (0, 0)]
    assert merge_sparse_ends((6, 12, 24, 48), [a, b], RULE.fails) == (6, 12, 24)


def test_the_top_band_absorbs_as_many_bands_as_it_needs():
    # "24 to 47" (5, 2) with "48 or more" (4, 2) is 9 people (< 10): still failing; with "12 to 23" too it is
    # 40 + 9 = 49 people, 24 reoffenders, 25 not: it passes, so edges 24 and 48 go ("12 or more").
    a = [(100, 50), (80, 40), (40, 20), (5, 2), (4, 2)]
    assert merge_sparse_ends((6, 12, 24, 48), [a], RULE.fails) == (6, 12)


def test_a_sparse_bottom_band_is_merged_too():
    # "Under 6" has 5 people: with "6 to 11" it is 85 people, 41 reoffenders: edge 6 goes ("Under 12")
    a = [(5, 1), (80, 40), (40, 20), (20, 10), (30, 10)]
    assert merge_sparse_ends((6, 12, 24, 48), [a], RULE.fails) == (12, 24, 48)


def test_bands_that_no_merge_can_save_keep_their_edges():
    # two bands, both failing: merging would leave one band, no breakdown at all; suppression does the rest
    assert merge_sparse_ends((6,), [[(5, 2), (4, 2)]], RULE.fails) == (6,)
    # a top band of 2 reoffenders out of 50 fails however far it is merged (every band has 0 or 1 reoffenders)
    assert merge_sparse_ends((1, 2), [[(50, 0), (50, 1), (50, 1)]], RULE.fails) == (1, 2)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda edges: st.tuples(
            st.just(tuple(range(10, 10 * (edges + 1), 10))),
            st.lists(
                st.lists(
                    st.integers(0, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
                    min_size=edges + 1,
                    max_size=edges + 1,
                ),
                min_size=1,
                max_size=3,
            ),
        )
    )
)
def test_merged_edges_drop_only_from_the_ends_and_a_merged_band_passes(case):
    edges, cohorts = case
    kept = merge_sparse_ends(edges, cohorts, RULE.fails)
    assert kept and edges[edges.index(kept[0]) : edges.index(kept[0]) + len(kept)] == kept  # a contiguous run

    def band(first: int, last: int, cohort: list[tuple[int, int]]) -> tuple[int, int]:
        return sum(n for n, _r in cohort[first : last + 1]), sum(r for _n, r in cohort[first : last + 1])

    if kept[-1] != edges[-1]:  # the top band merged: bands from kept[-1] up pass in every cohort
        first = edges.index(kept[-1]) + 1
        assert all(not (n and RULE.fails(n, r)) for n, r in (band(first, len(edges), c) for c in cohorts))
    if kept[0] != edges[0]:
        last = edges.index(kept[0])
        assert all(not (n and RULE.fails(n, r)) for n, r in (band(0, last, c) for c in cohorts))


# ------------------------------------------------------------------------------------------ bulletins
def _job(folder: Path, releases: int, cohorts: int, extract: dt.date | None, breakdowns: str) -> Bulletin:
    write(SynthParams(releases=releases, seed=26, cohorts=cohorts, extract_date=extract), folder, "csv")
    (folder / "job.toml").write_text(
        f"""title = "Charts test"
[inputs]
releases = "releases.csv"
convictions = "convictions.csv"
[measure]
follow_up = 12
waiting_period = 6
establishment = "establishment"
[disclosure]
min_cohort = 10
min_count = 3
[breakdowns]
{breakdowns}
"""
    )
    return compute_bulletin(parse_config(str(folder / "job.toml")))


@pytest.fixture(scope="module")
def bulletin(tmp_path_factory) -> Bulletin:
    folder = tmp_path_factory.mktemp("charts")
    bands = (
        'columns = ["sex", "sentence_months"]\nbands = { sentence_months = [6, 12, 24, 48] }\nmerge_sparse_bands = true'
    )
    return _job(folder, 8000, 10, dt.date(2025, 3, 31), bands)


@pytest.fixture(scope="module")
def one_cohort(tmp_path_factory) -> Bulletin:
    folder = tmp_path_factory.mktemp("one_cohort")
    return _job(folder, 400, 1, None, 'columns = ["sex"]')


def test_a_merged_band_is_published_as_the_sum_of_the_configured_bands_and_the_audit_holds(bulletin):
    facts = bulletin.facts["breakdown_bands"]["sentence_months"]
    assert facts == {"configured_bands": [6, 12, 24, 48], "published_bands": [6, 12]}
    rows = bulletin.tables["breakdown_sentence_months.csv"]
    assert set(rows["sentence_months"].drop_nulls()) == {"Under 6", "6 to 11", "12 or more"}
    # the merged band is declared to the disclosure model with the published edges, and the audit of what is
    # written passes (a band is the sum of the single values another table shows)
    layout = Layout.of(bulletin.facts["disclosure"]["layout"])
    (spec,) = layout.specs("breakdown_sentence_months.csv")
    assert spec.bands == (6, 12)
    report = audit_publication(bulletin.tables, layout, Protection.of(bulletin.config.disclosure))
    assert report.passed and bulletin.facts["disclosure"]["audit"]["passed"]
    # and the text says which band was merged, and why
    text = " ".join(sentences(bulletin.document))
    assert 'The top band, "12 or more", joins configured bands that had too few people to publish' in text


def test_the_merged_band_counts_every_release_of_the_configured_bands_it_joins(bulletin):
    # measured again with the configured edges: "12 to 23" + "24 to 47" + "48 or more" = "12 or more", cohort by
    # cohort (at 8,000 releases "24 to 47" with "48 or more" is still too small in some cohort)
    from reoffend.bulletin.build import measure_params
    from reoffend.bulletin.stats import restrict_cohorts
    from reoffend.measure import measure

    config = bulletin.config
    inputs = load_inputs(InputSpec(config.inputs.releases, config.inputs.convictions))
    params = measure_params(config)
    complete = bulletin.facts["complete_cohorts"]
    fine = measure(
        band_inputs(inputs, {"sentence_months": (6, 12, 24, 48)}),
        restrict_cohorts(params, complete, by=("cohort", "sentence_months")),
    ).rows.with_columns(pl.col("sentence_months").cast(pl.String))
    merged = bulletin.tables["breakdown_sentence_months.csv"].filter(pl.col("sentence_months") == "12 or more")
    summed = (
        fine.filter(pl.col("sentence_months").is_in(["12 to 23", "24 to 47", "48 or more"]))
        .group_by("cohort")
        .agg(pl.col("cohort_size").sum())
    )
    expected = dict(zip(summed["cohort"], summed["cohort_size"], strict=True))
    assert {r["cohort"]: r["cohort_size"] for r in merged.iter_rows(named=True)} == expected


def test_a_bulletin_of_one_cohort_has_no_one_point_chart_and_says_so(one_cohort):
    assert len(one_cohort.facts["complete_cohorts"]) == 1
    assert "trend" not in one_cohort.figures and "events_per_100" not in one_cohort.figures
    assert {"trend", "events_per_100"} <= set(one_cohort.facts["charts_left_out"])
    figures = [b for b in one_cohort.document.blocks if isinstance(b, Figure)]
    assert all(f.name not in ("trend", "events_per_100") for f in figures)
    said = [b.text for b in one_cohort.document.blocks if isinstance(b, Paragraph)]
    assert (
        sum("a chart is drawn only when at least 2 cohorts can be published, and only one can" in t for t in said) == 2
    )
    # no chart drawn has fewer than two published points, and no alt text repeats one value
    assert set(one_cohort.figures) <= {"establishments", "breakdown_sex", "court_lag"}
    for name in one_cohort.figures:
        points = {"establishments": one_cohort.tables["establishments.csv"]["binary_rate"]}.get(name)
        assert points is None or points.is_not_null().sum() >= 2
    for figure in figures:
        values = re.findall(r"\d+\.\d%", figure.alt)
        assert len(values) != 2 or values[0] != values[1], figure.alt
    # the text neither describes the chart left out nor gives the one cohort's figure twice as first and latest
    assert not any("shaded band" in t for t in said)
    over_time = [t for t in said if t.startswith(("The proven reoffending rate was", "The frequency measure"))]
    assert len(over_time) == 2 and "the only cohort in this bulletin with complete follow-up" in over_time[0]
    for paragraph in over_time:
        values = re.findall(r"\d+\.\d%?", paragraph)
        assert len(values) == len(set(values)) == 1, paragraph
    # the sentence's number is a published cell (the parameters table), as every number in the text
    assert not unfound_numbers(one_cohort)
    assert one_cohort.tables["parameters.csv"].filter(pl.col("parameter") == "chart_min_points")["value"][0] == "2"


def test_the_establishment_table_lists_every_establishment_with_c_for_withheld_rows(bulletin):
    published = bulletin.tables["establishments.csv"]
    (table,) = [
        b
        for b in bulletin.document.blocks
        if isinstance(b, Table) and b.caption.startswith("Proven reoffending by est")
    ]
    assert table.source == "establishments.csv" and "every establishment" in table.caption
    assert [row[0] for row in table.rows] == published["establishment"].to_list()
    rate = table.columns.index("Rate")
    verdict = table.columns.index("Compared with all releases (adjusted)")
    withheld = published["suppressed"].is_not_null().to_list()
    assert any(withheld) and not all(withheld)  # the check has both kinds of row
    for row, hidden, published_verdict in zip(table.rows, withheld, published["compared_with_all"], strict=True):
        if hidden:
            assert row[rate] == "[c]" and row[verdict] == "[c]"
        else:
            assert row[rate].endswith("%")
            expected = {"higher": "Significantly higher", "lower": "Significantly lower"}
            assert row[verdict] == expected.get(published_verdict, "Not significantly different")


def test_the_establishment_chart_ranks_and_keeps_every_significant_one(bulletin):
    published = bulletin.tables["establishments.csv"]
    shown = chartrules.establishment_chart_rows(published["binary_rate"].to_list(), published["compared_with_all"])
    rates = published["binary_rate"].to_list()
    assert sum(r is not None for r in rates) > 2 * chartrules.ESTABLISHMENTS_AT_EACH_END  # ranked here
    assert sum(shown) >= 2 * chartrules.ESTABLISHMENTS_AT_EACH_END
    # the 10 highest are the first 10 published rows (the table is highest first), and each significant one
    first = [i for i, r in enumerate(rates) if r is not None][: chartrules.ESTABLISHMENTS_AT_EACH_END]
    assert all(shown[i] for i in first)
    assert all(s for s, v in zip(shown, published["compared_with_all"], strict=True) if v in ("higher", "lower"))
    svg = bulletin.figures["establishments"][1].decode()
    names = set(re.findall(r">(EST\d+)<", svg)) or set(re.findall(r"(EST\d{3})", svg))
    assert names == {published["establishment"][i] for i, s in enumerate(shown) if s}
    left_out = sum(r is not None for r in rates) - sum(shown)
    assert f"{left_out:,} more: see the table" in svg
    # the legend names the verdict the text counts: after the adjustment for multiple testing (Holm)
    assert "after" in svg and "adjustment for multiple testing (Holm)" in svg


# ---------------------------------------------------------------------------------------- the trend chart
def test_a_withheld_cohort_stays_on_the_trend_axis_marked_and_the_line_is_broken_there():
    from reoffend.bulletin.figures import events_chart, trend_chart

    trend = pl.DataFrame(
        {
            "cohort": ["2022Q1", "2022Q2", "2022Q3", "2022Q4"],
            "binary_rate": [0.50, None, 0.52, 0.54],
            "binary_rate_low": [0.45, None, 0.47, 0.49],
            "binary_rate_high": [0.55, None, 0.57, 0.59],
            "events_per_100": [150.0, None, 160.0, 170.0],
        }
    )
    _png, svg = trend_chart(trend, 0.95)
    text = svg.decode()
    assert ">2022Q2<" in text  # the withheld cohort keeps its place on the axis ...
    marker = re.search(r'<g id="withheld-2022Q2">(.*?)</g>', text, re.S)
    assert marker and "[c]" in marker.group(1)  # ... marked [c]
    line = re.search(r'<g id="rate-line">\s*<path d="([^"]*)"', text, re.S)
    assert line is not None
    # the line is two pieces, 2022Q1 alone and 2022Q3 to 2022Q4: it starts again (M) after the gap, never
    # joining 2022Q1 to 2022Q3 (three points drawn, two moves, one line segment)
    commands = re.findall(r"[ML]", line.group(1))
    assert commands == ["M", "M", "L"]
    _png, svg = events_chart(trend)
    assert b">2022Q2<" in svg and b'<g id="withheld-2022Q2">' in svg


# ------------------------------------------------------------------------------- legible on a phone
FONT_SIZE = re.compile(r"font-size:\s*([\d.]+)px")


def smallest_text_at(svg: bytes, width_px: float) -> float:
    """The smallest text of ``svg`` in CSS px when it is drawn ``width_px`` wide: its font sizes (in viewBox
    units) times ``width_px`` over the viewBox's width. Every <text> must state its size."""
    text = svg.decode()
    view_box = re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) [\d.]+"', text)
    assert view_box is not None
    scale = width_px / float(view_box.group(1))
    elements = re.findall(r"<text\b[^>]*>", text)
    assert elements, "a chart with no text"
    sizes = []
    for element in elements:
        size = FONT_SIZE.search(element)
        assert size is not None, element
        sizes.append(float(size.group(1)))
    return min(sizes) * scale


def test_chart_text_is_at_least_12_css_px_on_a_390_px_screen(bulletin, one_cohort):
    measured = {}
    for source in (bulletin, one_cohort):
        for name, (_png, svg) in source.figures.items():
            measured[name] = min(measured.get(name, 99.0), smallest_text_at(svg, 390))
    assert {"trend", "events_per_100", "establishments", "breakdown_sex", "breakdown_sentence_months"} <= set(measured)
    small = {name: round(px, 1) for name, px in measured.items() if px < 12}
    assert not small, f"chart text smaller than 12 CSS px at 390 px wide: {small}"


def test_the_measure_of_chart_text_is_hand_worked():
    # a viewBox 324 units wide drawn 390 px wide: 12-unit text is 12 * 390 / 324 = 14.44 px
    svg = (
        b'<svg viewBox="0 0 324 100"><text style="font-size: 12px">a</text><text style="font-size: 13px">b</text></svg>'
    )
    assert smallest_text_at(svg, 390) == pytest.approx(14.444, abs=1e-3)


def test_the_provisional_chart_keeps_withheld_cohorts_on_its_axis_and_breaks_its_lines_there():
    from reoffend.bulletin.provisional import ProvisionalSection, provisional_chart

    trend = pl.DataFrame(
        {"cohort": ["2022Q1", "2022Q2", "2022Q3"], "binary_rate": [0.50, None, 0.52]},
    )
    # three estimates, the middle one withheld ([c]): 2022Q3 (final) - 2022Q4 joined, then a gap, then 2023Q2
    estimates = pl.DataFrame(
        {
            "cohort": ["2022Q4", "2023Q1", "2023Q2"],
            "binary_rate_provisional": [0.53, None, 0.55],
            "binary_rate_provisional_low": [0.48, None, 0.50],
            "binary_rate_provisional_high": [0.58, None, 0.60],
        }
    )
    estimates = estimates.with_columns(pl.lit(6).alias("months_observed"))
    section = ProvisionalSection(estimates, None, 0, "", 0.95, [])
    _png, svg = provisional_chart(trend, section, "t", "d")
    text = svg.decode()
    for cohort in ("2022Q2", "2023Q1"):  # both withheld cohorts are on the axis, marked [c]
        assert f">{cohort}<" in text
        marker = re.search(rf'<g id="withheld-{cohort}">(.*?)</g>', text, re.S)
        assert marker and "[c]" in marker.group(1)
    final = re.search(r'<g id="final-line">\s*<path d="([^"]*)"', text, re.S)
    dashed = re.search(r'<g id="provisional-line">\s*<path d="([^"]*)"', text, re.S)
    assert final and dashed
    # final: 2022Q1 alone, then 2022Q3 alone (two moves, no segment across 2022Q2)
    assert re.findall(r"[ML]", final.group(1)) == ["M", "M"]
    # dashed: 2022Q3 to 2022Q4 (a move and a line), then 2023Q2 alone (a move): never across 2023Q1
    assert re.findall(r"[ML]", dashed.group(1)) == ["M", "L", "M"]
    assert smallest_text_at(svg, 390) >= 12  # legible on a phone, as every chart (below)
    # the description says so: 2022Q2 (final) and 2023Q1 (provisional) are marked
    from reoffend.bulletin.provisional import provisional_finding

    assert provisional_finding(section, trend)[1].endswith(" 2 withheld cohorts are marked [c].")


def test_sparse_bands_are_merged_only_when_asked(tmp_path):
    # a series' bulletin (the default) keeps its configured edges: a merge that differs between two releases gave
    # a withheld count of 2 away by differencing (review of issue 26); one-off publications opt in
    bands = 'columns = ["sentence_months"]\nbands = { sentence_months = [6, 12, 24, 48] }'
    plain = _job(tmp_path / "plain", 8000, 10, dt.date(2025, 3, 31), bands)
    assert plain.facts["breakdown_bands"]["sentence_months"]["published_bands"] == [6, 12, 24, 48]
    merged = _job(tmp_path / "merged", 8000, 10, dt.date(2025, 3, 31), bands + "\nmerge_sparse_bands = true")
    assert merged.facts["breakdown_bands"]["sentence_months"]["published_bands"] == [6, 12]


def test_the_provisional_chart_thins_a_long_cohort_axis_as_the_trend_charts_do():
    """Issue 26, item 7: 60 final cohorts and 2 estimates are 62 on the axis; figures._cohort_axis labels every
    3rd (62 / 24 rounded up), the latest and every withheld one: 21 + 1 + 1 labels (cohort 40 is withheld and
    not a multiple of 3; 61, the latest, is not either), not 62."""
    from reoffend.bulletin.provisional import ProvisionalSection, provisional_chart

    cohorts = [f"{2000 + i // 4}Q{i % 4 + 1}" for i in range(62)]
    trend = pl.DataFrame({"cohort": cohorts[:60], "binary_rate": [None if i == 40 else 0.5 for i in range(60)]})
    estimates = pl.DataFrame(
        {
            "cohort": cohorts[60:],
            "binary_rate_provisional": [0.5, 0.5],
            "binary_rate_provisional_low": [0.45, 0.45],
            "binary_rate_provisional_high": [0.55, 0.55],
            "months_observed": [6, 3],
        }
    )
    _png, svg = provisional_chart(trend, ProvisionalSection(estimates, None, 0, "", 0.95, []), "", "")
    labelled = [c for c in cohorts if f">{c}<" in svg.decode()]
    assert labelled == [c for i, c in enumerate(cohorts) if i % 3 == 0 or i in (40, 61)]
    assert len(labelled) == 23


@pytest.mark.parametrize("top", [0.6, 0.911, 0.99])
def test_the_trend_charts_axis_title_is_not_clipped(top):
    """The small prison's rates (50.0%, 75.0% to an interval top of 91.1%): the axis runs to 100%, whose tick
    label is a character wider; before the fix the two-line axis title was cut by the image's left edge, so
    its first pixel columns held ink. Here they are white (255)."""
    import io

    from PIL import Image

    from reoffend.bulletin.figures import trend_chart

    trend = pl.DataFrame(
        {
            "cohort": ["2022Q1", "2022Q2", "2022Q3"],
            "binary_rate": [0.5, 0.55, 0.75],
            "binary_rate_low": [0.3, 0.35, 0.468],
            "binary_rate_high": [top - 0.1, top - 0.05, top],
        }
    )
    image = Image.open(io.BytesIO(trend_chart(trend, 0.95)[0])).convert("L")
    edge = [image.getpixel((x, y)) for x in range(3) for y in range(image.size[1])]
    assert min(edge) == 255
