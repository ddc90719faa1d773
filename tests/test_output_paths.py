"""What an output option may name (docs/cli.md, "Exit status"): checked before any work, so that no run destroys
an input or another output. An output naming an input (even through another path, a link or the file standard
input is redirected from) or another output is a usage error (2); a missing or unwritable folder is 73; an
extension no format writes is 2; '-' is standard output for ``-o`` only. Each test asserts the exit status, the
message, and that every file that existed before the run is byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import pytest

from reoffend.cli import cli as reoffend_cli
from reoffend.cli.output import INPUT_OPTIONS, OUTPUT_OPTIONS, TABLE_OUTPUTS
from tests.helpers import (
    EXTRACT,
    folder_with_bad_csv,  # noqa: F401  (the folder fixture here: with bad.csv)
    snapshot,
    temporaries,
    unchanged,
    write_bulletin_job,
)


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


def _commands(group: click.Group = reoffend_cli, prefix: str = ""):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_file_option_is_checked_as_an_input_or_an_output():
    """A file option (click.Path naming a file) that is neither in INPUT_OPTIONS nor OUTPUT_OPTIONS escapes the
    check that no output overwrites an input: `nowcast --backtest --detail releases.csv` once did."""
    # bulletin --config is read, and its output is a folder that check_target refuses unless it is a bulletin
    known = set(INPUT_OPTIONS) | set(OUTPUT_OPTIONS) | {"config_path"}
    unchecked = [
        f"{name} --{param.name}"
        for name, command in _commands()
        for param in command.params
        if isinstance(param.type, click.Path) and param.type.file_okay and param.name not in known
    ]
    assert not unchecked, unchecked


@pytest.mark.parametrize("target", ["releases.csv", "./convictions.csv", "link.csv"])
def test_nowcast_detail_naming_an_input_is_refused(cli, sample, monkeypatch, target):
    monkeypatch.chdir(sample)
    (sample / "link.csv").symlink_to("releases.csv")
    before = snapshot(sample)
    status, _, err = cli(
        "nowcast", "releases.csv", "convictions.csv", "--exclude-offences", "excluded_offences.txt",
        "--backtest", "--origins", "2", "--detail", target,
    )  # fmt: skip
    assert status == 2, err
    assert f"--detail {target} is the input" in err and "refusing to overwrite it" in err
    assert "Traceback" not in err
    assert unchanged(before, sample) and sorted(before) == sorted(snapshot(sample))


def test_nowcast_detail_and_output_naming_one_file_is_refused(cli, sample, monkeypatch):
    monkeypatch.chdir(sample)
    (sample / "x.csv").write_text("keep me\n")
    before = snapshot(sample)
    status, _, err = cli(
        "nowcast", "releases.csv", "convictions.csv", "--backtest", "--detail", "x.csv", "-o", "./x.csv"
    )  # fmt: skip
    assert status == 2
    assert "-o and --detail both name" in err or "--detail and -o both name" in err
    assert unchanged(before, sample)


def test_nowcast_detail_with_an_extension_no_format_writes_is_a_usage_error(cli, sample, monkeypatch):
    monkeypatch.chdir(sample)
    status, _, err = cli("nowcast", "releases.csv", "convictions.csv", "--backtest", "--detail", "d.xlsx")
    assert status == 2 and "--detail" in err and "'.xlsx'" in err
    assert not (sample / "d.xlsx").exists()


def test_table_outputs_are_outputs():
    assert set(TABLE_OUTPUTS) <= set(OUTPUT_OPTIONS)


@pytest.mark.parametrize(
    ("args", "piped", "named"),
    [
        (("measure", "-", "convictions.csv", "-o", "releases.csv"), "releases.csv", "RELEASES"),
        (("measure", "-", "convictions.csv", "-o", "./link.csv"), "releases.csv", "RELEASES"),
        (
            ("measure", "releases.csv", "convictions.csv", "--exclude-offences", "-", "-o", "excluded_offences.txt"),
            "excluded_offences.txt",
            "--exclude-offences",
        ),
    ],
)
def test_an_output_naming_the_file_standard_input_is_redirected_from_is_refused(sample, args, piped, named):
    """`reoffend measure - c.csv -o r.csv < r.csv` replaced r.csv, the very file it was reading: '-' was never
    compared with the outputs. The file behind standard input is now (by device and inode)."""
    from tests.helpers import child

    (sample / "link.csv").symlink_to("releases.csv")
    before = snapshot(sample)
    with open(sample / piped, "rb") as stdin:
        proc = child([*args, "-q"], cwd=sample, stdin=stdin)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert f"is the file standard input reads ({named} is '-'); refusing to overwrite it" in err.decode()
    assert out == b""
    assert unchanged(before, sample)


def test_standard_input_from_another_file_still_writes_the_output(sample):
    from tests.helpers import child

    with open(sample / "releases.csv", "rb") as stdin:
        proc = child(["measure", "-", "convictions.csv", "-q", "-o", "out.csv"], cwd=sample, stdin=stdin)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (sample / "out.csv").read_text().startswith("cohort,cohort_size,")


@pytest.mark.parametrize(
    "option",
    [("--errors", "-"), ("--per-release", "-"), ("--errors", "-", "-o", "-")],
)
def test_dash_for_an_output_other_than_o_is_a_usage_error_not_a_file_named_dash(cli, folder, monkeypatch, option):
    """`--errors -` (the shell's "standard output") wrote the problems to a file named '-' in the current
    folder, where nobody looks: only -o takes '-'; another output option given it is exit 2 naming it."""
    monkeypatch.chdir(folder)
    before = snapshot(folder)
    status, out, err = cli("measure", "bad.csv", "c.csv", *EXTRACT, *option)
    assert status == 2, err
    assert f"{option[0]} -: only -o writes to standard output" in err and out == ""
    assert not (folder / "-").exists() and snapshot(folder) == before


def test_an_output_that_is_a_link_to_itself_is_refused_not_replaced(cli, folder):
    """-o loop.csv with loop.csv -> loop.csv: the link was silently replaced by a file (exit 0)."""
    import os

    (folder / "loop.csv").symlink_to("loop.csv")
    status, out, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "-o", folder / "loop.csv")
    assert status == 2, err
    assert "a symbolic link that leads back to itself" in err and out == ""
    assert os.readlink(folder / "loop.csv") == "loop.csv"


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


# --------------------------------------------------------------------------------- a folder output that is a symlink
def test_bulletin_into_a_symlink_writes_the_target_and_keeps_the_link(cli, folder, monkeypatch):
    monkeypatch.chdir(folder)
    job = write_bulletin_job(folder)
    assert cli("bulletin", "--config", job, "-o", "2024Q1", "-q")[0] == 0
    (folder / "2024Q1" / "manifest.json").write_text(
        (folder / "2024Q1" / "manifest.json").read_text().replace('"started"', '"earlier_started"')
    )
    (folder / "current").symlink_to("2024Q1")
    status, _out, err = cli("bulletin", "--config", job, "-o", "current", "-q")
    assert status == 0, err
    assert (folder / "current").is_symlink() and os.readlink(folder / "current") == "2024Q1"
    manifest = json.loads((folder / "2024Q1" / "manifest.json").read_text())
    assert "started" in manifest and "earlier_started" not in manifest  # the target holds the new bulletin
    assert not temporaries(folder) and not list(folder.glob(".*.lock"))


def test_a_symlink_to_a_folder_that_is_not_a_bulletin_is_refused(cli, folder, monkeypatch):
    monkeypatch.chdir(folder)
    job = write_bulletin_job(folder)
    (folder / "mine").mkdir()
    (folder / "mine" / "notes.txt").write_text("my notes")
    (folder / "link").symlink_to("mine")
    (folder / "filelink").symlink_to("r.csv")
    before = snapshot(folder)
    status, _out, err = cli("bulletin", "--config", job, "-o", "link", "-q")
    assert status == 2 and "link" in err and "not a bulletin" in err and "refusing to replace it" in err
    status, _out, err = cli("bulletin", "--config", job, "-o", "filelink", "-q")
    assert status == 2 and "is a file" in err
    assert snapshot(folder) == before and (folder / "link").is_symlink() and (folder / "filelink").is_symlink()


def matched_report(cli, sample: Path, report: Path | str):
    return cli(
        "compare", "matched", sample / "releases.csv", sample / "convictions.csv", "--treated",
        "establishment=EST042", "--covariates", "age,sex", "--bootstrap", "200", "--report", report, "-q",
    )  # fmt: skip


def test_a_report_into_a_symlink_writes_the_target_and_keeps_the_link(cli, sample, monkeypatch):
    monkeypatch.chdir(sample)
    status, _out, err = matched_report(cli, sample, "first")
    assert status == 0, err
    (sample / "latest").symlink_to("first")
    status, _out, err = matched_report(cli, sample, "latest")
    assert status == 0, err
    assert (sample / "latest").is_symlink() and (sample / "first" / "report.html").is_file()


# ---------------------------------------------------------------------------------------------- what a folder is not
def test_the_report_refusal_says_what_the_folder_is_not(cli, sample):
    other = sample / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    before = snapshot(sample)
    status, _out, err = matched_report(cli, sample, other)
    assert status == 2 and "was not written by reoffend's report" in err and "not a bulletin" not in err
    assert snapshot(sample) == before


def test_a_report_never_replaces_a_bulletin_nor_a_bulletin_a_report(cli, folder, sample):
    job = write_bulletin_job(folder)
    bulletin = sample / "bulletin"
    assert cli("bulletin", "--config", job, "-o", bulletin, "-q")[0] == 0
    report = sample / "report"
    assert matched_report(cli, sample, report)[0] == 0
    before = snapshot(sample)
    status, _out, err = matched_report(cli, sample, bulletin)
    assert status == 2 and "is a bulletin's" in err, err
    status, _out, err = cli("bulletin", "--config", job, "-o", report, "-q")
    assert status == 2 and "is an evaluation report's" in err, err
    assert snapshot(sample) == before


# -------------------------------------------------------------------------------- an output inside the report folder
def test_an_output_inside_the_report_folder_is_refused_before_any_work(cli, sample):
    report = sample / "report"
    assert matched_report(cli, sample, report)[0] == 0
    before = snapshot(sample)
    status, _out, err = cli(
        "compare", "matched", sample / "releases.csv", sample / "convictions.csv", "--treated",
        "establishment=EST042", "--covariates", "age,sex", "--bootstrap", "200", "--report", report,
        "--matches", report / "matches.csv", "-q",
    )  # fmt: skip
    assert status == 2 and "--matches" in err and "inside the --report folder" in err, err
    assert snapshot(sample) == before
