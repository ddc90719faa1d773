"""Warnings a run gives, each under a stable code (docs/cli.md, "Warnings").

A warning is valid output that is probably not what was meant, or a figure to read with care. The core returns
them as :class:`RunWarning` values (a ``str``: its message, so every result that lists warnings in JSON, the
bulletin's text and the manifest keep their shape), each carrying its ``code``, the ``subjects`` it names (a
group, a cohort) and the ``counts`` behind it. :data:`WARNING_CODES` is the registry of every code the program
can emit, with when it is given and what to do: docs/cli.md's table lists exactly these codes (a test checks
both ways, and that every code the source constructs is registered). :func:`merge_warnings` turns a run's
warnings into one line per code, which is what the command line prints; the log keeps every one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class WarningCode:
    """One code of the registry: ``when`` it is given and ``action``, what to do (docs/cli.md's table);
    ``merged``, the one line for several warnings of the code, formatted with ``count`` (distinct subjects),
    ``names`` (the first few subjects) and the first warning's ``counts``; empty: the first message and how
    many more."""

    when: str
    action: str
    merged: str = ""


WARNING_CODES: Mapping[str, WarningCode] = MappingProxyType(
    {
        # --- the inputs (reoffend.validate.input_warnings, reoffend.offences, the cohorts)
        "empty-releases": WarningCode(
            "the releases file has a header but no rows", "check the extract: every figure is for nobody"
        ),
        "empty-convictions": WarningCode(
            "the convictions file has a header but no rows", "check that the extract is complete: every rate is 0%"
        ),
        "no-matching-ids": WarningCode(
            "no offender_id of the convictions is one of the releases'",
            "write the ids alike in both files (007 and 7 differ)",
        ),
        "unused-exclusion-codes": WarningCode(
            "an --exclude-offences code that no conviction has", "check the codes (a typo, another coding scheme)"
        ),
        "breach-codes-counted": WarningCode(
            "no exclusion list, and convictions have codes starting with BREACH",
            "give --exclude-offences FILE (or exclude_offences in [inputs]) if they are not new offences",
        ),
        "no-reoffences": WarningCode(
            "measure: convictions, but none counts as a reoffence (every code excluded, or none in a window)",
            "check the extract, the exclusion list and the window",
        ),
        "partial-period": WarningCode(
            "the data covers a cohort only in part (its first or last months are missing)",
            "compare it with full cohorts only with care; --latest-cohort or --where can leave it out",
            "{count} cohorts are partial periods, not comparable with a full one: {names}",
        ),
        "incomplete-excluded": WarningCode(
            "releases whose follow-up is not complete were dropped (--incomplete exclude)",
            "expected with --incomplete exclude; nowcast gives provisional figures for them",
        ),
        # --- nowcast (reoffend.nowcast)
        "all-final": WarningCode(
            "nowcast: no release is in follow-up at the extract date", "none: every figure is final, as measure"
        ),
        "small-groups": WarningCode(
            "nowcast: a group has fewer complete releases to learn from than 100",
            "read its provisional figures with the backtest; group by fewer columns, or acknowledge it",
            "{count} groups have fewer than {threshold} complete releases to learn from: {names}",
        ),
        "no-reference": WarningCode(
            "nowcast: groups with no complete release in the state of one in follow-up",
            "their provisional figures are empty; group by fewer columns",
            "{count} groups have no complete release to learn from in the state of one in follow-up, so their "
            "provisional figures are empty: {names}",
        ),
        "court-lag": WarningCode(
            "nowcast: recent convictions take longer (or less long) to arrive than the complete releases' did",
            "see reoffend docs nowcast, Court lag; --court-lag chooses what is done",
        ),
        "backtest-coverage": WarningCode(
            "nowcast --check: the backtest's intervals held the final rate too rarely, or could not be run",
            "treat the provisional figures as unreliable; see nowcast --backtest",
        ),
        # --- power (reoffend.compare.power)
        "no-detectable-reduction": WarningCode(
            "power: a cohort size too small to detect any reduction from the baseline",
            "larger cohorts, or a lower power",
        ),
        "baseline-too-small": WarningCode(
            "power: the baseline cohort alone is too small for some reductions", "a larger baseline cohort"
        ),
        # --- compare baseline (reoffend.compare.baseline)
        "empty-baseline": WarningCode("compare baseline: the baseline cohort is empty", "choose another baseline"),
        "empty-current": WarningCode(
            "compare baseline: a current cohort is empty", "check --current, --site and the filters"
        ),
        "few-expected": WarningCode(
            "compare baseline: fewer than 5 expected reoffenders or non-reoffenders",
            "read the p-value with care (the normal approximation is rough)",
        ),
        "compared-with-itself": WarningCode(
            "compare baseline: the current cohort is the baseline", "choose a different --baseline or --current"
        ),
        # --- compare matched (reoffend.compare.matched)
        "ids-not-found": WarningCode(
            "compare matched: listed treated ids with no index release compared", "check the id list and filters"
        ),
        "exact-without-cohort": WarningCode(
            "compare matched: --exact does not include the cohort", "add cohort to --exact to match within cohorts"
        ),
        "pool-levels-unseen": WarningCode(
            "compare matched: pool releases with a category level no treated release has",
            "none needed; they cannot be matched",
        ),
        "treated-levels-unseen": WarningCode(
            "compare matched: treated releases with a category level absent from the pool",
            "they are unmatched; coarsen the covariate",
        ),
        "constant-covariates": WarningCode(
            "a covariate constant among the releases compared, or with a single level in the baseline",
            "leave it out of --covariates",
        ),
        "imbalance": WarningCode(
            "compare matched: |SMD| after matching exceeds 0.1", "a narrower --caliper, or more --exact columns"
        ),
        "unmatched": WarningCode(
            "compare matched: more than 5% of treated releases (pooled or in a cohort) have no comparator",
            "a wider --caliper; the estimate is for the matched releases only",
        ),
        "no-matches": WarningCode(
            "compare matched: no treated release has a comparator", "a wider --caliper or fewer --exact columns"
        ),
        # --- compare adjusted (reoffend.compare.adjusted and its models)
        "spline-knots": WarningCode(
            "compare adjusted: ties leave a spline fewer knots than asked", "a smaller spline df for that covariate"
        ),
        "unseen-level": WarningCode(
            "compare adjusted: a current category level absent from the baseline", "see --unseen"
        ),
        "model-fit": WarningCode(
            "compare adjusted: a baseline model separates, overflows or does not converge",
            "fewer or coarser covariates; treat its predictions with caution",
        ),
        "poisson-fallback": WarningCode(
            "compare adjusted: the baseline counts show no over-dispersion, so Poisson is fitted",
            "none: the Poisson model is the negative binomial's limit",
        ),
        "calibration": WarningCode(
            "compare adjusted: a model misfits the baseline in covariate bands",
            "another --covariate-form",
            "{count} models misfit the baseline in some covariate bands (the bands are named in the log): {names}. "
            "Consider another --covariate-form",
        ),
        "outside-range": WarningCode(
            "compare adjusted: current covariate values outside the baseline's range (the model extrapolates)",
            "read those providers' figures with care",
        ),
        "national-shift": WarningCode(
            "compare adjusted: all current releases together differ significantly from the baseline model",
            "compare units with each other, not only with the baseline (every unit shares the shift)",
        ),
        "small-comparisons": WarningCode(
            "compare adjusted: comparisons of fewer than 30 releases",
            "read their intervals and p-values with care; acknowledge it where expected (per establishment)",
        ),
    }
)

NAMES_SHOWN = 5  # subjects a merged line names on the terminal (the log has every one)


class RunWarning(str):
    """A warning: its message (the ``str`` value) with its ``code`` (one of :data:`WARNING_CODES`), the
    ``subjects`` it names and the ``counts`` behind it. An unknown code is a bug (ValueError)."""

    code: str
    subjects: tuple[str, ...]
    counts: Mapping[str, int | float]

    def __new__(
        cls,
        code: str,
        message: str,
        subjects: Sequence[str] = (),
        counts: Mapping[str, int | float] | None = None,
    ) -> RunWarning:
        if code not in WARNING_CODES:
            raise ValueError(f"unregistered warning code {code!r} (reoffend.run_warnings.WARNING_CODES)")
        warning = super().__new__(cls, message)
        warning.code = code
        warning.subjects = tuple(str(s) for s in subjects)
        warning.counts = dict(counts or {})
        return warning

    @property
    def message(self) -> str:
        return str.__str__(self)

    def prefixed(self, prefix: str) -> RunWarning:
        """The same warning with ``prefix`` before its message (``origin 2024-06-30: ...``)."""
        return RunWarning(self.code, prefix + self.message, self.subjects, self.counts)

    def __reduce__(self):  # pickling and copying keep the code
        return (RunWarning, (self.code, self.message, self.subjects, dict(self.counts)))

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "subjects": list(self.subjects),
            "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class MergedWarning:
    """The warnings of one code as one line: ``text``, and ``warnings``, every one of them."""

    code: str
    text: str
    warnings: tuple[RunWarning, ...]


def merge_warnings(warnings: Iterable[RunWarning], names_shown: int = NAMES_SHOWN) -> list[MergedWarning]:
    """One line per code, in the order the codes first appear: a message given more than once is said once;
    several messages of a code become the code's ``merged`` sentence naming at most ``names_shown`` subjects
    (and how many more), or the first message and how many more like it."""
    by_code: dict[str, list[RunWarning]] = {}
    for warning in warnings:
        by_code.setdefault(warning.code, []).append(warning)
    merged = []
    for code, group in by_code.items():
        distinct = list(dict.fromkeys(w.message for w in group))
        if len(distinct) == 1:
            text = distinct[0]
        else:
            subjects = list(dict.fromkeys(s for w in group for s in w.subjects))
            template = WARNING_CODES[code].merged
            if template and subjects:
                shown = ", ".join(subjects[:names_shown])
                more = f" and {len(subjects) - names_shown:,} more" if len(subjects) > names_shown else ""
                text = template.format(count=f"{len(subjects):,}", names=shown + more, **group[0].counts)
            else:
                text = f"{distinct[0]} (and {len(distinct) - 1:,} more like it)"
        merged.append(MergedWarning(code, text, tuple(group)))
    return merged


def acknowledged_codes(values: str | Iterable[str], option: str) -> frozenset[str]:
    """The codes of the values of ``--acknowledge`` (each ``CODE[,CODE]``; one string is one value, never its
    characters), each one of :data:`WARNING_CODES`; else a usage error naming ``option`` and the nearest code
    (the command line and the Python API alike)."""
    from .errors import UsageError

    listed = [values] if isinstance(values, str) else list(values)
    codes = [code.strip() for value in listed for code in str(value).split(",") if code.strip()]
    try:
        return check_acknowledged(codes, option)
    except ValueError as error:
        raise UsageError(str(error)) from None


def check_acknowledged(codes: Iterable[str], where: str) -> frozenset[str]:
    """Codes to acknowledge, each one of :data:`WARNING_CODES`; else a ValueError naming the nearest code."""
    checked = []
    for code in codes:
        if code not in WARNING_CODES:
            near = difflib.get_close_matches(code, list(WARNING_CODES), n=1)
            hint = f"did you mean {near[0]!r}?" if near else "the codes are listed in reoffend docs cli, Warnings"
            raise ValueError(f"{where}: " * bool(where) + f"unknown warning code {code!r}; {hint}")
        checked.append(code)
    return frozenset(checked)
