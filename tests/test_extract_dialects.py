"""Read the extracts people actually have (issue 27, first part): a `;`-separated, DD/MM/YYYY, cp1252 extract and
a UTF-16 one measure exactly as the same data in the documented form (CSV, comma, UTF-8, ISO dates); each input
has its own format; every refusal says what to type; hostile option values are usage errors (docs/data.md,
"Reading the files")."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.errors import DataError, UsageError
from reoffend.io import check_delimiter, check_encoding, sniff_delimiter, transcoded
from reoffend.validate import CONVICTIONS, RELEASES, Table, check_date_format, date_format_advice

BIN = Path(sys.executable).parent / "reoffend"
RELEASE_DATES = ("release_date",)
CONVICTION_DATES = ("offence_date", "conviction_date")


@pytest.fixture(scope="module")
def documented(sample_dir_module):
    """The first 500 sample releases and their convictions as text, with an establishment renamed "ESTÓ35" so
    that a byte outside ASCII is in the data (cp1252 writes Ó as the one byte 0xD3, UTF-8 as two)."""
    releases = pl.read_csv(sample_dir_module / "releases.csv", infer_schema=False).head(500)
    convictions = pl.read_csv(sample_dir_module / "convictions.csv", infer_schema=False)
    convictions = convictions.filter(pl.col("offender_id").is_in(releases["offender_id"].implode()))
    releases = releases.with_columns(pl.col("establishment").str.replace("EST035", "ESTÓ35"))
    assert (releases["establishment"] == "ESTÓ35").sum() > 0
    return releases, convictions


@pytest.fixture(scope="module")
def sample_dir_module():
    return Path(__file__).resolve().parents[1] / "data" / "sample"


def _day_month_year(frame: pl.DataFrame, columns: tuple[str, ...], form: str = "%d/%m/%Y") -> pl.DataFrame:
    return frame.with_columns(pl.col(c).str.to_date("%Y-%m-%d").dt.strftime(form) for c in columns)


def _write(path: Path, frame: pl.DataFrame, *, separator: str = ",", encoding: str = "utf-8", bom: bytes = b"") -> str:
    path.write_bytes(bom + frame.write_csv(separator=separator).encode(encoding))
    return str(path)


def _measure(cli, releases: str, convictions: str, *options: str) -> str:
    status, out, err = cli("measure", releases, convictions, "--by", "cohort,establishment", "--csv", "-q", *options)
    assert status == 0, err
    return out


@pytest.fixture
def reference(cli, documented, tmp_path):
    releases, convictions = documented
    out = _measure(cli, _write(tmp_path / "r.csv", releases), _write(tmp_path / "c.csv", convictions))
    assert "ESTÓ35" in out
    return out


# ------------------------------------------------------------------------------------- the "done when" checks
def test_a_semicolon_ddmmyyyy_cp1252_extract_measures_equal_to_the_documented_form(
    cli, documented, reference, tmp_path
):
    releases, convictions = documented
    r = _write(tmp_path / "r.csv", _day_month_year(releases, RELEASE_DATES), separator=";", encoding="cp1252")
    c = _write(tmp_path / "c.csv", _day_month_year(convictions, CONVICTION_DATES), separator=";", encoding="cp1252")
    assert b"EST\xd335" in Path(r).read_bytes()  # Ó as cp1252's one byte, not UTF-8
    # the delimiter sniffed from each header, the encoding and the date form given
    assert _measure(cli, r, c, "--encoding", "cp1252", "--date-format", "%d/%m/%Y") == reference
    # and everything given
    assert _measure(cli, r, c, "--encoding", "cp1252", "--date-format", "%d/%m/%Y", "--delimiter", ";") == reference


def test_a_utf16_extract_with_a_byte_order_mark_measures_equal_without_any_option(cli, documented, reference, tmp_path):
    releases, convictions = documented
    r = _write(tmp_path / "r.csv", releases, encoding="utf-16-le", bom=b"\xff\xfe")
    c = _write(tmp_path / "c.csv", convictions, encoding="utf-16-be", bom=b"\xfe\xff")
    assert _measure(cli, r, c) == reference


def test_utf16_without_a_mark_is_read_with_the_encoding_named(cli, documented, reference, tmp_path):
    releases, convictions = documented
    r = _write(tmp_path / "r.csv", releases, encoding="utf-16-le")
    c = _write(tmp_path / "c.csv", convictions, encoding="utf-16-le")
    assert _measure(cli, r, c, "--encoding", "utf-16-le") == reference


def test_tab_and_pipe_separated_extracts_and_tsv_names(cli, documented, reference, tmp_path):
    releases, convictions = documented
    assert _measure(cli, _write(tmp_path / "r.tsv", releases, separator="\t"),
                    _write(tmp_path / "c.tsv", convictions, separator="\t")) == reference  # fmt: skip
    assert _measure(cli, _write(tmp_path / "r.csv", releases, separator="|"),
                    _write(tmp_path / "c.csv", convictions, separator="|")) == reference  # fmt: skip
    # compressed, and a tab typed as the two characters \t
    r = tmp_path / "r.txt.gz"
    r.write_bytes(gzip.compress(releases.write_csv(separator="\t").encode()))
    c = _write(tmp_path / "c2.csv", convictions, separator="\t")
    assert _measure(cli, str(r), c, "--input-format", "csv", "--delimiter", "\\t") == reference


def test_the_help_example_two_formats_through_a_pipe(documented, reference, tmp_path):
    """`reoffend measure <(zcat releases.csv.gz) convictions.parquet --input-format csv`: --input-format is the
    pipe's format; the Parquet file follows its extension (it once printed 6 KB of Parquet bytes, exit 65)."""
    if not BIN.exists() or not shutil.which("bash") or not shutil.which("zcat"):
        pytest.skip("needs the installed entry point, bash and zcat")
    releases, convictions = documented
    (tmp_path / "releases.csv.gz").write_bytes(gzip.compress(releases.write_csv().encode()))
    convictions.write_parquet(tmp_path / "convictions.parquet")
    command = (
        f"{BIN} measure <(zcat {tmp_path / 'releases.csv.gz'}) {tmp_path / 'convictions.parquet'} "
        "--input-format csv --by cohort,establishment --csv -q"
    )
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == reference


