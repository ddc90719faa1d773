"""``reoffend sample DIR`` and ``reoffend docs output.schema.json``: what an installed user needs to follow the
README without a checkout (issue 28)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
NAMES = ["convictions.csv", "excluded_offences.txt", "job.toml", "meta.json", "programme_ids.txt", "releases.csv"]


def test_sample_writes_the_readmes_sample_byte_for_byte_and_a_rerun_changes_nothing(cli, tmp_path):
    target = tmp_path / "demo"
    status, out, err = cli("sample", target)
    assert status == 0 and out == "" and "wrote the sample" in err
    assert sorted(p.name for p in target.iterdir()) == NAMES
    for name in NAMES:
        assert (target / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    assert cli("sample", target)[0] == 0  # identical files: nothing to do


def test_the_readmes_example_gives_the_same_numbers_from_the_written_sample(cli, tmp_path):
    target = tmp_path / "demo"
    cli("sample", target)

    def measure(folder: Path) -> str:
        status, out, _ = cli(
            "measure", folder / "releases.csv", folder / "convictions.csv",
            "--exclude-offences", folder / "excluded_offences.txt", "--csv",
        )  # fmt: skip
        assert status == 0
        return out

    assert measure(target) == measure(SAMPLE)


def test_sample_never_replaces_a_file_that_is_not_the_samples(cli, tmp_path):
    target = tmp_path / "extract"
    target.mkdir()
    (target / "releases.csv").write_text("offender_id,release_date\nREAL,2024-01-01\n")
    status, _, err = cli("sample", target)
    assert status == 2 and "releases.csv: exists and is not the sample's releases.csv" in err
    assert (target / "releases.csv").read_text().endswith("REAL,2024-01-01\n")
    assert sorted(p.name for p in target.iterdir()) == ["releases.csv"]  # nothing written beside it either
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("precious")
    status, _, err = cli("sample", other)  # a folder of other files, or /etc through a link: never written into
    assert status == 2 and "holds files that are not the sample's (notes.txt)" in err
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    (tmp_path / "link").symlink_to(other)
    assert cli("sample", tmp_path / "link")[0] == 2 and sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    assert cli("sample", tmp_path / "file")[0] == 2
    assert cli("sample", tmp_path / "missing" / "demo")[0] == 73


def test_docs_prints_the_json_schema_the_cli_docs_link(cli):
    status, out, _ = cli("docs", "output.schema.json")
    assert status == 0 and out == (ROOT / "docs" / "output.schema.json").read_text(encoding="utf-8")
    assert "output.schema.json" in cli("docs")[1]


@pytest.mark.slow
def test_the_wheel_ships_the_docs_the_schema_and_the_sample(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("reoffend-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"reoffend/sample_data/{name}" for name in NAMES} <= names
    assert "reoffend/docs/output.schema.json" in names
    assert {f"reoffend/docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} <= names
