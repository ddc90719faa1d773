"""Reading the two input tables and writing outputs atomically.

Formats follow the extension (``.csv``, ``.tsv``, ``.parquet``, ``.ndjson``/``.jsonl``); ``input_format``
is the format of an input the extension does not tell (``-``, a pipe, another extension), else a stream's
first bytes are sniffed. A CSV file's delimiter is ``delimiter``, else tab for ``.tsv``, else sniffed from
its header line (``,`` ``;`` tab ``|``); its encoding is ``encoding``, else UTF-8 (or the encoding a
byte-order mark names), and other encodings are transcoded to UTF-8 in memory (docs/data.md, "Reading the
files"). ``column_map`` renames extract columns to the canonical names of docs/data.md
(``{"release_date": "date_out"}``). CSV columns that hold dates or identifiers are read as text, so that a
bad value becomes a validation problem naming its row rather than a reader failure, and so that
identifiers keep leading zeros.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import encodings.aliases
import errno
import gzip
import io
import json
import os
import re
import signal
import stat
import sys
import tempfile
import threading
import tomllib
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (
    PROBLEM_SCHEMA,
    DataError,
    InputFileError,
    OutputClosed,
    OutputNotCreatable,
    OutputWriteError,
    UsageError,
    cut_value,
    os_reason,
    problem_row,
    single_problem,
)
from .lazy_import import lazy_module
from .run_state import (  # noqa: F401 - re-exported: the run's state lives apart so start-up need not load polars
    claim_stdin,
    forget_written,
    outputs_written,
    record_written,
    release_stdin,
)

if TYPE_CHECKING:
    import polars as pl
else:
    pl = lazy_module("polars")

FORMATS = ("csv", "parquet", "ndjson")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
TEXT_COLUMNS = (
    "offender_id",
    "release_date",
    "offence_date",
    "conviction_date",
    "offence_code",
    "appearance_id",
    "establishment",
    "cohort",
)
STDIN = "-"


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIN else str(path)


COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}


def is_stream(path: str) -> bool:
    """``-``, a FIFO (``<(zcat r.csv.gz)``, ``mkfifo``) or a character device (``/dev/stdin`` on a terminal):
    read once, front to back, like standard input, rather than scanned by name."""
    if path == STDIN:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def compression_of(path: str) -> str | None:
    """``gzip`` for ``*.gz``, ``zstd`` for ``*.zst``, else None (streams are sniffed by their magic bytes)."""
    return COMPRESSIONS.get(Path(path).suffix.lower())


def extension_format(path: str) -> str | None:
    """The format the extension tells, under any ``.gz``/``.zst`` (``r.csv.gz`` is CSV), or None."""
    name = Path(path)
    if compression_of(path):
        name = name.with_suffix("")
    return EXTENSIONS.get(name.suffix.lower())


def check_input_format(input_format: str) -> str:
    if input_format not in FORMATS:
        raise UsageError(f"--input-format must be one of {', '.join(FORMATS)}, not {input_format!r}")
    return input_format


def detect_format(path: str, input_format: str | None = None) -> str:
    """The table format: the extension's (under any ``.gz``/``.zst``), else ``input_format``.

    ``input_format`` is for an input whose format cannot be told from its name (``-``, a pipe, ``data.txt``):
    it never overrides an extension, so ``measure <(zcat r.csv.gz) c.parquet --input-format csv`` reads the
    Parquet file as Parquet (issue 27). A stream's format is sniffed from its first bytes by
    :func:`read_table` when not given; here it is CSV.
    """
    if input_format:
        check_input_format(input_format)
    if is_stream(path):
        return input_format or "csv"
    told = extension_format(path)
    if told is not None:
        return told
    if input_format:
        return input_format
    suffix = Path(path).with_suffix("").suffix.lower() if compression_of(path) else Path(path).suffix.lower()
    raise UsageError(
        f"{path}: cannot tell the format from the extension {suffix!r}; "
        f"use .csv, .tsv, .parquet, .ndjson or .jsonl (optionally .gz or .zst), or --input-format"
    )


# ------------------------------------------------------------------------------------------- CSV dialect
DELIMITERS = (",", ";", "\t", "|")  # sniffed from a CSV header line, in this order of preference on a tie
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
QUOTED = re.compile(rb'"(?:[^"]|"")*"')


def check_delimiter(value: str, option: str = "--delimiter") -> str:
    """A CSV delimiter as given (``;``, ``|``, a tab typed as ``\\t`` or ``tab``): one ASCII character other
    than the quote, a line end or a letter or digit; anything else is a usage error (exit 2)."""
    delimiter = DELIMITER_WORDS.get(value.lower(), value) if len(value) > 1 else value
    if len(delimiter) != 1 or not delimiter.isascii():
        raise UsageError(f"{option} {value!r}: give one character, such as ',' ';' '|' or tab (\\t)")
    if delimiter in "\"'\r\n" or delimiter.isalnum() or (ord(delimiter) < 32 and delimiter != "\t"):
        raise UsageError(
            f"{option} {value!r}: a quote, a line end, a letter or a digit cannot separate fields; "
            "give one such as ',' ';' '|' or tab (\\t)"
        )
    return delimiter


def delimiter_text(delimiter: str) -> str:
    """``';'``, ``tab``: a delimiter as a message shows it."""
    return "tab" if delimiter == "\t" else repr(delimiter)


def sniff_delimiter(head: bytes) -> str:
    """The delimiter of a CSV header line: whichever of ``,`` ``;`` tab ``|`` it holds most often outside
    quotes (comma when none, or on a tie). Only the header is looked at: it names the columns, so it holds
    at least one delimiter whenever the file has two columns."""
    line = head.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf")
    line = QUOTED.sub(b"", line)
    counts = {delimiter: line.count(delimiter.encode()) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])  # the first of the most frequent
    return best if counts[best] else ","


def csv_delimiter(source: TableSource, head: bytes) -> str:
    """``source.delimiter``, else tab for a ``.tsv`` name, else sniffed from the header (:func:`sniff_delimiter`)."""
    if source.delimiter:
        return source.delimiter
    name = Path(source.path).with_suffix("") if compression_of(source.path) else Path(source.path)
    if name.suffix.lower() == ".tsv":
        return "\t"
    return sniff_delimiter(head)


# ------------------------------------------------------------------------------------------- encodings
def check_encoding(name: str, option: str = "--encoding") -> str | None:
    """The codec an ``--encoding`` names (``latin-1`` is ``iso8859-1``), None for UTF-8 (the default reading).

    A name Python does not know, or a codec that is not a text encoding (``base64``), is a usage error naming
    the nearest known names."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        info = None
    if info is not None and not getattr(info, "_is_text_encoding", True):
        raise UsageError(
            f"{option} {name!r}: a codec of bytes, not a text encoding; give one such as utf-8, cp1252, "
            "latin-1 or utf-16"
        )
    if info is None:
        nearest = nearest_encodings(name)
        hint = f"did you mean {' or '.join(nearest)}? " if nearest else ""
        raise UsageError(
            f"{option} {name!r}: not an encoding Python knows; {hint}(e.g. utf-8, cp1252, latin-1, utf-16)"
        )
    return None if info.name in ("utf-8", "utf-8-sig") else info.name


def nearest_encodings(name: str, shown: int = 3) -> list[str]:
    """The known encoding names closest to ``name``: those with the same characters first (``cp1525`` is
    ``cp1252`` mistyped), then by likeness (difflib); none below half alike."""
    wanted = name.lower().replace("-", "_")
    known = sorted(set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values()))
    likeness = {k: difflib.SequenceMatcher(None, wanted, k).ratio() for k in known}
    near = sorted((k for k in known if likeness[k] >= 0.5), key=lambda k: (sorted(k) != sorted(wanted), -likeness[k]))
    return [k.replace("_", "-") for k in near[:shown]]


ENCODING_HINT = "not UTF-8: give --encoding cp1252 (or latin-1)"


