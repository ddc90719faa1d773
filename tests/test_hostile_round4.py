"""Hostile review, round 4 (issue 24): no write outside the output, no injection, no exhaustion.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status"), that the message
names what it must, and that every file that existed before the run is byte-identical afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.test_hostile import CONVICTIONS, EXTRACT, snapshot
from tests.test_hostile import folder as hostile_folder  # noqa: F401  (r.csv, c.csv: EST1, EST2, age, sex)


@pytest.fixture
def folder(hostile_folder):  # noqa: F811
    return hostile_folder


RELEASES_WITH = (
    "offender_id,release_date,establishment,{column}\nA,2022-01-10,EST1,x\nB,2022-02-10,EST2,y\nC,2022-03-10,EST1,x\n"
)


def breakdown_job(folder: Path, *columns: str) -> Path:
    """r.csv with one extra release column per name in ``columns``, c.csv, and a bulletin job breaking down by
    them (disclosure off, so every figure is drawn)."""
    header = ",".join(f'"{c}"' for c in columns)
    rows = ["offender_id,release_date,establishment," + header]
    # two groups in every column (x, y, x down the rows), so each breakdown has a chart: one of a single group
    # is left out (too little to chart) and its file names would go untested
    rows += [
        f"{i},{d},EST1," + ",".join("xy"[(row + n) % 2] for n in range(len(columns)))
        for row, (i, d) in enumerate((("A", "2022-01-10"), ("B", "2022-02-10"), ("C", "2022-03-10")))
    ]
    write_csv(folder / "r.csv", "\n".join(rows) + "\n")
    write_csv(folder / "c.csv", CONVICTIONS)
    listed = ", ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in columns)
    job = folder / "job.toml"
    job.write_text(
        '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        f"[breakdowns]\ncolumns = [{listed}]\n[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    return job


# ------------------------------------------------------------------------------ 1. files inside the folder
def test_a_breakdown_column_climbing_out_of_the_folder_writes_inside_it_under_a_safe_name(cli, tmp_path):
    """A column named ``/../../../../../victim`` overwrote victim.csv (.png, .svg) two levels above -o, and did
    so into the staging folder before the swap. Its files are now tables/breakdown_victim.csv and
    figures/breakdown_victim.png (.svg), inside the folder; nothing outside it changes."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    for name in ("victim.csv", "victim.png", "victim.svg"):
        (tmp_path / name).write_text("precious")
    job = breakdown_job(work, "/../../../../../victim")
    before = snapshot(tmp_path)
    status, _out, err = cli("bulletin", "--config", job, "-o", work / "out", "-q")
    assert status == 0, err
    after = snapshot(tmp_path)
    assert {name: after[name] for name in before} == before
    made = sorted(name for name in after if name not in before)
    assert all(name.startswith("a/b/out/") for name in made), made
    assert "a/b/out/tables/breakdown_victim.csv" in made and "a/b/out/figures/breakdown_victim.svg" in made


def test_a_slash_in_a_breakdown_column_makes_no_subfolder(cli, tmp_path):
    job = breakdown_job(tmp_path, "area/region")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    assert sorted(p.name for p in (tmp_path / "out" / "tables").iterdir() if p.is_dir()) == []
    assert (tmp_path / "out" / "tables" / "breakdown_area_region.csv").is_file()
    assert "tables/breakdown_area_region.csv" in (tmp_path / "out" / "bulletin.md").read_text()


@pytest.mark.parametrize(
    ("columns", "said"),
    [
        (("../..",), "makes no file name"),
        (("area/region", "area region"), "make the same file name ('area_region')"),
        (("Sex", "sex"), "make the same file name"),
    ],
)
def test_breakdown_columns_that_make_no_file_name_or_the_same_one_are_refused_before_any_work(
    cli, tmp_path, columns, said
):
    job = breakdown_job(tmp_path, *columns)
    before = snapshot(tmp_path)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert said in err and "[breakdowns] columns" in err and "job.toml, line 6" in err
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


def test_the_folder_writer_refuses_a_file_name_leaving_the_folder_before_writing_anything(tmp_path):
    from reoffend.bulletin.folder import write_folder

    (tmp_path / "victim.csv").write_text("precious")
    before = snapshot(tmp_path)
    for name in ("tables/../../victim.csv", "/tmp/victim.csv", "tables/.hidden", "tables//x.csv"):
        with pytest.raises(ValueError, match="not a plain file name"):
            write_folder(tmp_path / "out", {"a.csv": b"1", name: b"2"})
        assert snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["victim.csv"]


# ------------------------------------------------------------------------------ 2. streams not truncated
def shell(command: str, *, cwd: Path) -> subprocess.CompletedProcess:
    """``command`` in sh, where ``reoffend`` is this Python's entry point (for redirections such as ``>>``)."""
    program = f"{sys.executable} -c 'import sys; from reoffend.cli import main; main(sys.argv[1:])'"
    return subprocess.run(
        ["sh", "-c", command.replace("reoffend", program, 1)], cwd=cwd, capture_output=True, timeout=120
    )


