"""Hostile inputs and faults (issue 11): nothing lost, nothing silent.

Each test asserts the exit status (docs/cli.md, "Exit status"), that the message names what it must, and that
every file that existed before the run is byte-identical afterwards. A full disk is a ``/dev/full`` device (a
private one made with mknod where we may, so that a regression can never replace the system's device), a
read-only folder is made by permissions, signals are sent to a child process.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import write_csv, write_parquet_dates

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"

RELEASES = """offender_id,release_date,establishment,age,sex
A,2022-01-10,EST1,30,M
B,2022-02-10,EST2,40,F
C,2022-03-10,EST1,25,M
"""
CONVICTIONS = """offender_id,offence_date,conviction_date,offence_code
A,2022-02-01,2022-03-01,THEFT
C,2022-05-01,2022-06-01,THEFT
Z,2023-09-01,2023-12-01,THEFT
"""
EXTRACT = ("--extract-date", "2030-01-01")


@pytest.fixture
def folder(tmp_path):
    write_csv(tmp_path / "r.csv", RELEASES)
    write_csv(tmp_path / "c.csv", CONVICTIONS)
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and stat.S_ISREG(p.stat().st_mode)
    }


def unchanged(before: dict[str, bytes], root: Path) -> bool:
    after = snapshot(root)
    return all(after.get(name) == data for name, data in before.items())


def temporaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*") if ".tmp" in p.name or ".old" in p.name)


def child(args, *, cwd, env=None, stdout=subprocess.PIPE, preamble: str = "", stdin=None):
    """Run ``reoffend ARGS`` in a child process (after ``preamble``, Python run first in the child)."""
    code = preamble + "\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.Popen(
        [PYTHON, "-c", "import sys\n" + code, *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=stdin,
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    """The child as a terminal's foreground job: SIGINT at its default action, so Python raises
    KeyboardInterrupt. A test run started in the background by a shell (``make test &``) inherits SIGINT
    ignored, and a process that starts with it ignored rightly keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def full_device(tmp_path: Path) -> Path:
    """A device that is always full: a private /dev/full (mknod, as root) or the system's when we cannot."""
    private = tmp_path / "full"
    try:
        os.mknod(private, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        return private
    except (PermissionError, OSError):
        system = Path("/dev/full")
        if not system.exists() or not stat.S_ISCHR(system.stat().st_mode):
            pytest.skip("no /dev/full device here and mknod is not allowed")
        return system


# ------------------------------------------------------------------------------ outputs never destroy
@pytest.mark.parametrize("option", ["-o", "--per-release", "--errors"])
@pytest.mark.parametrize("victim", ["r.csv", "c.csv"])
def test_an_output_naming_an_input_is_refused_before_any_work(cli, folder, option, victim, monkeypatch):
    monkeypatch.chdir(folder)
    before = snapshot(folder)
    status, out, err = cli("measure", "r.csv", "c.csv", option, victim)
    assert status == 2, err
    assert option in err and victim in err and "refusing to overwrite" in err
    assert snapshot(folder) == before and out == ""


def test_an_output_naming_an_input_through_another_path_is_refused(cli, folder):
    (folder / "sub").mkdir()
    link = folder / "link.csv"
    link.symlink_to(folder / "r.csv")
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", "-o", folder / "sub" / ".." / "c.csv")
    assert status == 2 and "CONVICTIONS" in err
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", "-o", link)
    assert status == 2 and "RELEASES" in err
    assert snapshot(folder) == before


def test_two_outputs_naming_the_same_file_are_refused(cli, folder):
    before = snapshot(folder)
    out = folder / "out.csv"
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", "-o", out, "--per-release", out)
    assert status == 2 and "-o and --per-release both name" in err
    assert snapshot(folder) == before and not out.exists()


@pytest.mark.parametrize(("option", "name"), [("--matches", "c.csv"), ("--balance-plot", "plot.png")])
def test_matched_outputs_naming_an_input_are_refused(cli, folder, option, name):
    (folder / "plot.png").write_bytes(b"\x89PNG precious")
    before = snapshot(folder)
    victim = folder / name
    args = ["compare", "matched", folder / "r.csv", folder / "c.csv", "--treated", "establishment=EST1"]
    args += ["--covariates", "age", *EXTRACT, option, victim]
    if option == "--balance-plot":
        args += ["--treated-ids", victim]  # a plot named like an input list
        args.remove("--treated")
        args.remove("establishment=EST1")
    status, _out, err = cli(*args)
    assert status == 2 and option in err and "refusing to overwrite" in err
    assert snapshot(folder) == before


def write_bulletin_job(folder: Path) -> Path:
    job = folder / "job.toml"
    job.write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\nextract_date = 2030-01-01\n')
    return job


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


def test_output_to_a_fifo_is_written_through_not_renamed_over(cli, folder):
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", fifo)
    reader.join(10)
    assert status == 0, err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the FIFO
    assert received and received[0].startswith(b"cohort,cohort_size")
    assert not temporaries(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a device node (and only root could rename over it)")
def test_output_to_a_device_is_written_through_not_renamed_over(cli, folder):
    null = folder / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null: a regression harms nothing
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", null)
    assert status == 0, err
    assert stat.S_ISCHR(null.lstat().st_mode)
    assert snapshot(folder) == before and not temporaries(folder)


def test_dash_output_is_standard_output(cli, folder, monkeypatch):
    monkeypatch.chdir(folder)
    status, out, err = cli("measure", "r.csv", "c.csv", *EXTRACT, "-o", "-")
    assert status == 0, err
    assert out.startswith("cohort,cohort_size") and not (folder / "-").exists()


@pytest.mark.parametrize("option", ["-o", "--per-release", "--errors"])
def test_an_extension_the_command_cannot_write_is_a_usage_error(cli, folder, option):
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, option, folder / "x.xlsx")
    assert status == 2 and "'.xlsx'" in err and option in err
    assert snapshot(folder) == before and not (folder / "x.xlsx").exists()


SLOW_WRITE = """
import pathlib, time
import reoffend.cli.output as output
real = output.frame_writer
def slow(frame, fmt):
    write = real(frame, fmt)
    def stalled(handle):
        handle.write(b"half a file")
        handle.flush()
        pathlib.Path({ready!r}).write_text("writing")
        time.sleep(60)
        write(handle)
    return stalled
output.frame_writer = slow
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_a_write_removes_the_temporary_file_and_keeps_the_earlier_output(folder, signum):
    target = folder / "out.csv"
    target.write_text("the earlier output\n")
    before = snapshot(folder)
    ready = folder / "ready"
    process = child(
        ["measure", "r.csv", "c.csv", *EXTRACT, "-o", target],
        cwd=folder,
        preamble=SLOW_WRITE.format(ready=str(ready)),
    )
    deadline = time.monotonic() + 60
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), process.communicate()[1]
    assert temporaries(folder)  # the temporary file exists while writing
    process.send_signal(signum)
    _out, err = process.communicate(timeout=60)
    expected = 130 if signum == signal.SIGINT else 128 + signum
    assert process.returncode == expected, err
    ready.unlink()
    assert unchanged(before, folder) and not temporaries(folder)


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


# ------------------------------------------------------------------------------------ every write checked
def test_a_full_disk_is_exit_74_naming_the_file(cli, folder, tmp_path):
    full = full_device(tmp_path)
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", full)
    assert status == 74 and f"writing {full}: no space left on device" in err
    assert unchanged(before, folder)


def test_a_write_error_in_a_staged_file_is_74_and_leaves_nothing(cli, folder, monkeypatch):
    target = folder / "out.csv"
    target.write_text("earlier\n")
    before = snapshot(folder)

    def failing(frame, fmt):
        def write(handle):
            handle.write(b"half")
            raise OSError(28, "No space left on device")

        return write

    monkeypatch.setattr("reoffend.cli.output.frame_writer", failing)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", target)
    assert status == 74 and "writing" in err and "no space left on device" in err
    assert snapshot(folder) == before and not temporaries(folder)


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_standard_output_on_a_full_disk_is_never_success(folder, tmp_path, unbuffered, fmt):
    full = full_device(tmp_path)
    env = {"PYTHONUNBUFFERED": "1"} if unbuffered else {"PYTHONUNBUFFERED": ""}
    with open(full, "wb") as sink:
        process = child(["measure", "r.csv", "c.csv", *EXTRACT, "--format", fmt], cwd=folder, env=env, stdout=sink)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 74, err
    assert b"no space left on device" in err and b"Traceback" not in err


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_closed_pipe_is_141_with_and_without_pythonunbuffered(folder, unbuffered):
    env = {"PYTHONUNBUFFERED": "1"} if unbuffered else {"PYTHONUNBUFFERED": ""}
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read
    process = child(["measure", "r.csv", "c.csv", *EXTRACT, "--by", ""], cwd=folder, env=env, stdout=write_end)
    os.close(write_end)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 141, err
    assert b"Traceback" not in err


@pytest.mark.parametrize("option", ["-o", "--per-release", "--errors"])
def test_an_output_in_a_missing_folder_is_73_before_any_work(cli, folder, option):
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", option, folder / "no" / "x.csv")
    assert status == 73 and "does not exist" in err and "x.csv" in err
    assert snapshot(folder) == before and not (folder / "no").exists()


@pytest.mark.parametrize(("option", "name"), [("--matches", "m.csv"), ("--balance-plot", "b.png")])
def test_matched_outputs_in_a_missing_folder_are_73_before_matching(cli, folder, option, name):
    args = ["compare", "matched", folder / "r.csv", folder / "c.csv", "--treated", "establishment=EST1"]
    status, out, err = cli(*args, "--covariates", "age", option, folder / "no" / name)
    assert status == 73 and name in err and "does not exist" in err
    assert out == "" and "diagnostics" not in err  # refused before the inputs were read or matched


def test_a_bulletin_in_a_missing_folder_is_73(cli, folder):
    job = write_bulletin_job(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "no" / "out")
    assert status == 73 and "does not exist" in err


def test_an_unwritable_folder_is_73(cli, folder, monkeypatch):
    """As root a read-only folder is writable, so the permission answer is simulated here; the real
    permission is exercised by test_a_read_only_folder_is_73 when not root."""
    real_access = os.access
    monkeypatch.setattr(
        "reoffend.io.os.access", lambda path, mode: False if Path(path) == folder / "ro" else real_access(path, mode)
    )
    (folder / "ro").mkdir()
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", "--per-release", folder / "ro" / "x.csv")
    assert status == 73 and "permission denied" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_a_read_only_folder_is_73(cli, folder):
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", "-o", locked / "x.csv")
        assert status == 73 and "permission denied" in err
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["measure", "r.csv", "c.csv", *EXTRACT, "--by", "cohort,cohort"], "--by names cohort more than once"),
        (["measure", "r.csv", "c.csv", "--follow-up", "100000"], "--follow-up"),
        (["measure", "r.csv", "c.csv", "--waiting-period", "5000"], "--waiting-period"),
        (
            ["power", "--baseline-rate", "0.3", "--baseline-size", "500", "--reduction", "1e-12"],
            "--reduction 1e-12: must be from 0.01 to 100",
        ),
        (
            ["power", "--baseline-rate", "0.3", "--baseline-size", "500", "--current-size", "1e21"],
            "--current-size 1e21: must be from 1 to 1e+09",
        ),
        (
            [
                "compare",
                "matched",
                "r.csv",
                "c.csv",
                "--treated",
                "establishment=EST1",
                "--covariates",
                "age",
                "--bootstrap",
                "1",
            ],
            "at least 200 replicates",
        ),
    ],
)
def test_usage_errors_are_2_never_70(cli, folder, monkeypatch, args, message):
    monkeypatch.chdir(folder)
    write_csv(
        folder / "rc.csv", RELEASES.replace("sex\n", "sex,const\n").replace(",M\n", ",M,1\n").replace(",F\n", ",F,2\n")
    )
    before = snapshot(folder)
    status, _out, err = cli(*args)
    assert status == 2, err
    assert message in err and "internal error" not in err
    assert snapshot(folder) == before


@pytest.mark.parametrize("name", ["const", "intercept"])
@pytest.mark.parametrize("command", ["matched", "adjusted"])
def test_a_covariate_named_like_the_models_intercept_is_an_ordinary_column(cli, folder, name, command):
    """Once a crash (exit 70: the design's constant column clashed with it); now just a covariate."""
    rows = RELEASES.replace("sex\n", f"sex,{name}\n").replace(",M\n", ",M,1\n").replace(",F\n", ",F,2\n")
    rows += "D,2022-04-10,EST2,33,M,2\nE,2022-05-10,EST2,35,F,1\nF,2022-06-10,EST1,50,F,2\n"
    write_csv(folder / "rc.csv", rows)
    args = ["compare", command, folder / "rc.csv", folder / "c.csv", "--covariates", f"{name},age", *EXTRACT]
    if command == "matched":
        args += ["--treated", "establishment=EST1", "--bootstrap", "0", "--exact", "", "--caliper", "10"]
    else:
        args += ["--period", "year", "--baseline", "2022", "--current-filter", "establishment=EST1"]
    status, _out, err = cli(*args)
    assert status != 70 and "internal error" not in err, err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("follow_up = 12.9\n", "line 1: wrong value for 'follow_up': expected a whole number, not 12.9"),
        ("[measure]\nfollow-up = 12\nfollow_up = 13\n", "line 3: 'follow_up' is given twice"),
        ('by = "cohort"\n\n[mesure]\nby = ""\n', "line 3: unknown section [mesure]"),
        ("[compare.baseline]\nsitee = 'EST1'\n", "line 2: unknown key 'sitee' for 'compare.baseline'"),
        ("[measure]\ndedupe = 'yes'\n", "line 2: wrong value for 'dedupe': expected true or false"),
    ],
)
def test_measure_config_is_as_strict_as_the_bulletins(cli, folder, text, message):
    config = folder / "job.toml"
    config.write_text(text)
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", "--config", config)
    assert status == 2 and message in err, err
    assert snapshot(folder) == before


