"""The configured comparisons of the bulletin, each run through its core API (docs/comparisons.md).

Each ``[comparisons.NAME]`` table of the config becomes a :class:`ComparisonSection`: the core result's rows
as a CSV under ``tables/``, its plain-English headline as the text, its warnings, and its metadata for the
manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import polars as pl

from ..cohort import check_cohorts_present, check_values_present, with_cohort
from ..compare.rows import AdjustedRow, BaselineRow, MatchedRow
from ..errors import UsageError
from ..measure import MeasureParams
from ..report.format import count, counted, level, number, plural
from ..report.multiple import MultipleTesting
from ..report.tables import (
    MATCHED_BULLETIN,
    AdjustedLine,
    TableSpec,
    adjusted_table,
    baseline_keys,
    baseline_table,
    matched_table,
)
from ..report.verdict import Verdict, interval_confidence, interval_label
from ..report.views import adjusted_headlines, baseline_headlines, matched_headlines, shift_change, shift_verdict
from ..run_warnings import RunWarning
from .config import BulletinConfig
from .labels import Labels
from .stats import CohortMeasures


@dataclass
class ComparisonSection:
    name: str
    title: str
    intro: str
    headline: list[str]
    table: TableSpec[Any]  # the comparison's table spec (reoffend.report.tables), the columns the bulletin shows
    rows: pl.DataFrame
    typed_rows: Callable[[pl.DataFrame], Sequence[Any]]  # ``rows`` (after disclosure control) as the spec's rows
    tables: dict[str, pl.DataFrame]
    table_caption: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[RunWarning] = field(default_factory=list)
    all_significant: bool | None = None  # every estimate a significant reduction (for fail_unless_significant)
    fail_unless_significant: bool = False
    quoted: dict[str, Any] = field(default_factory=dict)  # parameters its text quotes, for tables/parameters.csv
    # the groups of people its tables' rows are (reoffend.bulletin.publication), for disclosure control
    declares: list[Any] = field(default_factory=list)
    # the section again once disclosure control has withheld rows (per table: a flag per row); None: as it is
    publish: Callable[[Mapping[str, Sequence[bool]]], ComparisonSection] | None = None

    def published(self, withheld: Mapping[str, Sequence[bool]]) -> ComparisonSection:
        """The section with the ``withheld`` rows of its tables shown as [c], and every verdict, count and
        sentence made from the published rows only (docs/bulletin.md, "Disclosure control")."""
        if self.publish is None or not any(any(flags) for flags in withheld.values()):
            return self
        return self.publish(withheld)


SUPPRESSED_NOTE = (
    "The figures of this comparison are not published ({mark}): a compared group is too small to publish "
    "without disclosing the people in it."
)


# (options, inputs, params, latest, complete, **keywords): the baseline and matched runners also take labels
Runner = Callable[..., ComparisonSection]
RUNNERS: dict[str, Runner] = {}

# the adjustment for multiple testing in the bulletin's words (the glossary explains it; the terminal says
# "Holm's step-down adjustment (family-wise error rate)", reoffend/report/multiple.py)
PLAIN_ADJUSTMENT: dict[MultipleTesting, str] = {
    "holm": "by Holm's method, see the glossary",
    "bh": "by the Benjamini-Hochberg method, which limits the expected share of false findings among those "
    "reported rather than the chance of any",
    "none": "not adjusted",
}


def run_comparisons(
    config: BulletinConfig,
    inputs,
    params: MeasureParams,
    latest: str,
    complete: Sequence[str],
    measured: CohortMeasures | None = None,
) -> list[ComparisonSection]:
    """Run every configured comparison in a fixed order (baseline, matched, adjusted).

    ``measured``, the bulletin's one join over the complete cohorts (its per-release table carries the
    columns :func:`measured_columns` asks for), spares the baseline comparison a measure of its own.
    """
    sections = []
    for name in ("baseline", "matched", "adjusted"):
        if name not in config.comparisons:
            continue
        if name not in RUNNERS:
            raise UsageError(
                f"{config.path}: [comparisons.{name}]: this version of reoffend cannot run the {name} comparison "
                "in a bulletin; remove the table"
            )
        runner = RUNNERS[name]
        if name == "baseline" and measured is not None:
            runner = partial(run_baseline, measured=measured)
        if name in ("baseline", "matched"):  # the group compared, named in words (docs/bulletin.md, "Labels")
            runner = partial(runner, labels=config.labels)
        sections.append(runner(config.comparisons[name], inputs, params, latest, complete))
    return sections


def measured_columns(config: BulletinConfig, available: Sequence[str]) -> tuple[str, ...]:
    """Release columns the bulletin's one join must carry for the comparisons to count from it: the baseline
    comparison's site column (when it names a site, and the releases have that column)."""
    options = config.comparisons.get("baseline") or {}
    column = options.get("site_column", "establishment")
    if options.get("site") is None or column not in available or column == "cohort":
        return ()
    return (column,)


