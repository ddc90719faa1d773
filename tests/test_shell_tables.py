"""Answers a person can read at 80 columns (issue 18): --columns for every tabular output, and terminal tables
that keep the columns that fit whole and name the others, instead of cutting every header."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from reoffend.cli.tables import render_table
from reoffend.report.terminal import plan_columns, plan_widths

from .conftest import write_csv
from .test_cli import CONVICTIONS as CLI_CONVICTIONS
from .test_cli import RELEASES

BIN = Path(sys.executable).parent / "reoffend"
# test_cli's three people without the BREACH row
CONVICTIONS = "\n".join(line for line in CLI_CONVICTIONS.splitlines() if "BREACH" not in line) + "\n"


@pytest.fixture
def files(tmp_path):
    return write_csv(tmp_path / "releases.csv", RELEASES), write_csv(tmp_path / "convictions.csv", CONVICTIONS)


def test_columns_chooses_and_orders_the_csv_columns(cli, files):
    status, out, err = cli("measure", *files, "--columns", "reoffenders,cohort", "--csv")
    assert status == 0, err
    # 2022Q1: A reoffended (THEFT 2022-02-01), B did not; 2022Q2: C did
    assert out.splitlines() == ["reoffenders,cohort", "1,2022Q1", "1,2022Q2"]


def test_columns_narrows_the_json_rows_and_keeps_the_metadata(cli, files):
    status, out, _ = cli("measure", *files, "--columns", "cohort,binary_rate", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["rows"] == [{"cohort": "2022Q1", "binary_rate": 0.5}, {"cohort": "2022Q2", "binary_rate": 1.0}]
    assert document["metadata"]["inputs"]["releases"]["rows"] == 3


def test_columns_in_a_comparison(cli):
    status, out, err = cli(
        "compare", "baseline", "--current-counts", "480/1000", "--baseline-counts", "530/1000",
        "--columns", "reduction_pp,significant", "--csv",
    )  # fmt: skip
    assert status == 0, err
    # 53.0% - 48.0% = 5.0 points; z = -2.236, one-sided p 0.0127 < 0.05
    assert out.splitlines() == ["reduction_pp,significant", "5.0,true"]


def test_an_unknown_column_is_exit_2_with_the_nearest_names(cli, files):
    status, out, err = cli("measure", *files, "--columns", "cohort,binary_rat")
    assert status == 2 and out == ""
    assert "no column 'binary_rat' (did you mean binary_rate" in err


def test_columns_from_the_config(cli, files, tmp_path):
    config = tmp_path / "job.toml"
    config.write_text('[measure]\ncolumns = "cohort,reoffenders"\n')
    status, out, _ = cli("measure", *files, "--config", config, "--csv")
    assert status == 0
    assert out.splitlines()[0] == "cohort,reoffenders"


def _render(rows: pl.DataFrame, width: int) -> str:
    buffer = io.StringIO()
    render_table(rows, title="T", console=Console(file=buffer, width=width, color_system=None))
    return buffer.getvalue()


WIDE = pl.DataFrame(
    {
        "cohort": ["2022Q1"],
        "released": [1251],
        "offences_per_offender": [2.2],
        "offences_per_reoffender": [4.18],
        "reconviction_events_per_hundred": [182.7],
        "median_days_to_first_reoffence": [70.0],
    }
)


def test_a_wide_table_at_80_columns_wraps_headers_at_spaces_and_cuts_nothing():
    # narrowest whole columns: 6, 8 ("released"), 8 ("offences"), 10 ("reoffender"), 12 ("reconviction"),
    # 9 ("reoffence"); each +3 for padding and border, +1: 72 <= 80, so all six are shown
    text = _render(WIDE, 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text and "do not fit" not in text
    for word in ("reconviction", "reoffence", "reoffender", "released"):
        assert word in text


def test_a_table_too_wide_for_the_terminal_names_the_columns_left_out():
    # at 50: 1 + 9 + 11 + 11 + 13 = 45 fits, the fifth column (+15 = 60) does not
    text = _render(WIDE, 50)
    assert max(len(line) for line in text.splitlines()) <= 50
    assert "…" not in text
    note = " ".join(text.split("2 more column(s)", 1)[1].split())
    assert note.startswith("do not fit in 50 columns: reconviction events per hundred, median days to first reoffence.")
    assert "--format csv or --json" in note


def test_plan_widths_keeps_what_fits_and_wraps_headers_at_spaces():
    headers = ["cohort", "median days to 1st", "offences/offender"]
    cells = [["2022Q1", "70", "2.20"]]
    # natural: 6 + 18 + 17 content, +3 each for padding and border, +1: 51
    assert plan_widths(headers, cells, 51) == [6, 18, 17]
    # 45 cells: 6 excess taken from "median days to 1st" (can wrap down to "median", 6)
    assert plan_widths(headers, cells, 45) == [6, 12, 17]
    # 30 cells: 1 + cohort (6 + 3) + median (at least 6 + 3) fits; offences/offender (17 + 3 more) does not;
    # median gets what is left: 30 - 1 - 9 - 3 = 17
    assert plan_widths(headers, cells, 30) == [6, 17]
    # the first column is always kept
    assert plan_widths(headers, cells, 5) == [6]


def test_plan_columns_keeps_the_verdict_before_detail():
    headers = ["cohort", "treated", "interval", "significant"]
    cells = [["2022Q1", "194.4", "-35.1% to +30.7%", "reduction"]]
    # content 6, 7, 16, 11 (the header "significant" is 11 wide); each +3, +1 for the first border
    # at 40: cohort (1 + 9 = 10), then the verdict (+14 = 24), then from the left: treated (+10 = 34) fits,
    # the interval (+19 = 53) does not. Shown in the table's order: cohort, treated, significant
    assert plan_columns(headers, cells, 40, verdicts=[3]) == [(0, 6), (1, 7), (3, 11)]
    # without a verdict column the same width keeps the left-most: cohort (10), treated (20), the interval (39)
    assert plan_columns(headers, cells, 40) == [(0, 6), (1, 7), (2, 16)]
    # wide enough for all: every column at its natural width, in order
    assert plan_columns(headers, cells, 53, verdicts=[3]) == [(0, 6), (1, 7), (2, 16), (3, 11)]


def test_a_comparison_at_80_columns_shows_its_verdict_and_names_the_detail_left_out(cli, sample_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    sample = [str(sample_dir / name) for name in ("releases.csv", "convictions.csv")]
    status, out, _ = cli(
        "compare", "matched", *sample, "--exclude-offences", sample_dir / "excluded_offences.txt",
        "--treated", "establishment=EST042", "--covariates", "age,sex,prior_convictions",
        "--bootstrap", "200", "--format", "table",
    )  # fmt: skip
    assert status == 0
    table = out[: out.index("└")]
    assert "Significant" in table and "Target" in table  # the answer stays
    note = " ".join(out.split("more column(s) do not fit in 80 columns:", 1)[1].split())
    assert note.startswith("90% interval")  # the detail goes, and is named
    assert max(len(line) for line in out.splitlines()) <= 80


def test_the_measure_table_at_80_columns_from_the_command_line(sample_dir):
    if not BIN.exists():
        pytest.skip(f"entry point not installed at {BIN}")
    result = subprocess.run(
        [BIN, "measure", sample_dir / "releases.csv", sample_dir / "convictions.csv", "--format", "table"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    assert "┃ cohort ┃ Released ┃ Reoffenders ┃  Rate ┃              interval ┃   offender ┃" in lines
    assert "3 more column(s) do not fit in 80 columns: Reoffences per reoffender, Events per\n100," in result.stdout


# ------------------------------------------------------------------------------ the verdict is the answer
COUNTS = ["compare", "baseline", "--current-counts", "480/1000", "--baseline-counts", "530/1000", "--target", "5"]
# 48.0% against 53.0%: a reduction of 5.0 points, one-sided p 0.013 < 0.05, target 5 met
VERDICT_START = "The current cohort: 48.0% reoffended (480 of 1000) against 53.0% (530 of 1000) in the baseline"


def test_the_verdict_is_printed_under_the_table_on_standard_output(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    status, out, err = cli(*COUNTS, "--format", "table")
    assert status == 0
    table_end = out.index("└")
    verdict = " ".join(out[table_end:].split("\n", 1)[1].split())
    assert verdict.startswith(VERDICT_START)
    # the same words as the JSON headline: one rendering of the result (reoffend/report), not a second one
    headline = json.loads(cli(*COUNTS, "--json", "-q")[1])["headline"]
    assert verdict == " ".join(" ".join(headline).split())
    assert VERDICT_START not in " ".join(err.split())  # said once, as part of the answer
    assert max(len(line) for line in out.splitlines()) <= 80


def test_quiet_keeps_the_verdict_in_the_table_format(cli):
    status, out, err = cli(*COUNTS, "--format", "table", "-q")
    assert status == 0 and err == ""
    assert VERDICT_START in " ".join(out.split())


def test_the_verdict_is_the_json_headline_and_a_message_beside_csv(cli):
    status, out, err = cli(*COUNTS, "--json", "-q")
    assert status == 0
    assert json.loads(out)["headline"][0].startswith(VERDICT_START)
    status, out, err = cli(*COUNTS, "--csv")
    assert status == 0
    assert out.startswith("current,baseline,") and VERDICT_START not in out
    assert VERDICT_START in " ".join(err.split())


def test_the_adjusted_comparison_has_a_json_headline(cli, sample_dir):
    status, out, err = cli(
        "compare", "adjusted", sample_dir / "releases.csv", sample_dir / "convictions.csv",
        "--period", "year", "--baseline", "2022", "--covariates", "age,sex",
        "--current-filter", "establishment=EST042", "--json", "-q",
    )  # fmt: skip
    assert status == 0, err
    document = json.loads(out)
    assert len(document["headline"]) == 1  # one provider and cohort: its one sentence
    assert document["headline"][0].startswith("EST042, 2023")


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


def render(rows, width: int, caption: str | None = None) -> str:
    from rich.console import Console

    from reoffend.cli.tables import render_table

    buffer = io.StringIO()
    render_table(rows, title="T", caption=caption, console=Console(file=buffer, width=width, color_system=None))
    return buffer.getvalue()


LABELS = pl.DataFrame(
    {
        "establishment": ["EST1", "L" * 5000, "two\nlines", "tab\there", "\x1b[31mred"],
        "cohort_size": [1, 1, 1, 1, 1],
        "binary_rate": [0.0, 1.0, 0.0, 0.5, 0.25],
    }
)


def test_a_long_label_is_cut_with_a_true_count_and_the_measures_stay_in_view():
    """Before: printable's 4,000-character cut said "(1,000 characters more)" of a label rich then cut again to
    the terminal, and the label's column hid every measure column."""
    text = render(LABELS, 100)
    # 100 columns: the two measure columns take 3 + 11 + 2 cells each ("cohort size", "binary rate" unwrapped),
    # and the label's column the rest: 100 - 1 - 2 * 14 - 3 = 68 cells, "… (4,946 more)" 14 of them, 54 L's
    assert "│ " + "L" * 54 + "… (4,946 more) │" in text  # 54 + 4,946 = 5,000
    assert "cohort size ┃ binary rate ┃" in text and "more column" not in text
    assert "Long labels are cut to fit the terminal: '… (N more)' counts the characters left out" in text
    # at 60 columns likewise: 60 - 1 - 2 * 14 - 3 = 28 cells, "… (4,986 more)" and 14 L's
    narrow = render(LABELS, 60)
    assert "│ " + "L" * 14 + "… (4,986 more) │" in narrow and "cohort size ┃ binary rate ┃" in narrow