def test_the_json_metadata_says_how_each_input_was_read(cli, documented, tmp_path):
    releases, convictions = documented
    r = _write(tmp_path / "r.csv", _day_month_year(releases, RELEASE_DATES), separator=";", encoding="cp1252")
    c = _write(tmp_path / "c.tsv", _day_month_year(convictions, CONVICTION_DATES), separator="\t")
    status, out, err = cli("measure", r, c, "--json", "-q", "--encoding", "windows-1252", "--date-format", "%d/%m/%Y")
    assert status == 0, err
    inputs = json.loads(out)["metadata"]["inputs"]
    assert inputs["releases"] == {
        "file": r, "rows": 500, "format": "csv", "delimiter": ";", "encoding": "cp1252", "date_format": "%d/%m/%Y",
    }  # fmt: skip
    assert inputs["convictions"]["delimiter"] == "\t" and inputs["convictions"]["encoding"] == "cp1252"
    # ISO releases beside DD/MM/YYYY convictions: one --date-format reads both, ISO being always read (a review
    # of issue 27: the refusals sent the user in a circle, "use --date-format" then "drop --date-format")
    status, out, err = cli("measure", _write(tmp_path / "plain.csv", releases), c, "--csv", "-q",
                           "--date-format", "%d/%m/%Y")  # fmt: skip
    assert status == 0, err
    plain = cli("measure", _write(tmp_path / "p.csv", releases), _write(tmp_path / "pc.csv", convictions), "--csv")
    assert out == plain[1]


# ------------------------------------------------------------------------------ refusals that say what to type
def test_every_ddmmyyyy_release_date_is_one_line_saying_which_option(cli, documented, tmp_path):
    releases, convictions = documented
    r = _write(tmp_path / "r.csv", _day_month_year(releases, RELEASE_DATES))
    status, _, err = cli("measure", r, _write(tmp_path / "c.csv", convictions))
    assert status == 65
    lines = [line for line in err.splitlines() if "release_date" in line]
    assert len(lines) == 1, err  # not 500 identical row errors
    assert "every release_date looks like DD/MM/YYYY; use --date-format %d/%m/%Y" in lines[0]
    assert "date-format: 1" in err