def test_config_paths_are_relative_to_the_config_folder(cli, folder, monkeypatch):
    job_folder = folder / "jobs"
    job_folder.mkdir()
    (job_folder / "data").mkdir()
    write_csv(job_folder / "data" / "r.csv", RELEASES)
    write_csv(job_folder / "data" / "c.csv", CONVICTIONS)
    (job_folder / "job.toml").write_text(
        'releases = "data/r.csv"\nconvictions = "data/c.csv"\nextract-date = 2030-01-01\n'
        '[measure]\nper-release = "audit.csv"\nby = ""\n'
    )
    monkeypatch.chdir(folder)  # elsewhere: the config's paths still resolve against its own folder
    status, out, err = cli("measure", "--config", "jobs/job.toml", "--csv")
    assert status == 0, err
    assert out.splitlines()[1].startswith("3,2,")  # A and C of three released reoffended
    assert (job_folder / "audit.csv").is_file() and not (folder / "audit.csv").exists()


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


# ------------------------------------------------------------------------------------ errors name the row
@pytest.mark.parametrize(
    ("tail", "rule", "message"),
    [
        ('D,"2022-04-01,EST1,20,M\nE,2022-05-01,EST2,30,F\n', "bad quoting", "line 5: a quote opened here is never"),
        ("D,2022-04-01,EST1,20,M,extra\n", "too many fields", "line 5: 6 fields where the header has 5"),
    ],
)
def test_a_malformed_csv_row_is_65_naming_file_and_row(cli, folder, tail, rule, message):
    write_csv(folder / "bad.csv", RELEASES + tail)
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "bad.csv", folder / "c.csv", *EXTRACT)
    assert status == 65 and "bad.csv, row 4" in err and message in err and f"{rule}: 1" in err
    assert snapshot(folder) == before


