"""Calibration of the baseline models by provider and covariate band, and the misfit warnings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit
from statsmodels.discrete.discrete_model import Logit, Poisson

from reoffend.compare.adjusted import compare_adjusted
from reoffend.compare.calibration import band_edges, band_labels, observed_expected

from .test_compare_adjusted_core import BASELINE, fixture_frame, params

Z95 = 1.959963984540054


def test_observed_expected_with_its_interval_by_hand():
    # group 0: outcomes 1, 0, 1 with p 0.5, 0.5, 0.2 -> O 2, E 1.2, V 0.25 + 0.25 + 0.16 = 0.66
    rows = observed_expected(
        [{"g": "a"}, {"g": "b"}],
        np.array([0, 0, 0, 1]),
        np.array([1.0, 0.0, 1.0, 0.0]),
        np.array([0.5, 0.5, 0.2, 0.4]),
        np.array([0.25, 0.25, 0.16, 0.24]),
        Z95,
    )
    a, b = rows
    assert a["observed_expected"] == pytest.approx(2 / 1.2)
    assert a["low"] == pytest.approx(2 / 1.2 - Z95 * np.sqrt(0.66) / 1.2)
    assert a["high"] == pytest.approx(2 / 1.2 + Z95 * np.sqrt(0.66) / 1.2)
    assert a["off"] is False  # 1.67 with interval 0.33 to 3.0
    assert b["observed_expected"] == 0.0 and b["low"] == 0.0 and b["off"] is False  # clipped at 0, 1 inside


def test_each_release_is_counted_in_its_own_providers_row():
    # seven baseline releases of providers B, A, C, A, B, C and a missing one, in that order; each provider's O
    # and E are the sums over its own rows: A (rows 1, 3) O 1 + 0 = 1, E 0.1 + 0.2 = 0.3; B (rows 0, 4) O 0 + 1
    # = 1, E 0.3 + 0.4 = 0.7; C (rows 2, 5) O 1 + 1 = 2, E 0.5 + 0.6 = 1.1; missing (row 6) O 0, E 0.7. The group
    # codes are zipped with the outcomes by position, so the join that finds them must keep the rows' order
    import polars as pl

    from reoffend.compare.calibration import calibration

    baseline = pl.DataFrame({"establishment": ["B", "A", "C", "A", "B", "C", None]})
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    predicted = np.array([0.3, 0.1, 0.5, 0.2, 0.4, 0.6, 0.7])
    table = calibration(baseline, [], ["establishment"], {"binary": (y, predicted, predicted * (1 - predicted))}, Z95)
    found = {r["establishment"]: (r["releases"], r["observed"], r["expected"]) for r in table["providers"]["binary"]}
    assert found.keys() == {"A", "B", "C", None}
    assert found["A"] == (2, 1.0, pytest.approx(0.3))
    assert found["B"] == (2, 1.0, pytest.approx(0.7))
    assert found["C"] == (2, 2.0, pytest.approx(1.1))
    assert found[None] == (1, 0.0, pytest.approx(0.7))


def test_bands_at_baseline_quantiles_with_a_band_of_zeros():
    values = np.array([0] * 50 + [1] * 10 + [2] * 10 + [3] * 10 + [7] * 10 + [20] * 10, dtype=float)
    edges = band_edges(values)
    # quintile edges as data values (inverted CDF): the 20th and 40th smallest are 0, the 60th 1, the 80th 3;
    # the repeated 0 is merged
    assert edges.tolist() == [0.0, 1.0, 3.0]
    assert band_labels(edges, 0, 20) == ["0 to 0", "over 0 to 1", "over 1 to 3", "over 3 to 20"]
    code = np.searchsorted(edges, values, side="left")
    assert np.bincount(code).tolist() == [50, 10, 20, 20]


def test_provider_and_band_tables_agree_with_a_direct_fit():
    result = compare_adjusted(fixture_frame(), params())
    ages = np.array([r[0] for r in BASELINE], dtype=float)
    group_y = np.array([r[1] == "y" for r in BASELINE], dtype=float)
    X = np.column_stack([np.ones(12), ages, group_y])
    y = np.array([r[2] for r in BASELINE], dtype=float)
    p = expit(X @ Logit(y, X).fit(disp=0).params)
    table = result.models["calibration_by"]
    # providers in the baseline: odd rows P1, even rows P2 (fixture_frame)
    provider = np.array(["P1" if i % 2 else "P2" for i in range(12)])
    by_provider = {r["establishment"]: r for r in table["providers"]["binary"]}
    for name in ("P1", "P2"):
        keep = provider == name
        assert by_provider[name]["observed"] == y[keep].sum()
        assert by_provider[name]["expected"] == pytest.approx(p[keep].sum(), rel=1e-6)
    bands = [r for r in table["bands"]["binary"] if r["covariate"] == "age"]
    assert sum(r["releases"] for r in bands) == 12 and len(bands) == 5
    # over all bands the observed and expected sums match: the logit's score equation for the intercept
    assert sum(r["observed"] for r in bands) == pytest.approx(sum(r["expected"] for r in bands), rel=1e-6)
    counts = np.array([r[3] for r in BASELINE], dtype=float)
    mu = np.exp(X @ Poisson(counts, X).fit(disp=0).params)
    assert sum(r["expected"] for r in table["bands"]["frequency"] if r["covariate"] == "age") == pytest.approx(
        mu.sum(), rel=1e-6
    )


def test_current_values_outside_the_baseline_range_are_named():
    current = [("P1", 24, "x", 1, 2), ("P1", 70, "y", 0, 0), ("P2", 18, "x", 0, 0), ("P2", 30, "x", 1, 1)]
    result = compare_adjusted(fixture_frame(current), params())
    (warning,) = [w for w in result.all_warnings() if "outside the baseline's range" in w]
    # for the analyst (the terminal, the JSON), never a bulletin's note: the baseline's extremes are one person's
    # values, and a unit it names may be withheld there
    assert result.extrapolation == [warning] and not [w for w in result.warnings if "baseline's range" in w]
    assert warning.startswith("age outside the baseline's range (20 to 55) at 2 current providers")
    assert "P1, C: 1 release;" in warning and "P2, C: 1 release" in warning
    # no value of the releases themselves: the extreme of one release is one person's age
    for value in ("24", "70", "18", "30"):
        assert f"{value} to" not in warning.split("at 2 current")[1] and f"to {value}" not in warning


def test_a_straight_line_in_priors_is_shown_to_misfit_and_the_spline_is_not(cli, sample_dir, tmp_path):
    args = (
        "compare", "adjusted", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--period", "year",
        "--baseline", "2022", "--covariates", "age,sex,sentence_months,prior_convictions,index_offence",
    )  # fmt: skip
    out = tmp_path / "a.json"
    code, _, stderr = cli(*args, "--covariate-form", "prior_convictions=linear", "-o", out)
    assert code == 0, stderr
    document = json.loads(out.read_text())
    assert any(w.startswith("binary model misfits the baseline") and "prior_convictions 0 to" in w
               for w in document["warnings"])  # fmt: skip
    bands = document["baseline_models"]["calibration_by"]["bands"]["binary"]
    zeros = next(r for r in bands if r["covariate"] == "prior_convictions")
    assert zeros["off"] and zeros["high"] < 1  # the line over-predicts for the fewest previous convictions
    providers = document["baseline_models"]["calibration_by"]["providers"]["binary"]
    assert len(providers) == 110 and {"establishment", "observed_expected", "low", "high"} <= set(providers[0])

    code, _, stderr = cli(*args, "-o", out)
    assert code == 0, stderr
    document = json.loads(out.read_text())
    assert not any("misfits" in w for w in document["warnings"])
    bands = document["baseline_models"]["calibration_by"]["bands"]["binary"]
    assert not any(r["off"] for r in bands if r["covariate"] == "prior_convictions")


def test_the_band_table_on_the_terminal_marks_the_misfit(cli, sample_dir):
    code, stdout, stderr = cli(
        "compare", "adjusted", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--period", "year",
        "--baseline", "2022", "--covariates", "age,sex,sentence_months,prior_convictions,index_offence",
        "--covariate-form", "prior_convictions=linear", "--current-filter", "establishment=EST042",
        "--format", "table",
    )  # fmt: skip
    assert code == 0, stderr
    assert "by covariate band: observed / expected" in stdout
    zeros = next(line for line in stdout.splitlines() if "prior_convictions" in line and " 0 to " in line)
    assert "0.82 (0.76–0.89) *" in zeros  # the line over-predicts for the fewest previous convictions
    ages = [line for line in stdout.splitlines() if line.strip("│ ").startswith("age ")]
    assert len(ages) == 5 and not any("*" in line for line in ages)
