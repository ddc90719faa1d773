"""Hostile review, round 6 (issue 24, further variants): nothing counted, extreme synth options, huge fields,
escaped duplicate keys, terminal tables, outputs through a path inside a bulletin, power's inputs.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status") and that the message
names what it must.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.io import LineBound, check_line_lengths
from tests.conftest import write_csv
from tests.test_hostile import CONVICTIONS, RELEASES

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_INPUTS = (SAMPLE / "releases.csv", SAMPLE / "convictions.csv")

# ------------------------------------------------------------------- 1. conviction rows, but nothing counted
# RELEASES: A 2022-01-10, B 2022-02-10, C 2022-03-10, one cohort 2022Q1; the extract date 2030-01-01 completes it.
NOTHING_COUNTED = {
    # nobody released is convicted: X and Y are not in the releases
    "ids": ("offender_id,offence_date,conviction_date,offence_code\nX,2022-02-01,2022-03-01,THEFT\n", "matches"),
    # A and C offended in 2021, before their releases in 2022
    "window": (
        "offender_id,offence_date,conviction_date,offence_code\n"
        "A,2021-02-01,2021-03-01,THEFT\nC,2021-05-01,2021-06-01,THEFT\n",
        "follow-up window",
    ),
    # A and C offended within follow-up, but BREACH is excluded
    "excluded": (
        "offender_id,offence_date,conviction_date,offence_code\n"
        "A,2022-02-01,2022-03-01,BREACH\nC,2022-05-01,2022-06-01,BREACH\n",
        "excluded offence code",
    ),
}


def nothing_counted_job(folder: Path, kind: str, extra: str = "") -> Path:
    write_csv(folder / "r.csv", RELEASES)
    write_csv(folder / "c.csv", NOTHING_COUNTED[kind][0])
    (folder / "ex.txt").write_text("BREACH\n")
    job = folder / "job.toml"
    job.write_text(
        'title = "T"\n[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        'exclude_offences = "ex.txt"\n' + extra + "[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    return job


@pytest.mark.parametrize("kind", sorted(NOTHING_COUNTED))
def test_a_bulletin_in_which_nothing_counts_as_a_reoffence_is_refused(cli, tmp_path, kind):
    """Before: exit 0 and a bulletin of 0% (all [c] under the usual rule). Now 65 saying why and how to allow."""
    job = nothing_counted_job(tmp_path, kind)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "b")
    assert status == 65, err
    assert "no-reoffences" in err and NOTHING_COUNTED[kind][1] in err and "allow_no_convictions = true" in err
    assert not (tmp_path / "b").exists()


def test_a_bulletin_in_which_nothing_counts_is_published_when_allowed(cli, tmp_path):
    job = nothing_counted_job(tmp_path, "excluded", "allow_no_convictions = true\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "b")
    assert status == 0, err
    assert (tmp_path / "b" / "index.html").is_file()


@pytest.mark.parametrize("kind", ["window", "excluded"])
def test_measure_warns_when_nothing_counts_as_a_reoffence(cli, tmp_path, kind):
    """Before: 0% with exit 0 and no word (the unlinked-ids case was already warned of)."""
    nothing_counted_job(tmp_path, kind)
    status, out, err = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--extract-date", "2030-01-01",
        "--exclude-offences", tmp_path / "ex.txt",
    )  # fmt: skip
    assert status == 0, err
    assert "2022Q1,3,0,0.0" in out  # 3 released, 0 reoffenders
    assert "no conviction counts as a reoffence" in err and NOTHING_COUNTED[kind][1] in err


# ------------------------------------------------------------------- 2. synth options at the edge
@pytest.mark.parametrize(
    ("args", "option", "allowed"),
    [
        (("--start", "9999-12-01"), "--start", "9997-12-31"),  # was exit 70: year 10001 is out of range
        (("--start", "1800-01-01"), "--start", "1905-01-01"),  # was data that fails validate (dates before 1900)
        (("--cohorts", "100000000"), "--cohorts", "1<=x<=400"),  # was exit 70
        (("--effect-frequency", "1e308"), "--effect-frequency", "0<x<=100"),  # was exit 70 and numpy warnings
        (("--effect-frequency", "nan"), "--effect-frequency", "0<x<=100"),  # was exit 70
        (("--seed", "-1"), "--seed", "x>=0"),  # was exit 70
        (("--effect-log-odds", "nan"), "--effect-log-odds", "-10<=x<=10"),  # was NaN in meta.json, exit 0
        (("--effect-log-odds", "inf"), "--effect-log-odds", "-10<=x<=10"),
        (("--lag-multiplier", "1e308", "--lag-change-from", "2022-06-01"), "--lag-multiplier", "0<x<=100"),
        (("--site-effect-sd", "1e308"), "--site-effect-sd", "0<=x<=10"),  # was raw numpy warnings
        (("--site-effect-sd", "nan"), "--site-effect-sd", "0<=x<=10"),
        (("--level-trend", "1e308"), "--level-trend", "-100<=x<=100"),
        (("--establishments", "1000000000"), "--establishments", "1<=x<=10000"),  # was a hang
        (("--releases", "100000000000"), "--releases", "10000000"),  # was a MemoryError, exit 70
        (("--releases", "0"), "--releases", "1<=x<=10000000"),  # was an IndexError, exit 70
        (("--extract-date", "0001-01-01"), "--extract-date", "2023-12-31"),  # was data that fails validate
        (("--extract-date", "9999-12-31"), "--extract-date", "9999-12-30"),
    ],
)
def test_a_synth_option_out_of_its_range_is_a_usage_error_before_any_work(cli, tmp_path, args, option, allowed):
    status, _out, err = cli("synth", "--releases", "200", "--out", tmp_path / "s", *args)
    assert status == 2, err
    assert option in err and allowed in err
    assert "Traceback" not in err and "Warning" not in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--start", "1905-01-01", "--extract-date", "9999-12-30", "--lag-multiplier", "100", "--lag-change-from",
         "1905-01-01"),
        ("--start", "9995-10-01",),  # the last cohort ends 9997-10-01, the default extract date 9999-09-30
        ("--site-effect-sd", "10", "--effect-log-odds", "-10", "--effect-frequency", "100"),
        ("--level-trend", "-100", "--level-shift", "100", "--level-shift-from", "2022-06-01"),
        ("--extract-date", "2023-12-31",),  # the last day of the eighth cohort from 2022-01-01
    ],
)  # fmt: skip
def test_synth_at_the_ends_of_its_ranges_writes_data_that_validates(cli, tmp_path, args):
    status, _out, err = cli("synth", "--releases", "500", "--format", "csv", "-q", "--out", tmp_path / "s", *args)
    assert status == 0, err
    assert err == ""  # no numpy warning (overflow of exp at a log-odds of -800 is a chance of 0, said nowhere)
    status, _out, err = cli(
        "validate", tmp_path / "s" / "releases.csv", tmp_path / "s" / "convictions.csv", "-q", "--incomplete",
        "exclude", "--extract-date", json.loads((tmp_path / "s" / "meta.json").read_text())["extract_date"],
    )  # fmt: skip
    assert status == 0, err


# ------------------------------------------------------------------- 3. one huge field, below the first line
# Line 3 holds an offender_id of 1.5 MiB (LINE_LIMIT is 1 MiB): it starts after the header (47 bytes with its line
# end) and line 2 ("A,2022-01-10,EST1,30,M" and a line end, 23 bytes), so at byte 47 + 23 = 70.
HUGE_FIELD = RELEASES.split("\n", 2)[0] + "\nA,2022-01-10,EST1,30,M\n" + "B" * (3 << 19) + ",2022-02-10,EST2,40,F\n"


@pytest.mark.parametrize("how", ["csv", "gz", "ndjson", "stdin"])
def test_a_line_longer_than_the_limit_anywhere_is_refused_naming_the_line(cli, tmp_path, monkeypatch, how):
    """Before: a plain or .gz file was read whole by polars (exit 0 with a 1.5 MiB id here; a 400 MB field was a
    Rust panic under ulimit -v, or a read that ignored SIGTERM). Only the first line was bounded."""
    convictions = write_csv(tmp_path / "c.csv", CONVICTIONS)
    if how == "ndjson":
        path = tmp_path / "r.ndjson"
        huge_id = "B" * (3 << 19)
        path.write_text('{"offender_id":"A","release_date":"2022-01-10"}\n' * 2 + json.dumps({"offender_id": huge_id}))
        expected = "line 3 (from byte 96)"  # two records of 47 bytes and their line ends
    elif how == "gz":
        path = tmp_path / "r.csv.gz"
        path.write_bytes(gzip.compress(HUGE_FIELD.encode()))
        expected = "line 3 (from byte 70)"
    elif how == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(HUGE_FIELD.encode())))
        path, expected = Path("-"), "line 3 (from byte 70)"
    else:
        path, expected = Path(write_csv(tmp_path / "r.csv", HUGE_FIELD)), "line 3 (from byte 70)"
    status, out, err = cli("validate", path, convictions, "--extract-date", "2030-01-01")
    assert status == 65, err
    assert f"{path.name if how != 'stdin' else '<stdin>'}: {expected} is longer than 1 MiB" in err
    assert "too-large" in err and len(err) < 1000 and out == ""


def longest_line(data: bytes) -> int:
    return max(len(line) for line in data.split(b"\n"))


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"defgh"]), max_size=60).map(b"".join),
    limit=st.integers(1, 12),
    cuts=st.lists(st.integers(0, 300), max_size=6),
)
def test_the_line_bound_refuses_exactly_the_data_with_a_line_over_the_limit(data, limit, cuts):
    """However the bytes come in pieces (a .gz unpacks in pieces), the bound refuses exactly when some line
    (the bytes between two line ends) is longer than ``limit``, and names where the first such line starts."""
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 10]
    too_long = [start for start in starts if len(data[start:].split(b"\n", 1)[0]) > limit]
    bound = LineBound("t", limit)
    found = None
    edges = sorted({0, len(data), *(cut for cut in cuts if cut < len(data))})
    for start, end in itertools.pairwise(edges):
        found = bound.feed(data[start:end])
        if found is not None:
            break
    assert (longest_line(data) > limit) == bool(too_long) == (found is not None)
    if too_long:
        assert found == too_long[0]
        with pytest.raises(Exception, match=f"line {starts.index(found) + 1}"):
            check_line_lengths(data, "t", "csv" if found else "ndjson", limit)


# ------------------------------------------------------------------- 4. an NDJSON key repeated through an escape
@pytest.mark.parametrize(
    "second_key",
    [
        r"offender\u005fid",  # "_" escaped: was read as one column, keeping one of the two values, exit 0
        r"\u006Fffender_id",  # "o", upper-case hex digits
        r"\u006f\u0066fender_id",
    ],
)
def test_an_ndjson_key_repeated_through_an_escape_is_a_duplicate_column(cli, tmp_path, second_key):
    releases = tmp_path / "r.ndjson"
    releases.write_text(
        '{"offender_id":"A","release_date":"2022-01-10"}\n'
        f'{{"offender_id":"B","release_date":"2022-01-11","{second_key}":"Z"}}\n'
    )
    status, _out, err = cli("validate", releases, write_csv(tmp_path / "c.csv", CONVICTIONS))
    assert status == 65, err
    assert "line 2: the record gives the key 'offender_id' twice" in err and "duplicate-column" in err


def test_an_escaped_key_that_repeats_nothing_is_read(cli, tmp_path):
    """An escape in a key that names no other key (a quote, a "é") is no duplicate: the file is read."""
    releases = tmp_path / "r.ndjson"
    releases.write_text(
        '{"offender_id":"A","release_date":"2022-01-10","na\\"me":1,"caf\\u00e9":2}\n'
        '{"offender_id":"B","release_date":"2022-01-11","na\\"me":1,"caf\\u00e9":2}\n'
    )
    status, _out, err = cli("validate", releases, write_csv(tmp_path / "c.csv", CONVICTIONS), "-q")
    assert status == 0, err


# ------------------------------------------------------------------- 5. long labels and line breaks in a terminal table
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

    from reoffend.cli.tables import cut_label

    shown = cut_label(text, cells)
    assert cell_len(shown) <= cells
    if shown != text:
        kept, _, note = shown.rpartition("… (")
        assert text.startswith(kept) and note == f"{len(text) - len(kept):,} more)"
        assert cell_len(text) > cells


# ------------------------------------------------------------------- 6. -o through a path inside the bulletin
def test_an_output_through_a_path_inside_the_bulletin_is_that_bulletin(cli, tmp_path, monkeypatch):
    """Before: ``-o b/tables/..`` was judged as a folder named '..' in b/tables: its lock file went inside the
    bulletin (b/tables/....lock), and the refusal named that file as one the manifest does not list."""
    from reoffend.bulletin.folder import folder_lock

    monkeypatch.chdir(tmp_path)
    job = nothing_counted_job(tmp_path, "excluded", "allow_no_convictions = true\n")
    assert cli("bulletin", "--config", job, "-o", "b", "-q")[0] == 0
    first = (tmp_path / "b").stat().st_ino
    with folder_lock("b/tables/.."):
        assert (tmp_path / ".b.lock").is_file() and not list((tmp_path / "b").rglob("*.lock"))
    status, _out, err = cli("bulletin", "--config", job, "-o", "b/tables/..", "-q")
    assert status == 0, err
    assert (tmp_path / "b").stat().st_ino != first  # rebuilt: a new folder renamed into place
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no lock, no staging left
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    status, _out, err = cli("bulletin", "--config", job, "-o", "b/../other", "-q")
    assert status == 2
    assert f"b/../other (-> {tmp_path / 'other'}): the folder exists and is not a bulletin (no manifest.json)" in err
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------- 7. power's inputs; an extract date before all
HEADER_ONLY = "offender_id,offence_date,conviction_date,offence_code\n"
EVERYONE = HEADER_ONLY + "A,2022-02-01,2022-03-01,THEFT\nB,2022-03-01,2022-04-01,THEFT\nC,2022-04-01,2022-05-01,THEFT\n"


@pytest.mark.parametrize(
    ("convictions", "measure", "says"),
    [
        (
            HEADER_ONLY,
            "binary",
            "0 of its 3 index releases reoffended (the convictions file has no rows), a rate of 0%",
        ),
        (HEADER_ONLY, "frequency", "its 3 index releases have no reconviction events (the convictions file has no"),
        (HEADER_ONLY, "both", "a rate of 0%"),
        (EVERYONE, "binary", "3 of its 3 index releases reoffended, a rate of 100%"),
    ],
)
def test_power_from_records_with_no_reoffender_or_all_is_invalid_data(cli, tmp_path, convictions, measure, says):
    """Before: exit 2, "the baseline rate must be strictly between 0 and 1 (0% and 100%), not 0.0" (or "give
    --dispersion") of a file with a header and no rows: a fault of the data, not of the command line."""
    status, out, err = cli(
        "power", write_csv(tmp_path / "r.csv", RELEASES), write_csv(tmp_path / "c.csv", convictions),
        "--baseline", "2022Q1", "--measure", measure, "--extract-date", "2030-01-01",
    )  # fmt: skip
    assert status == 65, err
    assert "c.csv: the baseline cohort 2022Q1: " in err and says in err and "degenerate-baseline" in err
    assert out == ""


@pytest.mark.parametrize("command", ["power", "measure", "validate"])
@pytest.mark.parametrize(
    ("extract_date", "says"),
    [
        ("0001-01-01", "the extract date 0001-01-01 is before 1900-01-01, the earliest date a record may hold"),
        ("2021-12-31", "the extract date 2021-12-31 is before every release (all 3 release dates in "),
    ],
)
def test_an_extract_date_before_every_release_is_one_usage_error(cli, tmp_path, command, extract_date, says):
    """Before: 65 and a problem for every row (27,202 of them for power on the sample data)."""
    options = ("--baseline", "2022Q1") if command == "power" else ()
    status, out, err = cli(
        command, write_csv(tmp_path / "r.csv", RELEASES), write_csv(tmp_path / "c.csv", EVERYONE), *options,
        "--extract-date", extract_date,
    )  # fmt: skip
    assert status == 2, err
    assert says in err and len(err.strip().splitlines()) == 1 and out == ""


# ------------------------------------------------------------------- further: power's numbers at the edge
@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--baseline-events", "1e308", "0.01<=x<=10000"),  # was exit 0 and a headline of a 309-digit number
        ("--baseline-events", "nan", "0.01<=x<=10000"),
        ("--baseline-events", "1e-300", "0.01<=x<=10000"),  # was "a baseline of 0.0 events per 100"
        ("--dispersion", "1e308", "0.01<=x<=1000"),  # was exit 0 and a 309-digit dispersion in the headline
        ("--dispersion", "1e-308", "0.01<=x<=1000"),  # was "the smallest reduction ... is 0.0"
    ],
)
def test_power_frequency_numbers_out_of_range_are_usage_errors(cli, option, value, allowed):
    args = ["power", "--measure", "frequency", "--current-size", "100", "--baseline-events", "50", option, value]
    status, out, err = cli(*args)
    assert status == 2, err
    assert option in err and allowed in err and out == ""