# ------------------------------------------------------------------------------------------------ formats
def _check_complete(
    name: str, key: str, cohorts: Sequence[str], complete: Sequence[str], inputs, params: MeasureParams
) -> None:
    """Every configured cohort is one of the data's (else 65, ``value-not-found`` naming the key, with the
    closest labels, as any value absent from the data: docs/data.md) and is complete (else a usage error)."""
    from ..compare.baseline import cohort_labels

    late = [c for c in cohorts if c not in complete]
    if late:
        check_cohorts_present(
            late, cohort_labels(inputs, params.period), inputs.names["releases"], f"[comparisons.{name}] {key}",
            params.period,
        )  # fmt: skip
        raise UsageError(
            f"[comparisons.{name}] {key}: cohort {', '.join(late)} is not a complete cohort at the extract date "
            f"(complete cohorts: {', '.join(complete)})"
        )


# ------------------------------------------------------------------------------------------------ baseline
def run_baseline(
    options: Mapping[str, Any],
    inputs,
    params: MeasureParams,
    latest: str,
    complete: Sequence[str],
    measured: CohortMeasures | None = None,
    labels: Labels | None = None,
) -> ComparisonSection:
    """Doncaster style (docs/comparisons.md section 1) via :mod:`reoffend.compare.baseline`.

    With ``measured`` (the bulletin's one join over its complete cohorts, which include both compared
    cohorts) the cohorts are counted from its per-release table (the ``sizes`` of
    :func:`reoffend.compare.baseline.compare_records`: the same rows); else they are measured afresh.
    """
    from ..compare.baseline import BaselineParams, compare_records, read_schedule

    if "baseline" not in options:
        raise UsageError('[comparisons.baseline] baseline: the baseline cohort is required (e.g. baseline = "2022Q4")')
    current = list(options.get("current") or [latest])
    baseline = options["baseline"]
    _check_complete("baseline", "current", current, complete, inputs, params)
    _check_complete("baseline", "baseline", [baseline], complete, inputs, params)
    site, column = options.get("site"), options.get("site_column", "establishment")
    verdict = BaselineParams(
        confidence=params.confidence,
        alpha=options.get("alpha", 0.05),
        sided=options.get("sided", "one"),
        target_pp=options.get("target"),
        schedule=read_schedule(options["schedule"]) if options.get("schedule") else (),
        multiple_testing=options.get("multiple_testing", "holm"),
    )
    if site is not None:  # named as the config names it, not as the --where it becomes inside measure
        check_values_present(
            inputs.releases, {column: (site,)}, inputs.names["releases"], "[comparisons.baseline] site"
        )
    # a site narrows as compare_records narrows: "" names no site (everyone), as `compare baseline --site ""`
    narrowed = {column: (site,)} if site else {}
    counted = measured is not None and column != "cohort" and all(c in measured.columns for c in narrowed)
    result = compare_records(
        inputs,
        params,
        verdict,
        current=current,
        baseline=baseline,
        site=site,
        site_column=column,
        sizes=measured.counts(narrowed) if measured is not None and counted else None,
    )
    options_used = {"site": site, "column": column, "current": current, "baseline": baseline}
    if site is not None:  # "establishment EST042", in the labels' words
        labels = labels or Labels()
        options_used["site_words"] = labels.value(column, site)
        options_used["who"] = f"{labels.name(column)} {options_used['site_words']}"
    section = _baseline_section(result, verdict, options, options_used)
    section.publish = partial(_publish_baseline, section, result, verdict, options, options_used)
    return section


def _baseline_declares(used: Mapping[str, Any]) -> list[Any]:
    from .publication import baseline_cells

    site = used["site"]
    return list(baseline_cells(used["column"] if site else None, site or None))