def test_bytes_that_are_not_utf8_are_65_naming_the_row_with_a_hint(cli, folder):
    (folder / "latin.csv").write_bytes(RELEASES.encode() + b"D,2022-04-01,EST\xe9,20,M\n")
    status, _out, err = cli("measure", folder / "latin.csv", folder / "c.csv", *EXTRACT)
    assert status == 65 and "latin.csv, row 4" in err and "not UTF-8" in err and "iconv" in err


def test_a_bad_ndjson_line_is_named_by_its_number(cli, folder):
    (folder / "r.ndjson").write_text(
        '{"offender_id": "A", "release_date": "2022-01-10"}\n\n{"offender_id": "B",\n'
        '{"offender_id": "C", "release_date": "2022-01-10"}\n'
    )
    status, _out, err = cli("measure", folder / "r.ndjson", folder / "c.csv", *EXTRACT)
    assert status == 65 and "r.ndjson, row 3: line 3, character" in err and "at character 1" not in err


def test_a_duplicate_header_is_a_duplicate_column_problem(cli, folder):
    write_csv(folder / "dup.csv", "offender_id,release_date,release_date\nA,2022-01-10,2099-01-01\n")
    status, _out, err = cli("measure", folder / "dup.csv", folder / "c.csv", *EXTRACT)
    assert status == 65 and "duplicate-column: 1" in err and "'release_date' 2 times" in err


