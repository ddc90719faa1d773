"""Feedback at a terminal (issue 28): the stage and the time elapsed while a command works, and what ``-o``
wrote; nothing of it in a pipe or a cron log."""

from __future__ import annotations

import io

from rich.console import Console

from reoffend.cli.console import Stages, progress_console

from .conftest import write_csv

RELEASES = "offender_id,release_date\nA,2022-01-10\nB,2022-02-01\nC,2022-05-01\n"
# the latest conviction (2024-01-01) is the extract date: every release's window is complete by then
CONVICTIONS = "offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\nB,2023-12-01,2024-01-01\n"


def test_stages_show_each_stage_and_the_elapsed_time_on_a_terminal():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    with Stages.on(console, "reading the inputs") as progress:
        progress.stage("measuring")
    shown = screen.getvalue()
    assert "reading the inputs" in shown and "measuring" in shown
    assert "0:00:00" in shown  # the elapsed-time column


def test_stages_without_a_console_do_nothing():
    with Stages.on(None, "reading") as progress:
        progress.stage("measuring")  # no error, no output
    assert progress_console(quiet=True) is None


def test_o_says_what_it_wrote_at_a_terminal_only(cli, tmp_path, monkeypatch):
    files = write_csv(tmp_path / "r.csv", RELEASES), write_csv(tmp_path / "c.csv", CONVICTIONS)
    target = tmp_path / "m.csv"
    status, _, err = cli("measure", *files, "-o", target)
    assert status == 0 and "wrote" not in err  # a pipe or a cron log: quiet
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich (and reoffend) treat standard error as a terminal
    status, _, err = cli("measure", *files, "-o", target)
    # 2022Q1 (A, B) and 2022Q2 (C): two rows
    assert status == 0 and f"wrote {target} (2 rows)" in " ".join(err.split())  # wrapped at the terminal width
    audit = tmp_path / "p.csv"
    status, _, err = cli("measure", *files, "-o", target, "--per-release", audit)
    assert status == 0 and f"wrote {audit}" in " ".join(err.split())  # the extra output is named too
    assert "reading the inputs" in err or "measuring" in err
    status, _, err = cli("measure", *files, "-o", target, "-q")
    assert status == 0 and "wrote" not in err
