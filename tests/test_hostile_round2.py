"""Hostile review, round 2: what a cron job or a shell pipeline did to this session's changes.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status"), that the message
names what it must, and that every file that existed before the run is byte-identical afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.test_hostile import snapshot

RELEASES = """offender_id,release_date,establishment,age
A,2022-01-10,EST1,30
B,2022-02-10,EST2,40
C,2022-03-10,EST1,25
"""
CONVICTIONS = """offender_id,offence_date,conviction_date,offence_code
A,2022-02-01,2022-03-01,THEFT
C,2022-05-01,2022-06-01,THEFT
"""
EXTRACT = ("--extract-date", "2030-01-01")


@pytest.fixture
def folder(tmp_path):
    write_csv(tmp_path / "r.csv", RELEASES)
    write_csv(tmp_path / "c.csv", CONVICTIONS)
    write_csv(tmp_path / "bad.csv", "offender_id,release_date\nA,2022-13-01\nB,2022-02-10\n")
    return tmp_path


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
        ("compare", "baseline", "bad.csv", "c.csv", "--site", "EST1", "--current", "2022Q1", "--baseline", "2022Q1"),
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
