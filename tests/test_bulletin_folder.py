"""The bulletin's output folder (docs/bulletin.md): written whole or not at all, locked against a second run,
never replacing a folder that holds anything but an earlier bulletin, and every file inside it under a safe
name, whatever the breakdown columns are called.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import RELEASES, breakdown_job, child, nothing_counted_job, snapshot, temporaries, write_bulletin_job


def test_bulletin_refuses_a_data_drop_folder_holding_a_manifest(cli, folder):
    drop = folder / "drop"
    drop.mkdir()
    (drop / "manifest.json").write_text('{"files": ["r.csv"]}')
    (drop / "r.csv").write_text(RELEASES)
    job = write_bulletin_job(folder)
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", drop, "-q")
    assert status == 2 and "not a bulletin" in err and "reoffend_bulletin" in err
    assert snapshot(folder) == before and not temporaries(folder)


def test_bulletin_refuses_a_bulletin_holding_an_unlisted_file_and_replaces_a_clean_one(cli, folder):
    job = write_bulletin_job(folder)
    target = folder / "out"
    assert cli("bulletin", "--config", job, "-o", target, "-q")[0] == 0
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["reoffend_bulletin"] == 1
    (target / "notes.txt").write_text("my notes")
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "-q")
    assert status == 2 and "notes.txt" in err and "does not list" in err
    assert snapshot(folder) == before
    (target / "notes.txt").unlink()
    assert cli("bulletin", "--config", job, "-o", target, "-q")[0] == 0  # a clean bulletin is replaced
    assert not temporaries(folder)


SLOW_BULLETIN = """
import pathlib, time
import reoffend.bulletin.folder as folder
real = folder._set_modes
def stalled(path):
    pathlib.Path({ready!r}).write_text("writing")
    time.sleep(60)
    real(path)
folder._set_modes = stalled
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_writing_a_bulletin_removes_the_temporary_folder(folder, signum):
    job = write_bulletin_job(folder)
    ready = folder / "ready"
    process = child(
        ["bulletin", "--config", job, "-o", folder / "out", "-q"],
        cwd=folder,
        preamble=SLOW_BULLETIN.format(ready=str(ready)),
    )
    deadline = time.monotonic() + 120
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), process.communicate()[1]
    assert temporaries(folder)
    process.send_signal(signum)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    assert not temporaries(folder) and not (folder / "out").exists()
    assert not list(folder.glob(".out.lock"))  # the folder's lock is released and removed


def test_a_second_bulletin_into_the_same_folder_is_busy(cli, folder):
    from reoffend.bulletin.folder import folder_lock

    job = write_bulletin_job(folder)
    target = folder / "out"
    before = snapshot(folder)
    with folder_lock(target):  # another run holds the folder
        status, _out, err = cli("bulletin", "--config", job, "-o", target, "-q")
    assert status == 75 and "try again later" in err
    assert snapshot(folder) == before and not target.exists()
    assert cli("bulletin", "--config", job, "-o", target, "-q")[0] == 0  # free again afterwards


def test_two_bulletins_started_at_once_one_writes_and_the_other_is_busy_or_waits(folder):
    job = write_bulletin_job(folder)
    runs = [child(["bulletin", "--config", job, "-o", folder / "out", "-q"], cwd=folder) for _ in range(2)]
    statuses = sorted(run.wait(timeout=180) for run in runs)
    assert statuses[0] == 0 and statuses[1] in (0, 75)
    assert (folder / "out" / "manifest.json").is_file() and not temporaries(folder)


def test_a_bulletin_in_a_missing_folder_is_73(cli, folder):
    job = write_bulletin_job(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "no" / "out")
    assert status == 73 and "does not exist" in err


def _flock_is_usable(path: Path) -> bool:
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
    return True


def test_lock_helper_releases_and_removes_its_file(tmp_path):
    from reoffend.bulletin.folder import folder_lock
    from reoffend.errors import Busy

    if not _flock_is_usable(tmp_path / "probe"):
        pytest.skip("flock is not supported on this file system")
    with folder_lock(tmp_path / "out"):
        assert (tmp_path / ".out.lock").exists()
        with pytest.raises(Busy), folder_lock(tmp_path / "out"):
            pass
    assert not (tmp_path / ".out.lock").exists()
    with folder_lock(tmp_path / "out"):
        pass


def test_lock_never_removes_or_writes_a_file_it_did_not_create(tmp_path, cli):
    """A file already named like the lock (a user's, or left by a killed run) is locked and left as it was."""
    if not _flock_is_usable(tmp_path / "probe"):
        pytest.skip("flock is not supported on this file system")
    from .test_bulletin_cli import write_job

    job = write_job(tmp_path, extract_date='"2024-12-31"')
    mine = tmp_path / ".out.lock"
    mine.write_text("my notes, not a lock")
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out")
    assert status == 0, err
    assert mine.read_text() == "my notes, not a lock"
    assert (tmp_path / "out" / "index.html").is_file()


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


def test_a_link_the_user_put_in_a_bulletin_folder_is_never_deleted(cli, folder, tmp_path_factory):
    """A link to a folder inside the bulletin (out/archive -> elsewhere) was not listed by the manifest check,
    which skips folders, so a rebuild replaced the folder and the link was gone. It is a file the manifest
    does not list: the rebuild is refused (2) and the link stays."""
    from tests.helpers import write_bulletin_job

    job = write_bulletin_job(folder)
    assert cli("bulletin", "--config", job, "-o", folder / "out", "-q")[0] == 0
    elsewhere = tmp_path_factory.mktemp("archive")
    (elsewhere / "kept.txt").write_text("mine")
    (folder / "out" / "archive").symlink_to(elsewhere, target_is_directory=True)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out", "-q")
    assert status == 2 and "does not list: archive" in err
    assert (folder / "out" / "archive").is_symlink() and (elsewhere / "kept.txt").read_text() == "mine"


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
