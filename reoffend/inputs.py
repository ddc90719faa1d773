"""Open and validate the two input tables in one call: what every command that reads records starts with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .io import STDIN, TableSource, compression_of, detect_format, is_stream, read_table
from .validate import CONVICTIONS, RELEASES, Table, ValidatedInputs, validate_inputs


@dataclass(frozen=True)
class InputSpec:
    """Where the records are and how to read them."""

    releases: str
    convictions: str
    column_map: Mapping[str, str] = field(default_factory=dict)
    input_format: str | None = None
    extract_date: dt.date | None = None
    dedupe: bool = False
    streaming: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "releases": self.releases,
            "convictions": self.convictions,
            "column_map": dict(sorted(self.column_map.items())),
            "input_format": self.input_format,
            "extract_date": self.extract_date.isoformat() if self.extract_date else None,
            "dedupe": self.dedupe,
        }


def _scanned(path: str, spec: InputSpec) -> bool:
    """Scan the file at each pass rather than hold it in memory: with --streaming, and always for Parquet.

    Parquet is quick to read again column by column, so each pass (validation, the measure) reads only the
    columns it needs, in parallel with the work, and memory never holds the unused ones (bench/RESULTS.md:
    at 5,000,000 releases this is faster and takes about a quarter less memory than reading it whole).
    """
    if is_stream(path) or compression_of(path):
        return False  # read whole into memory: a stream can be read only once, polars scans no .gz/.zst
    if spec.streaming:
        return True
    return Path(path).is_file() and detect_format(path, spec.input_format) == "parquet"


def load_inputs(spec: InputSpec, extra_required: dict[str, tuple[str, ...]] | None = None) -> ValidatedInputs:
    """Read both tables and validate them (docs/data.md); raises DataError, InputFileError or UsageError."""
    if spec.releases == STDIN and spec.convictions == STDIN:
        raise UsageError(
            "RELEASES and CONVICTIONS cannot both be '-': only one of the two tables can be read from standard "
            "input (give the other as a file, or as a pipe with <(...))"
        )
    lazy_releases, lazy_convictions = _scanned(spec.releases, spec), _scanned(spec.convictions, spec)
    releases = Table(
        TableSource(spec.releases).name,
        RELEASES,
        read_table(TableSource(spec.releases, spec.input_format, spec.column_map), lazy=lazy_releases),
        in_memory=not lazy_releases,
    )
    convictions = Table(
        TableSource(spec.convictions).name,
        CONVICTIONS,
        read_table(TableSource(spec.convictions, spec.input_format, spec.column_map), lazy=lazy_convictions),
        in_memory=not lazy_convictions,
    )
    return validate_inputs(
        releases,
        convictions,
        extract_date=spec.extract_date,
        dedupe=spec.dedupe,
        in_memory=not spec.streaming,
        extra_required=extra_required,
    )