def test_both_files_in_dd_mm_yyyy_are_one_line_too(cli, documented, tmp_path):
    releases, convictions = documented
    r = _write(tmp_path / "r.csv", _day_month_year(releases, RELEASE_DATES))
    c = _write(tmp_path / "c.csv", _day_month_year(convictions, CONVICTION_DATES))
    status, _, err = cli("measure", r, c)
    assert status == 65
    assert "invalid data: 1 problem\n" in err
    assert "looks like DD/MM/YYYY; use --date-format %d/%m/%Y" in err


def test_month_first_dates_are_suggested_when_a_day_above_12_tells(cli, tmp_path):
    # 01/13/2022 can only be January 13th: MM/DD/YYYY is the one form that reads every value
    r = _write(
        tmp_path / "r.csv", pl.DataFrame({"offender_id": ["A", "B"], "release_date": ["01/13/2022", "02/01/2022"]})
    )
    c = _write(tmp_path / "c.csv", pl.DataFrame({"offender_id": ["A"], "offence_date": ["2022-02-01"],
                                                   "conviction_date": ["2024-03-01"]}))  # fmt: skip
    status, _, err = cli("measure", r, c)
    assert status == 65 and "every release_date looks like MM/DD/YYYY; use --date-format %m/%d/%Y" in err


def test_ambiguous_dates_are_never_guessed(cli, tmp_path):
    # every day is 12 or less: 03/04/2022 is 3 April or March 4th; both forms are named, neither is chosen
    r = _write(
        tmp_path / "r.csv", pl.DataFrame({"offender_id": ["A", "B"], "release_date": ["03/04/2022", "12/01/2022"]})
    )
    c = _write(tmp_path / "c.csv", pl.DataFrame({"offender_id": ["A"], "offence_date": ["2022-05-01"],
                                                   "conviction_date": ["2024-03-01"]}))  # fmt: skip
    status, out, err = cli("measure", r, c)
    assert status == 65 and out == ""
    assert "or MM/DD/YYYY, and no day is above 12 to tell which" in err
    assert "give --date-format %d/%m/%Y or --date-format %m/%d/%Y" in err


def test_mixed_date_forms_are_reported_row_by_row(cli, tmp_path):
    # one ISO date and one DD/MM/YYYY: no one form reads both, so the bad row is named as before
    r = _write(
        tmp_path / "r.csv", pl.DataFrame({"offender_id": ["A", "B"], "release_date": ["2022-01-03", "13/01/2022"]})
    )
    c = _write(tmp_path / "c.csv", pl.DataFrame({"offender_id": ["A"], "offence_date": ["2022-05-01"],
                                                   "conviction_date": ["2024-03-01"]}))  # fmt: skip
    status, _, err = cli("measure", r, c)
    assert status == 65
    assert "row 2, column release_date: release_date is not a date in the form YYYY-MM-DD" in err


def test_a_cp1252_file_read_as_utf8_names_file_row_byte_and_the_option(cli, tmp_path):
    header = b"offender_id,release_date,establishment\n"  # 39 bytes
    first = b"A,2022-01-10,E1\n"  # 16 bytes: the second row starts at byte 55
    second = b"B,2022-01-11,\xd3E\n"  # "Ó" in cp1252 at 13 bytes into the row: byte 55 + 13 = 68
    assert len(header) == 39 and len(first) == 16
    r = tmp_path / "r.csv"
    r.write_bytes(header + first + second)
    c = tmp_path / "c.csv"
    c.write_text("offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\n")
    status, _, err = cli("measure", str(r), c)
    assert status == 65
    assert f"{r}, row 2: line 3: the bytes b'\\xd3E\\n' at byte 68 are " in err
    assert "not UTF-8: give --encoding cp1252 (or latin-1)" in err
    status, out, err = cli("measure", str(r), c, "--encoding", "cp1252", "--by", "establishment", "--csv",
                           "--incomplete", "exclude", "--extract-date", "2024-01-01", "-q")  # fmt: skip
    assert status == 0, err
    assert "\nÓE," in out