@pytest.mark.parametrize("path", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_output_to_dev_stdout_appended_to_a_file_keeps_its_earlier_lines(folder, path):
    """``-o /dev/stdout >> history.csv`` truncated history.csv (the path opened again, for writing): the rows
    are now written through standard output's own descriptor, after the lines already there."""
    (folder / "history.csv").write_text("earlier,line\n")
    done = shell(f"reoffend measure r.csv c.csv {' '.join(EXTRACT)} -o {path} >> history.csv", cwd=folder)
    assert done.returncode == 0, done.stderr
    lines = (folder / "history.csv").read_text().splitlines()
    assert lines[0] == "earlier,line" and lines[1].startswith("cohort,cohort_size,"), lines


def test_errors_to_dev_stderr_appended_to_a_log_keeps_the_log(folder):
    """``--errors /dev/stderr 2>> cron.log`` emptied cron.log: the problem list now follows what was there, and
    the validation report follows it."""
    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\n")
    (folder / "cron.log").write_text("yesterday's run\n")
    done = shell(f"reoffend measure bad.csv c.csv {' '.join(EXTRACT)} --errors /dev/stderr 2>> cron.log", cwd=folder)
    assert done.returncode == 65
    log = (folder / "cron.log").read_text().splitlines()
    assert log[0] == "yesterday's run" and log[1] == "file,row,column,rule,value,message", log
    assert any("unparseable-date" in line for line in log[2:]) and any("invalid data" in line for line in log)


# ------------------------------------------------------------------------------ 3. messages never decide
def with_stderr(args, path: Path, *, cwd: Path) -> subprocess.CompletedProcess:
    """``reoffend ARGS 2>PATH``: standard error is the file (or device) ``path``, standard output a pipe."""
    code = "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    with open(path, "wb") as stderr:
        return subprocess.run(
            [sys.executable, "-c", code, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, timeout=120
        )


SIGNIFICANT = ("compare", "baseline", "--current-counts", "40/100", "--baseline-counts", "90/100")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("measure", "r.csv", "breach.csv", *EXTRACT, "-o", "out.csv"), 0),  # warns: BREACH counted, no list
        (("measure", "bad.csv", "c.csv", *EXTRACT, "-o", "out.csv"), 65),
        ((*SIGNIFICANT, "--fail-unless-significant", "--csv"), 0),  # the verdict goes to standard error
        ((*SIGNIFICANT[:3], "90/100", "--baseline-counts", "40/100", "--fail-unless-significant", "--csv"), 1),
        (("measure", "--no-such-option"), 2),
        (("measure", "missing.csv", "c.csv"), 66),
    ],
)
def test_a_full_standard_error_changes_neither_the_output_nor_the_status(folder, tmp_path, args, status):
    """``2>FULL``: a message that cannot be written is lost, and only it. The result was lost instead: exit 1
    (the status of "not significant") with no out.csv, also for invalid data and a significant comparison."""
    from tests.test_hostile import full_device

    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\n")
    write_csv(folder / "breach.csv", CONVICTIONS.replace("THEFT", "BREACH", 1))
    full = full_device(tmp_path)
    done = with_stderr(args, full, cwd=folder)
    assert done.returncode == status, done.stdout
    if "out.csv" in args:
        assert (folder / "out.csv").is_file() == (status == 0)
    if "--csv" in args:
        assert done.stdout.decode().startswith("current,baseline,")


def test_a_message_still_reaches_a_standard_error_that_works(folder, tmp_path):
    """The same runs with standard error a file: the messages are there, whole."""
    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\n")
    done = with_stderr(("measure", "bad.csv", "c.csv", *EXTRACT), tmp_path / "err.txt", cwd=folder)
    assert done.returncode == 65
    text = (tmp_path / "err.txt").read_text()
    assert "invalid data: 1 problem\n" in text and "unparseable-date: 1" in text


# ------------------------------------------------------------------------------ 5. user and internal names apart
@pytest.mark.parametrize("name", ["follow_up_end", "conviction_deadline"])
def test_a_release_column_named_like_a_window_column_filters_alike_in_sql_and_measure(name):
    """A date column called follow_up_end (or conviction_deadline) used in --where: the query carried it
    beside the window's own column of that name and counted 22 (or 15) reoffenders where measure counted 26.
    The query now takes the --where column no further than the filter."""
    import datetime as dt

    import duckdb
    import polars as pl

    from reoffend.measure import MeasureParams
    from reoffend.sql import SqlSource, measure_query, render
    from tests.sql_support import assert_same_table, python_rows
    from tests.test_sql import dataset

    releases, convictions, extract = dataset("sample")
    # a decoy date: a year before release, for every release of an odd-numbered person
    decoy = pl.col("release_date").str.to_date().dt.offset_by("-1y").cast(pl.String)
    releases = releases.with_columns(
        pl.when(pl.col("offender_id").str.slice(-1).is_in(list("13579"))).then(decoy).otherwise(None).alias(name)
    )
    chosen = tuple(releases[name].drop_nulls().unique().sort().to_list()[:400])
    params = MeasureParams(by=("cohort",), where={name: chosen}, incomplete="exclude")
    ours = python_rows(releases, convictions, params, extract_date=extract)
    con = duckdb.connect()
    for table, frame in (("releases", releases), ("convictions", convictions)):
        con.register("frame", frame.to_arrow())
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
        con.unregister("frame")
    theirs = con.sql(render(measure_query(params, SqlSource(extract_date=extract)), "duckdb")).pl()
    assert ours["reoffenders"].sum() > 0 and isinstance(extract, dt.date)
    assert_same_table(ours, theirs, f"--where {name}")


