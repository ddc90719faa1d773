"""Reading the record files (docs/data.md, "Input files"): a malformed CSV row, bytes that are not the encoding,
a bad NDJSON line, a column named twice, a compression bomb or a line without end are invalid data (65) named
by file, row and line, and what is read is bounded; list files (ids, offence codes) are read as written.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.io import LineBound, check_line_lengths
from tests.conftest import write_csv
from tests.helpers import (
    CONVICTIONS,
    EXTRACT,
    RELEASES,
    SAMPLE,
    snapshot,
)


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


DAMAGED = {
    "not UTF-8": (b"offender_id,release_date\nA,2022-01-10\nB\xe9,2022-02-10\n", "row 2: line 3: the bytes"),
    "too many fields": (b"offender_id,release_date\nA,2022-01-10\nB,2022-02-10,extra\n", "row 2: line 3: 3 fields"),
    "quote never closed": (b'offender_id,release_date\nA,2022-01-10\n"B,2022-02-10\n', "row 2: line 3: a quote"),
    # found by review: with a column the rules do not read, polars' scans never read every column, and so never
    # counted the fields: --streaming passed validation and the measure failed as an internal error (exit 70)
    "too many fields, another column": (
        b"offender_id,release_date,establishment\nA,2022-01-10,E1\nB,2022-02-10,E2,X,Y\n",
        "row 2: line 3: 5 fields",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_a_damaged_csv_is_named_by_row_and_line_also_with_streaming(cli, folder, damage):
    """--streaming scans a CSV file at each pass: a row that cannot be read is still named by its row and
    line (as without --streaming), not a bare 'cannot read: invalid utf-8 sequence'."""
    data, where = DAMAGED[damage]
    (folder / "damaged.csv").write_bytes(data)
    before = snapshot(folder)
    status, _, plain = cli("measure", folder / "damaged.csv", folder / "c.csv", *EXTRACT)
    assert status == 65 and where in plain
    status, _, streamed = cli("measure", folder / "damaged.csv", folder / "c.csv", *EXTRACT, "--streaming")
    assert status == 65
    assert f"damaged.csv, {where}" in streamed and streamed == plain
    assert snapshot(folder) == before


MEMORY_CAP = 3 << 30  # the address space of the child: a run that tried to hold a bomb whole would die in it


def capped(args, *, cwd: Path) -> subprocess.CompletedProcess:
    """``reoffend ARGS`` in a child limited to :data:`MEMORY_CAP` of address space (``ulimit -v``)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    code = "import sys\nfrom reoffend.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, timeout=300, preexec_fn=limit
    )


