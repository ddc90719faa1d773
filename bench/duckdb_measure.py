"""The DuckDB reference: docs/measures.md as one hand-written SQL query, run in its own process.

Usage: python bench/duckdb_measure.py RELEASES CONVICTIONS EXCLUDED_OFFENCES_FILE OUTPUT.csv

Implements the default `reoffend measure --by establishment,cohort --exclude-offences FILE`:

* cohort = quarter of release_date, labelled ``2024Q1``;
* index release = each person's earliest release in the cohort (ties: lowest establishment; validation makes
  (offender_id, release_date) unique, so the tie rule never fires on valid data);
* follow_up_end = release_date + 12 calendar months, conviction_deadline = follow_up_end + 6 months; DuckDB's
  ``date + INTERVAL n MONTH`` clamps a missing day to the month's last day (2024-02-29 + 12 months =
  2025-02-28), as measures.md requires (checked in ``check_month_arithmetic`` below, on every run);
* a proven reoffence: same person, release_date <= offence_date < follow_up_end, conviction_date <
  conviction_deadline, offence_code not excluded; a reconviction event is a distinct conviction_date;
* per group: counts, exact ratios, the Wilson score interval (same operation order as
  reoffend/intervals.py; exactly 0 / 1 at no / all reoffenders), mean and median days to the first
  reoffence over reoffenders; sorted by the group columns.

It does no validation and no follow-up completeness check (measure does both, as users run it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from statistics import NormalDist

import duckdb


def source(path: str) -> str:
    quoted = path.replace("'", "''")
    if path.endswith(".parquet"):
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', header = true)"


def read_codes(path: str) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [code for code in (line.split("#", 1)[0].strip() for line in lines) if code]


def check_month_arithmetic(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB must clamp month-end like measures.md: fail loudly if a version ever changes that."""
    got = con.execute(
        "SELECT CAST(DATE '2024-02-29' + INTERVAL 12 MONTH AS DATE), "
        "CAST(DATE '2023-08-31' + INTERVAL 6 MONTH AS DATE), CAST(DATE '2023-01-31' + INTERVAL 1 MONTH AS DATE)"
    ).fetchone()
    expected = ("2025-02-28", "2024-02-29", "2023-02-28")
    if tuple(str(d) for d in got) != expected:
        raise SystemExit(f"DuckDB month arithmetic does not clamp as measures.md requires: {got}")


