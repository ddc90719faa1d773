"""The bulletin's [provisional] section: the nowcast's figures, marked as estimates, with the backtest quoted."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin.build import build_bulletin, compute_bulletin
from reoffend.bulletin.config import ProvisionalConfig, parse_config
from reoffend.bulletin.document import Table, strong
from reoffend.bulletin.provisional import compute_provisional, provisional_blocks
from reoffend.disclosure import SHORTHAND, DisclosureRule
from reoffend.errors import UsageError
from reoffend.inputs import InputSpec, load_inputs
from reoffend.measure import MeasureParams
from reoffend.nowcast import NowcastParams, nowcast
from reoffend.synth import SynthParams, write

from .test_bulletin import LABELS, NUMBER, displayed, table_cells

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
EXCLUDED = SAMPLE / "excluded_offences.txt"


@pytest.fixture(scope="module")
def early(tmp_path_factory) -> Path:
    """An extract taken on 2024-06-30: the 2023 cohorts are still in follow-up."""
    folder = tmp_path_factory.mktemp("early")
    write(SynthParams(releases=5000, seed=20240401, extract_date=dt.date(2024, 6, 30)), folder, "csv")
    (folder / "job.toml").write_text(
        f'[inputs]\nreleases = "releases.csv"\nconvictions = "convictions.csv"\nexclude_offences = "{EXCLUDED}"\n'
        "[provisional]\ncohorts = 3\n"
    )
    return folder


@pytest.fixture(scope="module")
def bulletin(early) -> Path:
    target = early / "bulletin"
    build_bulletin(parse_config(str(early / "job.toml")), str(target))
    return target


def section(folder: Path) -> str:
    text = (folder / "bulletin.md").read_text()
    return text.split("## Provisional figures for cohorts still in follow-up", 1)[1].split("\n## ", 1)[0]


def test_the_section_holds_the_nowcast_of_the_latest_incomplete_cohorts(early, bulletin):
    inputs = load_inputs(InputSpec(str(early / "releases.csv"), str(early / "convictions.csv")))
    expected = nowcast(inputs, NowcastParams(MeasureParams(excluded_offences=frozenset({"BREACH"})))).rows
    expected = expected.filter(pl.col("status") == "provisional").tail(3)
    published = pl.read_csv(bulletin / "tables" / "provisional.csv")
    assert published["cohort"].to_list() == ["2023Q2", "2023Q3", "2023Q4"] == expected["cohort"].to_list()
    for column in ("binary_rate_provisional", "binary_rate_provisional_low", "binary_rate_provisional_high"):
        assert published[column].to_list() == pytest.approx(expected[column].to_list(), rel=1e-15)
    assert published["binary_rate"].null_count() == 3  # no final figure in a provisional row
    text = section(bulletin)
    assert "**These are provisional estimates, not final statistics.**" in text
    for row in published.iter_rows(named=True):
        cells = (
            f"| {row['cohort']} | {row['months_observed']} | {row['cohort_size']:,} | {row['observed_reoffenders']:,} |"
        )
        assert cells + f" {100 * row['binary_rate_provisional']:.1f}% |" in text
    assert "Earlier cohorts still in follow-up, not shown here: January to March 2023." in text  # in words


def test_the_backtest_coverage_is_quoted_from_its_table(bulletin):
    backtest = pl.read_csv(bulletin / "tables" / "provisional_backtest.csv")
    six = backtest.filter(pl.col("months_observed_band") == "6+").row(0, named=True)
    assert six["cohort_origins"] > 0
    sentence = (
        f"held the final rate in {100 * six['binary_rate_coverage']:.0f}% of the {six['cohort_origins']} cohort "
        f"estimates made with 6 or more months observed (at {six['origins']} extract dates)"
    )
    assert sentence in " ".join(section(bulletin).split())


def test_every_number_of_the_section_is_in_the_tables(bulletin):
    _, numbers = table_cells(bulletin)
    text = LABELS.sub("", section(bulletin))
    text = re.sub(r"\(figures/[^)]*\)|`[^`]*`|\d{4}Q\d", "", text)  # file names and cohort labels
    missing = [n for n in NUMBER.findall(text) if not displayed(n, numbers)]
    assert not missing, missing


def test_the_chart_draws_estimates_dashed_and_hollow(bulletin):
    svg = (bulletin / "figures" / "provisional.svg").read_text()
    assert "stroke-dasharray" in svg  # the dashed line of the estimates
    assert re.search(r"fill: ?#ffffff; ?stroke: ?#f46a25", svg)  # hollow orange points
    assert re.search(r"fill: ?#1d70b8; ?stroke: ?#1d70b8", svg)  # filled blue points of final figures
    assert "<desc" in svg and "provisional estimates" in svg


def test_without_the_section_nothing_changes(early):
    config = parse_config(str(early / "job.toml"))
    plain = compute_bulletin(replace(config, provisional=ProvisionalConfig()))
    assert "provisional.csv" not in plain.tables and "provisional" not in plain.figures
    assert not any(getattr(b, "anchor", "") == "provisional" for b in plain.document.blocks)


def test_small_cohorts_have_their_estimates_withheld(early):
    config = parse_config(str(early / "job.toml"))
    inputs = load_inputs(InputSpec(str(early / "releases.csv"), str(early / "convictions.csv")))
    rule = DisclosureRule(min_cohort=100_000, min_count=3)
    found = compute_provisional(replace(config.provisional, backtest=False), inputs, MeasureParams(), rule)
    assert found is not None and found.rows.height == 3
    assert found.rows["binary_rate_provisional"].null_count() == 3
    assert set(found.rows["suppressed"].to_list()) == {"[c]"}  # one mark, whatever the reason
    assert found.backtest is None
    table = next(b for b in provisional_blocks(found, b"", "", 6, 12) if isinstance(b, Table))
    assert all(row[3:] == [SHORTHAND] * 4 for row in table.rows)  # seen so far, rate, interval, events
    assert "No backtest could be run" in " ".join(
        getattr(b, "text", "") for b in provisional_blocks(found, b"", "", 6, 12)
    )


def test_config_keys_are_checked(tmp_path):
    path = tmp_path / "job.toml"
    path.write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n[provisional]\n')
    assert parse_config(str(path)).provisional == ProvisionalConfig(enabled=True)
    path.write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n[provisional]\ncohorts = 2\nbogus = 1\n')
    with pytest.raises(UsageError, match=r"line 6: \[provisional\] bogus: unknown key"):
        parse_config(str(path))
    path.write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n[provisional]\norigins = "many"\n')
    with pytest.raises(UsageError, match=r"\[provisional\] origins"):
        parse_config(str(path))
    path.write_text(
        '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n[provisional]\nmin_coverage = 0.9\n'
        "allow_low_coverage = true\n"
    )
    assert parse_config(str(path)).provisional == ProvisionalConfig(
        enabled=True, min_coverage=0.9, allow_low_coverage=True
    )


def test_estimates_failing_the_check_are_withheld_and_the_text_says_why():
    """Honesty by default (docs/nowcast.md): on this small population the backtest's 95% intervals held the
    final rate in 18 of 19 comparisons with 6+ months observed (95%); a publisher asking for 99% gets the
    estimates withheld, unless the config allows them. (Before issue 25's censored reference the model held 16
    of 19, under the default 85%; the threshold is set here so that the test is of the withholding, not of
    how well the model does on one population.)"""
    from reoffend.synth import generate
    from reoffend.validate import CONVICTIONS, RELEASES, validate_inputs
    from reoffend.validate import Table as InputTable

    extract = dt.date(2024, 12, 31)
    releases, convictions, _ = generate(SynthParams(releases=6000, seed=3, extract_date=extract))
    inputs = validate_inputs(
        InputTable("releases.parquet", RELEASES, releases.lazy()),
        InputTable("convictions.parquet", CONVICTIONS, convictions.lazy()),
        extract_date=extract,
    )
    params = MeasureParams(excluded_offences=frozenset({"BREACH"}))
    rule = DisclosureRule(min_cohort=10, min_count=3)
    config = ProvisionalConfig(enabled=True, cohorts=3, min_coverage=0.99)
    found = compute_provisional(config, inputs, params, rule)
    assert found is not None and found.check is not None
    assert (found.check.status, found.check.comparisons) == ("failed", 19)
    assert found.check.coverage == pytest.approx(18 / 19) and found.withheld
    assert found.rows.height == 2 and found.rows["binary_rate_provisional"].null_count() == 2  # 2023Q3, 2023Q4
    assert found.rows["observed_reoffenders"].null_count() == 0  # what was observed is not an estimate
    blocks = provisional_blocks(found, b"", "", 6, 12)
    text = " ".join(getattr(b, "text", "") for b in blocks)
    assert strong("The estimates are not published:") in text and "only 95% of 19" in text
    table = next(b for b in blocks if isinstance(b, Table))
    assert all(row[4:] == ["[x]"] * 3 for row in table.rows)  # rate, interval, events: not available
    allowed = compute_provisional(replace(config, allow_low_coverage=True), inputs, params, rule)
    assert allowed is not None and not allowed.withheld and allowed.rows["binary_rate_provisional"].null_count() == 0
    text = " ".join(getattr(b, "text", "") for b in provisional_blocks(allowed, b"", "", 6, 12))
    assert strong("Read these estimates with caution:") in text and "published as configured" in text
    lenient = compute_provisional(replace(config, min_coverage=0.9), inputs, params, rule)
    assert lenient is not None and lenient.check is not None and lenient.check.status == "passed"