def _baseline_section(result, verdict, options: Mapping[str, Any], used: Mapping[str, Any]) -> ComparisonSection:
    site, column, current, baseline = used["site"], used["column"], used["current"], used["baseline"]
    rows = result.rows
    who = used.get("who", "all releases")  # set with site_words whenever a site is named
    table = baseline_table(verdict).pick(baseline_keys(verdict, rows.height, bulletin=True))
    intro = (
        f"The proven reoffending rate of {who} against its own baseline cohort, {baseline} (the Doncaster "
        "design). The change is the current rate minus the baseline's, in percentage points (a fall is "
        f"negative), with the {interval_label(verdict.alpha, verdict.sided)} that agrees with the verdict beside "
        "it. Payment by "
        "results follows only a statistically significant reduction, so the verdict and any contract target are "
        "reported side by side."
    )
    parameters = {
        "site": site,
        "site_column": column if site is not None else None,
        "current": current,
        **verdict.as_dict(),
    }
    parameters["baseline"] = baseline
    return ComparisonSection(
        name="baseline",
        title="Against the baseline" + (f": {used['site_words']}" if site is not None else ""),
        intro=intro,
        headline=baseline_headlines(result).splitlines(),
        table=table,
        rows=rows,
        typed_rows=BaselineRow.of,
        tables={"comparison_baseline.csv": rows},
        table_caption=f"Proven reoffending of {who} against the baseline cohort {baseline}",
        metadata={"parameters": parameters, "source": "records"},
        warnings=list(result.warnings),
        all_significant=result.all_significant(),
        fail_unless_significant=bool(options.get("fail_unless_significant", False)),
        quoted={"alpha": verdict.alpha, "target_pp": verdict.target_pp, "site": site},
        declares=_baseline_declares(used),
    )


def _publish_baseline(
    section: ComparisonSection, result, verdict, options, used, withheld: Mapping[str, Sequence[bool]]
) -> ComparisonSection:
    """The comparison of the published current cohorts only (their tests adjusted among themselves); the
    withheld ones are [c] rows. With every row withheld, nothing of it is published."""
    from ..compare.baseline import Counts, compare_counts
    from .publication import withhold_rows

    hidden = list(withheld.get("comparison_baseline.csv", [False] * result.rows.height))
    rows = result.rows
    spec = section.declares
    if all(hidden):
        return _withheld_section(section, {"comparison_baseline.csv": withhold_rows(rows, spec, hidden)})
    shown = rows.filter(~pl.Series(hidden))
    first = shown.row(0, named=True)
    base = Counts(first["baseline"], first["baseline_reoffenders"], first["baseline_size"])
    frame = shown.select(
        pl.col("current").alias("label"),
        pl.col("current_reoffenders").alias("reoffenders"),
        pl.col("current_size").alias("cohort_size"),
    )
    again = compare_counts(frame, base, verdict, metadata=result.metadata, site=result.site)
    again_rows = iter(again.rows.iter_rows(named=True))
    withheld_rows = withhold_rows(rows, spec, hidden)
    merged = [
        withheld_row if flag else next(again_rows)
        for flag, withheld_row in zip(hidden, withheld_rows.iter_rows(named=True), strict=True)
    ]
    all_rows = pl.DataFrame(merged, schema=withheld_rows.schema)
    out = _baseline_section(again, verdict, options, used)
    out.tables = {"comparison_baseline.csv": all_rows}
    out.headline = [*baseline_headlines(again).splitlines(), _withheld_note(sum(hidden), "cohort")]
    out.warnings = section.warnings
    return out


def _withheld_section(section: ComparisonSection, tables: Mapping[str, pl.DataFrame]) -> ComparisonSection:
    """A comparison none of whose figures may be published: its tables' rows all [c], a note, no verdict."""
    from ..disclosure import SHORTHAND

    return replace(
        section,
        headline=[SUPPRESSED_NOTE.format(mark=SHORTHAND)],
        rows=section.rows.clear(),
        tables={**section.tables, **tables},
        all_significant=False,
        publish=None,
    )


def _withheld_note(withheld: int, what: str) -> str:
    from ..disclosure import SHORTHAND

    noun = what if withheld == 1 else f"{what}s"
    return (
        f"The figures of {count(withheld)} {noun} are not published ({SHORTHAND}) to protect the people in small "
        "groups; "
        f"the statements above are about the published {what}s only."
    )


RUNNERS["baseline"] = run_baseline


