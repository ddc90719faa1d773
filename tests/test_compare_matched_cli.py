"""``reoffend compare matched`` as users run it: outputs, diagnostics, determinism, and bad input exit statuses."""

from __future__ import annotations

import json

import polars as pl
import pytest

COVARIATES = "age,sex,sentence_months,prior_convictions,index_offence"


@pytest.fixture
def sample(sample_dir):
    return (
        str(sample_dir / "releases.csv"),
        str(sample_dir / "convictions.csv"),
        str(sample_dir / "excluded_offences.txt"),
    )


def base_args(sample, *extra, bootstrap=200):
    releases, convictions, excluded = sample
    return [
        "compare",
        "matched",
        releases,
        convictions,
        "--exclude-offences",
        excluded,
        "--covariates",
        COVARIATES,
        "--bootstrap",
        str(bootstrap),
        *extra,
    ]


def test_json_output_has_rows_balance_diagnostics_and_model(cli, sample, tmp_path):
    plot, pairs = tmp_path / "balance.png", tmp_path / "pairs.csv"
    code, out, err = cli(
        *base_args(sample, "--treated", "establishment=EST042", "--style", "peterborough", "--json"),
        "--balance-plot",
        plot,
        "--matches",
        pairs,
    )
    assert code == 0, err
    doc = json.loads(out)
    rows = doc["rows"]
    assert [r["cohort"] for r in rows][-1] == "all" and rows[-1]["scope"] == "pooled"
    assert len(rows) == 9  # eight quarterly cohorts and the pooled row
    assert all(r["target_pct"] == (7.5 if r["scope"] == "pooled" else 10.0) for r in rows)
    for r in rows:
        assert r["target_met"] == (r["events_reduction_pct"] >= r["target_pct"])
        assert r["events_significant"] == (r["events_p_reduction"] < 0.05)
        assert r["matched"] + r["unmatched"] == r["treated"]
    # the sample's treated establishment: 171 index releases (as `measure --where establishment=EST042` counts)
    assert rows[-1]["treated"] == sum(r["treated"] for r in rows[:-1]) == 171
    assert {"diagnostics", "balance", "propensity_model", "warnings", "headline"} <= set(doc)
    d = doc["diagnostics"]
    assert d["treated"] == 171 and d["matched"] + d["unmatched"] == 171
    assert d["effective_comparison_size"] <= d["comparators_used"]
    covariates = {b["covariate"] for b in doc["balance"]}
    assert covariates == {*COVARIATES.split(","), "propensity score (logit)"}
    levels = {b["level"] for b in doc["balance"] if b["covariate"] == "index_offence"}
    assert len(levels) == 8  # every level, the reference included
    model = doc["propensity_model"]
    assert model["n"] > 9000 and model["n_treated"] == 171 and model["converged"]
    assert model["coefficients"][0]["term"] == "intercept"
    assert doc["parameters"]["covariates"] == COVARIATES.split(",")
    assert (
        doc["metadata"]["window"]["follow_up_months"] == 12 if "follow_up_months" in doc["metadata"]["window"] else True
    )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    matches = pl.read_csv(pairs)
    assert matches.height == d["pairs"]
    # each matched treated release's weights sum to 1
    sums = matches.group_by("treated_offender_id", "treated_release_date").agg(pl.col("weight").sum())
    assert sums.get_column("weight").to_list() == pytest.approx([1.0] * sums.height)
    assert "diagnostics:" in err and "All cohorts together" in " ".join(doc["headline"])  # not repeated on stderr


def test_terminal_table_shows_verdicts_balance_and_model(cli, sample):
    code, out, _ = cli(
        *base_args(sample, "--treated", "establishment=EST042", "--style", "peterborough", "--format", "table")
    )
    assert code == 0
    for text in ("2023Q4", "Binary reoffending rate", "Balance: standardised mean differences", "Propensity model"):
        assert text in out


def test_same_seed_gives_byte_identical_output(cli, sample, tmp_path):
    outputs = []
    for name, seed in (("a.json", 7), ("b.json", 7), ("c.json", 8)):
        path = tmp_path / name
        code, _, err = cli(*base_args(sample, "--treated", "establishment=EST042", "--seed", str(seed)), "-o", path)
        assert code == 0, err
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]  # another seed draws other bootstrap replicates
    code, csv_a, _ = cli(*base_args(sample, "--treated", "establishment=EST042", "--csv"))
    code, csv_b, _ = cli(*base_args(sample, "--treated", "establishment=EST042", "--csv"))
    assert csv_a == csv_b


