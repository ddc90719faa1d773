"""Hostile review, round 5: numbers at the edge, deep nesting, tampered manifests, forged lines, empty values.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status") and that the message
names what it must.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.test_hostile import CONVICTIONS, RELEASES

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_INPUTS = (SAMPLE / "releases.csv", SAMPLE / "convictions.csv")


def job_file(folder: Path, extra: str = "", *, title: str = 'title = "T"\n') -> Path:
    """r.csv, c.csv and a bulletin job reading them, with ``extra`` TOML appended."""
    write_csv(folder / "r.csv", RELEASES)
    write_csv(folder / "c.csv", CONVICTIONS)
    job = folder / "job.toml"
    job.write_text(
        title + '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        "[disclosure]\nmin_cohort = 0\nmin_count = 0\n" + extra
    )
    return job


# ------------------------------------------------------------------- A. a tail too small for the normal quantile
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (
            ("power", "--baseline-rate", "50%", "--alpha", "1e-17", "--current-size", "100", "--baseline-size", "100"),
            "--alpha",
        ),
        (("power", "--baseline-rate", "50%", "--alpha", "1e-300", "--reduction", "10"), "--alpha"),
        (
            ("compare", "baseline", "--baseline-counts", "5/10", "--current-counts", "3/10", "--alpha", "1e-300"),
            "--alpha",
        ),
        (
            (
                "compare",
                "baseline",
                "--baseline-counts",
                "5/10",
                "--current-counts",
                "3/10",
                "--confidence",
                "0.9999999999999999",
            ),
            "--confidence",
        ),
        (("compare", "adjusted", *SAMPLE_INPUTS, "--baseline", "2022Q1", "--alpha", "1e-17"), "--alpha"),
        (("measure", *SAMPLE_INPUTS, "--confidence", "0.9999999999999999"), "--confidence"),
        (("nowcast", *SAMPLE_INPUTS, "--confidence", "0.9999999999999999"), "--confidence"),
    ],
)
def test_an_alpha_or_confidence_leaving_too_small_a_tail_is_a_usage_error(cli, args, option):
    """Below ~1.1e-16 the normal quantile does not exist: StatisticsError, exit 70. Now exit 2 naming the option."""
    status, _out, err = cli(*args)
    assert status == 2, err
    assert option in err and ("1e-12" in err or "0.999999999999" in err)


def test_the_smallest_tail_allowed_works(cli):
    status, out, err = cli(
        "compare", "baseline", "--baseline-counts", "5/10", "--current-counts", "3/10",
        "--alpha", "1e-12", "--sided", "two", "--confidence", "0.999999999999", "--csv",
    )  # fmt: skip
    assert status == 0, err
    assert "no significant change" in out


def test_a_bulletin_confidence_leaving_too_small_a_tail_is_a_usage_error(cli, tmp_path):
    job = job_file(tmp_path, "[measure]\nconfidence = 0.9999999999999999\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "confidence" in err and "0.999999999999" in err