# ------------------------------------------------------------------------------------------------ matched
def run_matched(
    options: Mapping[str, Any],
    inputs,
    params: MeasureParams,
    latest: str,
    complete: Sequence[str],
    labels: Labels | None = None,
) -> ComparisonSection:
    """Peterborough style (docs/comparisons.md section 2) via :func:`reoffend.compare.matched.compare_matched`."""
    from ..compare.design import parse_forms
    from ..compare.matched import MIN_TREATED, MatchedParams, compare_matched

    cohorts = list(options.get("cohorts") or complete)
    _check_complete("matched", "cohorts", cohorts, complete, inputs, params)
    if "treated" not in options and "treated_ids" not in options:
        raise UsageError(
            '[comparisons.matched] treated: give the treated group, e.g. treated = { establishment = ["EST042"] }, '
            "or treated_ids = FILE"
        )
    if "covariates" not in options:
        raise UsageError("[comparisons.matched] covariates: the release columns of the propensity model are required")
    treated_ids = None
    if options.get("treated_ids"):
        from ..compare.matched import read_id_list

        treated_ids = read_id_list(options["treated_ids"])
    where = dict(params.where)
    where["cohort"] = tuple(cohorts)
    matched_params = MatchedParams(
        measure=replace(params, where=where),
        treated=dict(options.get("treated", {})),
        treated_ids=treated_ids,
        treated_ids_source=options.get("treated_ids"),
        pool=dict(options.get("pool", {})),
        covariates=tuple(options["covariates"]),
        exact=tuple(options.get("exact", ("cohort",))),
        ratio=options.get("ratio", 10),
        caliper=options.get("caliper", 0.2),
        drop_missing=options.get("drop_missing", False),
        bootstrap=options.get("bootstrap", 2000),
        seed=options.get("seed", 1),
        alpha=options.get("alpha", 0.05),
        target=options.get("target"),
        pooled_target=options.get("pooled_target"),
        style=options.get("style"),
        multiple_testing=options.get("multiple_testing", "holm"),
        covariate_forms=parse_forms(
            options.get("covariate_form", {}), options["covariates"], "[comparisons.matched] covariate_form"
        ),
        min_treated=options.get("min_treated", MIN_TREATED),
        ids_releases=options.get("ids_releases", "first"),
    )
    everyone = with_cohort(inputs.releases, params.period)
    for key in ("treated", "pool"):  # named as the config names them, not as the --treated of compare matched
        if options.get(key):
            check_values_present(everyone, dict(options[key]), inputs.names["releases"], f"[comparisons.matched] {key}")
    result = compare_matched(inputs, matched_params)
    if options.get("treated"):
        labels = labels or Labels()
        who = "; ".join(
            f"{labels.name(column)} {', '.join(labels.value(column, v) for v in values)}"
            for column, values in sorted(options["treated"].items())
        )
    else:  # the list's file is in the manifest, not the text (docs/bulletin.md, "House style")
        who = f"the {counted(len(treated_ids or ()), 'person', 'people')} on the list of those treated"
    section = _matched_section(result, matched_params, options, who, latest)
    section.publish = partial(_publish_matched, section, result, matched_params, options, who, latest)
    return section


def _matched_declares(options: Mapping[str, Any]) -> list[Any]:
    """The treated people who were matched, per cohort and pooled: a subgroup of the treated group, which is
    the establishments named (or the people listed) in that cohort."""
    from .publication import comparison_group_cells, matched_cells

    if options.get("treated"):
        treated = [(c, tuple(v)) for c, v in sorted(options["treated"].items())]
    else:
        treated = [("offender_id", (f"listed in {options.get('treated_ids')}",))]
    pool = [(c, tuple(v)) for c, v in sorted((options.get("pool") or {}).items())]
    return [matched_cells(treated), comparison_group_cells(pool)]


def _matched_section(result, matched_params, options: Mapping[str, Any], who: str, latest: str) -> ComparisonSection:
    rows = result.rows
    headline = [
        sentence
        for sentence, row in zip(matched_headlines(result).splitlines(), rows.iter_rows(named=True), strict=True)
        if row["scope"] == "pooled" or row["cohort"] == latest
    ]
    balance = result.balance
    worst = balance.select(pl.col("smd_after").abs().max()).item()
    intro = (
        f"Reconviction events per 100 of {who} against a comparison group of similar people released elsewhere "
        "in the same cohorts (the Peterborough design): each treated person is matched to up to "
        f"{matched_params.ratio} others with a close propensity score estimated from "
        f"{', '.join(matched_params.covariates)}. The table gives each cohort and all cohorts together; the "
        f"interval and p-value come from {matched_params.bootstrap:,} bootstrap resamples of the matched sets."
    )
    if matched_params.multiple_testing != "none":
        intro += (
            " Testing every cohort at once makes some look significant by chance, so each cohort's verdict and "
            "the p-value marked adjusted allow for the number of cohorts tested; the interval and the first "
            "p-value are the cohort's own."
        )
    if worst is not None:
        intro += (
            f" After matching, the largest standardised difference in a covariate is {worst:.3f} (below 0.1 is "
            "usually taken as good balance)."
        )
    tables = {"comparison_matched.csv": rows, "comparison_matched_balance.csv": balance}
    parameters = matched_params.as_dict()
    return ComparisonSection(
        name="matched",
        title="Against a matched comparison group",
        intro=intro,
        headline=headline,
        table=matched_table(matched_params).pick(MATCHED_BULLETIN),
        rows=rows,
        typed_rows=MatchedRow.of,
        tables=tables,
        table_caption=f"Reconviction events per 100: {who} against the matched comparison group",
        metadata={"parameters": parameters, "diagnostics": result.diagnostics, "model": result.model},
        warnings=list(result.warnings),
        all_significant=result.all_significant(),
        fail_unless_significant=bool(options.get("fail_unless_significant", False)),
        quoted={
            "alpha": matched_params.alpha,
            "interval_confidence": interval_confidence(matched_params.alpha, "one"),  # the text's "90% interval"
            "ratio": matched_params.ratio,
            "bootstrap": matched_params.bootstrap,
            "balance_threshold": 0.1,
        },
        declares=_matched_declares(options),
    )