def test_releases_without_any_conviction_need_an_extract_date(cli, folder):
    write_csv(folder / "none.csv", "offender_id,offence_date,conviction_date\n")
    write_csv(folder / "late.csv", RELEASES + "D,2099-01-01,EST1,20,M\n")
    status, _out, err = cli("measure", folder / "late.csv", folder / "none.csv")
    assert status == 65 and "none.csv" in err and "give --extract-date" in err
    status, _out, err = cli("measure", folder / "late.csv", folder / "none.csv", "--extract-date", "2024-01-01")
    assert status == 65 and "date-out-of-range: 1" in err  # with the date, the 2099 release is found


def test_unparseable_dates_are_not_also_conflicting_releases_and_totals_add_up(cli, folder):
    rows = "".join(f"P{i % 1000},not-a-date-{i},EST1,30,M\n" for i in range(2000))
    write_csv(folder / "bad_dates.csv", "offender_id,release_date,establishment,age,sex\n" + rows)
    status, _out, err = cli("measure", folder / "bad_dates.csv", folder / "c.csv", *EXTRACT)
    assert status == 65
    assert "conflicting-release" not in err and "unparseable-date: 2000" in err
    shown = [line for line in err.splitlines() if line.startswith("  bad_dates.csv") or "bad_dates.csv, row" in line]
    more = int(err.split("... and ", 1)[1].split(" more", 1)[0])
    assert "invalid data: 2,000 problems" in err and len(shown) + more == 2000