@pytest.mark.parametrize("name", ["follow_up_end", "reoffences", "cohort_size", "binary_rate", "reoffended"])
@pytest.mark.parametrize("command", ["measure", "sql"])
def test_grouping_by_a_column_reoffend_computes_is_a_usage_error(cli, folder, name, command):
    """measure --by follow_up_end grouped by the computed date, not the input's column, and --by reoffences
    exited 70 (two columns of one name). Both are 2 now, saying how to rename the input column."""
    write_csv(
        folder / "named.csv",
        RELEASES_WITH.format(column=name).replace(",x\n", ",2022-01-01\n").replace(",y\n", ",2023-01-01\n"),
    )
    inputs = (
        ("named.csv", "c.csv", *EXTRACT) if command == "measure" else ("--dialect", "duckdb", "--release-columns", name)
    )
    before = snapshot(folder)
    status, out, err = cli(
        command, *[folder / a if str(a).endswith(".csv") else a for a in inputs], "--by", f"cohort,{name}"
    )
    assert status == 2, err
    assert f"cannot group by {name!r}" in err and f"--map input_{name}={name}" in err and out == ""
    assert snapshot(folder) == before


def test_sql_refuses_a_reserved_working_column_name_as_measure_does(cli):
    status, out, err = cli("sql", "--dialect", "duckdb", "--release-columns", "_index_rank", "--where", "_index_rank=2")
    assert status == 2 and "no column '_index_rank'" in err and "reserved" in err and out == ""


# ------------------------------------------------------------------------------ 6. bounded reading
MEMORY_CAP = 3 << 30  # the address space of the child: a run that tried to hold a bomb whole would die in it