def test_a_zstd_bomb_is_refused_with_a_sentence_not_killed(folder):
    """A 400 KB .csv.zst that unpacks to 4.7 GB of short rows: unpacked in steps and refused (65) once the
    table it makes would not fit, where it was read whole and the process killed."""
    import zstandard

    body = b"A,2022-01-01\n" * ((64 << 20) // 13)
    first = zstandard.ZstdCompressor(level=3).compress(b"offender_id,release_date\n" + body)
    (folder / "bomb.csv.zst").write_bytes(first + zstandard.ZstdCompressor(level=3).compress(body) * 69)
    done = capped(["measure", "bomb.csv.zst", "c.csv", *EXTRACT], cwd=folder)
    err = done.stderr.decode()
    assert done.returncode == 65, err[-2000:]
    assert "bomb.csv.zst: the data would need more than the" in err and "unpack it to a plain file" in err
    assert "too-large: 1" in err


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv"])
def test_a_table_of_one_enormous_line_is_refused_from_its_first_megabyte(folder, suffix):
    """A .gz of 1 GB of zero bytes (1 MB on disk) and a plain CSV of one 64 MB line: no table has such a header.
    Refused (65) after reading its first megabyte, where the whole was held (and the header echoed)."""
    import zlib

    line = b"\0" * (64 << 20) if suffix == ".gz" else b"a" * (64 << 20)
    if suffix.endswith(".gz"):
        packer = zlib.compressobj(1, zlib.DEFLATED, 31)
        data = b"".join(packer.compress(line) for _ in range(16)) + packer.flush()
    else:
        data = line
    (folder / f"one{suffix}").write_bytes(data)
    done = capped(["measure", f"one{suffix}", "c.csv", *EXTRACT], cwd=folder)
    err = done.stderr.decode()
    assert done.returncode == 65, err[-2000:]
    assert f"one{suffix}: the header (line 1) is longer than 1 MiB" in err and len(err) < 1000


@pytest.mark.parametrize("option", ["--exclude-offences", "--treated-ids"])
def test_a_list_file_that_never_ends_is_refused_not_read_forever(folder, option):
    """--exclude-offences /dev/zero read until memory ran out: a list file is read to 64 MiB at most."""
    if option == "--exclude-offences":
        args = ["measure", "r.csv", "c.csv", *EXTRACT, option, "/dev/zero"]
    else:
        args = ["compare", "matched", "r.csv", "c.csv", *EXTRACT, "--covariates", "age", option, "/dev/zero"]
    done = capped(args, cwd=folder)
    err = done.stderr.decode()
    assert done.returncode == 65, err[-2000:]
    assert "/dev/zero: the " in err and "is larger than 64 MiB" in err


def test_standard_input_beyond_the_memory_budget_is_refused(cli, folder, monkeypatch):
    """A stream is read whole: past the room for it, 65 with a sentence (the budget made small here)."""
    import io

    import reoffend.io

    monkeypatch.setattr(reoffend.io, "memory_budget", lambda: 1 << 20)
    rows = "offender_id,release_date\n" + "".join(f"P{i},2022-01-10\n" for i in range(200_000))

    class Stdin:
        buffer = io.BytesIO(rows.encode())

    monkeypatch.setattr(sys, "stdin", Stdin())
    status, _out, err = cli("measure", "-", folder / "c.csv", *EXTRACT)
    assert status == 65, err
    assert "<stdin>: the input is larger than 1 MiB" in err and "save it to a file" in err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_file_is_read_by_its_byte_order_mark(cli, folder, encoding):
    """A spreadsheet's "Unicode text" (UTF-16 with a byte-order mark) was read as UTF-8: every required column
    'missing'. It is read in its encoding, giving what the UTF-8 file gives."""
    from tests.helpers import RELEASES

    text = RELEASES.encode(encoding)
    if encoding == "utf-16-be":
        text = b"\xfe\xff" + text
    (folder / "r16.csv").write_bytes(text)
    status, plain, err = cli("measure", folder / "r.csv", folder / "c.csv", *EXTRACT, "--csv")
    assert status == 0, err
    status, out, err = cli("measure", folder / "r16.csv", folder / "c.csv", *EXTRACT, "--csv")
    assert status == 0, err
    assert out == plain


def test_bytes_that_are_not_the_encoding_the_mark_names_are_invalid_data(cli, folder):
    (folder / "bad16.csv").write_bytes("offender_id,release_date\nA,2022-01-10\n".encode("utf-16") + b"\x00\xd8")
    status, _out, err = cli("measure", folder / "bad16.csv", folder / "c.csv", *EXTRACT)
    assert status == 65
    assert "bad16.csv: the file starts with a UTF-16 byte-order mark, but its bytes" in err and "iconv" in err


def test_a_parquet_schema_naming_a_column_twice_is_invalid_data_naming_it(cli, folder):
    """Exit 70 (polars' DuplicateError) before: now 65, duplicate-column, naming the column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = ["offender_id", "release_date", "offender_id"]
    columns = [pa.array(["A", "B"]), pa.array(["2022-01-10", "2022-02-10"]), pa.array(["X", "Y"])]
    pq.write_table(pa.table(columns, names=names), folder / "dup.parquet")
    status, _out, err = cli("measure", folder / "dup.parquet", folder / "c.csv", *EXTRACT)
    assert status == 65, err
    assert "dup.parquet, column offender_id: the schema names the column 'offender_id' more than once" in err
    assert "duplicate-column: 1" in err


@pytest.mark.parametrize("where", [1, 3])
def test_an_ndjson_record_giving_a_key_twice_is_invalid_data_naming_it(cli, folder, where):
    """{"offender_id": "A", ..., "offender_id": "Z"}: the reader kept the first value, exit 0. Now 65 naming the
    key and the line; a key inside a string value ("a\\": ") is not taken for one."""
    records = [
        '{"offender_id": "A", "release_date": "2022-01-10", "establishment": "say \\"offender_id\\": no"}',
        '{"offender_id": "B", "release_date": "2022-02-10", "establishment": "EST2"}',
        '{"offender_id": "C", "release_date": "2022-03-10", "establishment": "EST1"}',
    ]
    records[where - 1] = records[where - 1][:-1] + ', "offender_id": "Z"}'
    (folder / "dup.ndjson").write_text("\n".join(records) + "\n")
    status, _out, err = cli("measure", folder / "dup.ndjson", folder / "c.csv", *EXTRACT)
    assert status == 65, err
    assert (
        f"dup.ndjson, row {where}, column offender_id: line {where}: the record gives the key 'offender_id' twice"
        in err
    )


def test_an_ndjson_file_with_keys_once_each_is_read_as_before(cli, folder):
    (folder / "ok.ndjson").write_text(
        '{"offender_id": "A", "release_date": "2022-01-10", "establishment": "say \\"offender_id\\": no"}\n'
    )
    status, _out, err = cli("measure", folder / "ok.ndjson", folder / "c.csv", *EXTRACT, "-q")
    assert status == 0, err


def test_a_hash_inside_an_offence_code_is_part_of_it(cli, folder):
    """'#' cut every code of a list: ABC#1 was read as ABC. A comment starts at a # that begins the line or
    follows a space."""
    from reoffend.io import read_code_list

    (folder / "codes.txt").write_text("# codes\nABC#1   # the first\nBREACH#\n  # indented comment\nX #y\n")
    assert read_code_list(str(folder / "codes.txt")) == frozenset({"ABC#1", "BREACH#", "X"})
    write_csv(folder / "cc.csv", "offender_id,offence_date,conviction_date,offence_code\n"
              "A,2022-02-01,2022-03-01,ABC\nC,2022-05-01,2022-06-01,ABC#1\n")  # fmt: skip
    status, out, err = cli("measure", folder / "r.csv", folder / "cc.csv", *EXTRACT, "--by", "", "--csv",
                           "--exclude-offences", folder / "codes.txt")  # fmt: skip
    assert status == 0, err
    assert out.splitlines()[1].split(",")[:2] == ["3", "1"]  # A's ABC counts; C's ABC#1 is excluded


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


# Line 3 holds an offender_id of 1.5 MiB (LINE_LIMIT is 1 MiB): it starts after the header (47 bytes with its line
# end) and line 2 ("A,2022-01-10,EST1,30,M" and a line end, 23 bytes), so at byte 47 + 23 = 70.
HUGE_FIELD = RELEASES.split("\n", 2)[0] + "\nA,2022-01-10,EST1,30,M\n" + "B" * (3 << 19) + ",2022-02-10,EST2,40,F\n"


@pytest.mark.parametrize("how", ["csv", "gz", "ndjson", "stdin"])
def test_a_line_longer_than_the_limit_anywhere_is_refused_naming_the_line(cli, tmp_path, monkeypatch, how):
    """Before: a plain or .gz file was read whole by polars (exit 0 with a 1.5 MiB id here; a 400 MB field was a
    Rust panic under ulimit -v, or a read that ignored SIGTERM). Only the first line was bounded."""
    convictions = write_csv(tmp_path / "c.csv", CONVICTIONS)
    if how == "ndjson":
        path = tmp_path / "r.ndjson"
        huge_id = "B" * (3 << 19)
        path.write_text('{"offender_id":"A","release_date":"2022-01-10"}\n' * 2 + json.dumps({"offender_id": huge_id}))
        expected = "line 3 (from byte 96)"  # two records of 47 bytes and their line ends
    elif how == "gz":
        path = tmp_path / "r.csv.gz"
        path.write_bytes(gzip.compress(HUGE_FIELD.encode()))
        expected = "line 3 (from byte 70)"
    elif how == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(HUGE_FIELD.encode())))
        path, expected = Path("-"), "line 3 (from byte 70)"
    else:
        path, expected = Path(write_csv(tmp_path / "r.csv", HUGE_FIELD)), "line 3 (from byte 70)"
    status, out, err = cli("validate", path, convictions, "--extract-date", "2030-01-01")
    assert status == 65, err
    assert f"{path.name if how != 'stdin' else '<stdin>'}: {expected} is longer than 1 MiB" in err
    assert "too-large" in err and len(err) < 1000 and out == ""


