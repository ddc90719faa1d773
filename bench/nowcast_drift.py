"""How honest are provisional figures when the level moves or the courts slow down? (issue 25)

Usage: python bench/nowcast_drift.py [--releases 20000] [--seeds 5,6,7,8] [--origins 12] [--origin-step 2]
                                     [--scenarios stable,trend,...] [--methods new,old,mack] [--detail DIR]

For each scenario (a ``reoffend synth`` population, below) and seed, the backtest of ``reoffend nowcast``
(:func:`reoffend.nowcast.backtest`: nowcasts at month ends ``--origin-step`` months apart with the convictions
known then, compared with the final figures of the same releases) is run with

* ``new``: the default estimator (the cohort's own level, lag monitoring; docs/nowcast.md);
* ``old``: ``--estimator reference``, the reference cohorts' level for every unseen release (the model before
  issue 25);
* ``complete``: the default but with the reference's shares from the complete releases alone (no
  Kaplan-Meier use of the releases in follow-up), to show what the censored reference brings;
* ``ratio``, ``benktander``, ``bf+lag`` (with ``--methods``): the other ways to weight the cohort's own level
  (full weight; the share developed; none), each with the court-lag adjustment, to justify the default;
* ``mack``: a peer, Mack's chain ladder (the ``chainladder`` package, casact) on cohort totals: a triangle of
  reoffenders seen per quarterly cohort at each month end up to the origin, its ultimate over the cohort size
  as the rate and ``ultimate +- z * Mack standard error`` (cut at what is seen) as the interval. It is run on
  exactly the cohort-origins the nowcast's backtest checks, so the figures compare like with like.

Results are pooled over the seeds: per scenario and method, the cohort-origins with 6+ (and 9+) months
observed, the coverage of the 95% intervals of the binary rate, the mean absolute error and mean error in
percentage points, and the mean interval width. Prints Markdown (bench/NOTES.md quotes it). The acceptance of
issue 25: coverage at 6+ months at least 90% and MAE at most 1.0 point under the drifts; on the stable
population coverage at least 93% and MAE at most 0.25.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reoffend.intervals import normal_quantile
from reoffend.measure import MeasureParams
from reoffend.nowcast import KEY, BacktestParams, Development, NowcastParams, backtest, development
from reoffend.synth import SynthParams, generate
from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs

CHANGE = dt.date(2023, 1, 1)
SCENARIOS: dict[str, dict[str, object]] = {
    "stable": {},
    "trend": {"level_trend": -3.0},  # about 3 points a year lower
    "shift": {"level_shift": -4.0, "level_shift_from": CHANGE},  # 4 points lower from 2023
    "truncated": {"truncate_repeats": True},  # the falling level (repeat releases cut at the period end)
    "lag x1.5": {"lag_multiplier": 1.5, "lag_change_from": CHANGE},
    "lag x2": {"lag_multiplier": 2.0, "lag_change_from": CHANGE},
}
PARAMS = NowcastParams(MeasureParams(by=("cohort",), excluded_offences=frozenset({"BREACH"})))
METHODS = {
    "new": PARAMS,
    "old": replace(PARAMS, estimator="reference", court_lag="ignore", censored_reference=False),
    # the default with q(t), S(t), P from the complete releases alone (before the censored reference)
    "complete": replace(PARAMS, censored_reference=False),
    # the alternatives for the level, with the same court-lag handling as "new" (docs/nowcast.md)
    "ratio": replace(PARAMS, estimator="ratio"),
    "benktander": replace(PARAMS, estimator="benktander"),
    "bf+lag": replace(PARAMS, estimator="reference"),
}
COLUMNS = ["origin", "cohort", "months_observed", "binary_rate_provisional", "binary_rate_provisional_low"]
COLUMNS += ["binary_rate_provisional_high", "binary_rate_final"]


def population(scenario: str, releases: int, seed: int):
    r, c, _ = generate(SynthParams(releases=releases, seed=seed, treated_establishment="", **SCENARIOS[scenario]))
    return validate_inputs(Table("releases.parquet", RELEASES, r.lazy()), Table("c.parquet", CONVICTIONS, c.lazy()))


def mack(data: Development, detail: pl.DataFrame, confidence: float) -> pl.DataFrame:
    """Mack's chain ladder on cohort totals at each origin of ``detail``, for the same cohort-origins."""
    import chainladder as cl

    z = normal_quantile(confidence)
    first = data.rows.group_by(KEY).agg(pl.col("conviction_date").min().alias("_first"))
    releases = data.releases.select(KEY, "cohort", "release_date").join(first, on=KEY, how="left")
    out = []
    for origin in detail["origin"].unique().sort().to_list():
        known = releases.filter(pl.col("release_date") <= origin).with_columns(
            pl.when(pl.col("_first") <= origin).then(pl.col("_first")).alias("_first")
        )
        starts = known.group_by("cohort").agg(pl.col("release_date").min().dt.truncate("1q").alias("_start"))
        months = pl.date_range(known["release_date"].min(), origin, "1mo", eager=True).dt.month_end()
        months = months.filter(months <= origin).alias("valuation").to_frame()
        seen = (
            known.join(starts, on="cohort")
            .join(months, how="cross")
            .filter(pl.col("valuation") >= pl.col("_start").dt.month_end())
            .group_by("cohort", "_start", "valuation")
            .agg((pl.col("_first") <= pl.col("valuation")).sum().cast(pl.Float64).alias("seen"))
        )
        size = known.group_by("cohort").agg(pl.len().alias("size"), pl.col("_first").is_not_null().sum().alias("x"))
        frame = seen.select(pl.col("_start").alias("origin"), "valuation", "seen").to_pandas()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            triangle = cl.Triangle(frame, origin="origin", development="valuation", columns=["seen"], cumulative=True)
            summary = cl.MackChainladder().fit(triangle).summary_.to_frame()
        fit = pl.DataFrame(
            {
                "_start": [d.date() for d in summary.index],
                "ultimate": summary["Ultimate"].to_numpy(),
                "se": summary["Mack Std Err"].fillna(0).to_numpy(),
            }
        )
        rows = detail.filter(pl.col("origin") == origin).select(*COLUMNS[:3], "binary_rate_final")
        rows = rows.join(starts, on="cohort").join(fit, on="_start").join(size, on="cohort")
        n, x = pl.col("size").cast(pl.Float64), pl.col("x").cast(pl.Float64)
        out.append(
            rows.select(
                *COLUMNS[:3],
                (pl.col("ultimate") / n).alias("binary_rate_provisional"),
                (pl.max_horizontal(pl.col("ultimate") - z * pl.col("se"), x) / n).alias("binary_rate_provisional_low"),
                (pl.min_horizontal(pl.col("ultimate") + z * pl.col("se"), n) / n).alias("binary_rate_provisional_high"),
                "binary_rate_final",
            )
        )
    return pl.concat(out)