@dataclass(frozen=True)
class TableSource:
    """Where a table comes from, how to read it and how its columns are named.

    ``delimiter``: a CSV file's (None: tab for ``.tsv``, else sniffed); ``encoding``: a codec name from
    :func:`check_encoding` (None: UTF-8, or the encoding a byte-order mark names)."""

    path: str
    input_format: str | None = None
    column_map: Mapping[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str | None = None

    @property
    def name(self) -> str:
        return display_name(self.path)


def check_input_file(path: str, what: str = "file") -> None:
    """A named input must exist, be a file (or a stream) and be readable: exit 66 otherwise, whatever its name."""
    target = Path(path)
    if not target.exists():
        raise InputFileError(f"{path}: no such {what}")
    if target.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file")
    if not os.access(target, os.R_OK):
        raise InputFileError(f"{path}: not readable (permission denied)")


MIB = 1 << 20
LINE_LIMIT = MIB  # bytes of any line of a CSV or NDJSON table (a header, a record): a longer one is refused
LIST_LIMIT = 64 * MIB  # bytes of a list file (offence codes, ids), a config or a schedule
CHUNK = MIB


def memory_budget() -> int:
    """The bytes one input may take in memory once read (and unpacked): a third of the memory this process
    can still have, the least of what the system has available, the cgroup's limit (a container's) less its
    use, and the address-space limit (``ulimit -v``). An input read whole (a stream, a ``.gz``/``.zst`` file)
    that would take more is refused with a sentence, before the system kills the process without one."""
    import resource

    room: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room.append(int(line.split()[1]) * 1024)
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        with contextlib.suppress(OSError, ValueError):
            limit = Path(limit_file).read_text().strip()
            if limit != "max" and int(limit) < 1 << 60:
                room.append(int(limit) - int(Path(usage_file).read_text().strip()))
    with contextlib.suppress(OSError, ValueError):
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            room.append(soft)
    if not room:
        with contextlib.suppress(OSError, ValueError):
            room.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return max(min(room) // 3, 16 * MIB) if room else 1 << 40


def size_text(size: int) -> str:
    """``64 MiB``, ``1.5 GiB``: a size in a message."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def too_large(name: str, sentence: str) -> DataError:
    """Invalid data (65): ``name`` holds more than can be read, said in ``sentence`` with what to do instead."""
    return single_problem(name, None, "too-large", sentence)


def read_bounded(handle: Any, limit: int, name: str, what: str, advice: str) -> bytes:
    """At most ``limit`` bytes of ``handle``, read in chunks; more is :func:`too_large` (65), found after reading
    ``limit`` + 1 bytes however much the source holds (``/dev/zero``)."""
    buffer = io.BytesIO()
    while True:
        chunk = handle.read(min(CHUNK, limit + 1 - buffer.tell()))
        if not chunk:
            return buffer.getvalue()
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise too_large(name, f"{what} is larger than {size_text(limit)}: {advice}")


STREAM_ADVICE = "save it to a file and give its path (a plain file is scanned, not read whole)"
UNPACK_ADVICE = (
    "a stream or a .gz/.zst file is read into memory whole: unpack it to a plain file (gzip -dk, zstd -d) and "
    "give that, which is scanned, not read whole"
)


def read_stream(path: str, what: str, stdin: io.BufferedIOBase | None = None) -> bytes:
    """All the bytes of ``-`` or of a FIFO or character device, as they come (perhaps compressed), up to
    :func:`memory_budget` (more is 65, naming the input, rather than memory running out)."""
    budget = memory_budget()
    if path == STDIN:
        claim_stdin(what)
        return read_bounded(stdin or sys.stdin.buffer, budget, display_name(path), "the input", STREAM_ADVICE)
    try:
        with open(path, "rb") as handle:
            return read_bounded(handle, budget, path, "the input", STREAM_ADVICE)
    except OSError as error:
        raise InputFileError(f"{path}: cannot read: {error.strerror or error}") from None


VALUE_BYTES = 16  # what polars holds per value beside the text itself (a string view), to estimate a table's room


class Intake:
    """Bytes of a table read whole, with the memory they will take once a reader holds them as a table: the
    bytes themselves, and :data:`VALUE_BYTES` per value (rows counted by line ends, fields by the first line's
    commas). More than ``limit`` is :func:`too_large` (65), found while the bytes arrive: a 364 KB ``.zst``
    of 4 GB of short rows is refused after unpacking a fraction of it, never held whole."""

    def __init__(self, name: str, limit: int) -> None:
        self.name, self.limit = name, limit
        self.buffer = io.BytesIO()
        self.lines = 0
        self.fields: int | None = None
        self.bound = LineBound(name)

    def add(self, piece: bytes) -> None:
        self.buffer.write(piece)
        self.lines += piece.count(b"\n")
        if self.fields is None and self.lines:
            self.fields = first_fields(self.buffer.getbuffer()[: LINE_LIMIT + 1].tobytes())
        line_start = self.bound.feed(piece)  # 23 GB of zeros, or one 400 MB field: never a table
        if line_start is not None:
            raise self.bound.refuse(line_start, _count_line_ends(self.buffer.getbuffer(), line_start))
        self.check(self.buffer.tell())

    def check(self, size: int) -> None:
        room = size + self.lines * (self.fields or 1) * VALUE_BYTES
        if room > self.limit:
            raise too_large(
                self.name,
                f"the data would need more than the {size_text(self.limit)} of memory there is room for "
                f"({size_text(size)} and {self.lines:,} lines read so far): {UNPACK_ADVICE}",
            )

    def value(self) -> bytes:
        return self.buffer.getvalue()


class LineBound:
    """Every line of a table is at most ``limit`` (:data:`LINE_LIMIT`) bytes: a 400 MB field is refused (65)
    naming its line, before a reader tries to hold it (a Rust panic under ``ulimit -v``, or a read that ignores
    SIGTERM). Bytes are fed in order; each window of ``limit`` bytes is looked at twice, for its first and its
    last line end (``find``/``rfind``, which stop at the first they meet), so a long file costs a few
    microseconds a megabyte and is not read through: a line longer than ``limit`` either holds a whole window
    with no line end or crosses from one window's last line end to a later window's first."""

    def __init__(self, name: str, limit: int | None = None) -> None:
        self.name = name
        self.limit = LINE_LIMIT if limit is None else limit
        self.seen = 0  # bytes fed so far
        self.line_start = 0  # where the line still open at ``seen`` starts

    def feed(self, data: Any, start: int = 0, end: int | None = None) -> int | None:
        """Look at ``data[start:end]`` (bytes or an ``mmap``, the next bytes of the table); the offset in the
        table at which a line longer than the limit starts, or None."""
        end = len(data) if end is None else end
        base = self.seen - start  # table offset of data[0]
        position = start
        while position < end:
            stop = min(position + self.limit, end)
            first = data.find(b"\n", position, stop)
            if first == -1:
                if base + stop - self.line_start > self.limit:
                    return self.line_start
            else:
                if base + first - self.line_start > self.limit:
                    return self.line_start
                self.line_start = base + data.rfind(b"\n", first, stop) + 1
            position = stop
        self.seen = base + end
        return None

    def refuse(self, line_start: int, lines_before: int, fmt: str = "csv") -> DataError:
        """:func:`too_large` naming the line that starts at ``line_start``, after ``lines_before`` line ends."""
        line = lines_before + 1
        what = "the header (line 1)" if line == 1 and fmt == "csv" else f"line {line:,} (from byte {line_start:,})"
        return too_large(
            self.name,
            f"{what} is longer than {size_text(self.limit)}: no record of a table is "
            "that long; check the file (a field or a quote left open?)",
        )


def check_line_lengths(data: Any, name: str, fmt: str, limit: int | None = None) -> None:
    """:class:`LineBound` over a whole table in memory or mapped (``bytes``, ``mmap``): a line longer than the
    limit is :func:`too_large` (65) naming the file and the line. CSV and NDJSON only (Parquet has no lines)."""
    if fmt not in ("csv", "ndjson"):
        return
    bound = LineBound(name, limit)
    line_start = bound.feed(data)
    if line_start is not None:
        raise bound.refuse(line_start, _count_line_ends(data, line_start), fmt)


def _count_line_ends(data: Any, end: int) -> int:
    """The ``\\n`` in ``data[:end]``, counted a window at a time (``data`` may be an ``mmap`` of gigabytes)."""
    return sum(bytes(data[start : min(start + CHUNK * 16, end)]).count(b"\n") for start in range(0, end, CHUNK * 16))


def check_file_line_lengths(path: str, name: str, fmt: str, limit: int | None = None) -> None:
    """:func:`check_line_lengths` over a plain file, mapped rather than read (only the pages around line ends the
    look stops at are touched); an empty file or one that cannot be mapped is left to the reader."""
    import mmap

    if fmt not in ("csv", "ndjson"):
        return
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            check_line_lengths(mapped, name, fmt, limit)
    except (OSError, ValueError):  # empty (mmap refuses length 0), or not mappable: the reader reports it
        return


def first_fields(head: bytes) -> int:
    """The fields of a table's first line, as its delimiters tell (a CSV header, by the most frequent of
    :data:`DELIMITERS`; an NDJSON record's keys, by its commas, near enough)."""
    line = head.split(b"\n", 1)[0]
    return max(line.count(delimiter.encode()) for delimiter in DELIMITERS) + 1


def unpack(data: bytes, name: str, limit: int | None = None) -> bytes:
    """The bytes of a table read whole (a stream, a ``.gz``/``.zst`` file), gzip or zstd unpacked (several
    members or frames one after another), checked by :class:`Intake` against ``limit`` (:func:`memory_budget`)
    as they come. Damaged or cut-short compressed data is invalid data naming the file."""
    intake = Intake(name, memory_budget() if limit is None else limit)
    kind = sniff_compression(data)
    if kind is None:
        intake.lines, intake.fields = data.count(b"\n"), first_fields(data[: LINE_LIMIT + 1])
        intake.check(len(data))
        return data
    try:
        if kind == "gzip":
            _gunzip(data, intake.add)
        else:
            _unzstd(data, intake.add)
    except (zlib.error, EOFError, ValueError) as error:
        raise single_problem(name, None, "unreadable file", f"the {kind} data is damaged: {error}") from None
    return intake.value()


def _gunzip(data: bytes, add: Callable[[bytes], None]) -> None:
    pending = data
    while pending:
        decoder = zlib.decompressobj(wbits=31)
        while True:
            piece = decoder.decompress(pending, CHUNK)
            add(piece)
            pending = decoder.unconsumed_tail
            if decoder.eof or (not pending and not piece):
                break
        if not decoder.eof:
            raise EOFError("it ends before the end of the compressed data (cut short?)")
        pending = decoder.unused_data
        if not pending.strip(b"\0"):  # padding after the last member, as gzip itself allows
            return
        if not pending.startswith(b"\x1f\x8b"):
            raise ValueError("bytes after the compressed data are not gzip")


def _unzstd(data: bytes, add: Callable[[bytes], None]) -> None:
    import zstandard

    step = 4096  # of input at a time: a zstd block of one repeated byte unpacks 128 KiB from 4 bytes
    position = 0
    try:
        while position < len(data):  # frame after frame
            decoder = zstandard.ZstdDecompressor().decompressobj()
            while position < len(data) and not decoder.eof:
                chunk = data[position : position + step]
                position += len(chunk)
                add(decoder.decompress(chunk))
            if not decoder.eof:
                raise EOFError("it ends before the end of the compressed data (cut short?)")
            position -= len(decoder.unused_data)  # the next frame starts in the last chunk fed
    except zstandard.ZstdError as error:
        raise ValueError(str(error)) from None


# byte-order marks of the Unicode encodings other than UTF-8 (UTF-32's before UTF-16's, which begin them)
BOMS = {
    b"\xff\xfe\x00\x00": "utf-32-le",
    b"\x00\x00\xfe\xff": "utf-32-be",
    b"\xff\xfe": "utf-16-le",
    b"\xfe\xff": "utf-16-be",
}


def unicode_bom(head: bytes) -> str | None:
    """The encoding whose byte-order mark ``head`` starts with (``utf-16-le``...), None for any other start."""
    return next((encoding for mark, encoding in BOMS.items() if head.startswith(mark)), None)


def utf8_text(data: bytes, name: str) -> bytes:
    """A table's bytes as UTF-8: a UTF-16 or UTF-32 file (as a spreadsheet's "Unicode text" saves it) is known by
    its byte-order mark and read in its encoding, where it was taken for UTF-8 and its every column reported
    missing. Bytes that do not fit the encoding the mark names are invalid data naming the offset."""
    encoding = unicode_bom(data)
    if encoding is None:
        return data
    label = encoding.upper().replace("-LE", "").replace("-BE", "")
    try:
        return data.decode(encoding).removeprefix("\ufeff").encode("utf-8")
    except UnicodeDecodeError as error:
        raise single_problem(
            name,
            None,
            "encoding",
            f"the file starts with a {label} byte-order mark, but its bytes {error.start} to {error.end} are not "
            f"{label}; save the file as UTF-8 (e.g. iconv -f {label} -t UTF-8)",
        ) from None


def transcoded(chunks: Iterable[bytes], encoding: str, name: str, limit: int | None = None) -> bytes:
    """A table's bytes in ``encoding`` (``cp1252``, ``utf-16``), as UTF-8, decoded as they come and checked
    by :class:`Intake` against ``limit`` (:func:`memory_budget`): the UTF-8 text is held in memory whole,
    so a file that would not fit is refused (65) rather than the process killed. A byte that is not in
    ``encoding`` is invalid data naming its line and byte offset."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    intake = Intake(name, memory_budget() if limit is None else limit)
    offset = 0  # bytes of the input fed to the decoder before this chunk
    first = True
    watch = Utf8Watch()
    try:
        for chunk in chunks:
            watch.add(chunk, offset)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                raise _not_in_encoding(name, encoding, error, offset - pending, intake.lines) from None
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            intake.add(text.encode("utf-8"))
            offset += len(chunk)
        try:
            intake.add(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError as error:
            raise _not_in_encoding(name, encoding, error, offset - len(error.object), intake.lines) from None
        if watch.is_utf8() and watch.non_ascii is not None:
            byte, line = watch.non_ascii
            raise single_problem(
                name,
                None,
                "encoding",
                f"{_where(line)}: the file is UTF-8 (byte {byte:,} starts a UTF-8 character, as every byte "
                f"outside ASCII does), not {encoding}: read as {encoding}, its text would be garbled ('Ó' read "
                f"as 'Ã“'); drop --encoding (it applies to both files: if the other is {encoding}, convert it, "
                f"iconv -f {encoding} -t utf-8)",
                row=line - 1 if line > 1 else None,
            )
    except UnicodeError as error:  # not a byte at fault: e.g. UTF-16 with no byte-order mark to tell its order
        raise single_problem(
            name,
            None,
            "encoding",
            f"cannot read it as {encoding}: {error}; give the file's encoding with "
            "--encoding (for UTF-16 without a byte-order mark, utf-16-le or utf-16-be)",
        ) from None
    return intake.value()


class Utf8Watch:
    """Whether bytes fed chunk by chunk are all UTF-8, and where (byte offset, line) the first byte outside
    ASCII is: a UTF-8 file with such a byte given as ``--encoding cp1252`` would be read without an error
    and its names garbled ("Ã“" for "Ó"), so it is refused instead (:func:`transcoded`)."""

    def __init__(self) -> None:
        self.decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
        self.non_ascii: tuple[int, int] | None = None  # (byte offset, line) of the first byte >= 0x80
        self.lines = 0

    def add(self, chunk: bytes, offset: int) -> None:
        if self.decoder is None:
            return
        try:
            self.decoder.decode(chunk)
        except UnicodeDecodeError:
            self.decoder = None  # not UTF-8: nothing more to watch
            return
        if self.non_ascii is None:
            found = NON_ASCII.search(chunk)
            if found is not None:
                self.non_ascii = (offset + found.start(), self.lines + chunk.count(b"\n", 0, found.start()) + 1)
            self.lines += chunk.count(b"\n")

    def is_utf8(self) -> bool:
        if self.decoder is None:
            return False
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        return True


NON_ASCII = re.compile(rb"[\x80-\xff]")


def _not_in_encoding(name: str, encoding: str, error: UnicodeDecodeError, start: int, lines: int) -> DataError:
    """``encoding`` naming the line and byte offset (from 0) of a byte that ``encoding`` has no character for."""
    before = bytes(error.object[: error.start]).decode(encoding, errors="replace")
    line = lines + before.count("\n") + 1
    bad = bytes(error.object[error.start : error.end])
    return single_problem(
        name,
        None,
        "encoding",
        f"{_where(line)}: the bytes {bad!r} at byte {start + error.start:,} are not {encoding}; give the file's "
        "encoding with --encoding (e.g. utf-8, cp1252, latin-1, utf-16)",
        row=line - 1 if line > 1 else None,
    )


def file_chunks(path: str) -> Iterator[bytes]:
    """A file's bytes, :data:`CHUNK` at a time."""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def as_utf8(data: bytes, source: TableSource) -> bytes:
    """A table read whole, as UTF-8: in ``source.encoding`` when given, else UTF-8 or the encoding its
    byte-order mark names (:func:`utf8_text`)."""
    if source.encoding:
        return transcoded((data[i : i + CHUNK] for i in range(0, len(data), CHUNK)), source.encoding, source.name)
    return utf8_text(data, source.name)


PARQUET_MAGIC = b"PAR1"


def refuse_parquet_as_text(source: TableSource, head: bytes, fmt: str) -> None:
    """A Parquet file (it starts with ``PAR1``) read as CSV or NDJSON is refused in one line (exit 2) saying what
    to type, where its bytes were once printed as thousands of bad values."""
    if fmt in ("csv", "ndjson") and head.startswith(PARQUET_MAGIC):
        if is_stream(source.path):
            advice = "Parquet cannot be read from a pipe (its index is at the end of the file); give the file's path"
        elif extension_format(source.path) is None:
            advice = "give it with --input-format parquet, or name it .parquet"
        else:
            advice = "name it .parquet"
        raise UsageError(f"{source.name}: is a Parquet file (it starts with PAR1), not {fmt.upper()}; {advice}")


def check_first_line(name: str, head: bytes, fmt: str) -> None:
    """A table's first line (a CSV header, an NDJSON record) is at most :data:`LINE_LIMIT` bytes: a file of one
    2 GB line is refused (65) from its first megabyte, before a reader tries to hold it."""
    if fmt in ("csv", "ndjson") and len(head) > LINE_LIMIT and b"\n" not in head[: LINE_LIMIT + 1]:
        what = "the header (line 1)" if fmt == "csv" else "line 1"
        raise too_large(
            name, f"{what} is longer than {size_text(LINE_LIMIT)}: this is not a table of records; check the file"
        )


def sniff_compression(data: bytes) -> str | None:
    return next((kind for magic, kind in MAGIC.items() if data.startswith(magic)), None)


def sniff_format(data: bytes) -> str:
    """A stream's format from its first bytes: ``PAR1`` is Parquet, ``{`` NDJSON, anything else CSV.

    gzip is looked into; zstd is not (the standard library has no decoder; polars decodes it while reading),
    so a zstd stream is CSV unless ``--input-format`` says otherwise.
    """
    if sniff_compression(data) == "gzip":
        try:
            data = zlib.decompressobj(wbits=31).decompress(data[:65536], 4096)
        except zlib.error:
            return "csv"  # the reader reports the damage
    if data.startswith(b"PAR1"):
        return "parquet"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "ndjson" if head.startswith(b"{") else "csv"


def read_table(source: TableSource, *, lazy: bool = False, stdin: io.BufferedIOBase | None = None) -> pl.LazyFrame:
    """Read one input table, renamed to canonical columns (:func:`open_table`, without how it was read)."""
    return open_table(source, lazy=lazy, stdin=stdin)[0]


def open_table(
    source: TableSource, *, lazy: bool = False, stdin: io.BufferedIOBase | None = None
) -> tuple[pl.LazyFrame, TableSource]:
    """Read one input table, renamed to canonical columns; with the source as read (its format, and a CSV
    file's delimiter and encoding, as given or found: :func:`read_as` describes them).

    ``lazy=False`` reads the whole file into memory (the fastest path for repeated passes: validation and
    the measure then share one read); ``lazy=True`` returns a scan for the streaming engine. A plain UTF-8
    file is read (or scanned) by polars from its path; a stream (``-``, a FIFO, a character device), a
    ``.gz`` or ``.zst`` file and a file in another encoding (``source.encoding``, or a UTF-16 byte-order
    mark) are read whole into memory first, as UTF-8, and a stream's format is ``--input-format`` or sniffed.
    Parquet cannot come from a stream: its index is at the end of the file (a usage error, exit 2).
    """
    data: bytes | None = None
    bom: str | None = None  # the encoding a byte-order mark named
    if is_stream(source.path):
        raw = unpack(read_stream(source.path, "table", stdin), source.name)
        bom = unicode_bom(raw)
        data = as_utf8(raw, source)
        fmt = detect_format(source.path, source.input_format) if source.input_format else sniff_format(data)
        refuse_parquet_as_text(source, data, fmt)
        if fmt == "parquet":
            raise UsageError(
                f"{source.name}: Parquet cannot be read from standard input or a pipe (its index is at the end "
                "of the file); give the file's path"
            )
        head = data[: LINE_LIMIT + 1]
    else:
        check_input_file(source.path)
        fmt = detect_format(source.path, source.input_format)
        head = b""
        if compression_of(source.path):
            if fmt == "parquet":
                raise UsageError(f"{source.name}: Parquet compresses inside the file; give it without .gz/.zst")
            raw = unpack(Path(source.path).read_bytes(), source.name)
            refuse_parquet_as_text(source, raw[:4], fmt)  # a gzipped Parquet file named .csv.gz: one line
            bom = unicode_bom(raw)
            data = as_utf8(raw, source)
            head = data[: LINE_LIMIT + 1]
        elif fmt != "parquet":
            with open(source.path, "rb") as handle:
                head = handle.read(LINE_LIMIT + 1)
            refuse_parquet_as_text(source, head, fmt)
            if source.encoding:  # cp1252, latin-1...: transcoded to UTF-8 in memory
                data = transcoded(file_chunks(source.path), source.encoding, source.name)
            elif bom := unicode_bom(head):  # UTF-16 or UTF-32: read whole, as UTF-8
                data = utf8_text(unpack(Path(source.path).read_bytes(), source.name), source.name)
            else:
                check_first_line(source.name, head, fmt)
                check_file_line_lengths(source.path, source.name, fmt)
            if data is not None:
                head = data[: LINE_LIMIT + 1]
    if data is not None:
        check_first_line(source.name, head, fmt)
        check_line_lengths(data, source.name, fmt)
    chosen = csv_delimiter(source, head) if fmt == "csv" else None
    source = replace(
        source,
        input_format=fmt,
        delimiter=chosen,
        encoding=source.encoding or bom,
    )
    text_overrides = {renames_inverse(name, source.column_map): pl.String for name in TEXT_COLUMNS}
    try:
        frame = _scan(source, fmt, text_overrides, lazy, data)
        schema = frame.collect_schema()
    except pl.exceptions.NoDataError:
        raise single_problem(source.name, None, "empty file", "the file is empty: it has no header row") from None
    except pl.exceptions.DuplicateError as error:  # a Parquet schema naming a column twice
        found = re.search(r"name '(.*)' has more than one", str(error))
        name = found.group(1) if found else None
        what = f"the column {name!r}" if name is not None else "a column"
        raise single_problem(source.name, name, "duplicate-column", f"the schema names {what} more than once") from None
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, OSError) as error:
        raise read_failure(source, fmt, data, error) from None
    if fmt == "csv" and chosen != sniff_delimiter(head):  # given, or tab for .tsv: sniffing leaves none over
        check_one_column_header(source, schema.names())
    if fmt == "ndjson":
        repeated = ndjson_repeated_key(source, data)
        if repeated is not None:
            raise repeated
    duplicated = duplicate_columns(schema.names())
    if duplicated:
        raise DataError(
            pl.DataFrame(
                [
                    problem_row(
                        source.name, name, "duplicate-column", f"the header names the column {name!r} {count} times"
                    )
                    for name, count in duplicated.items()
                ],
                schema=PROBLEM_SCHEMA,
            ),
            {"duplicate-column": len(duplicated)},
        )
    return canonical_columns(frame, schema.names(), source.name, source.column_map), source


def canonical_columns(
    frame: pl.LazyFrame, names: list[str], table_name: str, column_map: Mapping[str, str]
) -> pl.LazyFrame:
    """``frame`` (a file as read, or a data frame given to the Python API) with its columns renamed to the
    canonical names by ``column_map`` (``--map``; canonical -> extract), and working columns (a leading
    ``_``, :data:`RESERVED_PREFIX`) dropped: the same for a file and a frame (docs/data.md)."""
    renames = {extract: canonical for canonical, extract in column_map.items() if extract != canonical}
    present = {old: new for old, new in renames.items() if old in names}
    clashes = [new for old, new in present.items() if new in names]
    if clashes:
        raise UsageError(f"{table_name}: --map renames onto {', '.join(clashes)}, which the file already has")
    if present:
        frame = frame.rename(present)
    reserved = [name for name in names if present.get(name, name).startswith(RESERVED_PREFIX)]
    return frame.drop([present.get(name, name) for name in reserved]) if reserved else frame


def check_one_column_header(source: TableSource, names: list[str]) -> None:
    """A CSV header read as one column that holds another delimiter (``--delimiter ,`` on a ``;``-separated
    file) is a usage error saying which delimiter to give, where every required column was reported missing
    with ``--map`` advice."""
    if len(names) != 1 or not source.delimiter:
        return
    other = sniff_delimiter(names[0].encode("utf-8"))
    if other != source.delimiter and other.encode() in names[0].encode("utf-8"):
        shown = "\\t" if other == "\t" else other
        raise UsageError(
            f"{source.name}: the header is one column read with the delimiter {delimiter_text(source.delimiter)}, "
            f"and it looks {delimiter_text(other)}-separated: use --delimiter '{shown}'"
        )


# Working columns (the release key, the input order, raw copies of dates...) are named with a leading
# underscore; an input column so named is not read, so it can never collide with one (docs/data.md).
RESERVED_PREFIX = "_"
RESERVED_HINT = (
    "column names starting with '_' are reserved for reoffend's working columns and are not read from the "
    "inputs: rename the column in the file"
)


def read_failure(source: TableSource, fmt: str, data: bytes | None, error: BaseException) -> Exception:
    """What a reader's failure on ``source`` is reported as: a problem naming the row where one is found
    (:func:`located_problem`), else the file as unreadable; an operating-system error on a named file is
    an input-file error (exit 66). Also used for a CSV file scanned while validation types it."""
    if isinstance(error, OSError) and not isinstance(error, pl.exceptions.PolarsError) and data is None:
        return InputFileError(f"{source.name}: cannot read: {error}")
    return located_problem(source, fmt, data, error) or single_problem(
        source.name, None, "unreadable file", f"cannot read as {fmt}: {first_line(error)}"
    )


DUPLICATED = re.compile(r"^(?P<name>.*)_duplicated_\d+$")


def duplicate_columns(names: Iterable[str]) -> dict[str, int]:
    """Header names given more than once, with how often (polars renames the repeats ``NAME_duplicated_N``)."""
    names = list(names)
    counts: dict[str, int] = {}
    for name in names:
        match = DUPLICATED.match(name)
        if match and match["name"] in names:
            counts[match["name"]] = counts.get(match["name"], 1) + 1
    return counts


def located_problem(
    source: TableSource, fmt: str, data: bytes | None, error: BaseException | None = None
) -> DataError | None:
    """The row (or line) a CSV or NDJSON reader failed on, as a problem naming it; None if not found.

    Run only after the fast reader has failed: the bytes are read again here and parsed by the standard
    library, which says where. CSV: bytes that are not UTF-8 (with a hint), a quote never closed, more fields
    than the header, a value of another type than the column's first 10,000 rows (``error`` is the reader's).
    NDJSON: the first line that is not a JSON object. Rows are 1-based below the header.
    """
    if fmt not in ("csv", "ndjson"):
        return None
    try:
        raw = data if data is not None else Path(source.path).read_bytes()
        if sniff_compression(raw) == "gzip":
            raw = gzip.decompress(raw)
        elif sniff_compression(raw) is not None:
            return None
    except (OSError, EOFError, zlib.error):
        return None
    if fmt == "ndjson":
        return _ndjson_problem(source.name, raw)
    delimiter = source.delimiter or ","
    return _csv_problem(source.name, raw, delimiter) or _csv_type_problem(source.name, raw, error, delimiter)


# polars' message when a value does not fit the type it inferred from a column's first rows
UNPARSED = re.compile(
    r"could not parse `(?P<value>.*?)` as dtype `(?P<dtype>\w+)` "
    r"at column '(?P<column>.*?)' \(column number (?P<number>\d+)\)"
)
TYPE_WORDS = {"i64": "a whole number", "i32": "a whole number", "f64": "a number", "bool": "true or false"}


def _csv_type_problem(name: str, raw: bytes, error: BaseException | None, delimiter: str = ",") -> DataError | None:
    """``column-type`` naming the row of a value that does not fit the type polars read from the column's first
    10,000 rows (``abc`` in an ``age`` column of numbers): the reader stops there and says no row."""
    found = UNPARSED.search(str(error)) if error is not None else None
    if found is None:
        return None
    value, column, position = found["value"], found["column"], int(found["number"]) - 1
    kind = TYPE_WORDS.get(found["dtype"], f"of type {found['dtype']}")
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig", errors="replace"), newline=""), delimiter=delimiter)
    next(reader, None)
    row, line = None, None
    for number, record in enumerate(reader, start=1):
        if len(record) > position and record[position] == value:
            row, line = number, reader.line_num
            break
    where = f"line {line}: " if line is not None else ""
    return single_problem(
        name,
        column,
        "column-type",
        f"{where}{value!r} is not {kind} like the column's first 10,000 rows (a CSV column's type is read from "
        "them): a column holds one type throughout",
        row=row,
        value=cut_value(value),
    )


def _csv_problem(name: str, raw: bytes, delimiter: str = ",") -> DataError | None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        prefix = raw[: error.start].decode("utf-8-sig", errors="replace")
        line = prefix.count("\n") + 1
        bad = raw[error.start : error.start + 4]
        return single_problem(
            name,
            None,
            "encoding",
            f"{_where(line)}: the bytes {bad!r} at byte {error.start:,} are {ENCODING_HINT} "
            "(or save the file as UTF-8: iconv -f cp1252 -t utf-8, or 'CSV UTF-8' in a spreadsheet)",
            row=line - 1 if line > 1 else None,  # the header is no row (rows are 1-based below it)
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    header: list[str] | None = None
    records = 0
    start = 1
    try:
        for record in reader:
            if header is None:
                header = record
            elif len(record) > len(header):
                extra = ",".join(record[len(header) :])
                return single_problem(
                    name,
                    None,
                    "too many fields",
                    f"line {start}: {len(record)} fields where the header has {len(header)}",
                    row=records,
                    value=cut_value(extra),
                )
            records += 1
            start = reader.line_num + 1
    except csv.Error as error:
        what = "a quote opened here is never closed" if "end of data" in str(error) else f"bad quoting: {error}"
        return single_problem(name, None, "bad quoting", f"{_where(start)}: {what}", row=records or None)
    return None


def _where(line: int) -> str:
    """``line 6``, or ``header (line 1)``: the header line is not a data row, so it is never called row 0."""
    return "header (line 1)" if line == 1 else f"line {line}"


def _ndjson_problem(name: str, raw: bytes) -> DataError | None:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            return single_problem(
                name,
                None,
                "bad json",
                f"line {number}, character {error.colno}: not valid JSON ({error.msg})",
                row=number,
                value=cut_value(line.decode("utf-8", "replace")),
            )
        except ValueError as error:  # not UTF-8
            return single_problem(name, None, "bad json", f"line {number}: {error}", row=number)
        except RecursionError:  # 100,000 nested [ (polars refuses it too: DepthLimitExceeded)
            return single_problem(
                name, None, "bad json", f"line {number}: not valid JSON (nested too deeply)", row=number
            )
        if not isinstance(value, dict):
            return single_problem(name, None, "bad json", f"line {number}: not a JSON object", row=number)
    return None


CSV_CHUNK_VARIABLE = "POLARS_CSV_CHUNK_SIZE"  # set by reoffend/cli/allocator.py unless the user set it


def check_csv_chunk() -> None:
    """A usage error naming ``POLARS_CSV_CHUNK_SIZE`` when polars could not take its value; called before each
    CSV read. polars parses it as a machine word at every CSV scan and panics on anything else (text, 0, a
    number past 2**64 - 1), which would end the run as an internal error; a command that reads no CSV (Parquet
    inputs, ``--version``) never asks."""
    value = os.environ.get(CSV_CHUNK_VARIABLE)
    if value is None:
        return
    digits = value.removeprefix("+")  # as polars' parse (Rust's usize) takes it
    if digits.isascii() and digits.isdigit() and 0 < int(digits) <= 2 * sys.maxsize + 1:
        return
    raise UsageError(
        f"the environment variable {CSV_CHUNK_VARIABLE} is {value!r}: polars reads CSV in chunks of that many bytes "
        "and needs a positive whole number (reoffend sets 4194304 when it is not set); correct it or unset it"
    )


JSON_KEY = r'"(?:[^"\\]|\\.)*"\s*:'  # a JSON string followed by a colon: an object's key (the records are flat)


def ndjson_repeated_key(source: TableSource, data: bytes | None) -> DataError | None:
    """``duplicate-column`` naming the first NDJSON record that gives a key twice (``{"offender_id": "A", ...,
    "offender_id": "Z"}``), whose reader would keep one of the values without a word; None when none does.

    Every line is looked at, by a regular expression polars runs over the lines (about a second for millions):
    a JSON string is read whole (an escaped quote does not end it), so only keys are counted."""
    options: dict[str, Any] = {
        "has_header": False, "separator": "\x1f", "quote_char": None, "new_columns": ["line"],
        "infer_schema": False, "truncate_ragged_lines": True,
    }  # fmt: skip
    check_csv_chunk()
    lines = pl.read_csv(io.BytesIO(data), **options).lazy() if data is not None else pl.scan_csv(source.path, **options)
    keys = pl.col("keys")
    found = lines.select(pl.col("line").str.extract_all(JSON_KEY).alias("keys"))
    # a key written with an escape ("offender\u005fid") is the same key as "offender_id" once decoded: such
    # lines are decoded here one by one (an extract's keys have no escapes, so this is rare and few)
    escaped = keys.list.eval(pl.element().str.contains("\\", literal=True)).list.any()
    found = found.filter((keys.list.len() != keys.list.unique().list.len()) | escaped)
    try:
        candidates = found.collect()
    except (pl.exceptions.PolarsError, OSError):
        return None  # the reader has read the file: whatever this look cannot, it leaves to validation
    names = next((names for raw in candidates["keys"] if _repeats(names := _json_keys(raw))), None)
    if names is None:
        return None
    name = next(n for i, n in enumerate(names) if n in names[:i])
    raw = data if data is not None else Path(source.path).read_bytes()
    line = next((n for n, text in enumerate(raw.splitlines(), start=1) if _repeats(_json_keys(text))), None)
    where = f"line {line}: " if line is not None else ""
    return single_problem(
        source.name,
        name,
        "duplicate-column",
        f"{where}the record gives the key {name!r} twice; a reader keeps only one of its values",
        row=line,
    )


def _json_keys(found: Iterable[str] | bytes) -> list[str]:
    """The keys of an NDJSON line (bytes), or of the keys :data:`JSON_KEY` found in one, as text."""
    if isinstance(found, bytes):
        found = re.findall(JSON_KEY, found.decode("utf-8", "replace"))
    keys = []
    for key in found:
        try:
            keys.append(str(json.loads(key.rstrip().rstrip(":").rstrip())))
        except ValueError:
            keys.append(key)
    return keys


def _repeats(names: list[str]) -> bool:
    return len(names) != len(set(names))


def renames_inverse(canonical: str, column_map: Mapping[str, str]) -> str:
    return column_map.get(canonical, canonical)


def _scan(source: TableSource, fmt: str, text_overrides: dict, lazy: bool, data: bytes | None) -> pl.LazyFrame:
    """Polars reads a plain file by its path (scanned when ``lazy``); ``data`` is a stream's, a compressed
    file's or a transcoded file's bytes, read from memory. A CSV file is split at ``source.delimiter``."""
    if fmt == "csv":
        check_csv_chunk()
        options: dict[str, Any] = {"schema_overrides": text_overrides, "infer_schema_length": 10_000}
        if source.delimiter and source.delimiter != ",":
            options["separator"] = source.delimiter
        if data is not None:
            if not data.strip():
                raise pl.exceptions.NoDataError("empty CSV")
            return pl.read_csv(io.BytesIO(data), **options).lazy()
        if lazy:
            return pl.scan_csv(source.path, **options)
        return pl.read_csv(source.path, **options).lazy()
    if fmt == "parquet":
        return pl.scan_parquet(source.path) if lazy else pl.read_parquet(source.path).lazy()
    if data is not None:
        if not data.strip():
            raise pl.exceptions.NoDataError("empty NDJSON")
        return pl.read_ndjson(io.BytesIO(data), infer_schema_length=10_000).lazy()
    if lazy:
        return pl.scan_ndjson(source.path, infer_schema_length=10_000)
    return pl.read_ndjson(source.path, infer_schema_length=10_000).lazy()


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_text_file(path: str, what: str = "file") -> str:
    """The text of a small input file (a list, a config, a schedule); a missing or unreadable one is exit 66.

    ``-`` is standard input, which only one input of a run can be (:func:`claim_stdin`).
    """
    advice = "far more than such a file holds; check the file"
    if path == STDIN:
        claim_stdin(what)
        try:
            return read_bounded(sys.stdin.buffer, LIST_LIMIT, "<stdin>", f"the {what}", advice).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InputFileError(f"<stdin>: cannot read the {what}: {error}") from None
    try:
        with open(path, "rb") as handle:
            return read_bounded(handle, LIST_LIMIT, path, f"the {what}", advice).decode("utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path}: cannot read the {what}: {getattr(error, 'strerror', None) or error}") from None


def small_file_bytes(path: str | os.PathLike, limit: int = LIST_LIMIT) -> bytes:
    """The bytes of a small marker file a folder holds (a bulletin's ``manifest.json``, synth's ``meta.json``):
    a regular file of at most ``limit`` bytes, checked before it is opened, so a FIFO never blocks the run, a link
    to ``/dev/zero`` never fills the memory and a 3 GB sparse file is refused at once. ``ValueError`` (saying
    why) otherwise; ``OSError`` as reading raises it."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file")
    if info.st_size > limit:
        raise ValueError(f"larger than {limit:,} bytes")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew while read
        raise ValueError(f"larger than {limit:,} bytes")
    return data


LIST_COMMENT = re.compile(r"(?:^|\s)#.*")  # a # at the start of a line or after a space: a code may hold one


def read_list_lines(path: str, what: str = "list file") -> list[str]:
    """One value per line, in file order; blank lines and ``#`` comments skipped (offence codes, ids). A comment
    starts at a ``#`` that begins the line or follows a space (``BREACH  # recall``); a ``#`` inside a value
    (``ABC#1``) is part of it, where it cut the code to ``ABC``."""
    lines = (LIST_COMMENT.sub("", line).strip() for line in read_text_file(path, what).splitlines())
    return [line for line in lines if line]


def read_code_list(path: str) -> frozenset[str]:
    """A set of offence codes, one per line (``--exclude-offences``)."""
    return frozenset(read_list_lines(path, "offence code list"))


def read_toml(path: str, what: str = "config file") -> tuple[dict, str]:
    """A TOML file's data and its text (for line numbers in messages); invalid TOML is a usage error."""
    text = read_text_file(path, what)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:  # a 2 KB file of 1,000 nested [[[ ... ]]]: a sentence, not an internal error
        raise UsageError(
            f"{path}: {what} nested too deeply (arrays or tables within each other); no key needs that"
        ) from None


# --------------------------------------------------------------------------------------------- writing
STDOUT = "-"
WRITE_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def is_direct(path: str | os.PathLike) -> bool:
    """Whether ``path`` is written through directly rather than by a rename over it: an existing device, FIFO
    or socket (``/dev/null``, a named pipe), or a link under ``/dev`` or ``/proc`` (``/dev/stdout`` even when
    it leads to a regular file). Renaming a regular file over ``/dev/null`` (as root) would replace the device;
    a new file, even under ``/dev/shm``, is written atomically."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if not stat.S_ISREG(mode):
        return True
    return os.path.abspath(path).startswith(("/dev/", "/proc/")) and os.path.islink(path)


def check_writable(path: str | os.PathLike) -> None:
    """Fail before any work if an output cannot be created (docs/cli.md, "Exit status").

    A folder named as the output file is a usage error (2), and so is a block device; a missing or read-only
    folder is exit 73.
    """
    target = Path(path)
    if is_direct(target):
        with contextlib.suppress(OSError):
            if stat.S_ISBLK(os.stat(target).st_mode):  # a disk or a partition: written through, it is destroyed
                raise UsageError(f"{path}: is a block device (a disk); give a file name")
        if not os.access(target, os.W_OK):
            raise OutputNotCreatable(f"{path}: cannot write to it (permission denied)")
        return
    if target.is_symlink():
        try:
            os.stat(target)
        except OSError as error:
            if error.errno == errno.ELOOP:  # renaming over it would silently replace the link with a file
                raise UsageError(
                    f"{path}: a symbolic link that leads back to itself; point it at a file, or remove it"
                ) from None
    if target.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name")
    parent = Path(os.path.realpath(target)).parent
    if not parent.is_dir():
        raise OutputNotCreatable(f"{path}: cannot create it: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputNotCreatable(f"{path}: cannot create it: the folder {parent} is not writable (permission denied)")


def same_file(one: str | os.PathLike, other: str | os.PathLike) -> bool:
    """Whether two paths name the same file: ``os.path.samefile`` when both exist, else their resolved paths."""
    try:
        return os.path.samefile(one, other)
    except OSError:
        return os.path.realpath(one) == os.path.realpath(other)


def _stdin_file() -> tuple[int, int] | None:
    """(device, inode) of the regular file standard input is redirected from (``< file``), else None."""
    try:
        status = os.fstat(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):  # closed, or replaced (tests)
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISREG(status.st_mode) else None


def check_outputs_distinct(inputs: Mapping[str, str | None], outputs: Mapping[str, str | None]) -> None:
    """Refuse, before any work, an output that names an input or another output (a usage error, exit 2).

    ``inputs`` and ``outputs`` map an option (``RELEASES``, ``-o``, ``--matches``) to its path or None; ``-``
    (standard input or output) and outputs written through directly (``/dev/null``) are never compared.
    """
    readable = {name: path for name, path in inputs.items() if path and path != STDIN}
    written = {name: path for name, path in outputs.items() if path and path != STDOUT and not is_direct(path)}
    for name, path in written.items():
        for input_name, input_path in readable.items():
            if same_file(path, input_path):
                raise UsageError(f"{name} {path} is the input {input_name} ({input_path}); refusing to overwrite it")
    piped = [name for name, path in inputs.items() if path == STDIN]
    redirected = _stdin_file()
    if piped and redirected:  # `reoffend measure - c.csv -o r.csv < r.csv` would replace the file being read
        for name, path in written.items():
            try:
                target = os.stat(path)
            except OSError:
                continue
            if (target.st_dev, target.st_ino) == redirected:
                raise UsageError(
                    f"{name} {path} is the file standard input reads ({piped[0]} is '-'); refusing to overwrite it"
                )
    names = list(written)
    for i, name in enumerate(names):
        for other in names[i + 1 :]:
            if same_file(written[name], written[other]):
                raise UsageError(f"{name} and {other} both name {written[name]}; give each output its own file")


def atomic_write(
    path: str | os.PathLike, write: Callable[[io.BufferedWriter], object], *, private: bool = False
) -> None:
    """Write through ``write(handle)`` into a temporary file beside ``path``, then rename over it.

    A failure at any point removes the temporary file and leaves an earlier ``path`` untouched. ``private``:
    record-level data, created readable by its owner only (:func:`output_mode`).
    """
    atomic_write_many([(path, write, private)])


PRIVATE_MODE = 0o600  # a new record-level output (--per-release, --matches, --errors): its owner's alone


def output_mode(target: Path, private: bool) -> int:
    """The permissions an output gets when renamed into place: an existing file's own (a ``chmod 600`` survives
    a rerun), else owner-only for record-level data, else the usual 0666 less the umask."""
    try:
        existing = os.stat(target)
    except OSError:
        existing = None
    if existing is not None and stat.S_ISREG(existing.st_mode):
        return stat.S_IMODE(existing.st_mode)
    return (PRIVATE_MODE if private else 0o666) & ~_umask()


def atomic_write_many(
    outputs: Iterable[tuple[str | os.PathLike, Callable] | tuple[str | os.PathLike, Callable, bool]],
) -> None:
    """Write every output to its temporary file first; rename only when all have been written.

    A regular file (or a new one) is written beside its target and renamed over it, with SIGINT, SIGTERM and
    SIGHUP held back during the renames; a device or FIFO (:func:`is_direct`) is written through last. A write
    that fails is exit 74 (``writing out.csv: no space left on device``); a temporary file that cannot be
    created, 73. Every temporary file is removed on any failure or signal. An output given as ``(path, write,
    True)`` is record-level data (:func:`output_mode`).
    """
    staged: list[tuple[str, Path, bool]] = []
    direct: list[tuple[str | os.PathLike, Callable]] = []
    try:
        for path, write, *flags in outputs:
            if is_direct(path):
                direct.append((path, write))
                continue
            check_writable(path)
            target = Path(os.path.realpath(path))  # a symbolic link is followed, not replaced
            try:
                handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed after all succeed
                    dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
                )
            except OSError as error:
                raise OutputNotCreatable(f"{path}: cannot create it: {os_reason(error)}") from None
            staged.append((handle.name, target, bool(flags and flags[0])))
            with _write_errors(path), handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
        with held_signals():
            for temporary, target, private in staged:
                os.chmod(temporary, output_mode(target, private))
                os.replace(temporary, target)
                record_written(target)
            staged.clear()
        for path, write in direct:
            with _write_errors(path), open_direct(path) as device:
                write(device)
            record_written(path)
    finally:
        for temporary, _target, _private in staged:
            Path(temporary).unlink(missing_ok=True)


OPEN_STREAM = re.compile(
    r"/dev/(?:(?P<std>stdout|stderr)|fd/(?P<fd>\d+))|/proc/(?P<pid>self|thread-self|\d+)/fd/(?P<pfd>\d+)"
)
STREAM_NUMBERS = {"stdout": 1, "stderr": 2}


def open_stream_number(path: str | os.PathLike) -> int | None:
    """The descriptor of this process that ``path`` names (``/dev/stdout`` 1, ``/dev/stderr`` 2, ``/dev/fd/N``
    and ``/proc/self/fd/N`` N), following the symbolic links that lead to one; None for any other path."""
    current = os.path.abspath(path)
    for _hop in range(40):
        found = OPEN_STREAM.fullmatch(current)
        if found and found["pid"] not in (None, "self", "thread-self", str(os.getpid())):
            return None  # another process's descriptor: not ours to write through
        if found:
            return STREAM_NUMBERS[found["std"]] if found["std"] else int(found["fd"] or found["pfd"])
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return None


def open_direct(path: str | os.PathLike) -> io.BufferedWriter:
    """An output written through (:func:`is_direct`), opened without truncating what it points at.

    A path naming a stream this process already has open (``-o /dev/stdout >> history.csv``, ``--errors
    /dev/stderr 2>> cron.log``) is written through that descriptor, at its position and with its append mode,
    as ``-`` is: opening the path again would truncate the file the shell appended to. Anything else (a
    device, a FIFO) is opened for writing without ``O_TRUNC`` (and appending, should it be a regular file).
    """
    number = open_stream_number(path)
    if number is not None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, OSError, ValueError):
                stream.flush()  # what was printed before comes first
        return os.fdopen(os.dup(number), "wb")
    flags = os.O_WRONLY | os.O_CLOEXEC
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.stat(path).st_mode):
            flags |= os.O_APPEND
    return os.fdopen(os.open(path, flags), "wb")


@contextmanager
def _write_errors(path: str | os.PathLike) -> Iterator[None]:
    """An OS error while writing ``path`` (or polars reporting one) becomes exit 74 with its plain reason.

    A pipe or FIFO whose reader went away (``-o /dev/stdout | head``, ``-o fifo``) is :class:`OutputClosed`,
    exit 141 as for standard output (docs/cli.md, "Exit status"), not a failed write.
    """
    try:
        yield
    except (OSError, pl.exceptions.PolarsError) as error:
        # polars reports a failed write as an OSError or a PolarsError without errno: "... (os error 32)"
        if isinstance(error, BrokenPipeError) or f"(os error {errno.EPIPE})" in first_line(error):
            raise OutputClosed(f"{path}: its reader closed it") from None
        text = os_reason(error) if isinstance(error, OSError) else first_line(error)
        if not isinstance(error, OSError) and "os error" not in text.lower():
            raise
        reason = re.sub(r"\s*\(os error \d+\)", "", text).strip()
        raise OutputWriteError(f"writing {path}: {reason[:1].lower() + reason[1:]}") from None


@contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back for a few renames that must happen together; delivered after.

    Blocking the signals in this thread is not enough: the kernel then delivers one to another thread (polars'
    pool), and Python runs its handler in this thread at the next instruction, mid-renames. So the handlers are
    also replaced by one that only records the signal, which is raised again, to the handler it was meant for,
    once the renames are done (the message then says which outputs were written: :func:`outputs_written`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    handlers = {  # a handler installed outside Python (getsignal None) cannot be put back, so it is left alone
        number: signal.signal(number, lambda number, _frame: arrived.append(number))
        for number in WRITE_SIGNALS
        if signal.getsignal(number) is not None
    }
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, WRITE_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a signal held back arrives now: recorded
        for number, handler in handlers.items():
            signal.signal(number, handler)
        if arrived:
            signal.raise_signal(arrived[0])  # to the handler it was meant for, now that the renames are done


def write_stdout(data: bytes) -> None:
    """Write ``data`` to standard output completely (a short write is continued, not dropped, as can happen
    unbuffered under ``PYTHONUNBUFFERED=1``); a closed pipe is :class:`OutputClosed` (141), any other failure
    exit 74."""
    try:
        sys.stdout.flush()
        try:
            fd = sys.stdout.fileno()
        except (AttributeError, io.UnsupportedOperation):  # a replaced stdout (tests): no descriptor
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        raise OutputClosed("standard output was closed") from None
    except OSError as error:
        raise OutputWriteError(f"writing standard output: {os_reason(error)}") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


WRITE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
GZIP_SUFFIX = ".gz"


def is_gzip_output(path: str | None) -> bool:
    """An output named ``*.gz`` (``m.csv.gz``) is written gzip-compressed (:func:`gzipped`)."""
    return bool(path) and not is_direct(str(path)) and Path(str(path)).suffix.lower() == GZIP_SUFFIX


def output_suffix(path: str, option: str = "-o") -> str:
    """The extension that names an output's format, under any ``.gz`` (``m.csv.gz`` is ``.csv``): exit 2 for
    ``.zst`` (reoffend reads zstd but does not write it) and for a compressed Parquet file (Parquet compresses
    inside the file)."""
    name = Path(path)
    if name.suffix.lower() == ".zst":
        raise UsageError(f"{option} {path}: reoffend writes gzip (.gz), not zstd; name the file .gz")
    if name.suffix.lower() == GZIP_SUFFIX:
        name = name.with_suffix("")
        if name.suffix.lower() in {".parquet", ".pq"}:
            raise UsageError(f"{option} {path}: Parquet compresses inside the file; give it without .gz")
    return name.suffix.lower()


def table_format_for(path: str, option: str = "-o") -> str:
    """The data format of an extra table file from its extension (under any ``.gz``): CSV without one;
    another is exit 2."""
    if path == STDOUT or is_direct(path):
        return "csv"
    suffix = output_suffix(path, option)
    if not suffix:
        return "csv"
    if suffix not in WRITE_SUFFIXES:
        raise UsageError(
            f"{option} {path}: cannot write {suffix!r} files; use .csv, .tsv, .parquet, .ndjson or .jsonl "
            "(optionally .gz)"
        )
    return WRITE_SUFFIXES[suffix]


def gzipped(write: Callable[[io.BufferedWriter], object]) -> Callable[[io.BufferedWriter], None]:
    """``write`` through gzip. The header records no file name and no time (``mtime=0``), so identical input
    gives an identical file, as ``gzip -n`` does."""

    def write_gzip(handle: io.BufferedWriter) -> None:
        with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as packed:
            write(packed)  # type: ignore[arg-type]

    return write_gzip


def by_name(path: str, write: Callable[[io.BufferedWriter], object], option: str = "-o") -> Callable:
    """``write`` as the output's name asks: through gzip for ``*.gz`` (:func:`gzipped`); a name no writer can
    honour (``.zst``, ``.parquet.gz``) is a usage error (:func:`output_suffix`), never a plain file under it."""
    if path == STDOUT or is_direct(path):
        return write
    output_suffix(path, option)
    return gzipped(write) if is_gzip_output(path) else write


PARQUET_ROW_GROUP = 100_000  # rows: a Parquet file's row groups, fixed (see frame_writer)


def frame_writer(frame: pl.DataFrame, fmt: str) -> Callable[[io.BufferedWriter], None]:
    """A writer for :func:`atomic_write` that writes ``frame`` in a data format.

    Parquet is written in row groups of :data:`PARQUET_ROW_GROUP` rows: left to polars, a file's row groups
    followed the frame's chunks in memory, which depend on how its threads happened to split the work, so two
    runs on the same input wrote the same table in different bytes (a 1,000,000-row ``--per-release`` file)."""
    if fmt == "csv":
        return lambda handle: frame.write_csv(handle)
    if fmt == "tsv":
        return lambda handle: frame.write_csv(handle, separator="\t")
    if fmt == "parquet":
        return lambda handle: frame.write_parquet(handle, row_group_size=PARQUET_ROW_GROUP)
    if fmt == "ndjson":
        return lambda handle: frame.write_ndjson(handle)
    raise UsageError(f"cannot write {fmt!r}; use csv, tsv, parquet or ndjson")


__all__ = [
    "DataError",
    "TableSource",
    "atomic_write",
    "atomic_write_many",
    "by_name",
    "check_outputs_distinct",
    "check_writable",
    "detect_format",
    "frame_writer",
    "gzipped",
    "is_gzip_output",
    "output_suffix",
    "read_code_list",
    "read_list_lines",
    "read_table",
    "read_text_file",
    "read_toml",
    "table_format_for",
    "write_stdout",
]


def key_line(text: str, key: str, section: str | None = None) -> int | None:
    """The 1-based line where ``key`` is set (inside ``[section]`` when given), for error messages."""
    in_section = section is None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            name = stripped.strip("[] ").replace('"', "")
            in_section = section is not None and name == section
            continue
        if in_section and pattern.match(line):
            return number
    return None
