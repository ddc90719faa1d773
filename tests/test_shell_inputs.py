"""Inputs from anywhere (issue 18): FIFOs, compressed files and streams, '-' for lists and configs; and the
exit statuses of inputs that cannot be opened (issue 11): a missing file or a folder is 66 whatever its name,
Parquet from standard input is 2."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from reoffend.io import sniff_format

from .conftest import write_csv
from .test_cli import CONVICTIONS, RELEASES  # the same three people (one BREACH row)

BIN = Path(sys.executable).parent / "reoffend"
# by cohort, nothing excluded: 2022Q1 A (THEFT and BREACH in the window: reoffender, 2 offences) and B (its
# offence 2023-12-01 is after its window, which ends 2023-02-01): 1 of 2; 2022Q2 C (offence 2022-06-01,
# convicted 2023-09-01, before 2022-05-01 + 18 months = 2023-11-01): 1 of 1
EXPECTED = ["cohort,cohort_size,reoffenders,reoffences", "2022Q1,2,1,2", "2022Q2,1,1,1"]


def _head(out: str) -> list[str]:
    rows = pl.read_csv(out.encode())
    return rows.select("cohort", "cohort_size", "reoffenders", "reoffences").write_csv().splitlines()


@pytest.fixture
def files(tmp_path):
    return write_csv(tmp_path / "releases.csv", RELEASES), write_csv(tmp_path / "convictions.csv", CONVICTIONS)


class FakeStdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def _fifo_with(tmp_path: Path, data: bytes) -> tuple[str, threading.Thread]:
    """A named pipe that a writer thread fills once the reader opens it (as ``<(zcat r.csv.gz)`` does)."""
    path = tmp_path / "releases.fifo"
    os.mkfifo(path)

    def write():
        with open(path, "wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return str(path), writer


@pytest.mark.parametrize("input_format", [None, "csv"])
def test_a_fifo_is_read_as_a_stream_with_the_format_given_or_sniffed(cli, files, tmp_path, input_format):
    fifo, writer = _fifo_with(tmp_path, RELEASES.encode())
    extra = ["--input-format", input_format] if input_format else []
    status, out, err = cli("measure", fifo, files[1], *extra)
    writer.join(timeout=5)
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_a_fifo_of_gzip_bytes_is_decompressed(cli, files, tmp_path):
    fifo, writer = _fifo_with(tmp_path, gzip.compress(RELEASES.encode()))
    status, out, err = cli("measure", fifo, files[1])
    writer.join(timeout=5)
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_process_substitution_in_bash(files, tmp_path):
    if not BIN.exists() or not shutil.which("bash") or not shutil.which("gzip"):
        pytest.skip("needs the installed entry point, bash and gzip")
    with gzip.open(tmp_path / "r.csv.gz", "wt") as handle:
        handle.write(RELEASES)
    command = f"{BIN} measure <(gzip -dc {tmp_path / 'r.csv.gz'}) {files[1]} --input-format csv"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert _head(result.stdout) == EXPECTED


def test_gzip_files_are_read_directly_and_the_format_is_under_the_gz(cli, files, tmp_path):
    releases = tmp_path / "r.csv.gz"
    releases.write_bytes(gzip.compress(RELEASES.encode()))
    status, out, err = cli("measure", releases, files[1])
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_a_gzip_file_is_the_same_with_streaming(cli, files, tmp_path):
    releases = tmp_path / "r.csv.gz"
    releases.write_bytes(gzip.compress(RELEASES.encode()))
    status, out, err = cli("measure", releases, files[1], "--streaming")
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_gzip_ndjson_file(cli, files, tmp_path):
    releases = tmp_path / "r.ndjson.gz"
    releases.write_bytes(gzip.compress(pl.read_csv(RELEASES.encode(), infer_schema=False).write_ndjson().encode()))
    status, out, err = cli("measure", releases, files[1])
    assert status == 0, err
    assert _head(out) == EXPECTED


@pytest.mark.skipif(not shutil.which("zstd"), reason="needs the zstd program to make a .zst file")
def test_zstd_files_and_zstd_on_standard_input(cli, files, tmp_path, monkeypatch):
    compressed = subprocess.run(["zstd", "-q", "-c"], input=CONVICTIONS.encode(), capture_output=True).stdout
    assert compressed[:4] == b"\x28\xb5\x2f\xfd"
    (tmp_path / "c.csv.zst").write_bytes(compressed)
    status, out, err = cli("measure", files[0], tmp_path / "c.csv.zst")
    assert status == 0, err
    assert _head(out) == EXPECTED
    monkeypatch.setattr(sys, "stdin", FakeStdin(compressed))
    status, out, err = cli("measure", files[0], "-")
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_gzip_on_standard_input_is_sniffed_by_its_magic_bytes(cli, files, monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(gzip.compress(RELEASES.encode())))
    status, out, err = cli("measure", "-", files[1])
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_ndjson_on_standard_input_is_sniffed(cli, files, monkeypatch):
    ndjson = pl.read_csv(RELEASES.encode(), infer_schema=False).write_ndjson().encode()
    monkeypatch.setattr(sys, "stdin", FakeStdin(ndjson))
    status, out, err = cli("measure", "-", files[1])
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_sniffing():
    assert sniff_format(b"PAR1\x00") == "parquet"
    assert sniff_format(b'\n {"offender_id": "A"}') == "ndjson"
    assert sniff_format(b"offender_id,release_date\n") == "csv"
    assert sniff_format(gzip.compress(b'{"a": 1}\n')) == "ndjson"
    assert sniff_format(gzip.compress(b"a,b\n")) == "csv"


def test_a_damaged_gzip_file_is_invalid_data_naming_it(cli, files, tmp_path):
    bad = tmp_path / "r.csv.gz"
    bad.write_bytes(gzip.compress(RELEASES.encode())[:-12])
    status, _, err = cli("measure", bad, files[1])
    assert status == 65 and "r.csv.gz" in err and "Traceback" not in err


def test_both_inputs_from_standard_input_is_exit_2_said_plainly(cli):
    status, _, err = cli("measure", "-", "-")
    assert status == 2
    assert "RELEASES and CONVICTIONS cannot both be '-'" in err


def test_parquet_from_standard_input_is_a_usage_error(cli, files, monkeypatch):
    buffer = io.BytesIO()
    pl.read_csv(RELEASES.encode()).write_parquet(buffer)
    monkeypatch.setattr(sys, "stdin", FakeStdin(buffer.getvalue()))
    status, _, err = cli("measure", "-", files[1], "--input-format", "parquet")
    assert status == 2
    assert "Parquet cannot be read from standard input" in err


def test_parquet_sniffed_on_standard_input_is_the_same_usage_error(cli, files, monkeypatch):
    buffer = io.BytesIO()
    pl.read_csv(RELEASES.encode()).write_parquet(buffer)
    monkeypatch.setattr(sys, "stdin", FakeStdin(buffer.getvalue()))
    status, _, err = cli("measure", "-", files[1])
    assert status == 2 and "Parquet cannot be read" in err


@pytest.mark.parametrize("name", ["releases", "releases.xyz", "releases.txt.gz"])
def test_a_missing_input_is_66_whatever_its_extension(cli, files, tmp_path, name):
    status, _, err = cli("measure", tmp_path / name, files[1])
    assert status == 66
    assert f"{name}: no such file" in err


@pytest.mark.parametrize("name", ["folder", "folder.csv"])
def test_a_folder_as_input_is_66(cli, files, tmp_path, name):
    (tmp_path / name).mkdir()
    status, _, err = cli("measure", tmp_path / name, files[1])
    assert status == 66
    assert "is a folder, not a file" in err


def test_an_existing_file_with_an_unknown_extension_is_still_a_usage_error(cli, files, tmp_path):
    odd = tmp_path / "releases.xyz"
    odd.write_text(RELEASES)
    status, _, err = cli("measure", odd, files[1])
    assert status == 2 and "cannot tell the format" in err


def test_the_exclusion_list_from_standard_input(cli, files, monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"BREACH\n"))
    status, out, err = cli("measure", *files, "--exclude-offences", "-")
    assert status == 0, err
    # A's BREACH no longer counts: 2022Q1 has 1 reoffence, not 2
    assert _head(out) == ["cohort,cohort_size,reoffenders,reoffences", "2022Q1,2,1,1", "2022Q2,1,1,1"]


def test_a_config_from_standard_input(cli, files, monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(b'by = "establishment"\n'))
    status, out, err = cli("measure", *files, "--config", "-")
    assert status == 0, err
    assert out.startswith("establishment,cohort_size")


def test_standard_input_can_be_only_one_input(cli, files, monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"BREACH\n"))
    status, _, err = cli("measure", "-", files[1], "--exclude-offences", "-")
    assert status == 2
    assert "standard input ('-') can be read only once: it is already the offence code list" in err


# ------------------------------------------------------------------ [inputs] in the config; breach warning
def test_the_config_inputs_table_names_the_files_and_the_exclusion_list(cli, tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    write_csv(folder / "releases.csv", RELEASES)
    write_csv(folder / "convictions.csv", CONVICTIONS)
    (folder / "codes.txt").write_text("BREACH\n")
    config = folder / "job.toml"
    # relative to the config's folder, as in the bulletin's config
    config.write_text(
        '[inputs]\nreleases = "releases.csv"\nconvictions = "convictions.csv"\nexclude_offences = "codes.txt"\n'
    )
    status, out, err = cli("measure", "--config", config)
    assert status == 0, err
    # A's BREACH is excluded: 2022Q1 has 1 reoffence, not 2
    assert _head(out) == ["cohort,cohort_size,reoffenders,reoffences", "2022Q1,2,1,1", "2022Q2,1,1,1"]
    assert "breach" not in err


def test_the_command_line_beats_the_config_inputs(cli, files, tmp_path):
    config = tmp_path / "job.toml"
    config.write_text('[inputs]\nexclude_offences = "missing.txt"\n')
    (tmp_path / "none.txt").write_text("# nothing excluded\n")
    status, out, err = cli("measure", *files, "--config", config, "--exclude-offences", tmp_path / "none.txt")
    assert status == 0, err
    assert _head(out) == EXPECTED


def test_an_unknown_key_in_the_config_inputs_is_exit_2_naming_its_line(cli, files, tmp_path):
    config = tmp_path / "job.toml"
    config.write_text('[inputs]\nexclude = "codes.txt"\n')
    status, _, err = cli("measure", *files, "--config", config)
    assert status == 2
    assert "job.toml, line 2: unknown key 'exclude' for 'inputs'" in err


def test_measure_warns_about_breach_like_codes_without_an_exclusion_list(cli, files):
    status, _, err = cli("measure", *files)
    assert status == 0
    # CONVICTIONS has one BREACH row
    assert "warning: 1 conviction row(s) have codes that look like breaches: BREACH (1)" in " ".join(err.split())


def test_no_breach_warning_with_an_exclusion_list_or_quiet_or_no_breach_codes(cli, files, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"BREACH\n"))
    assert "breach" not in cli("measure", *files, "--exclude-offences", "-")[2]
    assert cli("measure", *files, "-q")[2] == ""
    clean = write_csv(tmp_path / "clean.csv", CONVICTIONS.replace("BREACH", "ASSAULT"))
    assert "breach" not in cli("measure", files[0], clean)[2]


def test_breach_like_codes_counts_each_code_in_any_case():
    from reoffend.offences import breach_like_codes

    frame = pl.LazyFrame({"offence_code": ["BREACH", "breach_order", "THEFT", "BREACH", None, "NOBREACH"]})
    assert breach_like_codes(frame) == {"BREACH": 2, "breach_order": 1}
    assert breach_like_codes(pl.LazyFrame({"offender_id": ["A"]})) == {}


def test_an_id_list_from_standard_input_is_the_same_as_from_a_file(cli, sample_dir, tmp_path, monkeypatch):
    ids = "offender_id\nP0000001\nP0000002\nP0000003\nP0000004\nP0000005\n"
    (tmp_path / "ids.txt").write_text(ids)
    base = [
        "compare", "matched", sample_dir / "releases.csv", sample_dir / "convictions.csv",
        "--covariates", "age,sex", "--bootstrap", "0", "--csv", "-q",
    ]  # fmt: skip
    status, from_file, err = cli(*base, "--treated-ids", tmp_path / "ids.txt")
    assert status == 0, err
    monkeypatch.setattr(sys, "stdin", FakeStdin(ids.encode()))
    status, from_stdin, err = cli(*base, "--treated-ids", "-")
    assert status == 0, err
    assert from_stdin == from_file
    assert pl.read_csv(from_file.encode())["treated"].sum() == 2 * 5  # per cohort, then pooled: 5 listed people


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("measure", "--exclude-offences"),
        ("measure", "--config"),
        ("compare matched", "--treated-ids"),
        ("compare baseline", "--schedule"),
        ("bulletin", "--config"),
    ],
)
def test_a_folder_given_to_a_list_config_or_schedule_option_is_66_like_any_input(cli, files, tmp_path, command, option):
    # docs/cli.md: "An input that does not exist, or is a folder, is exit 66"; click's dir_okay=False made it 2
    folder = tmp_path / "folder"
    folder.mkdir()
    if command == "bulletin":
        args = ["bulletin", option, folder, "-o", tmp_path / "out"]
    elif command == "compare baseline":
        args = ["compare", "baseline", "--current-counts", "10/100", "--baseline-counts", "12/100", option, folder]
    else:
        args = [*command.split(), *files, option, folder]
    status, _, err = cli(*args)
    assert status == 66, err
    assert "Is a directory" in err
