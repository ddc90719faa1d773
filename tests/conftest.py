"""Shared helpers: run the core on tiny in-memory tables."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Sequence

import polars as pl
import pytest
from hypothesis import Phase, settings

from reoffend.measure import MeasureParams, MeasureResult, measure
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs
from reoffend.window import FollowUpWindow

# No time limit on a hypothesis example: on a loaded 2-core CI machine a 200 ms deadline fails correct code at
# random ("Unreliable test timings"); speed is measured by `make bench`, never by a timed test.
settings.register_profile("reoffend", deadline=None)
# Mutation runs (tools/mutate.py sets REOFFEND_HYPOTHESIS_PROFILE=mutate in each child; tests/README.md): the same
# examples for every mutant and for the coverage run that chose its tests (derandomized, no database), 30 examples
# where a test does not set its own number, and no shrinking (a kill needs one failing example, not the smallest).
# A property that lets a mutant survive here may kill it under the full profile: run it alone without the variable.
settings.register_profile(
    "mutate",
    parent=settings.get_profile("reoffend"),
    derandomize=True,
    database=None,
    max_examples=30,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
settings.load_profile(os.environ.get("REOFFEND_HYPOTHESIS_PROFILE", "reoffend"))

D = dt.date.fromisoformat
FAR_EXTRACT = dt.date(2030, 1, 1)


def releases_frame(rows: Sequence[dict]) -> pl.DataFrame:
    schema = {"offender_id": pl.String, "release_date": pl.String, "establishment": pl.String}
    extra = {k: pl.String for row in rows for k in row if k not in schema}
    return pl.DataFrame(list(rows), schema={**schema, **extra})


def convictions_frame(rows: Sequence[dict]) -> pl.DataFrame:
    schema = {"offender_id": pl.String, "offence_date": pl.String, "conviction_date": pl.String}
    extra = {k: pl.String for row in rows for k in row if k not in schema}
    return pl.DataFrame(list(rows), schema={**schema, **extra})


def validated(
    releases: pl.DataFrame, convictions: pl.DataFrame, *, extract_date: dt.date | None = None, dedupe: bool = False
):
    return validate_inputs(
        Table("releases.csv", RELEASES, releases.lazy()),
        Table("convictions.csv", CONVICTIONS, convictions.lazy()),
        extract_date=extract_date,
        dedupe=dedupe,
    )


def run(
    releases, convictions, *, extract_date: dt.date | None = FAR_EXTRACT, by=("cohort",), **params
) -> MeasureResult:
    """Measure tiny tables given as lists of dicts (dates as ISO text) or frames; audit table kept."""
    if not isinstance(releases, pl.DataFrame):
        releases = releases_frame(releases)
    if not isinstance(convictions, pl.DataFrame):
        convictions = convictions_frame(convictions)
    window = params.pop("window", FollowUpWindow())
    inputs = validated(releases, convictions, extract_date=extract_date)
    return measure(inputs, MeasureParams(window=window, by=tuple(by), **params), audit_table=True)


def one_row(result: MeasureResult) -> dict:
    assert result.rows.height == 1, result.rows
    return result.rows.row(0, named=True)


@pytest.fixture
def sample_dir():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "data" / "sample"


def write_csv(path, rows: Sequence[dict] | str) -> str:
    """Write a CSV file from dicts (or literal text) and return its path as text."""
    if isinstance(rows, str):
        path.write_text(rows)
    else:
        pl.DataFrame(list(rows)).write_csv(path)
    return str(path)


def write_parquet_dates(folder, release_days: Sequence[int]) -> tuple[str, str]:
    """r.parquet with releases A, B, ... on these day numbers (a Parquet Date holds any 32-bit day), and
    c.parquet with A's one conviction (offence 2020-01-01, conviction 2020-02-01, so the extract date)."""
    release_dates = pl.Series(list(release_days), dtype=pl.Int32).cast(pl.Date)
    ids = [chr(ord("A") + i) for i in range(len(release_dates))]
    pl.DataFrame({"offender_id": ids, "release_date": release_dates}).write_parquet(folder / "r.parquet")
    pl.DataFrame(
        {"offender_id": ["A"], "offence_date": [dt.date(2020, 1, 1)], "conviction_date": [dt.date(2020, 2, 1)]}
    ).write_parquet(folder / "c.parquet")
    return str(folder / "r.parquet"), str(folder / "c.parquet")


@pytest.fixture
def cli(capsys):
    """Run the real entry point in-process: returns (exit status, stdout, stderr)."""
    from reoffend.cli import main

    def invoke(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as stop:
            main([str(a) for a in args])
        captured = capsys.readouterr()
        return stop.value.code, captured.out, captured.err

    return invoke


@pytest.fixture
def folder(tmp_path):
    """r.csv and c.csv (:data:`tests.helpers.RELEASES`, :data:`tests.helpers.CONVICTIONS`) in ``tmp_path``."""
    from tests import helpers  # imported here: helpers imports this module's write_csv

    write_csv(tmp_path / "r.csv", helpers.RELEASES)
    write_csv(tmp_path / "c.csv", helpers.CONVICTIONS)
    return tmp_path


@pytest.fixture
def sample(tmp_path, sample_dir):
    """A copy of the sample's record files and exclusion list in ``tmp_path``, for runs that write beside them."""
    for name in ("releases.csv", "convictions.csv", "excluded_offences.txt"):
        shutil.copy(sample_dir / name, tmp_path / name)
    return tmp_path
