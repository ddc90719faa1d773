"""``reoffend compare adjusted`` as users run it: outputs, the model summaries, bad input and exit statuses."""

from __future__ import annotations

import json

import polars as pl
import pytest

COVARIATES = "age,sex,sentence_months,prior_convictions,index_offence"


@pytest.fixture
def sample(sample_dir):
    return str(sample_dir / "releases.csv"), str(sample_dir / "convictions.csv")


def args(releases, convictions, *extra):
    return (
        "compare",
        "adjusted",
        releases,
        convictions,
        "--period",
        "year",
        "--baseline",
        "2022",
        "--covariates",
        COVARIATES,
        *extra,
    )


def edited(sample, tmp_path, change: pl.Expr) -> str:
    """A copy of the sample releases with one column changed."""
    path = tmp_path / "releases.csv"
    pl.read_csv(sample[0]).with_columns(change).write_csv(path)
    return str(path)


def test_json_has_rows_both_measures_and_the_model_summaries(cli, sample, tmp_path):
    out = tmp_path / "adjusted.json"
    summary = tmp_path / "models.json"
    code, _stdout, stderr = cli(*args(*sample, "-o", out, "--model-summary", summary))
    assert code == 0, stderr
    document = json.loads(out.read_text())
    assert set(document) >= {"parameters", "metadata", "rows", "baseline_models", "headline", "unseen_levels"}
    assert document["parameters"]["baseline"] == ["2022"] and document["parameters"]["count_model"] == "negbin"
    assert document["metadata"]["current_cohorts"] == ["2023"]
    assert document["metadata"]["window"]["follow_up_months"] == 12
    rows = document["rows"]
    assert len(rows) == 110 and rows[0]["establishment"] == "EST001"
    for column in (
        "binary_expected",
        "binary_beat_baseline",
        "reoffences_per_offender_expected",
        "reoffences_per_offender_beat_baseline",
    ):
        assert column in rows[0]
    models = document["baseline_models"]
    assert models["binary"]["n"] == models["frequency"]["n"] == document["metadata"]["baseline_releases"]
    assert len(models["binary"]["calibration"]) == 10 and 0.5 < models["binary"]["auc"] < 1
    assert models["frequency"]["alpha"] > 0
    assert json.loads(summary.read_text()) == models
    assert len(document["headline"]) == 110
    # the terminal summary goes to standard error
    assert "110 comparisons" in stderr


def test_identical_inputs_give_byte_identical_output(cli, sample, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli(*args(*sample, "-o", first, "-q"))[0] == 0
    assert cli(*args(*sample, "-o", second, "-q"))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    header = first.read_text().splitlines()[0].split(",")
    assert header[:3] == ["establishment", "cohort", "cohort_size"]


def test_table_format_prints_the_models_and_current_filter_narrows_the_rows(cli, sample, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    code, stdout, stderr = cli(
        *args(*sample, "--format", "table", "--current-filter", "establishment=EST042", "--count-model", "poisson")
    )
    assert code == 0, stderr
    for text in ("Risk-adjusted comparison", "Baseline models", "Coefficients", "Calibration", "EST042", "AUC"):
        assert text in stdout
    assert "Poisson" in stdout
    # one row, and the verdict under the table: part of the answer on standard output, not a message
    assert stdout.count("EST042") == 2
    assert "\nEST042, 2023 (79 released): binary rate" in stdout and "EST042, 2023" not in stderr


def test_fail_unless_significant_exits_1_after_writing(cli, sample, tmp_path):
    out = tmp_path / "rows.csv"
    code, _, _ = cli(*args(*sample, "--current-filter", "establishment=EST001", "--fail-unless-significant", "-o", out))
    assert code == 1
    assert out.read_text().startswith("establishment,cohort,cohort_size")


def test_unseen_category_error_names_column_and_value_or_pools(cli, sample, tmp_path):
    releases = edited(
        sample,
        tmp_path,
        pl.when((pl.col("release_date") >= "2023-06-01") & (pl.col("index_offence") == "fraud"))
        .then(pl.lit("arson"))
        .otherwise(pl.col("index_offence"))
        .alias("index_offence"),
    )
    code, _, stderr = cli(*args(releases, sample[1]))
    assert code == 65
    assert "index_offence" in stderr and "'arson'" in stderr and "--unseen pool" in stderr
    out = tmp_path / "pooled.json"
    code, _, stderr = cli(*args(releases, sample[1], "--unseen", "pool", "-o", out))
    assert code == 0, stderr
    document = json.loads(out.read_text())
    [unseen] = document["unseen_levels"]
    assert unseen["column"] == "index_offence" and unseen["value"] == "arson"
    assert unseen["scored_as"] == "the baseline level 'other'"  # the sample has an 'other' offence group
    assert "pooled" in stderr and "arson" in stderr


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (("--covariates", "age,risk_score"), 2, "releases.csv has no column 'risk_score'"),
        (("--baseline", "2019"), 65, "--baseline 2019: no release has this value"),
        (("--baseline", "2023"), 2, "no cohort after the baseline (2023)"),
        (("--baseline-filter", "establishment"), 2, "--baseline-filter takes NAME=VALUE"),
        (("--baseline-filter", "establishment=NOWHERE"), 65, "--baseline-filter establishment=NOWHERE: no release has"),
        (("--current", "2022"), 2, "in both --baseline and --current"),
        (("--by", "wing"), 2, "releases.csv has no column 'wing'"),
        (("--covariates", "age,release_date"), 2, "'release_date' cannot be a covariate"),
        (("--count-model", "zip"), 2, "Invalid value for '--count-model'"),
    ],
)
def test_bad_options_are_clear_errors(cli, sample, extra, code, message):
    status, stdout, stderr = cli(*args(*sample), *extra)
    assert status == code, stderr
    assert message in stderr
    assert "Traceback" not in stderr and stdout == ""


