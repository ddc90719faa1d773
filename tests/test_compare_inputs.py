"""The comparisons on awkward data (docs/compare.md): too few treated people, a comparison group without events,
a covariate named like the model's intercept, text in a numeric covariate, a missing covariate value.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_csv
from tests.helpers import EXTRACT, RELEASES, SAMPLE


@pytest.mark.parametrize("name", ["const", "intercept"])
@pytest.mark.parametrize("command", ["matched", "adjusted"])
def test_a_covariate_named_like_the_models_intercept_is_an_ordinary_column(cli, folder, name, command):
    """Once a crash (exit 70: the design's constant column clashed with it); now just a covariate."""
    rows = RELEASES.replace("sex\n", f"sex,{name}\n").replace(",M\n", ",M,1\n").replace(",F\n", ",F,2\n")
    rows += "D,2022-04-10,EST2,33,M,2\nE,2022-05-10,EST2,35,F,1\nF,2022-06-10,EST1,50,F,2\n"
    write_csv(folder / "rc.csv", rows)
    args = ["compare", command, folder / "rc.csv", folder / "c.csv", "--covariates", f"{name},age", *EXTRACT]
    if command == "matched":
        args += ["--treated", "establishment=EST1", "--bootstrap", "0", "--exact", "", "--caliper", "10"]
    else:
        args += ["--period", "year", "--baseline", "2022", "--current-filter", "establishment=EST1"]
    status, _out, err = cli(*args)
    assert status != 70 and "internal error" not in err, err


def test_one_treated_person_is_too_few_to_test_not_significant(cli, tmp_path):
    ids = tmp_path / "one.txt"
    ids.write_text("P0000001\n")
    args = ["compare", "matched", SAMPLE / "releases.csv", SAMPLE / "convictions.csv", "--treated-ids", ids]
    status, out, err = cli(*args, "--covariates", "age,sex", "--bootstrap", "200", "--json")
    assert status == 0, err
    rows = json.loads(out)["rows"]
    assert rows and all(row["too_few_to_test"] for row in rows)
    assert all(row["events_verdict"] == "too few to test" for row in rows)  # helper 12's verdict words
    assert all(row["events_p_reduction"] is None and row["events_significant"] is None for row in rows)
    assert all(row["events_change_low"] is None and row["target_met"] is None for row in rows)
    assert "too few to test" in " ".join(json.loads(out)["headline"])  # in the JSON, not repeated on stderr
    status, _out, err = cli(*args, "--covariates", "age,sex", "--bootstrap", "200", "--fail-unless-significant")
    assert status == 1  # never reported as significant


def test_the_minimum_treated_group_is_an_option(cli, tmp_path):
    args = ["compare", "matched", SAMPLE / "releases.csv", SAMPLE / "convictions.csv", "--treated"]
    args += ["establishment=EST042", "--covariates", "age,sex", "--bootstrap", "200", "--json"]
    rows = json.loads(cli(*args)[1])["rows"]
    pooled = rows[-1]
    assert not pooled["too_few_to_test"] and pooled["events_p_reduction"] is not None  # 171 treated: tested
    rows = json.loads(cli(*args, "--min-treated", "1000")[1])["rows"]
    assert all(row["too_few_to_test"] and row["events_p_reduction"] is None for row in rows)


def test_a_comparison_group_without_events_gives_a_result(cli, folder):
    # EST1's people (A, C) reoffend; the comparators (B, D, E, F) have no conviction at all
    rows = RELEASES + "D,2022-01-12,EST2,31,M\nE,2022-02-12,EST2,26,M\nF,2022-03-12,EST2,41,F\n"
    write_csv(folder / "r2.csv", rows)
    args = ["compare", "matched", folder / "r2.csv", folder / "c.csv", "--treated", "establishment=EST1"]
    status, out, err = cli(*args, "--covariates", "age", "--bootstrap", "200", "--min-treated", "1", *EXTRACT, "--json")
    assert status == 0, err
    pooled = json.loads(out)["rows"][-1]
    assert pooled["events_per_100_comparison"] == 0 and pooled["events_reduction_pct"] is None
    assert "against none in the weighted comparison group" in " ".join(json.loads(out)["headline"])


@pytest.mark.parametrize("command", ["matched", "adjusted"])
def test_text_in_a_numeric_covariate_is_65_naming_row_column_and_value(cli, folder, command):
    write_csv(folder / "abc.csv", RELEASES.replace("C,2022-03-10,EST1,25,M", "C,2022-03-10,EST1,abc,M"))
    args = ["compare", command, folder / "abc.csv", folder / "c.csv", "--covariates", "age,sex", *EXTRACT]
    if command == "matched":
        args += ["--treated", "establishment=EST1"]
    else:
        args += ["--period", "quarter", "--baseline", "2022Q1", "--latest-cohort"]
    status, _out, err = cli(*args)
    assert status == 65 and "abc.csv, row 3, column age" in err and "(value 'abc')" in err
    assert "covariate-not-numeric: 1" in err and "unseen" not in err


def test_a_numeric_covariate_stored_as_text_in_parquet_is_65(cli, folder):
    import polars as pl

    pl.read_csv(folder / "r.csv", infer_schema_length=0).write_parquet(folder / "r.parquet")
    pl.read_csv(folder / "c.csv", infer_schema_length=0).write_parquet(folder / "c.parquet")
    args = ["compare", "matched", folder / "r.parquet", folder / "c.parquet", "--covariates", "age", *EXTRACT]
    status, _out, err = cli(*args, "--treated", "establishment=EST1")
    assert status == 65 and "r.parquet, column age" in err and "numbers stored as text" in err


def test_a_missing_covariate_without_drop_missing_names_its_row(cli, folder):
    write_csv(folder / "gap.csv", RELEASES.replace("B,2022-02-10,EST2,40,F", "B,2022-02-10,EST2,,F"))
    args = ["compare", "matched", folder / "gap.csv", folder / "c.csv", "--covariates", "age,sex", *EXTRACT]
    status, _out, err = cli(*args, "--treated", "establishment=EST1")
    assert status == 65 and "gap.csv, row 2, column age" in err and "--drop-missing" in err
