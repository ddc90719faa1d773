"""``--columns`` is checked before any work (issue 28: a typo was reported after 21 s on 5M rows), against the
columns the run will write, and never rejects one it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
RECORDS = [str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv")]
COMMANDS = {
    "measure": ["measure", *RECORDS, "--by", "cohort,establishment"],
    "measure --suppress": ["measure", *RECORDS, "--by", "cohort", "--suppress", "10"],
    "compare baseline": [
        "compare",
        "baseline",
        *RECORDS,
        "--site",
        "EST042",
        "--current",
        "2023Q4",
        "--baseline",
        "2022Q4",
    ],
    "compare matched": [
        "compare",
        "matched",
        *RECORDS,
        "--treated",
        "establishment=EST042",
        "--covariates",
        "age",
        "--bootstrap",
        "0",
    ],
    "compare adjusted": [
        "compare",
        "adjusted",
        *RECORDS,
        "--baseline",
        "2022Q1,2022Q2",
        "--covariates",
        "age",
        "--current",
        "2023Q4",
        "--by",
        "establishment",
    ],
    "power": ["power", "--baseline-rate", "0.53", "--current-size", "1000", "--baseline-size", "1000"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_written_column_is_accepted_and_a_typo_is_refused_before_reading(cli, name, tmp_path):
    args = COMMANDS[name]
    status, out, err = cli(*args, "--csv")
    assert status in (0, 1), err
    header = out.splitlines()[0]
    status, chosen, err = cli(*args, "--csv", "--columns", header)
    assert status in (0, 1) and chosen.splitlines()[0] == header, err
    # the same run on inputs that do not exist: a --columns typo is found first (2), not the missing file (66)
    missing = [str(tmp_path / "nope.csv") if a in RECORDS else a for a in args]
    status, _, err = cli(*missing, "--csv", "--columns", "cohort_sise")
    assert status == 2 and "--columns: no column 'cohort_sise'" in err
