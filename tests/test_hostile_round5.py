"""Hostile review, round 5: numbers at the edge, deep nesting, tampered manifests, forged lines, empty values.

Each test failed before its fix. It asserts the exit status (docs/cli.md, "Exit status") and that the message
names what it must.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.test_hostile import CONVICTIONS, RELEASES

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_INPUTS = (SAMPLE / "releases.csv", SAMPLE / "convictions.csv")


def job_file(folder: Path, extra: str = "", *, title: str = 'title = "T"\n') -> Path:
    """r.csv, c.csv and a bulletin job reading them, with ``extra`` TOML appended."""
    write_csv(folder / "r.csv", RELEASES)
    write_csv(folder / "c.csv", CONVICTIONS)
    job = folder / "job.toml"
    job.write_text(
        title + '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n'
        "[disclosure]\nmin_cohort = 0\nmin_count = 0\n" + extra
    )
    return job


# ------------------------------------------------------------------- A. a tail too small for the normal quantile
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (
            ("power", "--baseline-rate", "50%", "--alpha", "1e-17", "--current-size", "100", "--baseline-size", "100"),
            "--alpha",
        ),
        (("power", "--baseline-rate", "50%", "--alpha", "1e-300", "--reduction", "10"), "--alpha"),
        (
            ("compare", "baseline", "--baseline-counts", "5/10", "--current-counts", "3/10", "--alpha", "1e-300"),
            "--alpha",
        ),
        (
            (
                "compare",
                "baseline",
                "--baseline-counts",
                "5/10",
                "--current-counts",
                "3/10",
                "--confidence",
                "0.9999999999999999",
            ),
            "--confidence",
        ),
        (("compare", "adjusted", *SAMPLE_INPUTS, "--baseline", "2022Q1", "--alpha", "1e-17"), "--alpha"),
        (("measure", *SAMPLE_INPUTS, "--confidence", "0.9999999999999999"), "--confidence"),
        (("nowcast", *SAMPLE_INPUTS, "--confidence", "0.9999999999999999"), "--confidence"),
    ],
)
def test_an_alpha_or_confidence_leaving_too_small_a_tail_is_a_usage_error(cli, args, option):
    """Below ~1.1e-16 the normal quantile does not exist: StatisticsError, exit 70. Now exit 2 naming the option."""
    status, _out, err = cli(*args)
    assert status == 2, err
    assert option in err and ("1e-12" in err or "0.999999999999" in err)


def test_the_smallest_tail_allowed_works(cli):
    status, out, err = cli(
        "compare", "baseline", "--baseline-counts", "5/10", "--current-counts", "3/10",
        "--alpha", "1e-12", "--sided", "two", "--confidence", "0.999999999999", "--csv",
    )  # fmt: skip
    assert status == 0, err
    assert "no significant change" in out


def test_a_bulletin_confidence_leaving_too_small_a_tail_is_a_usage_error(cli, tmp_path):
    job = job_file(tmp_path, "[measure]\nconfidence = 0.9999999999999999\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "confidence" in err and "0.999999999999" in err


# ------------------------------------------------------------------------------------------ B. deep nesting
DEEP = '{"offender_id":"A","release_date":"2022-01-10","x":' + "[" * 100_000 + "\n"


@pytest.mark.parametrize("how", ["file", "gz", "stdin"])
def test_an_ndjson_record_nested_100000_deep_is_invalid_data(cli, tmp_path, monkeypatch, how):
    """json.loads raised RecursionError after polars' DepthLimitExceeded: exit 70. Now 65 naming the file."""
    import gzip
    import io
    import sys

    write_csv(tmp_path / "c.csv", CONVICTIONS)
    path = tmp_path / "deep.ndjson"
    path.write_text(DEEP)
    args: tuple = (path,)
    if how == "gz":
        gz = tmp_path / "deep.ndjson.gz"
        gz.write_bytes(gzip.compress(DEEP.encode()))
        args = (gz,)
    elif how == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DEEP.encode())))
        args = ("-", "--input-format", "ndjson")
    status, _out, err = cli("measure", *args, tmp_path / "c.csv", "--extract-date", "2030-01-01")
    assert status == 65, err
    assert "nested too deeply" in err and ("deep.ndjson" in err or "<stdin>" in err)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A small bulletin of the sample data (establishments withheld), to be tampered with."""
    from reoffend.cli import main

    folder = tmp_path_factory.mktemp("published")
    job = folder / "job.toml"
    job.write_text(
        f'title = "T"\n[inputs]\nreleases = "{SAMPLE_INPUTS[0]}"\nconvictions = "{SAMPLE_INPUTS[1]}"\n'
        '[measure]\nestablishment = "establishment"\n'
    )
    with pytest.raises(SystemExit) as stop:
        main(["bulletin", "--config", str(job), "-o", str(folder / "out"), "-q"])
    assert stop.value.code == 0
    return folder / "out"


def tampered_copy(published: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(published, copy)
    return copy


def test_a_manifest_nested_100000_deep_is_refused(cli, published, tmp_path):
    folder = tampered_copy(published, tmp_path)
    (folder / "manifest.json").write_text("[" * 100_000)
    status, _out, err = cli("disclosure-check", folder, "-q")
    assert status in (65, 66), err
    assert "manifest.json" in err and "nested too deeply" in err


# --------------------------------------------------------------------------------------- C. tampered manifests
def tamper_manifest(folder: Path, change) -> None:
    import json

    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _set(path: tuple[str, ...], value):
    def change(manifest):
        target = manifest
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_set(("facts",), "x"), "facts is str"),
        (_set(("facts", "disclosure", "layout"), None), "facts.disclosure.layout is NoneType"),
        (_set(("facts", "disclosure", "protection"), float("nan")), "protection"),
        (_set(("facts", "disclosure", "protection"), 1e308), "protection"),
        (_set(("facts", "disclosure", "min_count"), "x"), "min_count"),
    ],
)
def test_a_tampered_manifest_is_refused_as_invalid_data(cli, published, tmp_path, change, said):
    """``"facts": "x"`` and ``layout = null`` were AttributeErrors (exit 70); now 65 naming what is wrong."""
    folder = tampered_copy(published, tmp_path)
    tamper_manifest(folder, change)
    status, _out, err = cli("disclosure-check", folder, "-q")
    assert status == 65, err
    assert said in err and "manifest.json" in err


@pytest.mark.parametrize("value", ["NaN", "garbage", "inf"])
def test_a_cohort_size_that_is_no_number_in_a_published_table_is_refused(cli, published, tmp_path, value):
    """A cohort_size of NaN passed the audit (read as a row that is no cell); garbage was a ValueError, exit 70."""
    import csv

    folder = tampered_copy(published, tmp_path)
    table = folder / "tables" / "establishments.csv"
    rows = list(csv.reader(table.open()))
    rows[1][rows[0].index("cohort_size")] = value
    with table.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    status, _out, err = cli("disclosure-check", folder, "-q")
    assert status == 65, err
    assert "tables/establishments.csv" in err and "cohort_size" in err and value in err


def test_an_untampered_copy_passes(cli, published, tmp_path):
    status, _out, err = cli("disclosure-check", tampered_copy(published, tmp_path), "-q")
    assert status == 0, err


# ----------------------------------------------------------------------------------------- D. forged lines
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


# ------------------------------------------------------------------------------- E, F. labels in the documents
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


# ---------------------------------------------------------------------------------- G. empty config values
@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[publication]\nmethodology_url = ""\n', "[publication] methodology_url"),
        ('[publication]\ncontact = " "\n', "[publication] contact"),
        ("[measure]\nwhere = {}\n", "[measure] where"),
    ],
)
def test_an_empty_config_value_is_a_usage_error_naming_the_key(cli, tmp_path, extra, key):
    """docs/cli.md: an empty value in a config is exit 2; these were accepted (exit 0)."""
    job = job_file(tmp_path, extra)
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert key in err and "empty" in err


def test_an_empty_title_is_a_usage_error(cli, tmp_path):
    job = job_file(tmp_path, title='title = ""\n')
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 2, err
    assert "title" in err and "empty" in err


def test_an_output_naming_a_block_device_is_refused_before_any_work(cli, tmp_path):
    """Written through as a device is, a disk or partition named by -o would be overwritten: usage error (2),
    and nothing written to it. (The node made here is a loop device's number; nothing opens it.)"""
    import os
    import stat

    node = tmp_path / "disk"
    try:
        os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 250))
    except (OSError, PermissionError):
        pytest.skip("cannot make a block device node here (needs root and CAP_MKNOD)")
    status, _out, err = cli("synth", "--releases", "10", "--out", tmp_path / "data", "-q")
    assert status == 0, err
    data = tmp_path / "data"
    status, _out, err = cli("measure", data / "releases.parquet", data / "convictions.parquet", "-o", node, "-q")
    assert status == 2 and "block device" in err