def test_null_covariate_is_a_data_error_with_the_count(cli, sample, tmp_path):
    # one person released only in the baseline year 2022 and two released only in 2023
    years = (
        pl.read_csv(sample[0], schema_overrides={"offender_id": pl.String})
        .group_by("offender_id")
        .agg(pl.col("release_date").str.slice(0, 4).unique().alias("years"))
        .filter(pl.col("years").list.len() == 1)
        .with_columns(pl.col("years").list.first().alias("year"))
        .sort("offender_id")
    )
    chosen = years.filter(pl.col("year") == "2022")["offender_id"].head(1).to_list()
    chosen += years.filter(pl.col("year") == "2023")["offender_id"].head(2).to_list()
    releases = edited(
        sample,
        tmp_path,
        pl.when(pl.col("offender_id").is_in(chosen)).then(None).otherwise(pl.col("age")).alias("age"),
    )
    errors = tmp_path / "errors.csv"
    status, _stdout, stderr = cli(*args(releases, sample[1], "--errors", errors))
    assert status == 65
    assert "covariate age is empty in" in stderr and "Traceback" not in stderr
    problems = pl.read_csv(errors)
    assert problems["rule"].to_list() == ["missing-covariate"] * problems.height
    # one problem per release missing it, named by its row in the file (issue 11): 1 baseline + 2 current
    assert problems.height == 3 and problems["row"].null_count() == 0
    assert sorted(set(problems["message"].str.extract(r"in (\d+ \w+)").to_list())) == ["1 baseline", "2 current"]
    in_file = pl.read_csv(releases, schema_overrides={"offender_id": pl.String})
    named = {in_file["offender_id"][row - 1] for row in problems["row"].to_list()}  # rows are 1-based below the header
    assert named == set(chosen)
    assert "row " in stderr


def test_latest_cohort_compares_only_the_last_cohort_after_the_baseline(cli, sample, tmp_path):
    out = tmp_path / "latest.json"
    code, _, stderr = cli(
        "compare",
        "adjusted",
        *sample,
        "--baseline",
        "2022Q1,2022Q2,2022Q3,2022Q4",
        "--covariates",
        COVARIATES,
        "--latest-cohort",
        "--current-filter",
        "establishment=EST042,EST001",
        "-o",
        out,
    )
    assert code == 0, stderr
    document = json.loads(out.read_text())
    assert document["metadata"]["current_cohorts"] == ["2023Q4"]
    assert [(r["establishment"], r["cohort"]) for r in document["rows"]] == [("EST001", "2023Q4"), ("EST042", "2023Q4")]


def test_parameter_uncertainty_widens_the_interval(cli, sample, tmp_path):
    plain, widened = tmp_path / "plain.json", tmp_path / "widened.json"
    common = ("--current-filter", "establishment=EST042", "-q")
    assert cli(*args(*sample, *common, "-o", plain))[0] == 0
    assert cli(*args(*sample, *common, "--parameter-uncertainty", "-o", widened))[0] == 0
    [a], [b] = json.loads(plain.read_text())["rows"], json.loads(widened.read_text())["rows"]
    assert json.loads(widened.read_text())["parameters"]["parameter_uncertainty"] is True
    for name, se, scale in (
        ("binary", "binary_difference_pp_se", 100),  # the difference in points, the expected rate a proportion
        ("reoffences_per_offender", "reoffences_per_offender_difference_se", 1),
    ):
        assert b[f"{name}_expected"] == a[f"{name}_expected"]
        # se^2 grows by exactly the delta-method variance of the expected rate
        assert b[se] ** 2 == pytest.approx(a[se] ** 2 + (scale * a[f"{name}_expected_se_parameters"]) ** 2)