def test_a_long_bad_value_is_cut_to_about_100_characters(cli, folder):
    write_csv(folder / "long.csv", RELEASES + f"D,{'9' * 5000},EST1,20,M\n")
    status, _out, err = cli("measure", folder / "long.csv", folder / "c.csv", *EXTRACT)
    line = next(line for line in err.splitlines() if "long.csv, row 4" in line)
    assert status == 65 and len(line) < 300 and "…" in line


# --------------------------------------------------------------------------------------- no silent success
def test_a_where_value_no_release_has_is_65_with_the_closest_values(cli, folder):
    before = snapshot(folder)
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--where", "establishment=EST3")
    assert status == 65 and out == ""
    assert "--where establishment=EST3: no release has this value (2 distinct values)" in err
    assert "did you mean EST2 or EST1?" in err  # difflib order: equally close, the later first
    assert snapshot(folder) == before


def test_a_site_typo_is_65_naming_it_and_column_equals_value_is_accepted(cli, tmp_path):
    releases, convictions = SAMPLE / "releases.csv", SAMPLE / "convictions.csv"
    common = ["--period", "year", "--current", "2023", "--baseline", "2022", "--json"]
    status, _out, err = cli("compare", "baseline", releases, convictions, "--site", "EST42", *common)
    assert status == 65 and "--site establishment=EST42" in err and "did you mean EST042" in err
    assert "(110 distinct values)" in err
    status, out, err = cli("compare", "baseline", releases, convictions, "--site", "establishment=EST042", *common)
    assert status == 0, err
    plain = cli("compare", "baseline", releases, convictions, "--site", "EST042", *common)[1]
    assert json.loads(out)["rows"] == json.loads(plain)["rows"] and json.loads(out)["rows"][0]["current_size"] > 0


def test_a_treated_value_no_release_has_is_65(cli, folder):
    args = ["compare", "matched", folder / "r.csv", folder / "c.csv", "--covariates", "age", *EXTRACT]
    status, _out, err = cli(*args, "--treated", "establishment=ESTX1")
    assert status == 65 and "--treated establishment=ESTX1" in err and "did you mean EST1" in err


def test_a_csv_id_list_with_a_header_reads_its_offender_id_column(cli, tmp_path):
    ids = tmp_path / "ids.csv"
    people = ["P0000001", "P0000002", "P0000003", "P0000005", "P0000008"]
    ids.write_text("offender_id,start_date\n" + "".join(f"{p},2023-01-01\n" for p in people))
    args = ["compare", "matched", SAMPLE / "releases.csv", SAMPLE / "convictions.csv", "--treated-ids", ids]
    status, _out, err = cli(*args, "--covariates", "age,sex", "--bootstrap", "0", "--json")
    assert status == 0, err
    assert "ids listed 5" in err  # how many listed ids there were, and how many were found
    (tmp_path / "bad.csv").write_text("person,start_date\nP0000001,2023-01-01\n")
    args[-1] = tmp_path / "bad.csv"
    status, _out, err = cli(*args, "--covariates", "age,sex", "--bootstrap", "0")
    assert status == 2 and "without an offender_id column (columns: person, start_date)" in err


