"""Offence codes that look like breaches of a licence or an order, which are not new offences.

A breach of licence is a recall, not a proven reoffence, and the measure leaves it out only through
``--exclude-offences`` (design data.md: ``offence_code`` "used by --exclude-offences (e.g. breach of licence,
which is not a new offence)"; docs/measures.md). Forgetting the list silently counts breaches as reoffending,
so ``measure`` warns when it sees codes that look like breaches and no list was given.
"""

from __future__ import annotations

import polars as pl

from .run_warnings import RunWarning

BREACH_PATTERN = r"(?i)^\s*BREACH"


def breach_like_codes(convictions: pl.LazyFrame) -> dict[str, int]:
    """Rows per distinct ``offence_code`` starting with "breach" (any case), sorted by code; {} without the column."""
    if "offence_code" not in convictions.collect_schema().names():
        return {}
    counts = (
        convictions.select("offence_code")
        .filter(pl.col("offence_code").cast(pl.String).str.contains(BREACH_PATTERN))
        .group_by("offence_code")
        .len()
        .sort("offence_code")
        .collect()
    )
    return {str(code): int(count) for code, count in counts.iter_rows()}


def breach_warning(codes: dict[str, int], shown: int = 3) -> RunWarning | None:
    """The warning for ``measure`` without ``--exclude-offences``, or None when no code looks like a breach."""
    if not codes:
        return None
    listed = ", ".join(f"{code} ({count:,})" for code, count in list(codes.items())[:shown])
    more = f" and {len(codes) - shown} more" if len(codes) > shown else ""
    return RunWarning(
        "breach-codes-counted",
        f"{sum(codes.values()):,} conviction row(s) have codes that look like breaches: {listed}{more}; with no "
        "--exclude-offences list they count as proven reoffences. If they are not new offences, give "
        "--exclude-offences FILE (or exclude_offences in the config's [inputs]).",
        subjects=list(codes),
        counts={"rows": sum(codes.values())},
    )