def test_a_semicolon_file_read_with_a_comma_says_which_delimiter(cli, documented, tmp_path):
    releases, convictions = documented
    r = _write(tmp_path / "r.csv", releases, separator=";")
    status, _, err = cli("measure", r, _write(tmp_path / "c.csv", convictions), "--delimiter", ",")
    assert status == 2
    assert "looks ';'-separated: use --delimiter ';'" in err
    assert "--map" not in err


def test_a_parquet_file_read_as_csv_is_refused_in_one_line(cli, documented, tmp_path):
    releases, convictions = documented
    releases.write_parquet(tmp_path / "releases.csv")  # Parquet under a CSV name
    status, out, err = cli("measure", tmp_path / "releases.csv", _write(tmp_path / "c.csv", convictions))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "is a Parquet file (it starts with PAR1), not CSV; name it .parquet" in err
    releases.write_parquet(tmp_path / "releases.dat")
    status, _, err = cli("measure", tmp_path / "releases.dat", tmp_path / "c.csv", "--input-format", "csv")
    assert status == 2 and err.count("\n") == 1
    assert "give it with --input-format parquet, or name it .parquet" in err


def test_input_format_that_applies_to_neither_file_is_a_usage_error(cli, documented, tmp_path):
    releases, convictions = documented
    r, c = _write(tmp_path / "r.csv", releases), _write(tmp_path / "c.csv", convictions)
    status, _, err = cli("measure", r, c, "--input-format", "parquet")
    assert status == 2 and "applies only to a pipe or to a file whose extension does not tell its format" in err
    status, _, err = cli("measure", r, c, "--input-format", "csv", "-q")  # says what the extensions say: harmless
    assert status == 0, err


# ------------------------------------------------------------------------------------------- hostile options
@pytest.mark.parametrize("delimiter", ['"', "'", "\n", "\r", ";;", "é", "a", "7", "\x00"])
def test_a_delimiter_that_cannot_separate_fields_is_a_usage_error(cli, documented, tmp_path, delimiter):
    releases, convictions = documented
    status, out, err = cli("measure", _write(tmp_path / "r.csv", releases), _write(tmp_path / "c.csv", convictions),
                           "--delimiter", delimiter)  # fmt: skip
    assert status == 2 and out == ""
    assert "Traceback" not in err and err.startswith("reoffend: ")


@pytest.mark.parametrize(
    ("name", "nearest"),
    [("cp12522", "cp1252"), ("wndows-1252", "windows-1252"), ("utf8x", "utf8"), ("latin-l", "latin-1")],
)
def test_an_unknown_encoding_is_a_usage_error_naming_the_nearest(cli, documented, tmp_path, name, nearest):
    releases, convictions = documented
    status, _, err = cli("measure", _write(tmp_path / "r.csv", releases), _write(tmp_path / "c.csv", convictions),
                         "--encoding", name)  # fmt: skip
    assert status == 2
    assert "not an encoding Python knows; did you mean" in err and nearest in err.split("did you mean")[1]


def test_a_codec_that_is_not_a_text_encoding_is_refused():
    with pytest.raises(UsageError, match="not a text encoding"):
        check_encoding("base64")
    assert check_encoding("UTF-8") is None and check_encoding("utf-8-sig") is None  # the default reading
    assert check_encoding("latin-1") == "iso8859-1" and check_encoding("windows-1252") == "cp1252"


@pytest.mark.parametrize("form", ["%Q", "%Y", "hello", "", "%H:%M", "%d/%m"])
def test_a_date_format_that_does_not_read_a_date_back_is_a_usage_error(form):
    with pytest.raises(UsageError, match="not a form that reads a date back"):
        check_date_format(form)


def test_date_formats_that_read_a_date_back():
    for form in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%d %b %Y"):
        assert check_date_format(form) == form