def capped(args, *, cwd: Path) -> subprocess.CompletedProcess:
    """``reoffend ARGS`` in a child limited to :data:`MEMORY_CAP` of address space (``ulimit -v``)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    code = "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, timeout=300, preexec_fn=limit
    )


def test_a_zstd_bomb_is_refused_with_a_sentence_not_killed(folder):
    """A 400 KB .csv.zst that unpacks to 4.7 GB of short rows: unpacked in steps and refused (65) once the
    table it makes would not fit, where it was read whole and the process killed."""
    import zstandard

    body = b"A,2022-01-01\n" * ((64 << 20) // 13)
    first = zstandard.ZstdCompressor(level=3).compress(b"offender_id,release_date\n" + body)
    (folder / "bomb.csv.zst").write_bytes(first + zstandard.ZstdCompressor(level=3).compress(body) * 69)
    done = capped(["measure", "bomb.csv.zst", "c.csv", *EXTRACT], cwd=folder)
    err = done.stderr.decode()
    assert done.returncode == 65, err[-2000:]
    assert "bomb.csv.zst: the data would need more than the" in err and "unpack it to a plain file" in err
    assert "too-large: 1" in err


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv"])
def test_a_table_of_one_enormous_line_is_refused_from_its_first_megabyte(folder, suffix):
    """A .gz of 1 GB of zero bytes (1 MB on disk) and a plain CSV of one 64 MB line: no table has such a header.
    Refused (65) after reading its first megabyte, where the whole was held (and the header echoed)."""
    import zlib

    line = b"\0" * (64 << 20) if suffix == ".gz" else b"a" * (64 << 20)
    if suffix.endswith(".gz"):
        packer = zlib.compressobj(1, zlib.DEFLATED, 31)
        data = b"".join(packer.compress(line) for _ in range(16)) + packer.flush()
    else:
        data = line
    (folder / f"one{suffix}").write_bytes(data)
    done = capped(["measure", f"one{suffix}", "c.csv", *EXTRACT], cwd=folder)
    err = done.stderr.decode()
    assert done.returncode == 65, err[-2000:]
    assert f"one{suffix}: the header (line 1) is longer than 1 MiB" in err and len(err) < 1000


@pytest.mark.parametrize("option", ["--exclude-offences", "--treated-ids"])
def test_a_list_file_that_never_ends_is_refused_not_read_forever(folder, option):
    """--exclude-offences /dev/zero read until memory ran out: a list file is read to 64 MiB at most."""
    if option == "--exclude-offences":
        args = ["measure", "r.csv", "c.csv", *EXTRACT, option, "/dev/zero"]
    else:
        args = ["compare", "matched", "r.csv", "c.csv", *EXTRACT, "--covariates", "age", option, "/dev/zero"]
    done = capped(args, cwd=folder)
    err = done.stderr.decode()
    assert done.returncode == 65, err[-2000:]
    assert "/dev/zero: the " in err and "is larger than 64 MiB" in err


def test_standard_input_beyond_the_memory_budget_is_refused(cli, folder, monkeypatch):
    """A stream is read whole: past the room for it, 65 with a sentence (the budget made small here)."""
    import io

    import reoffend.io

    monkeypatch.setattr(reoffend.io, "memory_budget", lambda: 1 << 20)
    rows = "offender_id,release_date\n" + "".join(f"P{i},2022-01-10\n" for i in range(200_000))

    class Stdin:
        buffer = io.BytesIO(rows.encode())

    monkeypatch.setattr(sys, "stdin", Stdin())
    status, _out, err = cli("measure", "-", folder / "c.csv", *EXTRACT)
    assert status == 65, err
    assert "<stdin>: the input is larger than 1 MiB" in err and "save it to a file" in err


# ------------------------------------------------------------------------------ 7. echoed data cut and escaped
def test_a_wide_header_is_named_in_a_few_lines_not_echoed_whole(cli, folder):
    """A header of 60,000 columns (under the 1 MiB line limit) without release_date: the message listed every
    column found, twice, so a 20 MB header gave 40 MB of standard error. Now 20 names and how many more."""
    columns = ",".join(f"column_{i:05}" for i in range(60_000))
    write_csv(folder / "wide.csv", f"offender_id,{columns}\nA" + ",1" * 60_000 + "\n")
    status, _out, err = cli("measure", folder / "wide.csv", folder / "c.csv", *EXTRACT)
    assert status == 65
    assert "required column 'release_date' is missing (found: offender_id, column_00000," in err
    assert "and 59,981 more" in err and len(err) < 3000, len(err)


ESCAPES = "\x1b[31mRED\x1b]0;owned\x07\u202e"


def test_terminal_escape_codes_in_data_are_shown_never_acted_on(cli, folder):
    """An establishment holding ESC sequences (a colour, a window title) and a bidi override reached the terminal
    raw in the table and in messages. Both show them as escapes now."""
    write_csv(folder / "esc.csv", f"offender_id,release_date,establishment\nA,2022-01-10,{ESCAPES}\nB,2022-02-10,E2\n")
    status, out, err = cli("measure", folder / "esc.csv", folder / "c.csv", *EXTRACT, "--by", "establishment",
                           "--format", "table")  # fmt: skip
    assert status == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[31mRED\\x1b]0;owned\\x07\\u202e" in out
    status, out, err = cli(
        "measure", folder / "esc.csv", folder / "c.csv", *EXTRACT, "--where", f"establishment={ESCAPES[:-1]}"
    )
    assert status == 65  # did you mean ...? names the value in the data
    assert (
        "did you mean \\x1b[31mRED" in err
        and "\x1b" not in err
        and "\x07" not in err
        and "\u202e" not in err
        and "\\x1b" in err
    )


def test_a_column_name_with_escape_codes_is_escaped_in_the_table_header_and_messages(cli, folder):
    name = "\x1b[2Jwiped"
    write_csv(folder / "esc.csv", f"offender_id,release_date,{name}\nA,2022-01-10,x\n")
    status, out, err = cli("measure", folder / "esc.csv", folder / "c.csv", *EXTRACT, "--by", name, "--format", "table")
    assert status == 0, err
    assert "\x1b" not in out and "\\x1b[2Jwiped" in out
    status, _out, err = cli("measure", folder / "esc.csv", folder / "c.csv", *EXTRACT, "--by", "nosuch")
    assert status == 2 and "\x1b" not in err and "\\x1b[2Jwiped" in err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_file_is_read_by_its_byte_order_mark(cli, folder, encoding):
    """A spreadsheet's "Unicode text" (UTF-16 with a byte-order mark) was read as UTF-8: every required column
    'missing'. It is read in its encoding, giving what the UTF-8 file gives."""
    from tests.test_hostile import RELEASES

    text = RELEASES.encode(encoding)
    if encoding == "utf-16-be":
        text = b"\xfe\xff" + text
    (folder / "r16.csv").write_bytes(text)
    status, plain, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--csv")
    assert status == 0, err
    status, out, err = cli("measure", folder / "r16.csv", folder / "c.csv", *EXTRACT, "--csv")
    assert status == 0, err
    assert out == plain


def test_bytes_that_are_not_the_encoding_the_mark_names_are_invalid_data(cli, folder):
    (folder / "bad16.csv").write_bytes("offender_id,release_date\nA,2022-01-10\n".encode("utf-16") + b"\x00\xd8")
    status, _out, err = cli("measure", folder / "bad16.csv", folder / "c.csv", *EXTRACT)
    assert status == 65
    assert "bad16.csv: the file starts with a UTF-16 byte-order mark, but its bytes" in err and "iconv" in err


# ------------------------------------------------------------------------------ 8. data is never markup
LINK_LABEL = "[x](https://evil.example)"
TAG = "<img src=x onerror=alert(1)>"


def markup_job(folder: Path) -> Path:
    """Releases of two cohorts, one labelled like a Markdown link, at establishments named like HTML tags; a
    breakdown by a sex column whose values are tags."""
    rows = ["offender_id,release_date,establishment,cohort,sex"]
    rows += [f'P{i},2022-0{1 + i % 3}-1{i % 9},"{TAG}","{LINK_LABEL}","{TAG if i % 2 else "M"}"' for i in range(40)]
    rows += [f"P{i},2022-0{4 + i % 3}-1{i % 9},EST2,2022Q2 **bold** `code`,<b>F</b>" for i in range(40, 80)]
    write_csv(folder / "r.csv", "\n".join(rows) + "\n")
    convicted = "".join(f"P{i},2022-08-01,2022-09-01\n" for i in range(0, 80, 3))
    write_csv(folder / "c.csv", "offender_id,offence_date,conviction_date\n" + convicted)
    job = folder / "job.toml"
    job.write_text(
        '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        '[disclosure]\nmin_cohort = 0\nmin_count = 0\n[breakdowns]\ncolumns = ["sex"]\n'
        '[publication]\nmethodology_url = "https://example.gov.uk/method(1)"\n'
    )
    return job


def test_labels_from_the_data_are_text_in_the_bulletins_html_and_markdown(cli, tmp_path):
    """A cohort labelled [x](https://evil.example) became a live link in index.html, and <img onerror=...>
    labels appeared raw in bulletin.md. Both pages now show the labels as text; the configured methodology
    address is still a link."""
    job = markup_job(tmp_path)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    page = (tmp_path / "out" / "index.html").read_text()
    assert 'href="https://evil.example' not in page and "<img src=x" not in page and "<b>F" not in page
    assert "[x](https://evil.example)" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert '<a href="https://example.gov.uk/method(1)">' in page
    markdown = (tmp_path / "out" / "bulletin.md").read_text()
    assert "](https://evil" not in markdown and "<img" not in markdown and "<b>" not in markdown
    assert "**bold**" not in markdown and "`code`" not in markdown
    assert "\\[x\\](https\\://evil.example)" in markdown and "&lt;img src=x onerror=alert(1)>" in markdown
    assert "[https\\://example.gov.uk/method(1)](https://example.gov.uk/method%281%29)" in markdown


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "//evil.example", "https://"])
def test_a_methodology_url_that_is_not_http_or_mailto_is_refused(cli, tmp_path, url):
    job = markup_job(tmp_path)
    job.write_text(job.read_text().replace("https://example.gov.uk/method(1)", url))
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "[publication] methodology_url: expected an http:// or https:// address" in err
    assert not (tmp_path / "out").exists()


def test_a_mailto_methodology_address_is_accepted(cli, tmp_path):
    job = markup_job(tmp_path)
    job.write_text(job.read_text().replace("https://example.gov.uk/method(1)", "mailto:stats@example.gov.uk"))
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    assert '<a href="mailto:stats@example.gov.uk">' in (tmp_path / "out" / "index.html").read_text()


def matched_inputs(folder: Path, level: str = "F") -> None:
    """r.csv and c.csv a matched comparison can be made of: 30 releases at EST1 (treated), 90 at EST2, ages 20
    to 49 in both, sex M or ``level``; every fourth person reoffends."""
    rows = ["offender_id,release_date,establishment,age,sex"]
    rows += [f"P{i},2022-0{1 + i % 6}-1{i % 9},{'EST1' if i < 30 else 'EST2'},{20 + i % 30},{level if i % 2 else 'M'}"
             for i in range(120)]  # fmt: skip
    write_csv(folder / "r.csv", "\n".join(rows) + "\n")
    convicted = "".join(f"P{i},2022-09-01,2022-10-01\n" for i in range(0, 120, 4))
    write_csv(folder / "c.csv", "offender_id,offence_date,conviction_date\n" + convicted)


def test_labels_from_the_data_are_text_in_the_evaluation_reports_markdown(cli, tmp_path):
    """compare matched --report: a covariate's level <img onerror=...> stood raw in report.md."""
    matched_inputs(tmp_path, TAG)
    args = ["--treated", "establishment=EST1", "--covariates", "age,sex", "--report", tmp_path / "report", "-q"]
    status, _out, err = cli("compare", "matched", tmp_path / "r.csv", tmp_path / "c.csv", *EXTRACT, *args)
    assert status in (0, 1), err
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)>" in markdown
    assert "<img src=x" not in (tmp_path / "report" / "report.html").read_text()


