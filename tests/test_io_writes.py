"""Every write checked and atomic (docs/cli.md, "Exit status"): a full disk is 74 naming the file, a closed pipe
141, a signal or Ctrl-C during a write removes the temporary file and keeps the earlier output; FIFOs, devices
and /dev/stdout are written through, not renamed over; record-level outputs start owner-only. A full disk is a
``/dev/full`` device (a private one made with mknod where we may), signals are sent to a child process.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import write_csv
from tests.helpers import (
    EXTRACT,
    MEASURE,
    PYTHON,
    SLOW_WRITE,
    child,
    folder_with_bad_csv,  # noqa: F401  (the folder fixture here: with bad.csv)
    full_device,
    matched_inputs,
    snapshot,
    temporaries,
    unchanged,
)


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


def test_a_pipe_named_by_an_output_option_closed_early_is_141_not_a_failed_write(sample):
    """`-o /dev/stdout | head` and `--per-release /dev/stdout | head` were exit 74 "writing /dev/stdout: broken
    pipe": a reader that goes away is the SIGPIPE status 141, silently, as for standard output."""
    from tests.helpers import child, temporaries

    (sample / "summary.csv").write_text("old\n")
    before = snapshot(sample)
    args = ["measure", "releases.csv", "convictions.csv", "--by", "", "-q", "--per-release", "/dev/stdout"]
    proc = child([*args, "-o", "summary.csv"], cwd=sample)
    assert proc.stdout is not None
    assert proc.stdout.read(20).startswith(b"offender_id,")
    proc.stdout.close()  # the reader goes away, like `| head -c 20`; 10,000 rows do not fit a pipe's buffer
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err
    assert b"error" not in err and b"Traceback" not in err
    # -o summary.csv was renamed into place before the pipe was written through; the inputs are untouched
    assert (sample / "summary.csv").read_text().startswith("cohort_size,")
    after = {k: v for k, v in before.items() if k != "summary.csv"}
    assert unchanged(after, sample) and temporaries(sample) == []


def run(*args, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """``reoffend ARGS`` in a child process, its standard output a pipe (as in ``reoffend ... | cmd``)."""
    code = "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=cwd, input=stdin, capture_output=True, timeout=120
    )


@pytest.mark.parametrize(
    "command",
    [
        ("measure", "bad.csv", "c.csv"),
        ("compare", "baseline", "bad.csv", "c.csv", "--site", "EST1", "--current", "2022Q2", "--baseline", "2022Q1"),
    ],
)
def test_errors_to_a_pipe_are_written_once(folder, command):
    """--errors /dev/stdout (a pipe here): the problem list once, not its header twice (load_or_report wrote it
    and errors_reported wrote the same error again on its way out)."""
    before = snapshot(folder)
    done = run(*command, *EXTRACT, "--errors", "/dev/stdout", cwd=folder)
    assert done.returncode == 65, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines.count("file,row,column,rule,value,message") == 1, lines
    assert any("bad.csv,1,release_date,unparseable-date,2022-13-01" in line for line in lines)
    assert "unparseable-date" in done.stderr.decode()
    assert snapshot(folder) == before


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


def test_ctrl_c_during_a_write_says_which_outputs_were_written(folder):
    """SIGINT printed "aborted" (click's Abort), not the documented line saying which outputs were written."""
    import signal
    import time

    from tests.helpers import SLOW_WRITE, child, temporaries

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


def test_an_os_error_rebuilt_from_text_reads_plainly():
    """polars writing through a Python file re-raises the OS error from its text: 'writing p.csv: [Errno 28] No
    space left on device' was the one message left with Python's errno prefix."""
    from reoffend.errors import os_reason

    assert os_reason(OSError("[Errno 28] No space left on device")) == "no space left on device"
    assert os_reason(OSError("No space left on device (os error 28)")) == "no space left on device"
    assert os_reason(OSError(28, "No space left on device")) == "no space left on device"


def test_a_full_file_system_under_a_per_release_file_reads_plainly(cli, folder, tmp_path):
    """The same on a real file system that fills up (a 16 KiB tmpfs, where we may mount one)."""

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


# --------------------------------------------------------------------------------------- a signal inside the renames
SIGNAL_IN_RENAMES = """
import os, signal, threading
import reoffend.io as rio
real = os.replace
calls = []
def replace(source, target):
    calls.append(target)
    if len(calls) == 2:  # between the two renames; sent from another thread, as a kill reaches polars' pool
        sender = threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGTERM))
        sender.start()
        sender.join()
    return real(source, target)
class Os:
    def __getattr__(self, name):
        return getattr(os, name)
rio.os = Os()
rio.os.replace = replace
"""