def test_programme_evaluation_from_an_id_list(cli, sample, sample_dir, tmp_path):
    releases = pl.read_csv(sample[0])
    people = releases.filter(pl.col("establishment") == "EST017").get_column("offender_id").unique().sort().head(80)
    ids = tmp_path / "ids.txt"
    ids.write_text("offender_id\n" + "\n".join(people) + "\nP9999998\nP9999999\n# a comment line\n\n")
    code, out, err = cli(*base_args(sample, "--treated-ids", ids, "--json"))
    assert code == 0, err
    doc = json.loads(out)
    t = doc["diagnostics"]["treated_ids"]
    n = people.len()
    # index releases of the listed people: one per person and cohort
    index_releases = (
        releases.filter(pl.col("offender_id").is_in(people.implode()))
        .with_columns(pl.col("release_date").str.to_date())
        .select(
            "offender_id", pl.format("{}Q{}", pl.col("release_date").dt.year(), pl.col("release_date").dt.quarter())
        )
        .unique()
        .height
    )
    assert t == {
        "listed": n + 2,
        "with_index_release": n,
        "absent_from_releases": 2,
        "in_releases_without_index_release_compared": 0,
        "later_index_releases_left_out": index_releases - n,
    }
    assert f"2 of the {n + 2} listed offender ids" in err
    # default --ids-releases first: one treated index release per listed person, the earliest
    assert doc["rows"][-1]["treated"] == n
    assert doc["parameters"]["ids_releases"] == "first"
    code, out, err = cli(*base_args(sample, "--treated-ids", ids, "--ids-releases", "all", "--json"))
    assert code == 0, err
    assert json.loads(out)["rows"][-1]["treated"] == index_releases


def test_id_list_naming_nobody_is_a_data_error(cli, sample, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("NOBODY1\nNOBODY2\n")
    code, _, err = cli(*base_args(sample, "--treated-ids", ids))
    assert code == 65
    assert "none of the 2 listed offender ids" in err and "Traceback" not in err


def test_missing_id_file_is_exit_66(cli, sample, tmp_path):
    code, _, err = cli(*base_args(sample, "--treated-ids", tmp_path / "none.txt"))
    assert code == 66 and "no such file" in err


def test_missing_covariate_column_is_a_usage_error(cli, sample):
    releases, convictions, _ = sample
    code, _, err = cli(
        "compare", "matched", releases, convictions, "--treated", "establishment=EST042", "--covariates", "age,ogrs"
    )
    assert code == 2 and "'ogrs'" in err and "--covariates" in err


def test_covariate_with_nulls_names_column_and_count(cli, sample, tmp_path):
    releases = pl.read_csv(sample[0], infer_schema_length=0)
    blanked = releases.with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 0).then(None).otherwise(pl.col("age")).alias("age")
    )
    path = tmp_path / "releases.csv"
    blanked.write_csv(path)
    args = base_args((str(path), sample[1], sample[2]), "--treated", "establishment=EST042")
    code, _, err = cli(*args)
    assert code == 65
    assert "covariate 'age' is missing for" in err and "--drop-missing" in err and "Traceback" not in err
    code, out, err = cli(*args, "--drop-missing", "--json")
    assert code == 0, err
    dropped = json.loads(out)["diagnostics"]["dropped_missing"]
    assert dropped["by_column"]["age"] == dropped["treated"] + dropped["pool"] > 0


def test_treated_filter_matching_no_one(cli, sample):
    code, _, err = cli(*base_args(sample, "--treated", "establishment=EST999"))
    # a value no release has is invalid data naming it (issue 11), with the closest values present
    assert code == 65 and "--treated establishment=EST999: no release has this value" in err


def test_perfect_separation_is_exit_65_not_a_traceback(cli, sample, tmp_path):
    releases = pl.read_csv(sample[0], infer_schema_length=0)
    flagged = releases.with_columns((pl.col("establishment") == "EST042").cast(pl.Int64).alias("flag"))
    path = tmp_path / "releases.csv"
    flagged.write_csv(path)
    args = ["compare", "matched", str(path), sample[1], "--treated", "establishment=EST042", "--bootstrap", "0"]
    code, _, err = cli(*args, "--covariates", "age,flag")
    assert code == 65 and "separat" in err and "Traceback" not in err
    # the same as a category: no pool release shares the treated's level
    text = releases.with_columns(
        pl.when(pl.col("establishment") == "EST042").then(pl.lit("in")).otherwise(pl.lit("out")).alias("flag")
    )
    text.write_csv(path)
    code, _, err = cli(*args, "--covariates", "age,flag")
    assert code == 65 and "separate" in err and "Traceback" not in err


