"""``reoffend disclosure-check`` reads a published bulletin's manifest and tables as untrusted data: a tampered,
deeply nested, huge or never-ending manifest is refused with a sentence (65 or 66), never an internal error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_INPUTS


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


def test_a_marker_file_that_is_a_fifo_or_huge_is_refused_not_read(tmp_path):
    # disclosure-check's manifest.json and synth's meta.json were read whole: a FIFO hung, a 3 GB file or
    # /dev/zero filled the memory (exit 70)
    reoffend = Path(sys.executable).parent / "reoffend"
    fifo_folder = tmp_path / "fifo"
    fifo_folder.mkdir()
    os.mkfifo(fifo_folder / "manifest.json")
    big_folder = tmp_path / "big"
    big_folder.mkdir()
    with open(big_folder / "manifest.json", "wb") as handle:
        handle.truncate(3 << 30)  # sparse: no disk used
    for folder in (fifo_folder, big_folder):
        done = subprocess.run([reoffend, "disclosure-check", folder], capture_output=True, text=True, timeout=60)
        assert done.returncode == 66 and "cannot be read as a bulletin manifest" in done.stderr
    synth_folder = tmp_path / "synth"
    synth_folder.mkdir()
    os.mkfifo(synth_folder / "meta.json")
    done = subprocess.run(
        [reoffend, "synth", "--releases", "100", "--out", synth_folder], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "not written by reoffend synth" in done.stderr