def _publish_matched(
    section: ComparisonSection, result, matched_params, options, who: str, latest: str, withheld
) -> ComparisonSection:
    """The withheld cohort rows as [c] (their treated and comparison figures alike), the per-cohort tests
    adjusted among the published cohorts only, and the pooled row withheld with any cohort it sums (else it
    would give the withheld cohort away, in this release or by differencing the next: docs/bulletin.md)."""
    from ..compare.matched import OUTCOME_PREFIXES, adjusted_verdicts
    from .publication import withhold_rows

    rows = result.rows
    hidden = list(withheld.get("comparison_matched.csv", [False] * rows.height))
    is_cohort = rows["scope"] == "cohort"
    if any(h for h, c in zip(hidden, is_cohort, strict=True) if c):
        hidden = [h or not c for h, c in zip(hidden, is_cohort, strict=True)]
    spec = section.declares
    if all(hidden):
        return _withheld_section(section, {"comparison_matched.csv": withhold_rows(rows, spec, hidden)})
    mask = pl.Series(hidden)
    tested = rows.with_columns(
        pl.when(mask).then(None).otherwise(pl.col(f"{name}_{side}")).alias(f"{name}_{side}")
        for name in OUTCOME_PREFIXES
        for side in ("p_reduction", "p_increase")
    )
    readjusted = adjusted_verdicts(tested, matched_params)
    kept = rows.with_columns(readjusted.select(c for c in readjusted.columns if c.endswith("_adjusted")))
    shown = replace(result, rows=kept.filter(~mask))
    out = _matched_section(shown, matched_params, options, who, latest)
    out.tables = {**out.tables, "comparison_matched.csv": withhold_rows(kept, spec, hidden)}
    out.headline = [*out.headline, _withheld_note(sum(hidden), "row")]
    out.warnings = section.warnings
    pooled_hidden = any(h for h, scope in zip(hidden, rows["scope"], strict=True) if scope == "pooled")
    out.all_significant = False if pooled_hidden else section.all_significant
    return out


RUNNERS["matched"] = run_matched


# ----------------------------------------------------------------------------------------------- adjusted
ADJUSTED_LIST_LIMIT = 12  # list every provider's result in the text when there are at most this many


def run_adjusted(
    options: Mapping[str, Any], inputs, params: MeasureParams, latest: str, complete: Sequence[str]
) -> ComparisonSection:
    """The national payment mechanism (docs/comparisons.md section 3) via :mod:`reoffend.compare.adjusted`."""
    from ..compare.adjusted import AdjustedParams
    from ..compare.adjusted import run_adjusted as adjusted_core
    from ..compare.design import parse_forms

    for key in ("baseline", "covariates"):
        if key not in options:
            raise UsageError(
                f"[comparisons.adjusted] {key}: required (the baseline cohorts the model is fitted on, and the "
                "release columns it adjusts for)"
            )
    baseline = tuple(options["baseline"])
    current = tuple(options.get("current") or [latest])
    _check_complete("adjusted", "baseline", baseline, complete, inputs, params)
    _check_complete("adjusted", "current", current, complete, inputs, params)
    by = tuple(options.get("by", ("establishment",)))
    adjusted_params = AdjustedParams(
        covariates=tuple(options["covariates"]),
        baseline=baseline,
        measure=params,
        current=current,
        by=by,
        count_model=options.get("count_model", "negbin"),
        alpha=options.get("alpha", 0.05),
        sided=options.get("sided", "one"),
        unseen=options.get("unseen", "error"),
        parameter_uncertainty=options.get("parameter_uncertainty", False),
        multiple_testing=options.get("multiple_testing", "holm"),
        covariate_forms=parse_forms(
            options.get("covariate_form", {}), options["covariates"], "[comparisons.adjusted] covariate_form"
        ),
    )
    result = adjusted_core(inputs, adjusted_params)
    section = _adjusted_section(result, adjusted_params, options, baseline)
    section.publish = partial(_publish_adjusted, section, result, adjusted_params, options, baseline)
    return section


