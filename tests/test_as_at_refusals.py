"""Refusals a review of issue 27 asked for: an --as-at that leaves nothing, an as_at a command cannot apply, and a
previous bulletin that is the folder being replaced."""

from __future__ import annotations

import shutil


def test_as_at_before_every_release_is_a_usage_error_not_an_empty_answer(cli, sample_dir):
    # the sample's first release is 2022-01-01: an extract taken on 2021-06-30 holds none (it printed a header
    # and warned that the 10,000-row file had no rows, exit 0)
    status, out, err = cli(
        "measure", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--as-at", "2021-06-30"
    )
    assert status == 2 and out == ""
    assert "--as-at 2021-06-30: before every release (the earliest is 2022-01-01)" in err


def test_a_config_as_at_a_command_cannot_apply_is_refused(cli, tmp_path):
    config = tmp_path / "job.toml"
    config.write_text("[inputs]\nas_at = 2024-06-30\n")
    status, _, err = cli("sql", "--dialect", "duckdb", "--config", config)  # printed the uncut query, exit 0
    assert status == 2 and "reoffend sql cannot apply 'as_at'" in err and "line 2" in err


def test_the_previous_bulletin_cannot_be_the_folder_being_replaced(cli, tmp_path, sample_dir):
    job = tmp_path / "job.toml"
    shutil.copy(sample_dir / "job.toml", job)
    text = job.read_text().replace('"releases.csv"', f'"{sample_dir / "releases.csv"}"')
    text = text.replace('"convictions.csv"', f'"{sample_dir / "convictions.csv"}"')
    job.write_text(text.replace('"excluded_offences.txt"', f'"{sample_dir / "excluded_offences.txt"}"'))
    target = tmp_path / "out"
    status, _, err = cli("bulletin", "--config", job, "-o", target, "--previous", target, "-q")
    assert status == 2 and "is the folder this run replaces" in err
    assert not target.exists()


def test_a_log_that_is_a_pipe_or_standard_output_is_refused_before_any_work(cli, tmp_path, sample_dir):
    import os

    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)  # appended at the end of the run: a pipe with no reader hung it
    sample = [sample_dir / "releases.csv", sample_dir / "convictions.csv"]
    status, _, err = cli("measure", *sample, "--log", fifo)
    assert status == 2 and "a pipe" in err


def test_a_previous_bulletin_from_a_later_extract_is_refused(cli, tmp_path, sample_dir):
    # it called the cohorts this bulletin has not yet completed "no longer in the data" (163 rows)
    job = tmp_path / "job.toml"
    text = (sample_dir / "job.toml").read_text()
    for name in ("releases.csv", "convictions.csv", "excluded_offences.txt"):
        text = text.replace(f'"{name}"', f'"{sample_dir / name}"')
    job.write_text(text)
    later = tmp_path / "later"
    assert cli("bulletin", "--config", job, "-o", later, "-q")[0] == 0
    status, _, err = cli("bulletin", "--config", job, "-o", tmp_path / "earlier", "--as-at", "2024-12-31",
                         "--previous", later, "-q")  # fmt: skip
    assert status == 2 and "later than this bulletin's (2024-12-31)" in err


def test_utf16_without_a_byte_order_mark_says_which_encoding_to_give(cli, tmp_path):
    releases = tmp_path / "r.csv"
    releases.write_bytes("offender_id,release_date\nA,2022-01-01\n".encode("utf-16-le"))
    convictions = tmp_path / "c.csv"
    convictions.write_text("offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\n")
    status, _, err = cli("measure", releases, convictions)
    assert status == 65 and "looks like UTF-16 without a byte-order mark, give --encoding utf-16-le" in err


def test_a_gzipped_parquet_file_named_csv_gz_is_refused_as_parquet(cli, tmp_path):
    import gzip

    import polars as pl

    table = tmp_path / "r.parquet"
    pl.DataFrame({"offender_id": ["A"], "release_date": ["2022-01-01"]}).write_parquet(table)
    packed = tmp_path / "r.csv.gz"
    packed.write_bytes(gzip.compress(table.read_bytes()))
    convictions = tmp_path / "c.csv"
    convictions.write_text("offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\n")
    status, _, err = cli("measure", packed, convictions)  # it said the bytes were not UTF-8: give --encoding
    assert status == 2 and "is a Parquet file (it starts with PAR1), not CSV" in err