def test_partial_periods_are_flagged_on_stderr_and_in_the_metadata(cli, folder):
    # the releases run from January to March 2022; financial year 2021-22 began in April 2021, so the data
    # covers only 2022-01 to 2022-03 of it, while quarter 2022Q1 is whole
    status, out, err = cli(
        "measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--period", "financial-year", "--json"
    )
    assert status == 0, err
    assert "cohort 2021-22 is a partial period" in err
    metadata = json.loads(out)["metadata"]
    assert metadata["partial_period"] is True
    assert metadata["partial_periods"] == [
        {"cohort": "2021-22", "first_release_month": "2022-01", "last_release_month": "2022-03"}
    ]
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--period", "quarter", "--json")
    assert "partial period" not in err and json.loads(out)["metadata"]["partial_period"] is False  # Q1 is whole


def test_partial_periods_are_flagged_in_the_bulletins_cohort_table(cli, folder):
    job = write_bulletin_job(folder)
    job.write_text(job.read_text() + "[measure]\nperiod = 'year'\n")
    status, _out, err = cli("bulletin", "--config", job, "-o", folder / "out")
    assert status == 0, err
    assert "cohort 2022 is a partial period" in err
    cohorts = (folder / "out" / "tables" / "cohorts.csv").read_text().splitlines()
    assert cohorts[0].endswith(",partial_period") and cohorts[1].startswith("2022,") and cohorts[1].endswith(",true")


def test_ids_written_differently_and_an_unused_exclusion_code_are_warned_about(cli, folder):
    write_csv(folder / "r7.csv", "offender_id,release_date\n007,2022-01-10\n")
    write_csv(folder / "c7.csv", "offender_id,offence_date,conviction_date,offence_code\n7,2022-02-01,2022-03-01,TH\n")
    (folder / "exclude.txt").write_text("BREECH\n")
    args = ["measure", folder / "r7.csv", folder / "c7.csv", *EXTRACT, "--exclude-offences", folder / "exclude.txt"]
    status, _out, err = cli(*args)
    assert status == 0
    assert "no offender_id in" in err and "007 and 7" in err
    assert "no conviction has the offence code(s) BREECH" in err


# ------------------------------------------------------------------------------- degenerate statistics
def test_one_treated_person_is_too_few_to_test_not_significant(cli, tmp_path):
    ids = tmp_path / "one.txt"
    ids.write_text("P0000001\n")
    args = ["compare", "matched", SAMPLE / "releases.csv", SAMPLE / "convictions.csv", "--treated-ids", ids]
    status, out, err = cli(*args, "--covariates", "age,sex", "--bootstrap", "200", "--json")
    assert status == 0, err
    rows = json.loads(out)["rows"]
    assert rows and all(row["too_few_to_test"] for row in rows)
    assert all(row["events_verdict"] == "too few to test" for row in rows)  # helper 12's verdict words
    assert all(row["events_p_reduction"] is None and row["events_significant"] is None for row in rows)
    assert all(row["events_change_low"] is None and row["target_met"] is None for row in rows)
    assert "too few to test" in " ".join(json.loads(out)["headline"])  # in the JSON, not repeated on stderr
    status, _out, err = cli(*args, "--covariates", "age,sex", "--bootstrap", "200", "--fail-unless-significant")
    assert status == 1  # never reported as significant


def test_the_minimum_treated_group_is_an_option(cli, tmp_path):
    args = ["compare", "matched", SAMPLE / "releases.csv", SAMPLE / "convictions.csv", "--treated"]
    args += ["establishment=EST042", "--covariates", "age,sex", "--bootstrap", "200", "--json"]
    rows = json.loads(cli(*args)[1])["rows"]
    pooled = rows[-1]
    assert not pooled["too_few_to_test"] and pooled["events_p_reduction"] is not None  # 171 treated: tested
    rows = json.loads(cli(*args, "--min-treated", "1000")[1])["rows"]
    assert all(row["too_few_to_test"] and row["events_p_reduction"] is None for row in rows)