def _adjusted_section(
    result, adjusted_params, options: Mapping[str, Any], baseline: Sequence[str], withheld_units: int = 0
) -> ComparisonSection:
    """The section of the national payment mechanism from the comparison's published rows (``withheld_units``:
    how many units disclosure control left out of them): its tables, introduction and headline sentences."""
    from ..compare.adjusted import SMALL_GROUP  # here, not at the top: compare.adjusted imports scipy.stats

    rows = result.rows
    summary = _adjusted_summary(result, adjusted_params, withheld_units)
    models = _adjusted_models(result.models)
    unit = _adjusted_unit(adjusted_params)
    # the accessible table lists every published unit (the rows of comparison_adjusted.csv that are not [c]),
    # whether or not the text names it: the small-comparisons note points the reader to each one's releases there
    caption = (
        f"Actual against risk-adjusted expected reoffending, each published {unit if ' and ' not in unit else 'unit'}"
    )
    return ComparisonSection(
        name="adjusted",
        title="Against the risk-adjusted baseline",
        intro=_adjusted_intro(rows, models.row(0, named=True), adjusted_params, baseline, withheld_units),
        headline=_adjusted_headline(result, summary, adjusted_params, withheld_units),
        table=adjusted_table(adjusted_params),
        rows=rows,
        typed_rows=lambda frame: AdjustedLine.of(AdjustedRow.of(frame, adjusted_params.group_columns)),
        tables={
            "comparison_adjusted.csv": rows,
            "comparison_adjusted_summary.csv": summary,
            "comparison_adjusted_models.csv": models,
        },
        table_caption=caption,
        metadata={
            "parameters": adjusted_params.as_dict(),
            "models": published_models(result.models),
            "unseen": result.unseen,
        },
        warnings=list(result.warnings),
        all_significant=result.all_significant(),
        fail_unless_significant=bool(options.get("fail_unless_significant", False)),
        quoted={"alpha": adjusted_params.alpha, "small_group_releases": SMALL_GROUP},  # the text's note says it
        declares=[_adjusted_declares(adjusted_params)],
    )


def _adjusted_summary(result, adjusted_params, withheld_units: int) -> pl.DataFrame:
    """comparison_adjusted_summary.csv: per cohort, the verdict counts after and before the adjustment for
    multiple testing, the units withheld, and the shift the published units share."""
    from ..compare.adjusted import shift_of_rows

    rows = result.rows
    # the shift the published units share, from their own rows (no withheld unit's figures enter it)
    shift = shift_of_rows(rows, adjusted_params).drop("units", "releases")
    return (
        result.verdict_counts()
        .join(unadjusted_increases(rows), on="cohort", how="left", maintain_order="left")
        .with_columns(pl.lit(withheld_units, pl.Int64).alias("units_withheld"))
        .join(shift, on="cohort", how="left", maintain_order="left")
    )


def _adjusted_models(models: Mapping[str, Any]) -> pl.DataFrame:
    """comparison_adjusted_models.csv: the binary and the frequency model, how many releases fitted each and
    how well each predicts (the binary model first: the text quotes it)."""
    return pl.DataFrame(
        [
            {
                "model": name,
                "description": model.get("model"),
                "outcome": model.get("outcome"),
                "n": model.get("n"),
                "pseudo_r_squared": model.get("pseudo_r_squared"),
                "auc": model.get("auc"),
            }
            for name, model in (("binary", models["binary"]), ("frequency", models["frequency"]))
        ],
        schema={
            "model": pl.String,
            "description": pl.String,
            "outcome": pl.String,
            "n": pl.Int64,
            "pseudo_r_squared": pl.Float64,
            "auc": pl.Float64,
        },
    )


def _adjusted_unit(adjusted_params) -> str:
    """What one unit compared is called: "establishment", "establishment and sex", or "cohort"."""
    return " and ".join(c.replace("_", " ") for c in adjusted_params.group_columns if c != "cohort") or "cohort"


def _adjusted_units(unit: str) -> str:
    """The plural of :func:`_adjusted_unit`: "establishments", or "units" for a unit of two columns."""
    return "units" if " and " in unit else f"{unit}s"