def test_a_label_with_a_line_break_or_a_control_character_stays_on_its_row():
    lines = render(LABELS, 100).splitlines()
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == 5  # one line a row: nothing wraps, nothing breaks a row
    assert any("│ two\\nlines " in line for line in body) and any("│ tab\\there " in line for line in body)
    assert any("│ \\x1b[31mred " in line for line in body)
    assert all(len(line) == len(body[0]) for line in body)


def test_wide_characters_are_cut_by_the_cells_they_take():
    from rich.cells import cell_len

    text = render(pl.DataFrame({"establishment": ["漢" * 100], "cohort_size": [3]}), 80)
    row = next(line for line in text.splitlines() if "漢" in line)
    # 80 - 1 - 14 ("cohort size" and its border and padding) - 3 = 62 cells; room is kept for the longest note,
    # "… (100 more)" (12 cells), leaving 50: 25 characters of 2 cells each, and 100 - 25 = 75 more
    assert "│ " + "漢" * 25 + "… (75 more)" in row and cell_len(row) <= 80


def test_a_caption_is_never_markup_and_its_controls_are_escaped():
    """compare adjusted's caption names unseen values from the data (``establishment=[red]X[/red] pooled``)."""
    text = render(LABELS.head(1), 100, caption="x=[bold red]EST9[/bold red] pooled as \x1b[2J other")
    assert "[bold red]EST9[/bold red]" in text and "\\x1b[2J" in text and "\x1b" not in text


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("ab漢é"), max_size=80), cells=st.integers(24, 60))
def test_cut_label_fits_and_counts_what_it_leaves_out(text, cells):
    from rich.cells import cell_len

    from reoffend.report.terminal import cut_label

    shown = cut_label(text, cells)
    assert cell_len(shown) <= cells
    if shown != text:
        kept, _, note = shown.rpartition("… (")
        assert text.startswith(kept) and note == f"{len(text) - len(kept):,} more)"
        assert cell_len(text) > cells


def test_a_table_title_is_never_markup():
    """compare baseline titles its table with the --site label, a value from the data: before, a label
    "[reverse]EVIL[/reverse]" was read as rich markup (shown as EVIL, in reverse video on a terminal)."""
    from rich.console import Console

    from reoffend.cli.tables import render_table

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system="truecolor", force_terminal=True)
    render_table(LABELS.head(1), title="Against the baseline: [reverse]EVIL[/reverse]", console=console)
    text = buffer.getvalue()
    assert "[reverse]EVIL[/reverse]" in text and "\x1b[7m" not in text
