"""Hostile-user attacks on what landed for issues 11-18 (notes/hostile.md): each test asserts the exit status,
the message, and that every file that existed before the run is byte-identical afterwards."""

from __future__ import annotations

import shutil

import click
import pytest

from reoffend.cli import cli as reoffend_cli
from reoffend.cli.output import INPUT_OPTIONS, OUTPUT_OPTIONS, TABLE_OUTPUTS
from tests.test_hostile import snapshot, unchanged


@pytest.fixture
def sample(tmp_path, sample_dir):
    for name in ("releases.csv", "convictions.csv", "excluded_offences.txt"):
        shutil.copy(sample_dir / name, tmp_path / name)
    return tmp_path


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


def test_releases_with_a_header_and_no_row_is_said_not_blamed_on_the_ids(cli, sample, monkeypatch):
    """An empty releases file (header only) printed an empty table, exit 0, with only the warning "no offender_id
    in convictions.csv matches one ...; check that the ids are written alike": the wrong cause. Empty inputs
    stay valid (tests/test_validate.py::test_empty_inputs_are_not_an_error); the warning names the real one."""
    monkeypatch.chdir(sample)
    header = (sample / "releases.csv").read_text().splitlines()[0]
    (sample / "none.csv").write_text(header + "\n")
    before = snapshot(sample)
    for command in ("measure", "nowcast"):
        status, out, err = cli(command, "none.csv", "convictions.csv", "--csv")
        err = " ".join(err.split())
        assert status == 0, (command, err)
        assert "warning: none.csv has a header but no release rows: there is nobody to measure" in err
        assert "written alike" not in err and "Traceback" not in err
        assert out.startswith("cohort,")
    assert unchanged(before, sample)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--treated", "EST042"), "--treated"),
        (("--treated", "establishment=EST042", "--pool", "EST001"), "--pool"),
    ],
)
def test_a_malformed_filter_is_named_as_typed(cli, sample, monkeypatch, args, option):
    """`compare matched --treated EST042` said "--where takes NAME=VALUE": an option the user never typed."""
    monkeypatch.chdir(sample)
    status, out, err = cli("compare", "matched", "releases.csv", "convictions.csv", "--covariates", "age,sex", *args)
    assert status == 2
    assert f"{option} takes NAME=VALUE, not 'EST" in err and "--where" not in err
    assert out == ""


def test_a_pipe_named_by_an_output_option_closed_early_is_141_not_a_failed_write(sample):
    """`-o /dev/stdout | head` and `--per-release /dev/stdout | head` were exit 74 "writing /dev/stdout: broken
    pipe": a reader that goes away is the SIGPIPE status 141, silently, as for standard output."""
    from tests.test_hostile import child, temporaries

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


@pytest.mark.parametrize("alpha", ["0.5", "0.6", "0.9999"])
def test_a_significance_level_of_a_half_or_more_is_a_usage_error(cli, alpha):
    """`--alpha 0.6` printed a "-20% interval, one-sided test at 60%: -12.5 to -12.5" and a "significant
    reduction" for p = 0.056: the agreeing interval's level 1 - 2 alpha is zero or negative from alpha 0.5."""
    counts = ("--current-counts", "30/80", "--baseline-counts", "40/80")
    status, out, err = cli("compare", "baseline", *counts, "--alpha", alpha, "--csv")
    assert status == 2 and "--alpha" in err and "1e-12<=x<0.5" in err
    assert out == "" and "Traceback" not in err
    status, _, err = cli("compare", "baseline", *counts, "--alpha", "0.49", "--csv")
    assert status == 0 and "2% interval, one-sided test at 49%" in " ".join(err.split())


def test_a_bulletin_config_alpha_of_a_half_is_refused(tmp_path):
    from reoffend.bulletin.config import COMPARISON_SCHEMAS

    for kind in ("baseline", "matched", "adjusted"):
        with pytest.raises(ValueError, match=r"at least 1e-12 and below 0\.5"):
            COMPARISON_SCHEMAS[kind]["alpha"](0.5)
        assert COMPARISON_SCHEMAS[kind]["alpha"](0.05) == 0.05


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--columns", "cohort,cohort"), "--columns names cohort more than once"),  # was exit 70
        (("--band", "age=inf", "--by", "age"), "--band 'age=inf': 'inf' is not a finite number"),
        (("--band", "age=20,nan", "--by", "age"), "--band 'age=20,nan': 'nan' is not a finite number"),
        (("--band", "age=20", "--band", "age=30", "--by", "age"), "--band names age more than once"),
    ],
)
def test_bad_measure_output_arguments_are_usage_errors(cli, sample, monkeypatch, args, message):
    """`--columns cohort,cohort` was an internal error (polars DuplicateError, exit 70); `--band age=nan` and
    `--band age=inf` were accepted; a column banded twice kept the last edges silently."""
    monkeypatch.chdir(sample)
    before = snapshot(sample)
    status, out, err = cli("measure", "releases.csv", "convictions.csv", "-q", *args, "-o", "m.csv")
    assert status == 2, err
    assert message in err and "internal error" not in err and "Traceback" not in err
    assert out == "" and not (sample / "m.csv").exists()
    assert unchanged(before, sample)


def test_nowcast_columns_named_twice_is_a_usage_error(cli, sample, monkeypatch):
    monkeypatch.chdir(sample)
    status, _, err = cli("nowcast", "releases.csv", "convictions.csv", "-q", "--columns", "cohort,cohort")
    assert status == 2 and "--columns names cohort more than once" in err


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
    from tests.test_hostile import child

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
    from tests.test_hostile import child

    with open(sample / "releases.csv", "rb") as stdin:
        proc = child(["measure", "-", "convictions.csv", "-q", "-o", "out.csv"], cwd=sample, stdin=stdin)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (sample / "out.csv").read_text().startswith("cohort,cohort_size,")


def test_synth_into_a_folder_it_cannot_create_is_73_naming_it(cli, tmp_path, monkeypatch):
    """`synth --out ro/s` under a read-only (immutable) folder was exit 74 "writing the output: operation not
    permitted", after generating, naming no path. A parent that is a file fails the same way without root
    tricks: exit 73 naming the folder, before any work, and the file is untouched."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    status, out, err = cli("synth", "--out", "notes.txt/s", "--releases", "50", "-q")
    assert status == 73, err
    assert "notes.txt/s: cannot create the folder: not a directory" in err
    assert out == "" and unchanged(before, tmp_path) and sorted(snapshot(tmp_path)) == ["notes.txt"]


def test_a_bulletin_baseline_site_no_release_has_is_named_as_the_config_names_it(tmp_path, cli):
    """`[comparisons.baseline] site = "E9"` (a typo) was reported as "--where establishment=E9": an option the
    user never typed. The problem now names the config key; nothing is written."""
    from tests.test_bulletin_cli import write_job

    extra = '[comparisons.baseline]\nsite = "E9"\nbaseline = "2022Q1"\ncurrent = ["2022Q2"]\n'
    job = write_job(tmp_path, extra=extra, extract_date="2024-12-31")
    before = snapshot(tmp_path)
    status, _, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 65, err
    assert "[comparisons.baseline] site establishment=E9: no release has this value (2 distinct values)" in err
    assert "--where" not in err
    assert not (tmp_path / "out").exists() and unchanged(before, tmp_path)
