"""Hostile review, round 2: what a cron job or a shell pipeline did to this session's changes.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status"), that the message
names what it must, and that every file that existed before the run is byte-identical afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import write_csv
from tests.test_hostile import EXTRACT, snapshot, write_bulletin_job
from tests.test_hostile import folder as hostile_folder  # noqa: F401  (r.csv, c.csv: EST1, EST2, age, sex)


@pytest.fixture
def folder(hostile_folder):  # noqa: F811
    """test_hostile's r.csv and c.csv, plus bad.csv with a date that is not one."""
    write_csv(hostile_folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\nB,2022-02-10\n")
    return hostile_folder


def run(*args, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """``reoffend ARGS`` in a child process, its standard output a pipe (as in ``reoffend ... | cmd``)."""
    code = "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=cwd, input=stdin, capture_output=True, timeout=120
    )


# ------------------------------------------------------------------------------ --errors on a device or pipe
@pytest.mark.parametrize(
    "command",
    [
        ("measure", "bad.csv", "c.csv"),
        ("compare", "baseline", "bad.csv", "c.csv", "--site", "EST1", "--current", "2022Q2", "--baseline", "2022Q1"),
    ],
)
def test_errors_to_a_pipe_are_written_once(folder, command):
    """--errors /dev/stdout (a pipe here): the problem list once, not its header twice (load_or_report wrote it
    and errors_reported wrote the same error again on its way out)."""
    before = snapshot(folder)
    done = run(*command, *EXTRACT, "--errors", "/dev/stdout", cwd=folder)
    assert done.returncode == 65, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines.count("file,row,column,rule,value,message") == 1, lines
    assert any("bad.csv,1,release_date,unparseable-date,2022-13-01" in line for line in lines)
    assert "unparseable-date" in done.stderr.decode()
    assert snapshot(folder) == before


# ------------------------------------------------------------------------------ one figure in every view
@pytest.mark.parametrize(
    ("current", "baseline", "shown"), [("40/100", "52/100", "0.044"), ("40/100", "90/100", "< 0.001")]
)
def test_a_p_value_chosen_with_columns_reads_as_in_the_full_table_and_the_headline(cli, current, baseline, shown):
    """--columns p_reduction in the table format: the p-value to three decimals as the table spec and the
    headline print it, not rounded to two (0.04 beside "p = 0.044"; 0.00 for p < 0.001)."""
    args = ("compare", "baseline", "--current-counts", current, "--baseline-counts", baseline, "--format", "table")
    status, full, _ = cli(*args)
    assert status == 0
    assert f"│ {shown}" in full and f"p for a fall {'= ' if shown[0] != '<' else ''}{shown}" in " ".join(full.split())
    status, chosen, err = cli(*args, "--columns", "current,p_reduction,verdict")
    assert status == 0, err
    cells = [cell.strip() for line in chosen.splitlines() if line.startswith("│") for cell in line.split("│")]
    assert shown in cells, chosen


# ------------------------------------------------------------------------------ --streaming reads as well
DAMAGED = {
    "not UTF-8": (b"offender_id,release_date\nA,2022-01-10\nB\xe9,2022-02-10\n", "row 2: line 3: the bytes"),
    "too many fields": (b"offender_id,release_date\nA,2022-01-10\nB,2022-02-10,extra\n", "row 2: line 3: 3 fields"),
    "quote never closed": (b'offender_id,release_date\nA,2022-01-10\n"B,2022-02-10\n', "row 2: line 3: a quote"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_a_damaged_csv_is_named_by_row_and_line_also_with_streaming(cli, folder, damage):
    """--streaming scans a CSV file at each pass: a row that cannot be read is still named by its row and
    line (as without --streaming), not a bare 'cannot read: invalid utf-8 sequence'."""
    data, where = DAMAGED[damage]
    (folder / "damaged.csv").write_bytes(data)
    before = snapshot(folder)
    status, _, plain = cli("measure", folder / "damaged.csv", folder / "c.csv", *EXTRACT)
    assert status == 65 and where in plain
    status, _, streamed = cli("measure", folder / "damaged.csv", folder / "c.csv", *EXTRACT, "--streaming")
    assert status == 65
    assert f"damaged.csv, {where}" in streamed and streamed == plain
    assert snapshot(folder) == before


# ------------------------------------------------------------------------------ a value no release has
@pytest.mark.parametrize("key", ["treated", "pool"])
def test_a_bulletin_matched_group_no_release_has_is_65_naming_the_config_key(cli, folder, key):
    """The bulletin's [comparisons.matched] treated (or pool) value that no release has is named as the
    config names it, as [comparisons.baseline] site is: not as '--treated', an option bulletin does not have."""
    job = write_bulletin_job(folder)
    groups = {"treated": "EST1", "pool": "EST2"} | {key: "EST9"}
    job.write_text(
        job.read_text() + '[comparisons.matched]\ncovariates = ["age"]\n'
        f'treated = {{ establishment = ["{groups["treated"]}"] }}\npool = {{ establishment = ["{groups["pool"]}"] }}\n'
    )
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 65, err
    assert f"[comparisons.matched] {key} establishment=EST9: no release has this value" in err, err
    assert "--treated" not in err and "--pool" not in err
    assert snapshot(folder) == before and not (folder / "out").exists()


# ------------------------------------------------------------------------------ ids a 64-bit integer cannot hold
def test_parquet_ids_beyond_the_64_bit_signed_range_are_a_column_type_problem_not_an_internal_error(cli, tmp_path):
    """A Parquet UInt64 offender_id (hashed ids) above 2**63 - 1 cannot be joined as the Int64 ids are typed:
    65 naming file, column and value, not exit 70. Smaller UInt64 ids are measured as whole numbers."""
    big = 2**63 + 5
    schema = {"offender_id": pl.UInt64, "release_date": pl.Date}
    pl.DataFrame({"offender_id": [big, 7], "release_date": [dt.date(2022, 1, 5)] * 2}, schema=schema).write_parquet(
        tmp_path / "r.parquet"
    )
    conviction_schema = {"offender_id": pl.UInt64, "offence_date": pl.Date, "conviction_date": pl.Date}
    pl.DataFrame(
        {"offender_id": [7], "offence_date": [dt.date(2022, 2, 1)], "conviction_date": [dt.date(2022, 3, 1)]},
        schema=conviction_schema,
    ).write_parquet(tmp_path / "c.parquet")
    before = snapshot(tmp_path)
    status, out, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", *EXTRACT)
    assert status == 65, err
    assert "r.parquet, column offender_id: offender_id holds whole numbers beyond the 64-bit signed range" in err
    assert str(big) in err and "column-type: 1" in err and out == ""
    assert snapshot(tmp_path) == before
    pl.DataFrame(
        {"offender_id": [2**63 - 1, 7], "release_date": [dt.date(2022, 1, 5)] * 2}, schema=schema
    ).write_parquet(tmp_path / "r.parquet")
    status, out, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", *EXTRACT, "--by", "")
    assert status == 0, err
    assert out.splitlines()[1].startswith("2,1,0.5,")  # 2 released, the one with id 7 reoffended


# ------------------------------------------------------------------------------ '-' is standard output for -o only
@pytest.mark.parametrize(
    "option",
    [("--errors", "-"), ("--per-release", "-"), ("--errors", "-", "-o", "-")],
)
def test_dash_for_an_output_other_than_o_is_a_usage_error_not_a_file_named_dash(cli, folder, monkeypatch, option):
    """`--errors -` (the shell's "standard output") wrote the problems to a file named '-' in the current
    folder, where nobody looks: only -o takes '-'; another output option given it is exit 2 naming it."""
    monkeypatch.chdir(folder)
    before = snapshot(folder)
    status, out, err = cli("measure", "bad.csv", "c.csv", *EXTRACT, *option)
    assert status == 2, err
    assert f"{option[0]} -: only -o writes to standard output" in err and out == ""
    assert not (folder / "-").exists() and snapshot(folder) == before


# ------------------------------------------------------------------------------ a folder output that is a link loop
def test_a_bulletin_folder_link_that_leads_back_to_itself_is_refused_before_any_work(cli, folder):
    """-o current, with current -> other -> current: exit 2 naming it at once, not exit 74 'not a directory'
    after the whole bulletin was computed; the links are left as they were."""
    (folder / "current").symlink_to("other")
    (folder / "other").symlink_to("current")
    job = write_bulletin_job(folder)
    status, out, err = cli("bulletin", "--config", job, "-o", folder / "current", "-q")
    assert status == 2, err
    assert "current: a symbolic link that leads back to itself" in err and out == ""
    assert os.readlink(folder / "current") == "other" and os.readlink(folder / "other") == "current"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------- a value of another type, late on
@pytest.mark.parametrize("streaming", [False, True])
def test_a_late_value_of_another_type_names_its_row(tmp_path, cli, streaming):
    """polars types a CSV column from its first 10,000 rows: 'abc' in a column of whole numbers at data row
    10,006 stopped the read with "could not parse `abc` as dtype `i64`", naming no row. The row (10,006, line
    10,007: the header is line 1), column and value are now named, as a column-type problem (exit 65)."""
    lines = ["offender_id,release_date,establishment,age"]
    lines += [f"P{i:06d},2022-03-01,EST1,{20 + i % 40}" for i in range(10_005)]
    lines.append("P999999,2022-03-01,EST1,abc")
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "c.csv").write_text(
        "offender_id,offence_date,conviction_date,offence_code,appearance_id\nP000001,2022-05-01,2022-06-01,T,A1\n"
    )
    before = snapshot(tmp_path)
    args = ["measure", tmp_path / "r.csv", tmp_path / "c.csv", *EXTRACT, "--errors", tmp_path / "problems.csv"]
    status, _out, err = cli(*args, *(["--streaming"] if streaming else []))
    assert status == 65, err
    assert "row 10006, column age" in err and "line 10007" in err and "'abc' is not a whole number" in err
    problems = pl.read_csv(tmp_path / "problems.csv", infer_schema=False)
    assert problems.select("row", "column", "rule", "value").row(0) == ("10006", "age", "column-type", "abc")
    assert {k: v for k, v in snapshot(tmp_path).items() if k != "problems.csv"} == before


# ------------------------------------------------------------------- input columns named like working ones
RESERVED = "_release,_input_order,_person,_event"


@pytest.mark.parametrize(
    "command",
    [
        ("measure", "--by", "cohort,establishment"),
        ("nowcast",),
        ("compare", "baseline", "--site", "E1", "--current", "2022Q2", "--baseline", "2022Q1"),
    ],
)
def test_input_columns_named_like_working_columns_are_not_read(tmp_path, cli, command):
    """A releases file with columns named like reoffend's working columns (``_release``, ``_input_order``...)
    crashed nowcast and compare with exit 70 (a duplicate column). Names starting with '_' are reserved: such a
    column is not read, and the output is the same as without it."""
    releases = (
        "offender_id,release_date,establishment,age\nA,2022-03-01,E1,30\nB,2022-04-01,E1,40\nC,2022-05-01,E2,50\n"
    )
    convictions = "offender_id,offence_date,conviction_date,offence_code\nA,2022-05-01,2022-06-01,T\n"
    (tmp_path / "plain.csv").write_text(releases)
    lines = releases.splitlines()
    with_reserved = [f"{lines[0]},{RESERVED}"] + [f"{line},1,2,3,4" for line in lines[1:]]
    (tmp_path / "reserved.csv").write_text("\n".join(with_reserved) + "\n")
    (tmp_path / "c.csv").write_text(convictions)
    name, *options = command
    extract = ["--extract-date", "2024-06-30"]
    outputs = []
    for releases_file in ("plain.csv", "reserved.csv"):
        status, out, err = cli(
            name, *options[:1] if name == "compare" else (), tmp_path / releases_file, tmp_path / "c.csv",
            *(options[1:] if name == "compare" else options), *extract, "--format", "json",
        )  # fmt: skip
        assert status == 0, err
        outputs.append(json.loads(out)["rows"])
    assert outputs[0] == outputs[1]


def test_grouping_by_a_reserved_column_is_a_usage_error_saying_why(tmp_path, cli):
    (tmp_path / "r.csv").write_text("offender_id,release_date,_release\nA,2022-03-01,x\n")
    (tmp_path / "c.csv").write_text("offender_id,offence_date,conviction_date\nA,2022-05-01,2022-06-01\n")
    status, _out, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--extract-date", "2024-06-30",
                            "--by", "_release")  # fmt: skip
    assert status == 2 and "no column '_release'" in err and "reserved for reoffend's working columns" in err