def test_relative_to_others_is_said_in_json_csv_and_terminal_and_the_default_is_unchanged(cli, sample, tmp_path):
    default, explicit, others = (tmp_path / f"{name}.json" for name in ("default", "explicit", "others"))
    assert cli(*args(*sample, "-o", default))[0] == 0
    assert cli(*args(*sample, "-o", explicit, "--relative-to", "baseline"))[0] == 0
    # the mechanism's comparison, named or not, is the same document byte for byte, with no trace of the option
    assert default.read_bytes() == explicit.read_bytes()
    document = json.loads(default.read_text())
    assert "relative_to" not in document["parameters"] and "reference" not in document["metadata"]
    assert "reference" not in document["rows"][0]
    code, _, stderr = cli(*args(*sample, "-o", others, "--relative-to", "others"))
    assert code == 0, stderr
    judged = json.loads(others.read_text())
    assert judged["parameters"]["relative_to"] == "others"
    assert "payment mechanism used the baseline" in judged["metadata"]["reference"]
    row = judged["rows"][0]
    assert row["reference"] == "others" and row["rest_size"] > 0 and "binary_rest_difference_pp" in row
    assert "expected given the other units' shift" in judged["headline"][0]
    csv = tmp_path / "others.csv"
    assert cli(*args(*sample, "-o", csv, "--relative-to", "others"))[0] == 0
    assert pl.read_csv(csv)["reference"].unique().to_list() == ["others"]
    code, stdout, _ = cli(*args(*sample, "--relative-to", "others", "--format", "table"))
    assert code == 0 and "relative to the other units (--relative-to others)" in " ".join(stdout.split())


def test_relative_to_others_with_one_unit_is_a_usage_error(cli, sample):
    code, _, stderr = cli(*args(*sample, "--relative-to", "others", "--current-filter", "establishment=EST042"))
    assert code == 2 and "has releases of one unit only" in stderr and "Traceback" not in stderr


def test_a_significant_shift_is_said_once_on_the_terminal(cli, sample):
    """The sample's 2023 releases sit 1.2 points below the 2022 model, a significant shift: it is the warning
    (standard error), not also a sentence under the table (standard output)."""
    code, stdout, stderr = cli(*args(*sample, "--format", "table"))
    assert code == 0
    assert " ".join(stderr.split()).count("(the shift they share)") == 1
    assert "the shift they share" not in " ".join(stdout.split())


def test_the_terminal_summary_puts_each_count_beside_its_own_measure(cli, sample):
    """More units than headlines (110): one sentence per cohort counts the verdicts. Each count sits beside its
    own measure, the unadjusted one too (the sentence had read "... on reoffences per offender 0 beat it and 0
    were significantly worse (...; before the adjustment 6 and 1)", where 6 was the binary rate's). The counts
    are the JSON rows' verdicts, counted here by hand."""
    code, stdout, _ = cli(*args(*sample, "--format", "table"))
    assert code == 0
    code, out, _ = cli(*args(*sample, "--json"))
    rows = json.loads(out)["rows"]

    def count(column: str, verdict: str) -> int:
        return sum(row[column] == verdict for row in rows)

    binary = (count("binary_verdict_adjusted", "significant reduction"),
              count("binary_verdict_adjusted", "significant increase"),
              count("binary_verdict", "significant reduction"))  # fmt: skip
    frequency = (count("reoffences_per_offender_verdict_adjusted", "significant reduction"),
                 count("reoffences_per_offender_verdict_adjusted", "significant increase"),
                 count("reoffences_per_offender_verdict", "significant reduction"))  # fmt: skip
    said = " ".join(stdout.split())
    assert (
        f"on the binary rate {binary[0]} beat the baseline and {binary[1]} were significantly worse ({binary[2]} "
        "beat it before the adjustment); on reoffences per offender "
        f"{frequency[0]} beat it and {frequency[1]} were significantly worse ({frequency[2]} beat it before the "
        "adjustment)"
    ) in said
    assert f"{len(rows)} units in 2023" in said