def test_a_bad_byte_in_the_encoding_given_names_line_and_offset_across_chunks():
    # cp1252 has no character for 0x81; it is the 3rd byte of the second chunk: offset 4 + 2 = 6, on line 2
    with pytest.raises(DataError) as caught:
        transcoded([b"abc\n", b"de\x81f\n"], "cp1252", "x.csv")
    assert "line 2: the bytes b'\\x81' at byte 6 are not cp1252" in str(caught.value)
    # UTF-16: a pair split across chunks decodes; an odd last byte is named at its offset (2 + 2 = 4)
    assert transcoded([b"a\x00b", b"\x00\n\x00"], "utf-16-le", "x.csv") == b"ab\n"
    with pytest.raises(DataError, match="at byte 4 are not"):
        transcoded([b"a\x00b\x00", b"c"], "utf-16-le", "x.csv")


def test_transcoding_is_held_to_the_memory_guard():
    # 1,000 lines of "a,b\n": 4,000 bytes and 2 fields of 16 bytes a line: far over a 1,000-byte limit
    with pytest.raises(DataError) as caught:
        transcoded([b"a,b\n" * 1000], "cp1252", "big.csv", limit=1000)
    assert "too-large" in caught.value.total_by_rule
    assert transcoded([b"a,b\n"], "cp1252", "small.csv", limit=1000) == b"a,b\n"


# --------------------------------------------------------------------------------------------- properties
NAMES = st.text(st.characters(codec="ascii", exclude_characters=',;\t|"\r\n'), min_size=1, max_size=12)