def test_a_sigterm_inside_the_renames_finishes_them_then_says_what_was_written(folder):
    for name in ("o.csv", "p.csv"):
        (folder / name).write_text("the earlier output\n")
    code = SIGNAL_IN_RENAMES + "\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    done = subprocess.run(
        [PYTHON, "-c", "import sys\n" + code, *MEASURE, "-o", "o.csv", "--per-release", "p.csv", "-q"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    # both renames happened (never one without the other), and the one line on stderr says so
    assert (folder / "o.csv").read_text().startswith("cohort,")
    assert (folder / "p.csv").read_text().startswith("offender_id,")
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "stopped by SIGTERM" in lines[0]
    assert "o.csv" in lines[0] and "p.csv" in lines[0] and "complete" in lines[0]
    assert not temporaries(folder)


LATE_SIGNAL = """
import atexit, os, signal, time
def late():  # the command has finished and the interpreter is exiting
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
atexit.register(late)
from reoffend.cli import main
main()
"""


def test_a_sigterm_while_exiting_says_the_outputs_are_complete(folder):
    done = subprocess.run(
        [PYTHON, "-c", "import sys\n" + LATE_SIGNAL, *MEASURE, "-o", "o.csv", "-q"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM while exiting" in done.stderr and "o.csv" in done.stderr, done.stderr
    assert "outputs are complete" in done.stderr
    assert (folder / "o.csv").read_text().startswith("cohort,")


def test_a_signal_before_any_output_says_nothing_was_written(folder):
    from tests.helpers import SLOW_WRITE, child

    ready = folder / "ready"
    process = child([*MEASURE, "-o", "o.csv"], cwd=folder, preamble=SLOW_WRITE.format(ready=str(ready)))
    import time

    while not ready.exists() and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 143
    assert "stopped by SIGTERM; no output was written" in err.decode() and "earlier outputs unchanged" in err.decode()


# ------------------------------------------------------------------------------ the validation report on a full disk
def test_an_errors_file_on_a_full_disk_still_shows_the_validation_report(cli, folder, tmp_path):
    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-01-10\nB,notadate\n")
    device = full_device(tmp_path)
    before = snapshot(folder)
    status, out, err = cli("measure", folder / "bad.csv", folder / "c.csv", "--errors", device)
    assert status == 74
    assert "invalid data: 1 problem\n" in err and "row 2, column release_date" in err  # the report
    assert "unparseable-date: 1" in err
    assert "--errors file was not written" in err and "no space left on device" in err  # and the failure
    assert out == "" and snapshot(folder) == before


# ------------------------------------------------------------------------- an errors file from an earlier failed run
def test_an_errors_file_from_an_earlier_failed_run_is_not_left_as_todays(cli, folder):
    write_csv(folder / "bad.csv", "offender_id,release_date\nA,2022-01-10\nB,notadate\n")
    problems = folder / "problems.csv"
    assert cli("measure", folder / "bad.csv", folder / "c.csv", *EXTRACT, "--errors", problems)[0] == 65
    assert "unparseable-date" in problems.read_text()
    status, _out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--errors", problems)
    assert status == 0, err
    assert problems.read_text().splitlines() == ["file,row,column,rule,value,message"]  # valid: no problems


def test_a_parquet_output_is_the_same_bytes_however_the_frame_is_chunked():
    """Found by review: two runs of `measure --per-release out.parquet` at 1,000,000 releases wrote the same
    table in different bytes, its row groups following the frame's chunks, which depend on the threads. The
    writer fixes the row groups (reoffend.io.PARQUET_ROW_GROUP), so any chunking gives one file."""
    import hashlib
    import io as bytes_io

    import polars as pl

    from reoffend.io import PARQUET_ROW_GROUP, frame_writer

    rows = 2 * PARQUET_ROW_GROUP + 12_345
    frame = pl.DataFrame({"i": pl.int_range(rows, eager=True), "s": pl.int_range(rows, eager=True).cast(pl.String)})
    digests = set()
    for cuts in ((0, 0), (5, 150_000), (123_457, 40_000), (rows - 1, 1)):
        first, second = cuts
        parts = [frame.slice(0, first), frame.slice(first, second), frame.slice(first + second)]
        chunked = pl.concat(parts, rechunk=False)
        buffer = bytes_io.BytesIO()
        frame_writer(chunked, "parquet")(buffer)
        digests.add(hashlib.sha256(buffer.getvalue()).hexdigest())
        assert pl.read_parquet(bytes_io.BytesIO(buffer.getvalue())).equals(frame)
    assert len(digests) == 1