def test_option_conflicts_are_usage_errors(cli, sample, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("P0000001\n")
    assert cli(*base_args(sample, "--treated", "establishment=EST042", "--treated-ids", ids))[0] == 2
    assert cli(*base_args(sample))[0] == 2
    code, _, err = cli(*base_args(sample, "--treated", "establishment=EST042", "--balance-plot", tmp_path / "x.pdf"))
    assert code == 2 and ".png" in err
    code, _, err = cli(*base_args(sample, "--treated", "establishment=EST042", "--ratio", "0"))
    assert code == 2


def test_fail_unless_significant(cli, sample):
    # one cohort of the sample's treated establishment: too few releases for a significant pooled reduction
    code, out, err = cli(
        *base_args(
            sample,
            "--treated",
            "establishment=EST042",
            "--where",
            "cohort=2022Q4",
            "--fail-unless-significant",
            "--json",
        )
    )
    # exit 1 after writing the whole output, because the verdict over all cohorts is not a significant reduction
    assert code == 1, err
    pooled = json.loads(out)["rows"][-1]
    assert pooled["scope"] == "pooled" and pooled["events_significant_adjusted"] is False
    assert pooled["events_verdict"] != "significant reduction"


def test_config_file_section(cli, sample, tmp_path):
    config = tmp_path / "job.toml"
    config.write_text(
        '[compare.matched]\ntreated = ["establishment=EST042"]\ncovariates = "age,sex"\nbootstrap = 200\nratio = 3\n'
    )
    releases, convictions, _ = sample
    code, out, err = cli("compare", "matched", releases, convictions, "--config", config, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["parameters"]["ratio"] == 3 and doc["parameters"]["covariates"] == ["age", "sex"]


def test_confidence_is_refused_by_compare_matched_which_reads_its_intervals_off_alpha(cli, sample, tmp_path):
    """compare matched's intervals are the (1 - 2 alpha) percentile intervals of its one-sided test; a typed
    --confidence once changed only the recorded parameter (issue 28). It is a usage error saying what to use,
    not in --help, and not a key of [compare.matched] in a config."""
    treated = ["--treated", "establishment=EST042"]
    status, _, err = cli(*base_args(sample, *treated, "--confidence", "0.9"))
    assert status == 2 and "--confidence: does nothing here" in err and "--alpha" in err
    status, out, _ = cli("compare", "matched", "--help")
    assert status == 0 and "--confidence" not in out
    config = tmp_path / "job.toml"
    config.write_text("[compare.matched]\nconfidence = 0.9\n", encoding="utf-8")
    status, _, err = cli(*base_args(sample, *treated, "--config", str(config)))
    assert status == 2 and "unknown key 'confidence'" in err


def test_balance_plot_svg_keeps_text_is_deterministic_and_shows_a_dollar_literally(cli, sample, tmp_path):
    # a level from the data with dollars: typeset as mathematics it would lose its $ signs ("$x$" -> "x") and
    # "$\frac$" would end the run with a mathtext parse error
    releases = tmp_path / "releases.csv"
    table = pl.read_csv(sample[0], infer_schema=False)
    table = table.with_columns(
        pl.when(pl.col("index_offence") == "drugs")
        .then(pl.lit(r"$\frac$"))
        .otherwise(pl.col("index_offence"))
        .alias("index_offence")
    )
    table.write_csv(releases)
    args = ["compare", "matched", str(releases), *base_args(sample, "--treated", "establishment=EST042")[3:]]
    first, second, png = tmp_path / "a.svg", tmp_path / "b.svg", tmp_path / "a.png"
    assert cli(*args, "--balance-plot", first)[0] == 0
    assert cli(*args, "--balance-plot", second)[0] == 0
    assert cli(*args, "--balance-plot", png)[0] == 0
    svg = first.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert first.read_bytes() == second.read_bytes()  # no date, fixed ids
    assert r"index_offence=$\frac$" in svg  # text kept as text, the level as written
    assert "Covariate balance" in svg
    assert png.read_bytes().startswith(b"\x89PNG")


def test_a_control_character_in_a_level_leaves_the_svg_well_formed_and_quiet(cli, sample, tmp_path):
    # U+0001 and U+000B in a covariate level: raw in an SVG they make it invalid XML; matplotlib also warned
    # "Glyph 1 missing" on standard error, even with -q
    import xml.etree.ElementTree as ElementTree

    releases = tmp_path / "releases.csv"
    table = pl.read_csv(sample[0], infer_schema=False)
    table = table.with_columns(
        pl.when(pl.col("index_offence") == "drugs").then(pl.lit("ctl\x01\x0b")).otherwise(pl.col("index_offence"))
        .alias("index_offence")
    )  # fmt: skip
    table.write_csv(releases)
    plot = tmp_path / "b.svg"
    args = ["compare", "matched", str(releases), *base_args(sample, "--treated", "establishment=EST042")[3:]]
    status, _, err = cli(*args, "--balance-plot", plot, "-q", "-o", tmp_path / "m.csv")
    assert status == 0 and err == ""
    ElementTree.parse(plot)  # well-formed
    assert "index_offence=ctl\\x01\\x0b" in plot.read_text()
