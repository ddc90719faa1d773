"""The shared covariate encoding (reoffend.compare.design): forms, splines against patsy, the false flag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import patsy
import polars as pl
import pytest

from reoffend.compare.adjusted import AdjustedParams, run_adjusted
from reoffend.compare.design import (
    LINEAR,
    CovariateForm,
    design_matrix,
    encode,
    outside_range,
    parse_form,
    parse_forms,
    spline_knots,
    term_names,
)
from reoffend.errors import DataError, UsageError
from reoffend.measure import MeasureParams
from reoffend.synth import SynthParams, generate

from .conftest import validated

README_COVARIATES = ("age", "sex", "sentence_months", "prior_convictions", "index_offence")


# ------------------------------------------------------------------------------------------------ forms
@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("linear", CovariateForm("linear")),
        ("LOG1P", CovariateForm("log1p")),
        ("spline", CovariateForm("spline", 4)),
        ("spline:7", CovariateForm("spline", 7)),
        (" spline:1 ", CovariateForm("spline", 1)),
    ],
)
def test_forms_are_parsed_by_name(text, form):
    assert parse_form(text) == form
    assert str(parse_form(str(form))) == str(form)


@pytest.mark.parametrize("text", ["cubic", "spline:0", "spline:11", "linear:2", "bs(x, df=3)", "__import__('os')", ""])
def test_anything_but_a_named_form_is_a_usage_error(text):
    with pytest.raises(UsageError, match=r"covariate form|degrees of freedom"):
        parse_form(text)


def test_forms_name_covariates_once():
    covariates = ("age", "prior_convictions")
    assert parse_forms(["prior_convictions=linear", "age=spline:3"], covariates) == {
        "prior_convictions": LINEAR,
        "age": CovariateForm("spline", 3),
    }
    assert parse_forms(["prior_convictions=log1p,age=linear"], covariates)["age"] == LINEAR
    with pytest.raises(UsageError, match="'sex' is not one of the covariates"):
        parse_forms(["sex=linear"], covariates)
    with pytest.raises(UsageError, match="twice"):
        parse_forms(["age=linear", "age=log1p"], covariates)
    with pytest.raises(UsageError, match="COLUMN=FORM"):
        parse_forms(["linear"], covariates)


# ---------------------------------------------------------------------------------------------- splines
def test_spline_basis_is_patsys_cr_with_knots_fixed_on_the_fitting_data():
    rng = np.random.default_rng(4)
    fit = rng.gamma(2.0, 3.0, 400)
    new = np.r_[rng.gamma(2.0, 3.0, 50), fit.min() - 1.5, fit.max() + 7.0]  # two values beyond the range
    encoded = encode(pl.DataFrame({"x": fit}), ["x"], {"x": CovariateForm("spline", 4)})
    info = patsy.dmatrix("cr(x, df=4, constraints='center')", {"x": fit}).design_info
    expected_fit = np.asarray(patsy.dmatrix("cr(x, df=4, constraints='center')", {"x": fit}))
    (expected_new,) = patsy.build_design_matrices([info], {"x": new})
    assert term_names(encoded) == ["intercept", "x[spline 1]", "x[spline 2]", "x[spline 3]", "x[spline 4]"]
    np.testing.assert_allclose(design_matrix(pl.DataFrame({"x": fit}), encoded), expected_fit, atol=1e-12)
    np.testing.assert_allclose(design_matrix(pl.DataFrame({"x": new}), encoded), np.asarray(expected_new), atol=1e-12)
    # five knots: minimum, the quartiles, maximum of the fitting data
    np.testing.assert_allclose(encoded[0].knots, np.percentile(fit, [0, 25, 50, 75, 100]))
    # centred on the fitting data: every basis column has mean zero there, not on other data
    assert np.abs(design_matrix(pl.DataFrame({"x": fit}), encoded)[:, 1:].mean(axis=0)).max() < 1e-12


def test_spline_is_linear_beyond_the_boundary_knots():
    fit = np.arange(0.0, 41.0)
    (covariate,) = encode(pl.DataFrame({"x": fit}), ["x"], {"x": CovariateForm("spline", 3)})
    beyond = pl.DataFrame({"x": [45.0, 50.0, 55.0, -10.0, -5.0, 0.0]})
    basis = covariate.columns(beyond)
    np.testing.assert_allclose(basis[1] - basis[0], basis[2] - basis[1], atol=1e-12)
    np.testing.assert_allclose(basis[4] - basis[3], basis[5] - basis[4], atol=1e-12)
    assert outside_range(beyond, [covariate]) == [
        {"column": "x", "fitting_range": [0.0, 40.0], "below": 2, "above": 3, "min": -10.0, "max": 55.0}
    ]


def test_tied_quantile_knots_are_dropped_and_the_loss_said():
    values = np.array([0] * 60 + [1] * 20 + [2] * 10 + [5] * 10, dtype=float)  # quartiles 0, 0, 1
    assert spline_knots(values, 4).tolist() == [0.0, 1.0, 5.0]
    (covariate,) = encode(pl.DataFrame({"x": values}), ["x"])
    assert covariate.form.kind == "spline" and len(covariate.terms) == 2
    assert "2 degrees of freedom instead of 4" in covariate.note


def test_default_forms_booleans_two_values_log1p_and_categories():
    frame = pl.DataFrame(
        {
            "flag": [True, False, True, False],
            "two": [3, 5, 3, 5],
            "n": [0, 1, 2, 9],
            "sex": ["M", "F", "M", "M"],
        }
    )
    encoded = encode(frame, ["flag", "two", "n", "sex"], {"n": CovariateForm("log1p")})
    assert [str(c.form) for c in encoded[:3]] == ["linear", "linear", "log1p"]
    assert encoded[3].reference == "M" and encoded[3].terms == ["sex=F"]
    np.testing.assert_allclose(design_matrix(frame, encoded)[:, 3], np.log1p([0, 1, 2, 9]))
    with pytest.raises(UsageError, match="a spline needs more than two"):
        encode(frame, ["two"], {"two": CovariateForm("spline", 3)})
    with pytest.raises(UsageError, match="text column"):
        encode(frame, ["sex"], {"sex": LINEAR})
    with pytest.raises(DataError) as error:
        encode(pl.DataFrame({"n": [1, -2, 3]}), ["n"], {"n": CovariateForm("log1p")})
    assert error.value.problems.row(0, named=True)["column"] == "n"


# ----------------------------------------------------------------------------- the false flag (issue 14)
def low_risk_mix_site(seed: int = 3) -> tuple:
    """Synthetic releases (no planted effect) with a 2023 'prison' LOWMIX of 500 people with 0-1 previous
    convictions: drawn from the same generative model as everybody, chosen on a covariate only, so the
    difference from the others is offender mix and nothing else."""
    releases, convictions, _ = generate(
        SynthParams(releases=12_000, seed=seed, establishments=10, effect_log_odds=0.0, effect_frequency=1.0)
    )
    candidates = np.flatnonzero(
        ((releases["release_date"].dt.year() == 2023) & (releases["prior_convictions"] <= 1)).to_numpy()
    )
    chosen = np.zeros(releases.height, dtype=bool)
    chosen[np.random.default_rng(seed).choice(candidates, size=500, replace=False)] = True
    releases = releases.with_columns(
        pl.when(pl.Series(chosen)).then(pl.lit("LOWMIX")).otherwise(pl.col("establishment")).alias("establishment")
    )
    return validated(releases, convictions)


def lowmix_row(inputs, **forms) -> dict:
    params = AdjustedParams(
        covariates=README_COVARIATES,
        baseline=("2022",),
        measure=MeasureParams(period="year"),
        current_filter={"establishment": ("LOWMIX",)},
        covariate_forms={c: parse_form(f) for c, f in forms.items()},
    )
    return run_adjusted(inputs, params).rows.row(0, named=True)


def test_a_low_risk_mix_without_effect_is_flagged_only_with_a_straight_line_in_priors():
    inputs = low_risk_mix_site()
    spline = lowmix_row(inputs)
    linear = lowmix_row(inputs, prior_convictions="linear")
    logged = lowmix_row(inputs, prior_convictions="log1p")  # the generator's own form
    assert spline["cohort_size"] == linear["cohort_size"] > 450
    # the straight line over-predicts the risk of people with few previous convictions: a false reduction
    assert linear["binary_p_reduction"] < 0.01 and linear["binary_beat_baseline"]
    assert linear["binary_difference_pp"] < -4
    # the default spline (and log(1 + priors), the truth) see no effect
    assert spline["binary_p_reduction"] > 0.3 and not spline["binary_beat_baseline"]
    assert logged["binary_p_reduction"] > 0.3 and not logged["binary_beat_baseline"]
    assert abs(spline["binary_difference_pp"] - logged["binary_difference_pp"]) < 1


# ------------------------------------------------------------------------------------------------- CLI
def test_covariate_form_on_the_command_line_and_in_the_config(cli, sample_dir, tmp_path):
    releases, convictions = str(sample_dir / "releases.csv"), str(sample_dir / "convictions.csv")
    common = ("--period", "year", "--baseline", "2022", "--covariates", ",".join(README_COVARIATES))
    out = tmp_path / "a.json"
    code, _, stderr = cli(
        "compare", "adjusted", releases, convictions, *common, "--covariate-form", "prior_convictions=linear", "-o", out
    )
    assert code == 0, stderr
    document = json.loads(out.read_text())
    assert document["parameters"]["covariate_forms"] == {"prior_convictions": "linear"}
    described = {c["column"]: c for c in document["baseline_models"]["design"]["covariates"]}
    assert described["prior_convictions"]["form"] == "linear" and described["age"]["form"] == "spline:4"
    assert "prior_convictions" in document["baseline_models"]["design"]["terms"]

    config = tmp_path / "reoffend.toml"
    config.write_text('[compare.adjusted]\ncovariate-form = ["prior_convictions=log1p"]\n')
    code, _, stderr = cli("compare", "adjusted", releases, convictions, *common, "--config", config, "-o", out)
    assert code == 0, stderr
    assert json.loads(out.read_text())["parameters"]["covariate_forms"] == {"prior_convictions": "log1p"}

    config.write_text("[compare.adjusted]\ncovariate-form = [\"prior_convictions=__import__('os')\"]\n")
    code, _, stderr = cli("compare", "adjusted", releases, convictions, *common, "--config", config)
    assert code == 2 and "unknown covariate form" in stderr

    code, _, stderr = cli(
        "compare", "matched", releases, convictions, "--treated", "establishment=EST042", "--bootstrap", "0",
        "--covariates", ",".join(README_COVARIATES), "--covariate-form", "prior_convictions=spline:3", "-o", out,
    )  # fmt: skip
    assert code == 0, stderr
    document = json.loads(out.read_text())
    terms = [c["term"] for c in document["propensity_model"]["coefficients"]]
    assert "prior_convictions[spline 3]" in terms and "age" in terms


def test_spline_knots_are_quantiles_of_all_values_as_documented_not_patsys_distinct_values():
    """docs/comparisons-adjusted.md: on the sample's ages (10,000 releases, 18 to 80) the inner knots of
    spline:4 are 25, 31 and 38 (quartiles of all values, ties counted), where patsy's cr(x, df=4) would put
    them at 33.5, 49 and 64.5 (quartiles of the distinct ages). Passing our knots to patsy reproduces the basis."""
    ages = pl.read_csv(Path(__file__).resolve().parent.parent / "data" / "sample" / "releases.csv")["age"]
    fit = ages.to_numpy().astype(np.float64)
    (covariate,) = encode(pl.DataFrame({"x": fit}), ["x"], {"x": CovariateForm("spline", 4)})
    np.testing.assert_allclose(covariate.knots, [18.0, 25.0, 31.0, 38.0, 80.0])
    patsy_default = patsy.dmatrix("cr(x, df=4, constraints='center')", {"x": fit})
    assert not np.allclose(
        design_matrix(pl.DataFrame({"x": fit}), [covariate])[:, 1:], np.asarray(patsy_default)[:, 1:]
    )
    np.testing.assert_allclose(np.percentile(np.unique(fit), [25, 50, 75]), [33.5, 49.0, 64.5])
    knots = covariate.knots
    explicit = patsy.dmatrix(
        "cr(x, knots=inner, lower_bound=lower, upper_bound=upper, constraints='center')",
        {"x": fit, "inner": np.asarray(knots[1:-1]), "lower": knots[0], "upper": knots[-1]},
    )
    np.testing.assert_allclose(design_matrix(pl.DataFrame({"x": fit}), [covariate]), np.asarray(explicit), atol=1e-10)