def test_a_comparison_group_without_events_gives_a_result(cli, folder):
    # EST1's people (A, C) reoffend; the comparators (B, D, E, F) have no conviction at all
    rows = RELEASES + "D,2022-01-12,EST2,31,M\nE,2022-02-12,EST2,26,M\nF,2022-03-12,EST2,41,F\n"
    write_csv(folder / "r2.csv", rows)
    args = ["compare", "matched", folder / "r2.csv", folder / "c.csv", "--treated", "establishment=EST1"]
    status, out, err = cli(*args, "--covariates", "age", "--bootstrap", "200", "--min-treated", "1", *EXTRACT, "--json")
    assert status == 0, err
    pooled = json.loads(out)["rows"][-1]
    assert pooled["events_per_100_comparison"] == 0 and pooled["events_reduction_pct"] is None
    assert "against none in the weighted comparison group" in " ".join(json.loads(out)["headline"])


@pytest.mark.parametrize("command", ["matched", "adjusted"])
def test_text_in_a_numeric_covariate_is_65_naming_row_column_and_value(cli, folder, command):
    write_csv(folder / "abc.csv", RELEASES.replace("C,2022-03-10,EST1,25,M", "C,2022-03-10,EST1,abc,M"))
    args = ["compare", command, folder / "abc.csv", folder / "c.csv", "--covariates", "age,sex", *EXTRACT]
    if command == "matched":
        args += ["--treated", "establishment=EST1"]
    else:
        args += ["--period", "quarter", "--baseline", "2022Q1", "--latest-cohort"]
    status, _out, err = cli(*args)
    assert status == 65 and "abc.csv, row 3, column age" in err and "(value 'abc')" in err
    assert "covariate-not-numeric: 1" in err and "unseen" not in err


def test_a_numeric_covariate_stored_as_text_in_parquet_is_65(cli, folder):
    import polars as pl

    pl.read_csv(folder / "r.csv", infer_schema_length=0).write_parquet(folder / "r.parquet")
    pl.read_csv(folder / "c.csv", infer_schema_length=0).write_parquet(folder / "c.parquet")
    args = ["compare", "matched", folder / "r.parquet", folder / "c.parquet", "--covariates", "age", *EXTRACT]
    status, _out, err = cli(*args, "--treated", "establishment=EST1")
    assert status == 65 and "r.parquet, column age" in err and "numbers stored as text" in err


def test_a_missing_covariate_without_drop_missing_names_its_row(cli, folder):
    write_csv(folder / "gap.csv", RELEASES.replace("B,2022-02-10,EST2,40,F", "B,2022-02-10,EST2,,F"))
    args = ["compare", "matched", folder / "gap.csv", folder / "c.csv", "--covariates", "age,sex", *EXTRACT]
    status, _out, err = cli(*args, "--treated", "establishment=EST1")
    assert status == 65 and "gap.csv, row 2, column age" in err and "--drop-missing" in err


def test_dev_stdout_is_written_through(folder):
    process = child(["measure", "r.csv", "c.csv", *EXTRACT, "-o", "/dev/stdout"], cwd=folder)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.startswith(b"cohort,cohort_size") and not list(Path("/dev").glob(".stdout.*"))


def test_a_new_file_under_dev_shm_is_an_ordinary_atomic_output(cli, folder):
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm here")
    target = shm / f"reoffend-test-{os.getpid()}.csv"
    try:
        status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", target)
        assert status == 0, err
        assert target.read_text().startswith("cohort,cohort_size") and stat.S_ISREG(target.stat().st_mode)
    finally:
        target.unlink(missing_ok=True)


@pytest.mark.parametrize(
    "days, shown",
    [
        (2**31 - 10, "day 2147483638 after 1970-01-01"),
        (-(2**31) + 5, "day -2147483643 after 1970-01-01"),
        (95_026_237, "day 95026237 after 1970-01-01"),
        (-96_465_293, "day -96465293 after 1970-01-01"),
        (95_026_236, "+262142-12-31"),  # the edge of what polars can write is still shown as a date
    ],
)
def test_a_parquet_date_polars_cannot_write_is_reported_not_a_panic(cli, tmp_path, days, shown):
    """A Parquet Date column holds any 32-bit day number; polars panics when it writes one outside
    -262143-01-01 .. +262142-12-31 as text. The date-out-of-range problem reports the day number instead
    (exit 65 with the row and column), where it used to be a Rust panic and exit 70."""
    errors = tmp_path / "errors.csv"
    releases, convictions = write_parquet_dates(tmp_path, [18_000, days])
    status, _out, err = cli("measure", releases, convictions, "--format", "csv", "--errors", errors)
    assert status == 65, err
    assert "row 2, column release_date: release_date is outside 1900-01-01 .. 2020-02-01" in err
    assert f"(value '{shown}')" in err
    assert f"r.parquet,2,release_date,date-out-of-range,{shown}," in errors.read_text()


