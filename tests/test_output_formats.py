"""--format tsv and markdown, and gzip by the output's name (issue 28: output people expect)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import polars as pl
import pytest

from .conftest import write_csv

# A and B leave in 2022Q1, C in 2022Q2. A's theft (2022-02-01, convicted 2022-03-01) is inside its window;
# B's offence (2023-12-01) is after B's window ends (2023-02-01); C's offence (2022-06-01) is convicted on
# 2023-09-01, before C's deadline (2022-05-01 + 18 months = 2023-11-01). So 2022Q1: 1 of 2, rate 1/2 = 0.5;
# 2022Q2: 1 of 1, rate 1/1 = 1.0.
RELEASES = "offender_id,release_date,establishment\nA,2022-01-10,E1\nB,2022-02-01,E2\nC,2022-05-01,E1\n"
CONVICTIONS = (
    "offender_id,offence_date,conviction_date,offence_code\n"
    "A,2022-02-01,2022-03-01,THEFT\n"
    "C,2022-06-01,2023-09-01,THEFT\n"
    "B,2023-12-01,2024-01-01,THEFT\n"
)
COLUMNS = ("--columns", "cohort,cohort_size,reoffenders,binary_rate")


@pytest.fixture
def files(tmp_path):
    return write_csv(tmp_path / "releases.csv", RELEASES), write_csv(tmp_path / "convictions.csv", CONVICTIONS)


def test_tsv_is_the_csv_with_tabs(cli, files):
    status, tsv, _ = cli("measure", *files, "--format", "tsv", *COLUMNS)
    assert status == 0
    assert tsv.splitlines() == [
        "cohort\tcohort_size\treoffenders\tbinary_rate",
        "2022Q1\t2\t1\t0.5",
        "2022Q2\t1\t1\t1.0",
    ]
    csv_text = cli("measure", *files, "--format", "csv")[1]
    assert pl.read_csv(io.StringIO(cli("measure", *files, "--format", "tsv")[1]), separator="\t").equals(
        pl.read_csv(io.StringIO(csv_text))
    )


def test_markdown_is_a_pipe_table_of_the_csv_values_numbers_right_aligned(cli, files, tmp_path):
    status, text, _ = cli("measure", *files, "--format", "markdown", *COLUMNS)
    assert status == 0
    assert text == (
        "| cohort | cohort_size | reoffenders | binary_rate |\n"
        "|---|---:|---:|---:|\n"
        "| 2022Q1 | 2 | 1 | 0.5 |\n"
        "| 2022Q2 | 1 | 1 | 1.0 |\n"
    )
    target = tmp_path / "measures.md"  # the format from the name
    assert cli("measure", *files, "-o", target, *COLUMNS)[0] == 0
    assert target.read_text() == text


def test_a_value_from_the_data_is_text_in_markdown_never_markup(cli, tmp_path):
    releases = write_csv(tmp_path / "r.csv", 'offender_id,release_date,establishment\nA,2022-01-10,"*E1*|<b>x"\n')
    convictions = write_csv(tmp_path / "c.csv", CONVICTIONS)
    status, text, _ = cli(
        "measure",
        releases,
        convictions,
        "--by",
        "establishment",
        "--format",
        "markdown",
        "--columns",
        "establishment,cohort_size",
    )
    assert status == 0
    # * is escaped, | does not end the cell, < does not open a tag: the row still has exactly two cells
    assert text.splitlines()[2] == "| \\*E1\\*\\|&lt;b>x | 1 |"


def test_an_output_named_gz_is_gzip_and_the_same_bytes_every_run(cli, files, tmp_path):
    plain, packed, again = tmp_path / "m.csv", tmp_path / "m.csv.gz", tmp_path / "n.csv.gz"
    for target in (plain, packed, again):
        assert cli("measure", *files, "-o", target)[0] == 0
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    assert packed.read_bytes() == again.read_bytes()  # no time and no name in the gzip header
    assert packed.read_bytes()[4:8] == b"\0\0\0\0"
    tsv = tmp_path / "m.tsv.gz"
    per_release = tmp_path / "p.tsv.gz"
    assert cli("measure", *files, "-o", tsv, "--per-release", per_release)[0] == 0
    assert gzip.decompress(tsv.read_bytes()).startswith(b"cohort\tcohort_size\t")
    audit = pl.read_csv(io.BytesIO(gzip.decompress(per_release.read_bytes())), separator="\t")
    assert audit["offender_id"].to_list() == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("m.parquet.gz", "Parquet compresses inside the file"),
        ("m.csv.zst", "writes gzip (.gz), not zstd"),
        ("m.xlsx", ".tsv, .json, .ndjson, .jsonl, .parquet or .md (optionally .gz)"),
    ],
)
def test_an_output_name_no_format_writes_is_a_usage_error_and_writes_nothing(cli, files, tmp_path, name, message):
    status, _, err = cli("measure", *files, "-o", tmp_path / name)
    assert status == 2
    assert message in err
    assert not (tmp_path / name).exists()
    status, _, err = cli("measure", *files, "--per-release", tmp_path / name)
    assert status == 2
    assert not list(Path(tmp_path).glob("m.*"))


def test_the_sql_and_the_model_summary_named_gz_are_gzip(cli, files, tmp_path, sample_dir):
    target = tmp_path / "q.sql.gz"
    assert cli("sql", "--dialect", "duckdb", "-o", target)[0] == 0
    assert gzip.decompress(target.read_bytes()).decode().lstrip().startswith("--")
    summary = tmp_path / "models.json.gz"
    sample = [str(sample_dir / name) for name in ("releases.csv", "convictions.csv")]
    status, _, err = cli(
        "compare", "adjusted", *sample, "--exclude-offences", sample_dir / "excluded_offences.txt",
        "--baseline", "2022Q1,2022Q2", "--covariates", "age,sex", "--model-summary", summary, "--csv", "-q",
    )  # fmt: skip
    assert status == 0, err
    assert b'"binary"' in gzip.decompress(summary.read_bytes())
