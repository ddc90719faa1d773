"""``compare matched`` at a terminal: the headline, the primary table and its caption, then the matching,
binary-rate, balance and model tables (docs/comparisons-matched.md); the command and the Python API draw the same.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ...compare.matched import MatchedResult
from ...compare.rows import MatchedRow
from ..datalab import data_lab_paragraphs
from ..format import count, number, p_value, pct
from ..multiple import DESCRIPTION
from ..tables import MATCHED_BINARY, MATCHED_TERMINAL, TableSpec, matched_table
from ..verdict import interval_label
from ..views import matched_headlines
from . import render_table

MATCHED_TITLE = "Matched comparison: change in reconviction events per 100 (primary measure)"


def matched_headline(result: MatchedResult) -> str:
    """The answer in words: the data lab's paragraphs in its style, else the pooled headline."""
    if result.data_lab is not None:
        return "\n".join(data_lab_paragraphs(result.data_lab))
    return matched_headlines(result).splitlines()[-1]


def render_details(result: MatchedResult, console: Any) -> None:
    """The tables after the primary one at a terminal: matching counts, the binary rate, balance, the model."""
    render_table(count_rows(result), title="Matching: treated index releases and comparators", console=console)
    render_table(
        binary_rows(result),
        title="Binary reoffending rate (secondary)",
        numeric=matched_table(result.params).pick(MATCHED_BINARY).numeric(),
        console=console,
    )
    render_table(
        balance_rows(result),
        title="Balance: standardised mean differences",
        caption=balance_caption(),
        console=console,
    )
    render_table(model_rows(result), title="Propensity model", caption=model_caption(result), console=console)


# ----------------------------------------------------------------------------------------------- display
def display_rows(result: MatchedResult) -> pl.DataFrame:
    """The terminal view of the primary measure, from the comparison's table spec (reoffend.report.tables: the
    bulletin's table shows the same headers and cells): the change in events per 100 and its interval."""
    return primary_spec(result).frame(result.typed_rows())


def primary_spec(result: MatchedResult) -> TableSpec[MatchedRow]:
    return matched_table(result.params).pick(MATCHED_TERMINAL)


def count_rows(result: MatchedResult) -> pl.DataFrame:
    """Per cohort: who was matched, and how many distinct comparators (and their effective number) served."""
    records = []
    for r in result.rows.iter_rows(named=True):
        share = r["unmatched_share"]
        records.append(
            {
                "cohort": "all" if r["scope"] == "pooled" else r["cohort"],
                "treated": count(r["treated"]),
                "matched": count(r["matched"]),
                "unmatched": count(r["unmatched"]),
                "unmatched share": pct(share),
                "comparators": count(r["comparators"]),
                "effective size": number(r["effective_comparison_size"], 0),
            }
        )
    return pl.DataFrame(records, schema={k: pl.String for k in records[0]})


def binary_rows(result: MatchedResult) -> pl.DataFrame:
    """The binary rate (secondary measure), from the comparison's table spec."""
    return matched_table(result.params).pick(MATCHED_BINARY).frame(result.typed_rows())


def balance_rows(result: MatchedResult) -> pl.DataFrame:
    def mean(v: float | None) -> str:
        return number(v, 3)

    def smd(v: float | None) -> str:
        return number(v, 3, signed=True)

    records = []
    for r in result.balance.iter_rows(named=True):
        flag = " !" if r["smd_after"] is not None and abs(r["smd_after"]) > 0.1 else ""
        records.append(
            {
                "covariate": r["covariate"] if r["level"] is None else f"{r['covariate']}={r['level']}",
                "treated": mean(r["treated_mean_before"]),
                "pool": mean(r["pool_mean_before"]),
                "SMD before": smd(r["smd_before"]),
                "matched": mean(r["treated_mean_after"]),
                "comparison": mean(r["comparison_mean_after"]),
                "SMD after": smd(r["smd_after"]) + flag,
            }
        )
    return pl.DataFrame(records, schema={k: pl.String for k in records[0]})


def balance_caption() -> str:
    return (
        "means of all treated and the pool (before), of the matched treated and the weighted comparators (after); "
        "SMD = mean difference / sqrt((var treated + var pool) / 2), variances before matching; ! |SMD| > 0.1"
    )


def model_rows(result: MatchedResult) -> pl.DataFrame:
    coefficients = result.model["coefficients"]
    return pl.DataFrame(
        {
            "term": [c["term"] for c in coefficients],
            "coefficient": [number(c["estimate"], 4, signed=True) for c in coefficients],
            "SE": [number(c["se"], 4) for c in coefficients],
            "z": [number(c["z"], 2, signed=True) for c in coefficients],
            "p": [p_value(c["p"]) for c in coefficients],
        }
    )


def model_caption(result: MatchedResult) -> str:
    m, d = result.model, result.diagnostics
    return (
        f"n = {m['n']:,} ({m['n_treated']:,} treated); converged in {m['iterations']} iterations; McFadden R² "
        f"{number(m['pseudo_r2_mcfadden'], 3)}; AUC {number(m['auc'], 3)}; SD of the logit {number(d['sd_logit'], 4)}, "
        f"caliper {result.params.caliper:g} SD = {number(d['caliper_logit'], 4)}"
    )


def caption(result: MatchedResult) -> str:
    p = result.params
    return (
        "change = 100 (treated / comparison - 1), negative when the treated have fewer events; "
        f"{p.measure.window.describe()}; exact on {', '.join(p.exact) or 'nothing'}; up to {p.ratio} nearest "
        f"neighbours on the logit score within {p.caliper:g} SD, with replacement; {p.bootstrap:,} bootstrap "
        f"replicates (seed {p.seed}), {interval_label(p.alpha, 'one')}; verdict: read off that interval, after "
        f"{DESCRIPTION[p.multiple_testing]} over the cohorts (p: one-sided, on the side of the change, before the "
        "adjustment; p adjusted: after it)"
    )


def diagnostics_text(result: MatchedResult) -> str:
    d = result.diagnostics
    share = d["unmatched_share"]
    text = (
        f"diagnostics: {d['treated']:,} treated index releases, {d['matched']:,} matched, {d['unmatched']:,} "
        f"unmatched ({pct(share)}); {d['comparators_used']:,} distinct comparators "
        f"from a pool of {d['pool_units']:,}, effective comparison size {number(d['effective_comparison_size'], 0)}; "
        f"{d['strata']} exact strata"
    )
    if "treated_ids" in d:
        ids = d["treated_ids"]
        text += (
            f"; ids listed {ids['listed']:,}, with an index release {ids['with_index_release']:,}, "
            f"absent from the releases {ids['absent_from_releases']:,}"
        )
    return text