def longest_line(data: bytes) -> int:
    return max(len(line) for line in data.split(b"\n"))


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"defgh"]), max_size=60).map(b"".join),
    limit=st.integers(1, 12),
    cuts=st.lists(st.integers(0, 300), max_size=6),
)
def test_the_line_bound_refuses_exactly_the_data_with_a_line_over_the_limit(data, limit, cuts):
    """However the bytes come in pieces (a .gz unpacks in pieces), the bound refuses exactly when some line
    (the bytes between two line ends) is longer than ``limit``, and names where the first such line starts."""
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 10]
    too_long = [start for start in starts if len(data[start:].split(b"\n", 1)[0]) > limit]
    bound = LineBound("t", limit)
    found = None
    edges = sorted({0, len(data), *(cut for cut in cuts if cut < len(data))})
    for start, end in itertools.pairwise(edges):
        found = bound.feed(data[start:end])
        if found is not None:
            break
    assert (longest_line(data) > limit) == bool(too_long) == (found is not None)
    if too_long:
        assert found == too_long[0]
        with pytest.raises(Exception, match=f"line {starts.index(found) + 1}"):
            check_line_lengths(data, "t", "csv" if found else "ndjson", limit)


@pytest.mark.parametrize(
    "second_key",
    [
        r"offender\u005fid",  # "_" escaped: was read as one column, keeping one of the two values, exit 0
        r"\u006Fffender_id",  # "o", upper-case hex digits
        r"\u006f\u0066fender_id",
    ],
)
def test_an_ndjson_key_repeated_through_an_escape_is_a_duplicate_column(cli, tmp_path, second_key):
    releases = tmp_path / "r.ndjson"
    releases.write_text(
        '{"offender_id":"A","release_date":"2022-01-10"}\n'
        f'{{"offender_id":"B","release_date":"2022-01-11","{second_key}":"Z"}}\n'
    )
    status, _out, err = cli("validate", releases, write_csv(tmp_path / "c.csv", CONVICTIONS))
    assert status == 65, err
    assert "line 2: the record gives the key 'offender_id' twice" in err and "duplicate-column" in err