def test_power_from_records_whose_events_do_not_vary_is_invalid_data_unless_dispersion_is_given(cli, tmp_path):
    """A, B and C each have one reconviction event: mean 1, variance 0, so the dispersion is 0. Before: exit 2,
    "the dispersion (variance/mean) must be a positive number, not 0.0"."""
    files = (write_csv(tmp_path / "r.csv", RELEASES), write_csv(tmp_path / "c.csv", EVERYONE))
    options = ("--baseline", "2022Q1", "--measure", "frequency", "--extract-date", "2030-01-01")
    status, _out, err = cli("power", *files, *options)
    assert status == 65, err
    assert "each of its 3 index releases has the same number of reconviction events" in err and "--dispersion" in err
    status, out, err = cli("power", *files, *options, "--dispersion", "1", "--csv", "-q")
    assert status == 0, err
    assert "events_per_100,reduction,100.0,1.0," in out  # 3 events / 3 releases = 100 per 100


# ------------------------------------------------------------------- further: a group named like a column of the table
RELEASES_NAMED = (
    "offender_id,release_date,Rate,p_adjusted,Compared\nA,2022-01-10,x,1,y\nB,2022-02-10,x,2,y\nC,2022-03-10,z,1,y\n"
)


@pytest.mark.parametrize(
    ("by", "header"),
    [
        ("Rate", "Rate (group)"),  # the measures' "Rate" header: was exit 70, "a table spec names a key ... twice"
        ("Compared", "Compared (group)"),
        ("p_adjusted", "p adjusted"),  # the key of the bulletin's adjusted p: was exit 70 too
    ],
)
def test_a_group_named_like_a_column_of_the_terminal_table_is_told_apart(cli, tmp_path, monkeypatch, by, header):
    monkeypatch.setenv("COLUMNS", "150")
    files = (write_csv(tmp_path / "r.csv", RELEASES_NAMED), write_csv(tmp_path / "c.csv", CONVICTIONS))
    status, out, err = cli("measure", *files, "--extract-date", "2030-01-01", "--by", by, "--format", "table")
    assert status == 0, err
    assert f"┃ {header} " in out and "┃ Released ┃" in out and "Rate ┃" in out


