"""A fresh hostile pass of issue 24 (after rounds four to six): each case ended in exit 70, a hang, a silent
merge of two labels, or a write into a folder the tool did not make."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import write_csv

CONVICTIONS = "offender_id,offence_date,conviction_date\nP1,2022-02-01,2022-03-01\n"


def test_a_release_date_in_year_minus_one_is_invalid_data_not_an_internal_error(cli, tmp_path):
    # every release out of range and --extract-date given: the earliest date was pulled into Python (year -1)
    releases = write_csv(tmp_path / "r.csv", "offender_id,release_date\nA,-0001-01-01\n")
    convictions = write_csv(tmp_path / "c.csv", CONVICTIONS)
    for command in ("validate", "measure"):
        status, _, err = cli(command, releases, convictions, "--extract-date", "2024-01-01")
        assert status == 65 and "date-out-of-range" in err and "internal error" not in err


def test_a_column_of_lists_is_a_column_type_problem_when_used(cli, tmp_path):
    rows = '{"offender_id":"P%d","release_date":"2022-01-1%d","%s":["x"]}\n'
    listed = tmp_path / "e.ndjson"
    listed.write_text("".join(rows % (i, i, "establishment") for i in (1, 2)))
    convictions = write_csv(tmp_path / "c.csv", CONVICTIONS)
    status, _, err = cli("measure", listed, convictions, "--extract-date", "2024-01-01")
    assert status == 65 and "column 'establishment' holds List(String)" in err
    unused = tmp_path / "s.ndjson"
    unused.write_text("".join(rows % (i, i, "sex") for i in (1, 2)))
    assert cli("measure", unused, convictions, "--extract-date", "2024-01-01")[0] == 0  # not used: no matter
    status, _, err = cli("measure", unused, convictions, "--by", "sex", "--extract-date", "2024-01-01")
    assert status == 65 and "column 'sex' holds List(String)" in err


@pytest.mark.parametrize("text", ["a = " + "[" * 1000 + "]" * 1000, "a = " + "{a=" * 1000 + "1" + "}" * 1000])
def test_a_config_nested_a_thousand_deep_is_a_usage_error(cli, tmp_path, sample_dir, text):
    config = tmp_path / "deep.toml"
    config.write_text(text + "\n")
    sample = [sample_dir / "releases.csv", sample_dir / "convictions.csv"]
    status, _, err = cli("measure", *sample, "--config", config)
    assert status == 2 and "nested too deeply" in err
    status, _, err = cli("compare", "baseline", "--current-counts", "4/10", "--baseline-counts", "5/10",
                         "--schedule", config)  # fmt: skip
    assert status == 2 and "nested too deeply" in err


def test_a_long_list_in_a_config_is_refused_at_once(cli, tmp_path, sample_dir):
    # 100,000 names: the duplicate check counted each name in the whole list (quadratic: minutes)
    config = tmp_path / "long.toml"
    config.write_text("by = [" + ", ".join(['"establishment"'] * 100_000) + "]\n")
    started = time.monotonic()
    status, _, err = cli("measure", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--config", config)
    assert status == 2 and "more than once" in err
    assert time.monotonic() - started < 30  # a generous bound on a loaded machine; it took minutes


def test_a_marker_file_that_is_a_fifo_or_huge_is_refused_not_read(tmp_path):
    # disclosure-check's manifest.json and synth's meta.json were read whole: a FIFO hung, a 3 GB file or
    # /dev/zero filled the memory (exit 70)
    reoffend = Path(sys.executable).parent / "reoffend"
    fifo_folder = tmp_path / "fifo"
    fifo_folder.mkdir()
    os.mkfifo(fifo_folder / "manifest.json")
    big_folder = tmp_path / "big"
    big_folder.mkdir()
    with open(big_folder / "manifest.json", "wb") as handle:
        handle.truncate(3 << 30)  # sparse: no disk used
    for folder in (fifo_folder, big_folder):
        done = subprocess.run([reoffend, "disclosure-check", folder], capture_output=True, text=True, timeout=60)
        assert done.returncode == 66 and "cannot be read as a bulletin manifest" in done.stderr
    synth_folder = tmp_path / "synth"
    synth_folder.mkdir()
    os.mkfifo(synth_folder / "meta.json")
    done = subprocess.run(
        [reoffend, "synth", "--releases", "100", "--out", synth_folder], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "not written by reoffend synth" in done.stderr