def _adjusted_intro(
    rows: pl.DataFrame,
    binary_model: Mapping[str, Any],
    adjusted_params,
    baseline: Sequence[str],
    withheld_units: int,
) -> str:
    """What the comparison is, how well its binary model predicts, and how its tests are adjusted."""
    unit = _adjusted_unit(adjusted_params)
    units = _adjusted_units(unit)
    intro = (
        f"Each {unit}'s proven reoffending against what the baseline cohorts ({', '.join(baseline)}) would "
        f"predict for the people it released now (the national payment mechanism): a logistic regression of "
        f"reoffending and a count model of reoffences, fitted on {binary_model['n']:,} baseline releases with "
        f"{', '.join(adjusted_params.covariates)}, are used to score each current release. The binary model's "
        f"AUC is {binary_model['auc']:.3f} and its pseudo R-squared {binary_model['pseudo_r_squared']:.3f} (two "
        "measures of how well it predicts: see the glossary). "
        f"Each {unit} beats the baseline on a measure when its actual value is significantly below the expected one "
        f"({adjusted_params.sided}-sided tests at {level(adjusted_params.alpha)}); with {rows.height:,} {units} "
        "tested at once some could do so by chance alone, even with no real difference, so the "
        f"p-values are adjusted for multiple testing ({PLAIN_ADJUSTMENT[adjusted_params.multiple_testing]}) and the "
        "counts below use the adjusted verdicts. The two measures are reported side by side."
    )
    if withheld_units:
        intro += (
            f" Of the {units} compared, {count(withheld_units)} {plural(withheld_units, 'is', 'are')} not "
            "published to protect the "
            f"people in small groups; the tests, their adjustment and the counts are over the {count(rows.height)} "
            "published."  # both numbers are cells of the summary (units_withheld, units), not their total
        )
    return intro


def _adjusted_headline(result, summary: pl.DataFrame, adjusted_params, withheld_units: int) -> list[str]:
    """Per cohort, the verdict counts and the shared shift in words; then each unit's result (every one when
    there are at most :data:`ADJUSTED_LIST_LIMIT`, else the first of those with a verdict other than no change)."""
    rows = result.rows
    unit = _adjusted_unit(adjusted_params)

    def unit_noun(number_of: int | None) -> str:  # "establishment" for 1, "establishments" else (counts agree)
        return unit if number_of == 1 and " and " not in unit else _adjusted_units(unit)

    headline = []
    for row in summary.iter_rows(named=True):
        published = "published " if withheld_units else ""
        headline.append(
            f"{row['cohort']}: of {count(row['units'])} {published}{unit_noun(row['units'])} "
            f"({counted(row['cohort_size'], 'release')}), "
            + "; ".join(verdict_count_words(row, name, what) for name, what in ADJUSTED_MEASURES)
            + "."
        )
        if row["units"] > 1:
            headline.append(shift_sentence(row, published, unit_noun(row["units"]), adjusted_params))
    sentences = adjusted_headlines(result).splitlines()
    notable = rows.with_row_index("_i").filter(
        (pl.col("binary_verdict_adjusted") != Verdict.NO_CHANGE.value)
        | (pl.col("reoffences_per_offender_verdict_adjusted") != Verdict.NO_CHANGE.value)
    )
    shown = rows.height <= ADJUSTED_LIST_LIMIT
    listed = list(range(rows.height)) if shown else notable["_i"].to_list()[:ADJUSTED_LIST_LIMIT]
    return headline + [sentences[i] for i in listed]


ADJUSTED_MEASURES = (("binary", "the proven reoffending rate"), ("reoffences_per_offender", "reoffences per offender"))


def unadjusted_increases(rows: pl.DataFrame) -> pl.DataFrame:
    """Per cohort, the units significantly worse than the baseline on each measure before the adjustment for
    multiple testing (the counterpart of the ``*_reduction_unadjusted`` counts; over the published rows only)."""
    return rows.group_by("cohort").agg(
        (pl.col(f"{name}_verdict") == Verdict.INCREASE.value).sum().cast(pl.Int64).alias(f"{name}_increase_unadjusted")
        for name, _what in ADJUSTED_MEASURES
    )