# ------------------------------------------------------------------------------ 9. an empty value is no value
MEASURE = ("measure", "r.csv", "c.csv", *EXTRACT)
MATCHED = ("compare", "matched", "r.csv", "c.csv", *EXTRACT, "--treated", "establishment=EST1", "--covariates", "age")
EMPTY_CASES = [
    (MEASURE, "--exclude-offences"),
    (MEASURE, "--config"),
    (MEASURE, "-o"),
    (MEASURE, "--errors"),
    (MEASURE, "--per-release"),
    (MEASURE, "--columns"),
    (MEASURE, "--map"),
    (MEASURE, "--where"),
    (("bulletin", "--config", "job.toml"), "-o"),
    (("synth", "--releases", "10"), "--out"),
    (MATCHED, "--treated-ids"),
    (MATCHED, "--matches"),
    (MATCHED, "--report"),
    (MATCHED, "--balance-plot"),
    (("compare", "baseline", "r.csv", "c.csv", *EXTRACT, "--site", "EST1", "--current", "2022Q1"), "--schedule"),
    (("sql", "--dialect", "duckdb"), "--release-columns"),
    (("nowcast", "r.csv", "c.csv", *EXTRACT), "--exclude-offences"),
]


@pytest.mark.parametrize(("command", "option"), EMPTY_CASES, ids=[f"{c[0]}{o}" for c, o in EMPTY_CASES])
def test_an_empty_option_value_is_a_usage_error_not_the_option_left_out(cli, folder, monkeypatch, command, option):
    """--exclude-offences "" counted BREACH (silently with -q), bulletin -o "" wrote ./bulletin, synth --out ""
    wrote into the current folder: an empty value read as "not given", exit 0. It is a usage error (2) now,
    before anything is read or written."""
    from tests.test_hostile import write_bulletin_job

    monkeypatch.chdir(folder)
    write_bulletin_job(folder)
    before = snapshot(folder)
    status, out, err = cli(*command, option, "", "-q") if command[0] != "sql" else cli(*command, option, "")
    assert status == 2, err
    assert f"{option}" in err and "'': an empty value; give a value, or leave" in err and out == ""
    assert snapshot(folder) == before and sorted(p.name for p in folder.iterdir()) == sorted(before)


def test_an_empty_value_in_the_config_is_a_usage_error_too(cli, folder):
    (folder / "run.toml").write_text('[measure]\nexclude-offences = ""\n')
    status, _out, err = cli(
        *[folder / a if a.endswith(".csv") else a for a in MEASURE], "--config", folder / "run.toml"
    )
    assert status == 2 and "--exclude-offences '': an empty value" in err


@pytest.mark.parametrize("option", ["--by", "--site", "--exact"])
def test_the_documented_empty_values_keep_their_meaning(cli, folder, option):
    """--by "" is one overall row, --site "" every release, --exact "" no exact matching (docs/cli.md)."""
    args = {
        "--by": MEASURE,
        "--site": (
            "compare",
            "baseline",
            "r.csv",
            "c.csv",
            *EXTRACT,
            "--period",
            "month",
            "--current",
            "2022-03",
            "--baseline",
            "2022-01",
        ),
        "--exact": (*MATCHED, "--bootstrap", "0", "--caliper", "10"),
    }[option]
    status, _out, err = cli(*[folder / a if a.endswith(".csv") else a for a in args], option, "", "-q")
    assert status != 2 and "an empty value" not in err, err