def test_with_groups_keeps_keys_and_headers_distinct():
    from reoffend.report.tables import Column, TableSpec, with_groups

    def cell(_row: object) -> str:
        return ""

    fixed = [Column("expected", "Expected", cell), Column("measure", "Measure", cell)]
    groups = [Column("expected", "Expected", cell), Column("Unit a", "Unit a", cell), Column("unit_a", "Unit a", cell)]
    spec = TableSpec(with_groups(groups, fixed))  # raised ValueError (exit 70) before
    assert spec.keys() == ["expected (group)", "Unit a", "unit_a", "expected", "measure"]
    assert spec.headers() == ["Expected (group)", "Unit a", "Unit a (group)", "Expected", "Measure"]


@pytest.mark.parametrize("name", ["p_value", "p_adjusted", "compared_unadjusted", "compared_with_all"])
def test_a_bulletin_establishment_column_named_like_a_computed_test_is_a_usage_error(cli, tmp_path, name):
    """Before: the release column was dropped for the computed one of that name: exit 70, "reconviction_events is
    18 in one table and 27 in establishments.csv" (an internal consistency check caught the mix-up)."""
    write_csv(tmp_path / "r.csv", RELEASES.replace("establishment", name))
    write_csv(tmp_path / "c.csv", CONVICTIONS)
    job = tmp_path / "job.toml"
    job.write_text(
        f'title = "T"\n[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n[measure]\nestablishment = "{name}"\n'
    )
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "b")
    assert status == 2, err
    assert f"[measure] establishment: {name!r} is a column the bulletin computes for each establishment" in err
    assert f"[columns] establishment_{name} = {name!r}" in err and not (tmp_path / "b").exists()


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