def test_an_escaped_key_that_repeats_nothing_is_read(cli, tmp_path):
    """An escape in a key that names no other key (a quote, a "é") is no duplicate: the file is read."""
    releases = tmp_path / "r.ndjson"
    releases.write_text(
        '{"offender_id":"A","release_date":"2022-01-10","na\\"me":1,"caf\\u00e9":2}\n'
        '{"offender_id":"B","release_date":"2022-01-11","na\\"me":1,"caf\\u00e9":2}\n'
    )
    status, _out, err = cli("validate", releases, write_csv(tmp_path / "c.csv", CONVICTIONS), "-q")
    assert status == 0, err


# ------------------------------------------------------------------------------------- a bad byte in the header line
def test_a_bad_byte_in_the_header_is_named_as_the_header_not_row_0(cli, folder):
    # a cp1252 header, and a row the reader fails on: the first bytes that are not UTF-8 are in the header
    (folder / "cp1252.csv").write_bytes(b"offender_id,release_date,\xc9tab\nA,2022-01-10,E\nB,2022-01-11,E,x,y\n")
    before = snapshot(folder)
    status, _out, err = cli("measure", folder / "cp1252.csv", folder / "c.csv", *EXTRACT)
    assert status == 65 and "header (line 1): the bytes" in err and "row 0" not in err, err
    assert snapshot(folder) == before


def test_a_bad_byte_in_a_row_is_still_named_by_its_row(cli, folder):
    (folder / "latin.csv").write_bytes(b"offender_id,release_date\nA,2022-01-10\nB,2022-01-1\xc9\n")
    status, _out, err = cli("measure", folder / "latin.csv", folder / "c.csv", *EXTRACT)
    assert status == 65 and "latin.csv, row 2: line 3: the bytes" in err, err