# ------------------------------------------------------------------------------ 10. no conviction rows
def test_header_only_convictions_are_warned_about_in_measure(cli, folder):
    """With --extract-date, a convictions file with a header and no row gave 0% reoffending, exit 0 and no
    word: an extract cut short looks exactly like that. measure now warns (and -q silences it)."""
    write_csv(folder / "none.csv", "offender_id,offence_date,conviction_date\n")
    status, out, err = cli("measure", folder / "r.csv", folder / "none.csv", *EXTRACT, "--csv")
    assert status == 0
    assert "none.csv has a header but no conviction rows: nobody can reoffend, so every rate is 0%" in err
    assert out.splitlines()[1].split(",")[2] == "0"  # reoffenders: the figures are still given
    status, _out, err = cli("measure", folder / "r.csv", folder / "none.csv", *EXTRACT, "-q", "--csv")
    assert status == 0 and err == ""


def test_header_only_convictions_stop_the_bulletin_unless_allowed(cli, folder):
    """The bulletin published all [c] from such a file, exit 0: now 65 naming it, before anything is written;
    [inputs] allow_no_convictions = true publishes it."""
    write_csv(folder / "c.csv", "offender_id,offence_date,conviction_date\n")
    job = folder / "job.toml"
    job.write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n')
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 65, err
    assert "c.csv: the file has a header but no conviction rows" in err and "allow_no_convictions = true" in err
    assert snapshot(folder) == before and not (folder / "out").exists()
    job.write_text(job.read_text().replace("[inputs]\n", "[inputs]\nallow_no_convictions = true\n"))
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 0, err
    manifest = (folder / "out" / "manifest.json").read_text()
    assert '"allow_no_convictions": true' in manifest


# ------------------------------------------------------------------------------ 11. charts of any name
def test_control_characters_in_establishment_names_leave_every_svg_valid_xml_and_stderr_quiet(folder):
    """An establishment named with a control character made establishments.svg invalid XML (XML has no such
    character, even escaped), and matplotlib's "Glyph 1 missing from font" warnings reached standard error
    under -q. The charts show the character as an escape, like the messages; nothing else is printed."""
    import xml.dom.minidom

    names = ["EST\x01ONE", "EST\x1b[2", "THREE\x7f"]
    rows = [f"P{i},2022-0{1 + i % 3}-1{i % 9},{names[i % 3]}" for i in range(60)]
    write_csv(folder / "r.csv", "offender_id,release_date,establishment\n" + "\n".join(rows) + "\n")
    convicted = "".join(f"P{i},2022-08-01,2022-09-01\n" for i in range(0, 60, 3))
    write_csv(folder / "c.csv", "offender_id,offence_date,conviction_date\n" + convicted)
    (folder / "job.toml").write_text(
        '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        "[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n",
         "bulletin", "--config", "job.toml", "-o", "out", "-q"],
        cwd=folder, capture_output=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()[-2000:]
    svgs = sorted((folder / "out" / "figures").glob("*.svg"))
    assert any(p.name == "establishments.svg" for p in svgs)
    for svg in svgs:
        xml.dom.minidom.parse(str(svg))  # raises on a character XML does not allow
    text = (folder / "out" / "figures" / "establishments.svg").read_text()
    assert "EST\\x01ONE" in text and "EST\\x1b[2" in text and "\x01" not in text and "\x1b" not in text


# ------------------------------------------------------------------------------ 12. file modes
@pytest.fixture
def umask_022():
    import os

    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    import stat

    return stat.S_IMODE(path.stat().st_mode)


def test_a_rerun_keeps_an_outputs_mode_and_record_level_outputs_start_owner_only(cli, folder, umask_022):
    """A rerun replaced a chmod 600 --per-release file by one of 0644, readable by all. The replacement keeps
    the mode of the file it replaces; a new --per-release (record-level data) is 0600, a new -o 0644."""
    out, per_release = folder / "out.csv", folder / "per_release.csv"
    args = ("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", out, "--per-release", per_release)
    assert cli(*args)[0] == 0
    assert mode(per_release) == 0o600 and mode(out) == 0o644
    per_release.chmod(0o640)
    out.chmod(0o600)
    assert cli(*args)[0] == 0
    assert mode(per_release) == 0o640 and mode(out) == 0o600


def test_an_errors_file_and_matches_are_record_level_too(cli, folder, umask_022):
    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-13-01\n")
    status, _out, _err = cli("measure", folder / "bad.csv", folder / "c.csv", *EXTRACT, "--errors", folder / "e.csv")
    assert status == 65 and mode(folder / "e.csv") == 0o600
    matched_inputs(folder)
    matched = ("compare", "matched", folder / "r.csv", folder / "c.csv", *EXTRACT, "--treated", "establishment=EST1")
    status, _out, err = cli(*matched, "--covariates", "age", "--bootstrap", "0", "--matches", folder / "m.csv", "-q")
    assert status in (0, 1), err
    assert mode(folder / "m.csv") == 0o600