def mae_standard_error(rows: pl.DataFrame) -> float:
    """The standard error of the pooled mean of ``_ae`` with the seeds as clusters (a seed's cohort-origins share
    one population, so they are not independent): ``sqrt(k / (k - 1) sum_s (A_s - mae n_s)^2) / n`` over the
    ``k`` seeds, ``A_s`` and ``n_s`` a seed's sum and count. NaN with one seed."""
    per_seed = rows.group_by("seed").agg(pl.col("_ae").sum().alias("_sum"), pl.len().alias("_n"))
    k, n = per_seed.height, rows.height
    if k < 2 or n == 0:
        return math.nan
    mae = float(rows["_ae"].mean())  # type: ignore[arg-type]
    spread = float(((per_seed["_sum"] - mae * per_seed["_n"]) ** 2).sum())
    return math.sqrt(spread * k / (k - 1)) / n


def summary(detail: pl.DataFrame, low: int, high: int | None = None) -> dict[str, float]:
    months = pl.col("months_observed")
    rows = detail.filter(months >= low if high is None else months.is_between(low, high))
    error = 100 * (rows["binary_rate_provisional"] - rows["binary_rate_final"])
    final = rows["binary_rate_final"]
    covered = (rows["binary_rate_provisional_low"] <= final) & (final <= rows["binary_rate_provisional_high"])
    width = 100 * (rows["binary_rate_provisional_high"] - rows["binary_rate_provisional_low"])
    return {
        "n": rows.height,
        "mae_se": mae_standard_error(rows.with_columns(error.abs().alias("_ae"))),
        "coverage": float(covered.mean()),  # type: ignore[arg-type]
        "mae": float(error.abs().mean()),  # type: ignore[arg-type]
        "bias": float(error.mean()),  # type: ignore[arg-type]
        "width": float(width.mean()),  # type: ignore[arg-type]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=20_000)
    parser.add_argument("--seeds", default="5,6,7,8")
    parser.add_argument("--origins", type=int, default=12)
    parser.add_argument("--origin-step", type=int, default=2)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--methods", default="new,old,mack")
    parser.add_argument("--detail", type=Path, help="write each scenario's pooled cohort-origins here (CSV)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    options = BacktestParams(origins=args.origins, step_months=args.origin_step)
    started = time.perf_counter()
    print(
        f"#### Nowcast under drift: {args.releases:,} releases, seeds {args.seeds}, {args.origins} origins "
        f"{args.origin_step} months apart; binary rate, 95% intervals\n"
    )
    print(
        "| scenario | method | cohort-origins 6+ | coverage 6+ | MAE 6+ (pp) | SE | mean error 6+ (pp) "
        "| width 6+ (pp) ",
        end="",
    )
    print("| coverage 9+ | MAE 9+ (pp) | coverage 6-8 | MAE 6-8 (pp) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scenario in args.scenarios.split(","):
        pooled: dict[str, list[pl.DataFrame]] = {m: [] for m in methods}
        for seed in seeds:
            inputs = population(scenario, args.releases, seed)
            data = development(inputs, PARAMS)
            checked = None
            for method in [m for m in methods if m != "mack"]:
                result = backtest(inputs, METHODS[method], options, data=data)
                detail = result.detail.select(COLUMNS).with_columns(pl.lit(seed).alias("seed"))
                pooled[method].append(detail)
                checked = detail if checked is None else checked
            if "mack" in methods:
                if checked is None:
                    checked = backtest(inputs, PARAMS, options, data=data).detail.select(COLUMNS)
                pooled["mack"].append(mack(data, checked, 0.95).with_columns(pl.lit(seed).alias("seed")))
        for method in methods:
            detail = pl.concat(pooled[method], how="diagonal_relaxed")
            if args.detail:
                args.detail.mkdir(parents=True, exist_ok=True)
                detail.write_csv(args.detail / f"{scenario.replace(' ', '_')}_{method}.csv")
            six, nine, early = summary(detail, 6), summary(detail, 9), summary(detail, 6, 8)
            print(
                f"| {scenario} | {method} | {six['n']} | {100 * six['coverage']:.1f}% | {six['mae']:.3f} "
                f"| {six['mae_se']:.3f} "
                f"| {six['bias']:+.2f} | {six['width']:.2f} | {100 * nine['coverage']:.1f}% | {nine['mae']:.2f} "
                f"| {100 * early['coverage']:.1f}% | {early['mae']:.2f} |",
                flush=True,
            )
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
