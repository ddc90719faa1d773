"""Hostile data stays data (docs/cli.md): labels and column names from the records are shown, never acted on, in
the terminal (escape codes, forged lines), in the bulletin's HTML and Markdown, the evaluation report and the
charts' SVG (control characters, noncharacters, markup).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.helpers import CONVICTIONS, EXTRACT, TAG, markup_job, matched_inputs


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


def test_labels_from_the_data_are_text_in_the_evaluation_reports_markdown(cli, tmp_path):
    """compare matched --report: a covariate's level <img onerror=...> stood raw in report.md."""
    matched_inputs(tmp_path, TAG)
    args = ["--treated", "establishment=EST1", "--covariates", "age,sex", "--report", tmp_path / "report", "-q"]
    status, _out, err = cli("compare", "matched", tmp_path / "r.csv", tmp_path / "c.csv", *EXTRACT, *args)
    assert status in (0, 1), err
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)>" in markdown
    assert "<img src=x" not in (tmp_path / "report" / "report.html").read_text()


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


FORGED = "EST042\nreoffend: error: FORGED"

FORGED_RELEASES = (
    "offender_id,release_date,establishment\n"
    'A,2022-01-10,"EST042\nreoffend: error: FORGED"\nB,2022-02-10,EST2\n'
    'C,2022-04-10,"EST042\nreoffend: error: FORGED"\nD,2022-05-10,EST2\n'
)


def forged_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("reoffend: error: FORGED")]


BASELINE = ("compare", "baseline")

SITE = ("--site", FORGED, "--baseline", "2022Q1", "--current", "2022Q2")


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (BASELINE, (*SITE, "--csv")),
        (BASELINE, (*SITE, "--format", "table")),
        (("measure",), ("--where", "establishment=EST9\nreoffend: error: FORGED")),
        (("measure",), ("--by", "establishment", "--format", "table")),
    ],
)
def test_a_newline_in_a_label_forges_no_line(cli, tmp_path, command, options):
    """The site's label started a line of its own on standard error ("reoffend: error: FORGED"): every message,
    headline and table cell now shows a line break from the data as \\n."""
    write_csv(tmp_path / "r.csv", FORGED_RELEASES)
    write_csv(tmp_path / "c.csv", CONVICTIONS)
    inputs = (tmp_path / "r.csv", tmp_path / "c.csv", "--extract-date", "2030-01-01")
    status, out, err = cli(*command, *inputs, *options)
    assert status in (0, 65), err
    assert forged_lines(err) == [] and forged_lines(out) == [], err + out
    assert "EST042\\nreoffend: error: FORGED" in err + out or "EST9\\nreoffend" in err


def test_line_and_paragraph_separators_are_escaped():
    from reoffend.errors import one_line, printable

    assert printable("a\u2028b\u2029c") == "a\\u2028b\\u2029c"
    assert one_line("a\nb\rc") == "a\\nb\\rc"


def labelled_bulletin(cli, folder: Path, labels: list[str]) -> Path:
    """A bulletin of 200 releases spread over ``labels`` as establishments (disclosure off: all drawn)."""
    rows = ["offender_id,release_date,establishment"]
    rows += [f"P{i},2022-0{1 + i % 6}-10,{labels[i % len(labels)]}" for i in range(200)]
    (folder / "r.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    convictions = ["offender_id,offence_date,conviction_date"] + [
        f"P{i},2022-09-01,2022-10-01" for i in range(0, 200, 3)
    ]
    (folder / "c.csv").write_text("\n".join(convictions) + "\n")
    job = folder / "job.toml"
    job.write_text(
        'title = "T"\n[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        '[measure]\nestablishment = "establishment"\n[disclosure]\nmin_cohort = 0\nmin_count = 0\n'
    )
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 0, err
    return folder / "out"


def test_a_noncharacter_in_a_label_leaves_the_charts_valid_xml(cli, tmp_path):
    """U+FFFE in an establishment made figures/establishments.svg invalid XML (the bulletin exited 0)."""
    import xml.dom.minidom

    out = labelled_bulletin(cli, tmp_path, ["EST\ufffeA", "EST\uffffB", "ESTC"])
    for svg in (out / "figures").glob("*.svg"):
        xml.dom.minidom.parse(str(svg))  # raises on a character XML does not allow
    assert "EST\\ufffeA" in (out / "figures" / "establishments.svg").read_text(encoding="utf-8")


def test_control_characters_in_a_label_reach_neither_bulletin_md_nor_index_html_raw(cli, tmp_path):
    """\\x01 and ESC from labels reached bulletin.md and index.html raw (the charts escaped them)."""
    out = labelled_bulletin(cli, tmp_path, ["EST\x01A", "EST\x1b[31mB", "ESTC"])
    for name in ("bulletin.md", "index.html"):
        text = (out / name).read_text(encoding="utf-8")
        raw = sorted({c for c in text if (ord(c) < 32 and c not in "\n\t") or c in "\x7f\ufffe\uffff"})
        assert raw == [], (name, raw)
        assert "EST\\x1b" in text.replace("\\\\", "\\")