def verdict_count_words(row: Mapping[str, Any], name: str, what: str) -> str:
    """One measure's verdict counts of one cohort (comparison_adjusted_summary.csv), each count beside its own
    measure, after the adjustment for multiple testing and before it (docs/comparisons-adjusted.md)."""
    beat, worse = row[f"{name}_reduction"], row[f"{name}_increase"]
    beat_before, worse_before = row[f"{name}_reduction_unadjusted"], row[f"{name}_increase_unadjusted"]
    return (
        f"on {what} {count(beat)} beat the baseline and {count(worse)} {plural(worse, 'was', 'were')} "
        f"significantly worse after the adjustment for multiple testing (before it, {count(beat_before)} beat "
        f"the baseline and {count(worse_before)} {plural(worse_before, 'was', 'were')} significantly worse)"
    )


def shift_sentence(row: Mapping[str, Any], published: str, units: str, adjusted_params) -> str:
    """The national shift of one cohort in words (docs/comparisons-adjusted.md, "The national shift"): every number
    a cell of comparison_adjusted_summary.csv (cohort_size and the shift columns, as the text rounds them); each
    measure's change and verdict in the command's words (:func:`reoffend.report.views.shift_change`,
    :func:`~reoffend.report.views.shift_verdict`)."""
    confidence = level(interval_confidence(adjusted_params.alpha, adjusted_params.sided))
    parts = []
    for prefix, what, unit, decimals in (
        ("binary_shift_pp", "the reoffending rate", " percentage points", 1),
        ("reoffences_per_offender_shift", "reoffences per offender", "", 2),
    ):
        value = row[prefix]
        if value is None:
            continue
        low = number(row[f"{prefix}_low"], decimals, signed=True)
        high = number(row[f"{prefix}_high"], decimals, signed=True)
        verdict = shift_verdict(value, row[f"{prefix}_significant"])
        parts.append(f"{shift_change(what, value, unit, decimals)} (interval {low} to {high}: {verdict})")
    shared = (
        " Every unit shares this shift: one that beat the baseline may only have moved with the rest."
        if row["binary_shift_pp_significant"] or row["reoffences_per_offender_shift_significant"]
        else ""
    )
    return (
        f"{row['cohort']}: all {counted(row['cohort_size'], 'release')} of the {published}{units} together, against "
        f"the baseline model's expectation ({confidence} intervals, the shift they share): "
        + "; ".join(parts)
        + "."
        + shared
    )


# What the bulletin's manifest (a published file) keeps of the baseline models: their fit, not their detail.
# The coefficients and calibration tables of an outcome model are statistics of groups the disclosure rule
# never saw: with the establishment as a covariate, each fitted rate is that establishment's baseline rate.
# `compare adjusted --json` (an analyst's output) keeps them all.
MODEL_DETAIL = ("coefficients", "calibration")
MODELS_DETAIL = ("calibration_by",)


def published_models(models: Mapping[str, Any]) -> dict[str, Any]:
    """The adjusted comparison's model summaries as the bulletin publishes them (:data:`MODEL_DETAIL`)."""
    out: dict[str, Any] = {}
    for name, model in models.items():
        if name in MODELS_DETAIL:
            continue
        out[name] = {k: v for k, v in model.items() if k not in MODEL_DETAIL} if isinstance(model, dict) else model
    return out


def _adjusted_declares(adjusted_params) -> Any:
    """Each unit of each current cohort: a split of the cohort by the ``by`` columns."""
    from .publication import adjusted_cells

    return adjusted_cells(adjusted_params.group_columns)


def _publish_adjusted(
    section: ComparisonSection, result, adjusted_params, options, baseline, withheld
) -> ComparisonSection:
    """The withheld units as [c] rows; every verdict adjusted for multiple testing among the published units
    only, and the summary counting them only (a count over all would give a withheld unit's verdict away)."""
    from ..compare.adjusted_score import verdict_columns
    from .publication import withhold_rows

    rows = result.rows
    hidden = list(withheld.get("comparison_adjusted.csv", [False] * rows.height))
    mask = pl.Series(hidden)
    measures = ("binary", "reoffences_per_offender")
    tested = rows.with_columns(
        pl.when(mask).then(None).otherwise(pl.col(f"{name}_{side}")).alias(f"{name}_{side}")
        for name in measures
        for side in ("p_reduction", "p_increase")
    )
    tested = tested.with_columns(e for name in measures for e in verdict_columns(tested, name, adjusted_params))
    shown = replace(result, rows=tested.filter(~mask))
    out = _adjusted_section(shown, adjusted_params, options, baseline, withheld_units=sum(hidden))
    out.tables = {**out.tables, "comparison_adjusted.csv": withhold_rows(tested, section.declares, hidden)}
    out.warnings = section.warnings
    out.all_significant = False if any(hidden) else section.all_significant
    return out


RUNNERS["adjusted"] = run_adjusted