# ------------------------------------------------------------------------------ 13. a column named twice
def test_a_parquet_schema_naming_a_column_twice_is_invalid_data_naming_it(cli, folder):
    """Exit 70 (polars' DuplicateError) before: now 65, duplicate-column, naming the column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = ["offender_id", "release_date", "offender_id"]
    columns = [pa.array(["A", "B"]), pa.array(["2022-01-10", "2022-02-10"]), pa.array(["X", "Y"])]
    pq.write_table(pa.table(columns, names=names), folder / "dup.parquet")
    status, _out, err = cli("measure", folder / "dup.parquet", folder / "c.csv", *EXTRACT)
    assert status == 65, err
    assert "dup.parquet, column offender_id: the schema names the column 'offender_id' more than once" in err
    assert "duplicate-column: 1" in err


@pytest.mark.parametrize("where", [1, 3])
def test_an_ndjson_record_giving_a_key_twice_is_invalid_data_naming_it(cli, folder, where):
    """{"offender_id": "A", ..., "offender_id": "Z"}: the reader kept the first value, exit 0. Now 65 naming the
    key and the line; a key inside a string value ("a\\": ") is not taken for one."""
    records = [
        '{"offender_id": "A", "release_date": "2022-01-10", "establishment": "say \\"offender_id\\": no"}',
        '{"offender_id": "B", "release_date": "2022-02-10", "establishment": "EST2"}',
        '{"offender_id": "C", "release_date": "2022-03-10", "establishment": "EST1"}',
    ]
    records[where - 1] = records[where - 1][:-1] + ', "offender_id": "Z"}'
    (folder / "dup.ndjson").write_text("\n".join(records) + "\n")
    status, _out, err = cli("measure", folder / "dup.ndjson", folder / "c.csv", *EXTRACT)
    assert status == 65, err
    assert (
        f"dup.ndjson, row {where}, column offender_id: line {where}: the record gives the key 'offender_id' twice"
        in err
    )


def test_an_ndjson_file_with_keys_once_each_is_read_as_before(cli, folder):
    (folder / "ok.ndjson").write_text(
        '{"offender_id": "A", "release_date": "2022-01-10", "establishment": "say \\"offender_id\\": no"}\n'
    )
    status, _out, err = cli("measure", folder / "ok.ndjson", folder / "c.csv", *EXTRACT, "-q")
    assert status == 0, err


# ------------------------------------------------------------------------------ 14. numbers too large
@pytest.mark.parametrize("edges", ["18,1e50", "-1e20,18", "18,99999999999999999999"])
def test_a_band_edge_beyond_any_count_is_a_usage_error(cli, folder, edges):
    """--band age=18,1e50 was exit 70 (polars cannot hold the whole number 1e50): a usage error naming it."""
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--by", "cohort,age",
                           "--band", f"age={edges}")  # fmt: skip
    assert status == 2, err
    assert "band age: an edge is at most 1e+15 in size" in err and out == ""


def test_a_band_edge_beyond_any_count_in_the_bulletin_config_is_a_usage_error(cli, folder):
    job = breakdown_job(folder, "age")
    job.write_text(job.read_text().replace('columns = ["age"]', 'columns = ["age"]\nbands = { age = [18, 1e50] }'))
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 2 and "an edge is at most 1e+15" in err and "[breakdowns] bands" in err


@pytest.mark.parametrize(
    "counts", [("99999999999999999999/999999999999999999999", "40/100"), ("40/100", "40/100000000000000000000")]
)
def test_counts_beyond_any_cohort_are_a_usage_error(cli, counts):
    """Huge --current-counts (or --baseline-counts) were exit 70 (a 64-bit count overflows): 2, naming them."""
    status, out, err = cli("compare", "baseline", "--current-counts", counts[0], "--baseline-counts", counts[1])
    assert status == 2, err
    assert "a cohort size is at most 1,000,000,000,000 people" in err and out == ""
    assert ("--current-counts" if "9999" in counts[0] else "--baseline-counts") in err


# ------------------------------------------------------------------------------ 15. Ctrl-C says what was written
def test_ctrl_c_during_a_write_says_which_outputs_were_written(folder):
    """SIGINT printed "aborted" (click's Abort), not the documented line saying which outputs were written."""
    import signal
    import time

    from tests.test_hostile import SLOW_WRITE, child, temporaries

    target = folder / "out.csv"
    target.write_text("the earlier output\n")
    ready = folder / "ready"
    process = child(["measure", "r.csv", "c.csv", *EXTRACT, "-o", target], cwd=folder,
                    preamble=SLOW_WRITE.format(ready=str(ready)))  # fmt: skip
    deadline = time.monotonic() + 60
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), process.communicate()[1]
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert lines == [
        "reoffend: error: interrupted; no output was written (temporary files removed; earlier outputs unchanged)"
    ], lines
    assert target.read_text() == "the earlier output\n" and not temporaries(folder)


# ------------------------------------------------------------------------------ 16. SQL table names
@pytest.mark.parametrize(
    ("name", "schema", "table"),
    [('"a.b".c', "a.b", "c"), ('a."b.c"', "a", "b.c"), ('"we""ird".t', 'we"ird', "t"), ("`a.b`.c", "a.b", "c")],
)
def test_a_quoted_part_of_a_table_name_keeps_its_dots(name, schema, table):
    """--releases-table '"a.b".c' was split at every dot: the table c of the schema "a.b" became a three-part
    name a.b.c. Quoted parts are kept whole; the query runs on DuckDB against that very table."""
    import datetime as dt

    import duckdb
    import polars as pl

    from reoffend.measure import MeasureParams
    from reoffend.sql import SqlSource, measure_query, render
    from tests.sql_support import python_rows

    releases = pl.DataFrame({"offender_id": ["A", "B"], "release_date": ["2022-01-10", "2022-02-10"]})
    convictions = pl.DataFrame(
        {"offender_id": ["A"], "offence_date": ["2022-02-01"], "conviction_date": ["2022-03-01"]}
    )
    con = duckdb.connect()
    quoted = '"' + schema.replace('"', '""') + '"'
    con.execute(f"CREATE SCHEMA {quoted}")
    con.register("frame", releases.to_arrow())
    con.execute(f'CREATE TABLE {quoted}."{table}" AS SELECT * FROM frame')
    con.register("conv", convictions.to_arrow())
    con.execute("CREATE TABLE convictions AS SELECT * FROM conv")
    source = SqlSource(releases_table=name, extract_date=dt.date(2030, 1, 1))
    params = MeasureParams(by=())
    row = con.sql(render(measure_query(params, source), "duckdb")).pl().row(0, named=True)
    ours = python_rows(releases, convictions, params, extract_date=dt.date(2030, 1, 1)).row(0, named=True)
    assert (row["cohort_size"], row["reoffenders"]) == (ours["cohort_size"], ours["reoffenders"]) == (2, 1)