def query(releases: str, convictions: str, excluded: list[str], z: float) -> str:
    excluded_sql = ", ".join("'" + code.replace("'", "''") + "'" for code in excluded) or "NULL"
    return f"""
WITH releases AS (
    SELECT offender_id, release_date, establishment,
           CAST(year(release_date) AS VARCHAR) || 'Q' || CAST(quarter(release_date) AS VARCHAR) AS cohort
    FROM {source(releases)}
),
index_releases AS (          -- each person's earliest release per cohort
    SELECT offender_id, cohort,
           min(release_date) AS release_date,
           arg_min(establishment, (release_date, establishment)) AS establishment
    FROM releases
    GROUP BY offender_id, cohort
),
windows AS (
    SELECT *, CAST(release_date + INTERVAL 12 MONTH AS DATE) AS follow_up_end,
           CAST(CAST(release_date + INTERVAL 12 MONTH AS DATE) + INTERVAL 6 MONTH AS DATE) AS conviction_deadline
    FROM index_releases
),
convictions AS (
    SELECT offender_id, offence_date, conviction_date
    FROM {source(convictions)}
    WHERE offence_code IS NULL OR offence_code NOT IN ({excluded_sql})
),
counted AS (                 -- per index release with at least one proven reoffence
    SELECT w.offender_id, w.cohort,
           count(*) AS reoffences,
           count(DISTINCT c.conviction_date) AS reconviction_events,
           min(c.offence_date) AS first_offence
    FROM windows w JOIN convictions c ON c.offender_id = w.offender_id
    WHERE c.offence_date >= w.release_date AND c.offence_date < w.follow_up_end
      AND c.conviction_date < w.conviction_deadline
    GROUP BY w.offender_id, w.cohort
),
per_release AS (
    SELECT w.establishment, w.cohort,
           coalesce(k.reoffences, 0) AS reoffences,
           coalesce(k.reconviction_events, 0) AS reconviction_events,
           k.first_offence - w.release_date AS days_to_first
    FROM windows w LEFT JOIN counted k ON k.offender_id = w.offender_id AND k.cohort = w.cohort
),
groups AS (
    SELECT establishment, cohort,
           count(*) AS cohort_size,
           count(*) FILTER (WHERE reoffences > 0) AS reoffenders,
           sum(reoffences) AS reoffences,
           sum(reconviction_events) AS reconviction_events,
           avg(days_to_first) AS mean_days_to_first,
           median(days_to_first) AS median_days_to_first
    FROM per_release
    GROUP BY establishment, cohort
)
SELECT establishment, cohort, cohort_size, reoffenders,
       CASE WHEN cohort_size > 0 THEN CAST(reoffenders AS DOUBLE) / cohort_size END AS binary_rate,
       CASE WHEN cohort_size <= 0 THEN NULL WHEN reoffenders <= 0 THEN 0.0 ELSE greatest(0.0, least(1.0,
           (CAST(reoffenders AS DOUBLE) + {z!r} * {z!r} / 2) / (CAST(cohort_size AS DOUBLE) + {z!r} * {z!r})
           - {z!r} / (CAST(cohort_size AS DOUBLE) + {z!r} * {z!r})
             * sqrt(CAST(reoffenders AS DOUBLE) * (CAST(cohort_size AS DOUBLE) - CAST(reoffenders AS DOUBLE))
                    / CAST(cohort_size AS DOUBLE) + {z!r} * {z!r} / 4))) END AS binary_rate_low,
       CASE WHEN cohort_size <= 0 THEN NULL WHEN reoffenders >= cohort_size THEN 1.0 ELSE greatest(0.0, least(1.0,
           (CAST(reoffenders AS DOUBLE) + {z!r} * {z!r} / 2) / (CAST(cohort_size AS DOUBLE) + {z!r} * {z!r})
           + {z!r} / (CAST(cohort_size AS DOUBLE) + {z!r} * {z!r})
             * sqrt(CAST(reoffenders AS DOUBLE) * (CAST(cohort_size AS DOUBLE) - CAST(reoffenders AS DOUBLE))
                    / CAST(cohort_size AS DOUBLE) + {z!r} * {z!r} / 4))) END AS binary_rate_high,
       CAST(reoffences AS BIGINT) AS reoffences,
       CASE WHEN cohort_size > 0 THEN CAST(reoffences AS DOUBLE) / cohort_size END AS reoffences_per_offender,
       CASE WHEN reoffenders > 0 THEN CAST(reoffences AS DOUBLE) / reoffenders END AS reoffences_per_reoffender,
       CAST(reconviction_events AS BIGINT) AS reconviction_events,
       CASE WHEN cohort_size > 0 THEN CAST(100 * reconviction_events AS DOUBLE) / cohort_size END AS events_per_100,
       CASE WHEN reoffenders > 0 THEN CAST(reconviction_events AS DOUBLE) / reoffenders END
           AS events_per_reoffender,
       mean_days_to_first,
       CAST(median_days_to_first AS DOUBLE) AS median_days_to_first
FROM groups
ORDER BY establishment NULLS LAST, cohort NULLS LAST
"""


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    releases, convictions, excluded_file, output = argv[1:]
    con = duckdb.connect()
    check_month_arithmetic(con)
    z = NormalDist().inv_cdf(0.5 + 0.95 / 2)
    sql = query(releases, convictions, read_codes(excluded_file), z)
    out = output.replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{out}' (HEADER, DELIMITER ',')")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
