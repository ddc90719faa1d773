"""The command line as users run it: entry point, pipelines, formats, atomic outputs, config, exit statuses."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from .conftest import write_csv

BIN = Path(sys.executable).parent / "reoffend"
RELEASES = "offender_id,release_date,establishment\nA,2022-01-10,E1\nB,2022-02-01,E2\nC,2022-05-01,E1\n"
CONVICTIONS = (
    "offender_id,offence_date,conviction_date,offence_code\n"
    "A,2022-02-01,2022-03-01,THEFT\n"
    "A,2022-03-01,2022-03-01,BREACH\n"
    "C,2022-06-01,2023-09-01,THEFT\n"
    "B,2023-12-01,2024-01-01,THEFT\n"
)


@pytest.fixture
def files(tmp_path):
    return write_csv(tmp_path / "releases.csv", RELEASES), write_csv(tmp_path / "convictions.csv", CONVICTIONS)


def test_installed_entry_point_in_a_shell_pipeline(files, tmp_path):
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    releases, convictions = files
    codes = _codes(files)  # without the list, measure warns about the BREACH row (tests/test_shell_inputs.py)
    pipeline = (
        f"cat {releases} | {BIN} measure - {convictions} --exclude-offences {codes} --by establishment --format csv"
        " | cut -d, -f1-4"
    )
    result = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # E1: A (THEFT in the window; BREACH excluded) and C (released 2022-05-01, deadline 2023-11-01, convicted
    # 2023-09-01): 2 of 2; E2: B's offence 2023-12-01 is after its window (ends 2023-02-01) -> 0 of 1
    assert result.stdout.splitlines() == [
        "establishment,cohort_size,reoffenders,binary_rate",
        "E1,2,2,1.0",
        "E2,1,0,0.0",
    ]
    # the one message: the releases end in May 2022, so 2022Q2 is a partial period (issue 11); on one line, as
    # standard error is not a terminal (a log is grepped line by line)
    assert (
        result.stderr.startswith("reoffend: warning: cohort 2022Q2 is a partial period")
        and result.stderr.count("\n") == 1
    )


def test_entry_point_exit_statuses_as_subprocess(files, tmp_path):
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    releases, _ = files
    missing = subprocess.run([BIN, "measure", releases, tmp_path / "none.csv"], capture_output=True, text=True)
    assert missing.returncode == 66 and "Traceback" not in missing.stderr
    usage = subprocess.run([BIN, "measure", "--period", "week", releases, releases], capture_output=True, text=True)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_csv_is_the_default_when_stdout_is_not_a_terminal(cli, files):
    status, out, _ = cli("measure", *files)
    assert status == 0
    assert out.startswith("cohort,cohort_size,reoffenders,binary_rate,binary_rate_low,binary_rate_high,")


def test_json_has_parameters_metadata_and_rows(cli, files):
    status, out, _ = cli("measure", *files, "--json", "--exclude-offences", _codes(files))
    assert status == 0
    document = json.loads(out)
    assert list(document) == ["parameters", "metadata", "rows"]
    assert document["metadata"]["extract_date"] == "2024-01-01"
    assert document["metadata"]["extract_date_source"] == "latest conviction_date in the data"
    assert document["metadata"]["window"]["follow_up_months"] == 12
    assert document["metadata"]["inputs"]["releases"]["rows"] == 3
    assert document["metadata"]["inputs"]["convictions"]["rows"] == 4
    assert document["parameters"]["excluded_offences"] == ["BREACH"]
    rows = document["rows"]
    # 2022Q1: A (1 THEFT counted, BREACH excluded) and B (none); 2022Q2: C (1)
    assert [(r["cohort"], r["cohort_size"], r["reoffenders"], r["reoffences"]) for r in rows] == [
        ("2022Q1", 2, 1, 1),
        ("2022Q2", 1, 1, 1),
    ]


def _codes(files):
    path = Path(files[0]).parent / "codes.txt"
    path.write_text("# not new offences\nBREACH\n")
    return str(path)


def test_ndjson_and_parquet_outputs(cli, files, tmp_path):
    status, out, _ = cli("measure", *files, "--nl")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["cohort"] for line in lines] == ["2022Q1", "2022Q2"]
    target = tmp_path / "measures.parquet"
    assert cli("measure", *files, "-o", target)[0] == 0
    assert pl.read_parquet(target)["cohort_size"].to_list() == [2, 1]


def test_identical_inputs_give_byte_identical_outputs(cli, files, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    cli("measure", *files, "--by", "cohort,establishment", "-o", first)
    cli("measure", *files, "--by", "cohort,establishment", "-o", second)
    assert first.read_bytes() == second.read_bytes()


def test_per_release_audit_table(cli, files, tmp_path):
    audit = tmp_path / "audit.csv"
    status, _, err = cli("measure", *files, "--per-release", audit, "--by", "establishment", "--csv")
    assert status == 0, err
    table = pl.read_csv(audit, try_parse_dates=True)
    assert table.columns == [
        "offender_id", "establishment", "release_date", "follow_up_end", "conviction_deadline",
        "reoffended", "reoffences", "reconviction_events", "days_to_first_reoffence",
    ]  # fmt: skip
    a = table.row(0, named=True)
    # A: released 2022-01-10; offences 2022-02-01 and 2022-03-01 both convicted 2022-03-01: 2 offences, 1 event
    assert (a["offender_id"], a["reoffences"], a["reconviction_events"], a["days_to_first_reoffence"]) == (
        "A",
        2,
        1,
        22,
    )


def test_output_into_a_missing_folder_cannot_be_created_and_writes_nothing(cli, files, tmp_path):
    status, _out, err = cli("measure", *files, "-o", tmp_path / "no" / "such" / "out.csv")
    assert status == 73  # sysexits EX_CANTCREAT (docs/cli.md)
    assert "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "no").exists()


def test_a_failed_run_leaves_an_earlier_output_intact_and_no_temporary_file(cli, files, tmp_path):
    target = tmp_path / "out.csv"
    assert cli("measure", *files, "-o", target)[0] == 0
    good = target.read_bytes()
    bad = write_csv(tmp_path / "bad.csv", "offender_id,release_date\nA,not-a-date\n")
    status, _, _ = cli("measure", bad, files[1], "-o", target)
    assert status == 65
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failure_while_writing_removes_the_temporary_file(cli, files, tmp_path, monkeypatch):
    from reoffend import io as reoffend_io

    target = tmp_path / "out.csv"
    target.write_text("earlier\n")

    def broken_writer(frame, fmt):
        def write(handle):
            handle.write(b"half a fi")
            raise OSError("disk full")

        return write

    monkeypatch.setattr("reoffend.cli.output.frame_writer", broken_writer)
    status, _, err = cli("measure", *files, "-o", target)
    assert status == 74 and "disk full" in err  # a write error (docs/cli.md)
    assert target.read_text() == "earlier\n"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    assert reoffend_io  # the module under test


def test_polars_panic_becomes_exit_70_and_one_line(cli, files, monkeypatch):
    def panic(*args, **kwargs):
        raise pl.exceptions.PanicException("index out of bounds")

    monkeypatch.setattr(sys.modules["reoffend.cli.measure"], "run_measure", panic)
    status, out, err = cli("measure", *files)
    assert status == 70
    assert out == ""
    assert err.strip().count("\n") == 0
    assert "internal error: PanicException: index out of bounds" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_an_internal_error(cli, files, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(sys.modules["reoffend.cli.measure"], "run_measure", fail)
    status, _, err = cli("--debug", "measure", *files)
    assert status == 70 and "Traceback" in err


def test_map_renames_extract_columns(cli, tmp_path, files):
    renamed = write_csv(tmp_path / "extract.csv", "person,date_out\nA,2022-01-10\n")
    status, out, err = cli(
        "measure",
        renamed,
        files[1],
        "--map",
        "offender_id=person",
        "--map",
        "release_date=date_out",
        "--by",
        "",
        "--csv",
        "--extract-date",
        "2024-01-01",
    )
    assert status == 0, err
    assert out.splitlines()[1].startswith("1,1,1.0,")


def test_config_file_supplies_options_and_the_command_line_wins(cli, files, tmp_path):
    config = tmp_path / "job.toml"
    config.write_text('by = "establishment"\nfollow-up = 12\n[measure]\nformat = "json"\n')
    status, out, err = cli("measure", *files, "--config", config)
    assert status == 0, err
    assert [row["establishment"] for row in json.loads(out)["rows"]] == ["E1", "E2"]
    status, out, _ = cli("measure", *files, "--config", config, "--csv")
    assert out.startswith("establishment,")


def test_config_columns_table_is_the_map(cli, files, tmp_path):
    renamed = write_csv(tmp_path / "extract.csv", "person,date_out\nA,2022-01-10\n")
    config = tmp_path / "job.toml"
    config.write_text('[columns]\noffender_id = "person"\nrelease_date = "date_out"\n')
    status, out, err = cli(
        "measure", renamed, files[1], "--config", config, "--csv", "--by", "", "--extract-date", "2024-01-01"
    )
    assert status == 0, err
    # the renamed columns were read as offender_id and release_date: one index release, A's, measured
    row = pl.read_csv(io.StringIO(out)).row(0, named=True)
    assert row["cohort_size"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('bye = "cohort"\n', "line 1: unknown key 'bye'"),
        ('by = "cohort"\n\n[measure]\nfollow-up = "twelve"\n', "line 4: wrong value for 'follow-up'"),
        ("[measure]\nperiod = 'week'\n", "line 2: wrong value for 'period'"),
        ("by = [unclosed\n", "not valid TOML"),
    ],
)
def test_config_errors_name_the_key_and_line(cli, files, tmp_path, text, message):
    config = tmp_path / "job.toml"
    config.write_text(text)
    status, _, err = cli("measure", *files, "--config", config)
    assert status == 2
    assert message in err and "Traceback" not in err


def test_unknown_group_column_is_a_usage_error(cli, files):
    status, _, err = cli("measure", *files, "--by", "prison")
    assert status == 2 and "no column 'prison'" in err


def test_both_tables_from_stdin_is_a_usage_error(cli):
    status, _, err = cli("measure", "-", "-")
    assert status == 2 and "only one of the two tables" in err


def test_table_format_renders_percentages(files, tmp_path):
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    result = subprocess.run(
        [BIN, "measure", *files, "--format", "table"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    # 2022Q1: 1 of 2 reoffended -> 50.0%; Wilson 95% interval 9.5%..90.5%
    assert "50.0%" in result.stdout and "9.5% to 90.5%" in result.stdout


def test_sample_demo_runs(cli, sample_dir):
    args = [
        sample_dir / "releases.csv",
        sample_dir / "convictions.csv",
        "--exclude-offences",
        sample_dir / "excluded_offences.txt",
        "--csv",
    ]
    status, out, err = cli("measure", *args)
    assert status == 0, err
    rows = pl.read_csv(out.encode())
    assert rows.height == 8
    # realistic: short-sentence adult custody cohorts reoffend at roughly 45-60% (design: around 60%)
    assert rows["binary_rate"].is_between(0.4, 0.65).all()


def test_streaming_engine_gives_the_same_rows(cli, sample_dir, tmp_path):
    args = ["measure", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--by", "cohort,establishment"]
    assert cli(*args, "-o", tmp_path / "a.csv")[0] == 0
    assert cli(*args, "--streaming", "-o", tmp_path / "b.csv")[0] == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_help_lists_the_commands(cli):
    status, out, _ = cli("--help")
    assert status == 0
    for command in ("measure", "validate", "synth", "compare"):
        assert command in out
    assert shutil.which("bash")


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_a_reader_that_stops_early_ends_the_run_quietly_with_141(sample_dir, fmt, tmp_path):
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    # about 150 kB of rows: more than a pipe holds, so writing fails once `head` has gone
    command = (
        f"{BIN} measure {sample_dir}/releases.csv {sample_dir}/convictions.csv --by cohort,establishment "
        f"--exclude-offences {sample_dir}/excluded_offences.txt "
        f"--format {fmt} 2>stderr.txt | head -1 > /dev/null; echo ${{PIPESTATUS[0]}}; cat stderr.txt"
    )
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    status, *stderr = result.stdout.splitlines()
    assert status == "141"  # not 1, which means "not significant"
    assert stderr == []
