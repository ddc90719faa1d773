"""The terminal views (reoffend/report/terminal/): every figure through report.format, so a value that could not
be computed (None, NaN) is the one dash and a figure that rounds to zero is never "-0.0" (issue 31's review).

Each case below printed otherwise before the views used report.format: the old output is in the comment."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import polars as pl

from reoffend.report.evaluation_report import _signed, _with_unit
from reoffend.report.format import DASH, interval, number
from reoffend.report.terminal import default_format
from reoffend.report.terminal.adjusted import adjusted_caption
from reoffend.report.terminal.matched import diagnostics_text
from reoffend.report.terminal.power import display_rows as power_rows

NAN = float("nan")


def test_a_cell_without_a_view_of_its_own_is_formatted_as_every_number():
    assert default_format("ratio", NAN) == DASH  # was "nan"
    assert default_format("ratio", -0.001) == "0.00"  # was "-0.00": -0.001 rounds to zero at two decimals
    assert default_format("ratio", 1234.567) == "1,234.57"  # unchanged
    assert default_format("ratio", None) == DASH


def test_a_power_figure_that_could_not_be_computed_is_a_dash():
    # one binary calculation: baseline 45.0%, cohorts 500 and 1,000, the detectable reduction unknown (NaN)
    rows = pl.DataFrame(
        {
            "measure": ["binary"],
            "baseline_per_100": [45.0],
            "dispersion": [None],
            "current_size": [500],
            "baseline_size": [1000],
            "solved_for": ["reduction"],
            "reduction_per_100": [NAN],
            "reduction_relative_pct": [None],
            "current_per_100": [-0.04],
            "power": [0.8],
        },
        schema_overrides={"dispersion": pl.Float64, "reduction_relative_pct": pl.Float64},
    )
    cells = dict(zip(*power_rows(rows).get_columns(), strict=True))
    assert cells["baseline"] == "45.0%"
    assert cells["reduction"] == f"{DASH} pp (detectable)"  # was "nan pp (detectable)"
    assert cells["  relative to baseline"] == DASH  # was "–%"
    assert cells["current value per 100"] == "0.0"  # was "-0.0"
    assert cells["current cohort size"] == "500" and cells["baseline cohort size"] == "1,000"
    assert cells["power"] == "80.0%"


def test_an_unknown_unmatched_share_is_a_dash_not_none_unmatched():
    diagnostics: dict[str, Any] = {
        "treated": 0,
        "matched": 0,
        "unmatched": 0,
        "unmatched_share": None,  # no treated release: the share is unknown
        "comparators_used": 0,
        "pool_units": 1234,
        "effective_comparison_size": 0.0,
        "strata": 1,
    }
    text = diagnostics_text(SimpleNamespace(diagnostics=diagnostics))  # type: ignore[arg-type]
    assert f"0 unmatched ({DASH});" in text  # was "(0.0%)": unknown shown as none unmatched
    assert "from a pool of 1,234" in text


def test_an_auc_that_could_not_be_computed_is_a_dash_in_the_adjusted_caption():
    models = {
        "binary": {"auc": NAN, "pseudo_r_squared": 0.1234},
        "frequency": {"pseudo_r_squared": 0.0456, "alpha": 0.5},
        "design": {"baseline_releases": 1200, "baseline_cohorts": ["2022Q1", "2022Q2"]},
    }
    params = SimpleNamespace(sided="one", multiple_testing="holm", relative_to="baseline")
    result = SimpleNamespace(models=models, params=params, unseen=[])
    caption = adjusted_caption(result)  # type: ignore[arg-type]
    assert f"binary model AUC {DASH}, pseudo R² 0.123" in caption  # was "AUC nan"
    assert "count model pseudo R² 0.046, alpha 0.500" in caption
    assert "fitted on 1,200 baseline releases (2022Q1, 2022Q2)" in caption


def test_the_evaluation_reports_ranges_and_units():
    assert interval(-0.04, 2.0, _signed) == "+0.0 to +2.0"  # was "-0.0 to +2.0"
    assert interval(None, 2.0, _signed) == DASH and interval(1.0, NAN, _signed) == DASH  # NaN was "+nan"
    assert _with_unit(number(-1.25, signed=True), " points") == "-1.2 points"  # -1.25 is -1.2499... in binary
    assert _with_unit(number(None, signed=True), " points") == DASH