@given(names=st.lists(NAMES, min_size=2, max_size=12), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_the_delimiter_of_any_header_of_two_or_more_columns_is_sniffed(names, delimiter):
    assert sniff_delimiter(delimiter.join(names).encode() + b"\nrest;of|the\tfile,\n") == delimiter


def test_a_quoted_name_holding_another_delimiter_does_not_mislead_the_sniff():
    assert sniff_delimiter(b'"a;b;c";d,e,f\n') == ","
    assert sniff_delimiter(b"one\n") == ","  # no delimiter: comma, and the columns are reported missing


@given(st.text(min_size=2, max_size=4).filter(lambda text: text.lower() not in ("\\t",)))
def test_a_delimiter_of_more_than_one_character_is_refused_unless_a_name(text):
    if text.lower() in ("tab", "comma", "pipe"):
        assert len(check_delimiter(text)) == 1
        return
    with pytest.raises(UsageError):
        check_delimiter(text)


def _advice(days: list[dt.date], form: str) -> str | None:
    releases = Table("r.csv", RELEASES, pl.DataFrame({
        "offender_id": [f"P{i}" for i in range(len(days))], "release_date": [d.strftime(form) for d in days],
    }).lazy())  # fmt: skip
    convictions = Table("c.csv", CONVICTIONS, pl.DataFrame(schema=dict.fromkeys(
        ("offender_id", "offence_date", "conviction_date"), pl.String)).lazy())  # fmt: skip
    found = date_format_advice(releases, convictions, {("unparseable-date", "release_date"): len(days)})
    return None if found is None else found.problems["message"][0]


DAYS = st.lists(st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(days=DAYS, form=st.sampled_from(["%d/%m/%Y", "%m/%d/%Y"]))
def test_day_month_order_is_suggested_only_when_a_day_above_12_tells_it(days, form):
    message = _advice(days, form)
    assert message is not None
    if any(d.day > 12 and d.day != d.month for d in days):  # the other order cannot read that value
        assert message.endswith(f"; use --date-format {form}")
    elif all(d.day == d.month for d in days):  # 05/05/2022 reads the same either way: no guess still
        assert "no day is above 12 to tell which" in message
    else:
        assert "no day is above 12 to tell which" in message and "%d/%m/%Y or --date-format %m/%d/%Y" in message


# ---------------------------------------------------------------------------------------------------- config
def test_the_dialect_options_are_config_keys(cli, documented, reference, tmp_path):
    releases, convictions = documented
    _write(tmp_path / "r.csv", _day_month_year(releases, RELEASE_DATES), separator="|", encoding="cp1252")
    _write(tmp_path / "c.csv", _day_month_year(convictions, CONVICTION_DATES), separator="|", encoding="cp1252")
    config = tmp_path / "job.toml"
    config.write_text(
        '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\ndelimiter = "|"\nencoding = "cp1252"\n'
        'date_format = "%d/%m/%Y"\n'
    )
    status, out, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--config", config,
                           "--by", "cohort,establishment", "--csv", "-q")  # fmt: skip
    assert status == 0, err
    assert out == reference
    config.write_text('[measure]\ndelimiter = ";;"\n')
    status, _, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--config", config)
    assert status == 2 and "give one character" in err


def test_the_bulletin_config_checks_the_dialect_keys_with_their_line(tmp_path):
    from reoffend.bulletin.config import parse_config

    base = '[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n'
    good = tmp_path / "good.toml"
    good.write_text(base + 'delimiter = "tab"\nencoding = "latin-1"\ndate_format = "%Y-%m-%d"\n')
    inputs = parse_config(str(good)).inputs
    assert (inputs.delimiter, inputs.encoding, inputs.date_format) == ("\t", "iso8859-1", None)
    for line, needle in (('delimiter = "\\""', "cannot separate fields"), ('encoding = "cp12522"', "cp1252"),
                         ('date_format = "%Q"', "reads a date back")):  # fmt: skip
        bad = tmp_path / "bad.toml"
        bad.write_text(base + line + "\n")
        with pytest.raises(UsageError) as caught:
            parse_config(str(bad))
        assert "line 4" in str(caught.value) and needle in str(caught.value)


def test_a_semicolon_cp1252_stream_on_standard_input_is_sniffed_and_transcoded(
    cli, documented, reference, tmp_path, monkeypatch
):
    from .test_shell_inputs import FakeStdin

    releases, convictions = documented
    data = gzip.compress(_day_month_year(releases, RELEASE_DATES).write_csv(separator=";").encode("cp1252"))
    monkeypatch.setattr(sys, "stdin", FakeStdin(data))
    c = _write(tmp_path / "c.csv", _day_month_year(convictions, CONVICTION_DATES))
    assert _measure(cli, "-", c, "--encoding", "cp1252", "--date-format", "%d/%m/%Y") == reference


def test_a_comma_file_named_tsv_says_which_delimiter_and_a_quoted_name_is_left_alone(cli, documented, tmp_path):
    releases, convictions = documented
    r = _write(tmp_path / "r.tsv", releases)
    status, _, err = cli("measure", r, _write(tmp_path / "c.csv", convictions))
    assert status == 2 and "looks ','-separated: use --delimiter ','" in err
    # one quoted column name holding ';' is sniffed as comma-separated: reported missing columns, not a delimiter
    quoted = tmp_path / "q.csv"
    quoted.write_text('"offender_id;release_date"\n"A;2022-01-01"\n')
    status, _, err = cli("measure", quoted, tmp_path / "c.csv")
    assert status == 65 and "required column 'offender_id' is missing" in err


def test_a_delimiter_or_encoding_that_would_do_nothing_is_a_usage_error(cli, documented, tmp_path):
    releases, convictions = documented
    releases.write_parquet(tmp_path / "r.parquet")
    convictions.write_parquet(tmp_path / "c.parquet")
    status, _, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", "--delimiter", ";")
    assert status == 2 and "neither input is CSV (parquet, parquet), so it would do nothing" in err
    status, _, err = cli("measure", tmp_path / "r.parquet", tmp_path / "c.parquet", "--encoding", "cp1252")
    assert status == 2 and "both inputs are Parquet" in err
    status, _, err = cli("measure", tmp_path / "r.parquet", _write(tmp_path / "c.csv", convictions), "-q",
                         "--delimiter", ",", "--encoding", "cp1252")  # fmt: skip
    assert status == 0, err  # the CSV file is read with them


def test_a_bulletin_of_the_dialect_extract_has_the_tables_of_the_documented_form(cli, documented, tmp_path):
    """The bulletin's [inputs] delimiter, encoding and date_format: every table it publishes is byte for byte
    the one from the same data in the documented form, and the manifest says how each input was read."""
    releases, convictions = documented
    _write(tmp_path / "r.csv", releases)
    _write(tmp_path / "c.csv", convictions)
    _write(tmp_path / "rd.csv", _day_month_year(releases, RELEASE_DATES), separator=";", encoding="cp1252")
    _write(tmp_path / "cd.csv", _day_month_year(convictions, CONVICTION_DATES), separator=";", encoding="cp1252")
    (tmp_path / "plain.toml").write_text('[inputs]\nreleases = "r.csv"\nconvictions = "c.csv"\n')
    (tmp_path / "dialect.toml").write_text(
        '[inputs]\nreleases = "rd.csv"\nconvictions = "cd.csv"\nencoding = "cp1252"\ndate_format = "%d/%m/%Y"\n'
    )
    for name in ("plain", "dialect"):
        status, _, err = cli("bulletin", "--config", tmp_path / f"{name}.toml", "-o", tmp_path / name, "-q")
        assert status == 0, err
    tables = sorted(path.name for path in (tmp_path / "plain" / "tables").iterdir())
    assert tables == sorted(path.name for path in (tmp_path / "dialect" / "tables").iterdir())
    for table in tables:
        if table != "parameters.csv":  # the parameters name the files and the options given
            assert (tmp_path / "plain/tables" / table).read_bytes() == (
                tmp_path / "dialect/tables" / table
            ).read_bytes()
    manifest = json.loads((tmp_path / "dialect" / "manifest.json").read_text())
    assert manifest["inputs"]["releases"]["delimiter"] == ";"
    assert manifest["inputs"]["convictions"]["encoding"] == "cp1252"
    assert manifest["inputs"]["convictions"]["date_format"] == "%d/%m/%Y"


def test_a_plain_utf8_file_is_still_scanned_never_read_whole_or_transcoded(cli, documented, reference, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    """The default reading (UTF-8, any delimiter, a plain file) goes to polars by its path, as before: nothing
    reads its bytes whole, so a file larger than memory can still be scanned (--streaming)."""
    import reoffend.io as reoffend_io

    def refuse(*_args, **_kwargs):
        raise AssertionError("a plain UTF-8 file was read whole")

    releases, convictions = documented
    r = _write(tmp_path / "r.csv", releases, separator=";")
    c = _write(tmp_path / "c.csv", convictions, separator=";")
    for name in ("transcoded", "utf8_text", "unpack", "as_utf8"):
        monkeypatch.setattr(reoffend_io, name, refuse)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert _measure(cli, r, c) == reference
    assert _measure(cli, r, c, "--encoding", "utf-8", "--streaming") == reference


def test_a_utf8_file_given_as_cp1252_is_refused_rather_than_garbled(cli, tmp_path):
    # cp1252 reads any byte, so a UTF-8 "Ó" (C3 93) would become "Ã“" without an error: refused, naming where
    header = b"offender_id,release_date,establishment\n"  # 39 bytes
    row = "A,2022-01-10,Ó\n".encode()  # Ó at 13 bytes into the row: byte 39 + 13 = 52, line 2, row 1
    assert len(header) == 39 and row[13:15] == b"\xc3\x93"
    (tmp_path / "r.csv").write_bytes(header + row)
    (tmp_path / "c.csv").write_text("offender_id,offence_date,conviction_date\nA,2022-02-01,2022-03-01\n")
    status, out, err = cli("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--encoding", "cp1252")
    assert status == 65 and out == ""
    assert "r.csv, row 1: line 2: the file is UTF-8 (byte 52 starts a UTF-8 character" in err
    assert "not cp1252" in err and "drop --encoding" in err
    # the same check for a character cut across chunks: a b \n c are bytes 0 to 3, C3 is byte 4 | 93
    with pytest.raises(DataError, match="line 2: the file is UTF-8 \\(byte 4 starts a UTF-8 character"):
        transcoded([b"ab\nc\xc3", b"\x93\n"], "cp1252", "x.csv")
    assert transcoded([b"ab\nc\xd3", b"\n"], "cp1252", "x.csv") == "ab\ncÓ\n".encode()