def test_standard_output_closed_is_an_output_error_and_files_still_written(tmp_path):
    """`reoffend measure ... >&-`: Python starts with no sys.stdout. A table for standard output is exit 74
    (one line, "standard output is closed"), not 70 'NoneType has no attribute isatty'; with -o the run
    does not need standard output and succeeds."""
    (tmp_path / "r.csv").write_text("offender_id,release_date\nA1,2022-01-05\n")
    (tmp_path / "c.csv").write_text("offender_id,offence_date,conviction_date\nA1,2022-02-01,2024-01-01\n")
    command = [PYTHON, "-c", "from reoffend.cli import main\nmain()", "measure", "r.csv", "c.csv"]

    def close_stdout() -> None:
        os.close(1)

    for extra, status in (([], 74), (["--json"], 74), (["-o", "out.csv"], 0)):
        run = subprocess.run(
            [*command, *extra], cwd=tmp_path, preexec_fn=close_stdout, stderr=subprocess.PIPE, text=True
        )
        assert run.returncode == status, run.stderr
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr
        if status:
            assert run.stderr.splitlines()[-1] == "reoffend: error: writing standard output: standard output is closed"
    assert (tmp_path / "out.csv").read_text().startswith("cohort,")


def test_a_placeholder_conviction_date_is_out_of_range_not_the_extract_date(cli, tmp_path):
    """9999-12-31, a common placeholder for an unknown date, was taken as the extract date (the latest
    conviction_date) and the window's 'day after the extract date' overflowed: exit 70. The extract date is
    now the latest conviction_date in 1900-01-01 .. 9999-12-30, so the placeholder is after it and reported
    (65, naming the row), as it was when --extract-date was given. An --extract-date of 9999-12-31 is refused (2)."""
    (tmp_path / "r.csv").write_text("offender_id,release_date\nA1,2022-01-05\nB2,2022-02-01\n")
    (tmp_path / "c.csv").write_text(
        "offender_id,offence_date,conviction_date\nA1,2022-02-01,9999-12-31\nB2,2022-03-01,2022-04-01\n"
    )
    status, _out, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--format", "csv")
    assert status == 65, err
    assert "c.csv, row 1, column conviction_date: conviction_date is outside 1900-01-01 .. 2022-04-01" in err
    status, _out, err = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--format", "csv", "--extract-date", "9999-12-31"
    )
    assert status == 2 and "the extract date 9999-12-31 is too late: the latest is 9999-12-30" in err
    (tmp_path / "c.csv").write_text("offender_id,offence_date,conviction_date\nB2,2022-03-01,2022-04-01\n")
    status, out, err = cli(
        "measure", tmp_path / "r.csv", tmp_path / "c.csv", "--format", "csv", "--extract-date", "9999-12-30"
    )
    assert status == 0, err  # the latest extract date still works: every follow-up is complete
    assert out.splitlines()[1].startswith("2022Q1,2,1,")


def test_a_parquet_conviction_date_beyond_year_9999_is_out_of_range_without_an_extract_date(cli, tmp_path):
    """A Parquet Date in year 10183 is no Python date; as the latest conviction_date it became the extract
    date and failed with exit 70. It is now after the extract date and reported as date-out-of-range (65)."""
    import datetime as dt

    import polars as pl

    pl.DataFrame({"offender_id": ["A"], "release_date": [dt.date(2020, 1, 1)]}).write_parquet(tmp_path / "r.parquet")
    conviction_dates = pl.Series([18_300, 3_000_000], dtype=pl.Int32).cast(pl.Date)
    pl.DataFrame(
        {"offender_id": ["A", "A"], "offence_date": [dt.date(2020, 1, 5)] * 2, "conviction_date": conviction_dates}
    ).write_parquet(tmp_path / "c.parquet")
    status, _out, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", "--format", "csv")
    assert status == 65, err
    assert "row 2, column conviction_date: conviction_date is outside 1900-01-01 .. 2020-02-08" in err