@pytest.mark.parametrize("name", ['"a.b', "a..b", "a.b.c.d", '""'])
def test_a_table_name_that_is_not_one_is_a_usage_error(cli, name):
    status, out, err = cli("sql", "--dialect", "duckdb", "--releases-table", name)
    assert status == 2 and "not a table name" in err and out == ""


# ------------------------------------------------------------------------------ minor: fixed in passing
def test_an_output_that_is_a_link_to_itself_is_refused_not_replaced(cli, folder):
    """-o loop.csv with loop.csv -> loop.csv: the link was silently replaced by a file (exit 0)."""
    import os

    (folder / "loop.csv").symlink_to("loop.csv")
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", folder / "loop.csv")
    assert status == 2, err
    assert "a symbolic link that leads back to itself" in err and out == ""
    assert os.readlink(folder / "loop.csv") == "loop.csv"


def test_a_link_the_user_put_in_a_bulletin_folder_is_never_deleted(cli, folder, tmp_path_factory):
    """A link to a folder inside the bulletin (out/archive -> elsewhere) was not listed by the manifest check,
    which skips folders, so a rebuild replaced the folder and the link was gone. It is a file the manifest
    does not list: the rebuild is refused (2) and the link stays."""
    from tests.test_hostile import write_bulletin_job

    job = write_bulletin_job(folder)
    assert cli("bulletin", "--config", job, "-o", folder / "out", "-q")[0] == 0
    elsewhere = tmp_path_factory.mktemp("archive")
    (elsewhere / "kept.txt").write_text("mine")
    (folder / "out" / "archive").symlink_to(elsewhere, target_is_directory=True)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 2 and "does not list: archive" in err
    assert (folder / "out" / "archive").is_symlink() and (elsewhere / "kept.txt").read_text() == "mine"


def test_an_os_error_rebuilt_from_text_reads_plainly():
    """polars writing through a Python file re-raises the OS error from its text: 'writing p.csv: [Errno 28] No
    space left on device' was the one message left with Python's errno prefix."""
    from reoffend.errors import os_reason

    assert os_reason(OSError("[Errno 28] No space left on device")) == "no space left on device"
    assert os_reason(OSError("No space left on device (os error 28)")) == "no space left on device"
    assert os_reason(OSError(28, "No space left on device")) == "no space left on device"


def test_a_full_file_system_under_a_per_release_file_reads_plainly(cli, folder, tmp_path):
    """The same on a real file system that fills up (a 16 KiB tmpfs, where we may mount one)."""
    import shutil

    small = tmp_path / "small"
    small.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(small)],
                                                    capture_output=True).returncode:  # fmt: skip
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        rows = "offender_id,release_date\n" + "".join(f"P{i:06},2022-01-{1 + i % 28:02}\n" for i in range(3000))
        write_csv(folder / "many.csv", rows)
        args = ("measure", folder / "many.csv", folder / "c.csv", *EXTRACT, "--per-release", small / "p.csv")
        status, _out, err = cli(*args, "-o", small / "x.csv")
        assert status == 74, err
        assert "writing" in err and "no space left on device" in err and "Errno" not in err
        assert sorted(p.name for p in small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


def test_synth_removes_the_data_it_wrote_before_in_the_other_format(cli, tmp_path):
    """synth --format csv, then --format parquet with another seed: releases.csv of the first seed stayed
    beside the parquet files and meta.json listed both, as if it described them."""
    import json

    out = tmp_path / "s"
    assert cli("synth", "--releases", "200", "--seed", "1", "--format", "csv", "--out", out, "-q")[0] == 0
    (out / "notes.txt").write_text("mine")
    assert cli("synth", "--releases", "200", "--seed", "2", "--format", "parquet", "--out", out, "-q")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "convictions.parquet",
        "meta.json",
        "notes.txt",
        "releases.parquet",
    ]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["files"] == ["convictions.parquet", "releases.parquet"] and meta["parameters"]["seed"] == 2


def test_a_hash_inside_an_offence_code_is_part_of_it(cli, folder):
    """'#' cut every code of a list: ABC#1 was read as ABC. A comment starts at a # that begins the line or
    follows a space."""
    from reoffend.io import read_code_list

    (folder / "codes.txt").write_text("# codes\nABC#1   # the first\nBREACH#\n  # indented comment\nX #y\n")
    assert read_code_list(str(folder / "codes.txt")) == frozenset({"ABC#1", "BREACH#", "X"})
    write_csv(folder / "cc.csv", "offender_id,offence_date,conviction_date,offence_code\n"
              "A,2022-02-01,2022-03-01,ABC\nC,2022-05-01,2022-06-01,ABC#1\n")  # fmt: skip
    status, out, err = cli("measure", folder / "r.csv", folder / "cc.csv", *EXTRACT, "--by", "", "--csv",
                           "--exclude-offences", folder / "codes.txt")  # fmt: skip
    assert status == 0, err
    assert out.splitlines()[1].split(",")[:2] == ["3", "1"]  # A's ABC counts; C's ABC#1 is excluded
