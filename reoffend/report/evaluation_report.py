"""The one-page evaluation report of a matched comparison (``compare matched --report DIR``).

A folder with ``report.html`` (self-contained: the balance plot is embedded), ``report.md``, ``balance.png``,
``result.json`` (every number in the report) and ``manifest.json`` (parameters, inputs, version), written
atomically by the bulletin's folder writer (:func:`reoffend.bulletin.folder.write_folder`): an earlier report
stays in place until the new one is complete. Contents, in reading order: the verdict in words (the
data-lab summary with ``--style data-lab``, else the headline), the counts, the rates with their intervals,
the sensitivity to hidden bias, the balance table and plot, the method in a paragraph, and the warnings.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from .. import __version__
from ..bulletin.document import md_text
from ..bulletin.folder import MANIFEST_KEY, MANIFEST_VERSION, REPORT_KIND
from ..compare.datalab import METHOD as DATA_LAB_METHOD
from ..compare.matched import MatchedResult
from .datalab import data_lab_paragraphs
from .format import DASH, interval, number, p_value, pct, per_cent
from .sensitivity import sensitivity_summary
from .verdict import interval_confidence
from .views import matched_headlines

TITLE = "Programme evaluation: proven reoffending against a matched comparison group"


def report_files(
    result: MatchedResult, parameters: dict[str, Any], balance_png: bytes, extra_json: dict[str, Any]
) -> dict[str, bytes]:
    """The report folder's files (relative path -> bytes)."""
    sections = _sections(result)
    document = {"parameters": parameters, "metadata": result.metadata, "rows": result.rows.to_dicts(), **extra_json}
    files = {
        "report.html": _html(sections, balance_png).encode(),
        "report.md": _markdown(sections).encode(),
        "balance.png": balance_png,
        "result.json": (json.dumps(document, indent=2, default=_json_default, ensure_ascii=False) + "\n").encode(),
    }
    manifest = {
        MANIFEST_KEY: MANIFEST_VERSION,  # the folder format of bulletin/folder.py, so a rerun may replace it
        "kind": REPORT_KIND,  # so a bulletin never replaces a report, nor a report a bulletin
        "generator": f"reoffend {__version__}",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "parameters": parameters,
        "inputs": result.metadata.get("inputs"),
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest()} for name, data in files.items()},
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, default=_json_default) + "\n").encode()
    return files


def _json_default(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------------------------------------ the content
Table = tuple[list[str], list[list[str]]]


def _sections(result: MatchedResult) -> list[tuple[str, list[str], Table | None]]:
    """(heading, paragraphs, table) in reading order."""
    verdict = (
        data_lab_paragraphs(result.data_lab) if result.data_lab is not None else matched_headlines(result).splitlines()
    )
    sensitivity = sensitivity_summary(result)
    return [
        ("The result in words", verdict, None),
        ("Who was compared", [], _counts_table(result)),
        ("Outcomes", [], _outcomes_table(result)),
        ("Sensitivity to hidden bias", sensitivity, None),
        (
            "Balance",
            [
                "Standardised mean differences of each covariate (and level) between treated and comparison, before "
                "and after matching (weighted); |SMD| under 0.1 is conventionally balanced."
            ],
            _balance_table(result),
        ),
        ("Method", [_method_paragraph(result)], None),
        ("Warnings", list(result.warnings) or ["none"], None),
    ]


def _counts_table(result: MatchedResult) -> Table:
    """Who was compared: the treated releases evaluated and matched, the comparators, the effective size."""
    pooled = result.rows.row(-1, named=True)
    counts: Table = (
        ["", "number"],
        [
            ["treated index releases evaluated", f"{pooled['treated']:,}"],
            ["matched", f"{pooled['matched']:,}"],
            ["unmatched (no comparator within the caliper, or a missing covariate)", f"{pooled['unmatched']:,}"],
            ["comparators used", f"{pooled['comparators']:,}"],
            ["effective comparison group size (Kish)", number(pooled["effective_comparison_size"], 0)],
        ],
    )
    ids = result.diagnostics.get("treated_ids")
    if isinstance(ids, dict):
        counts[1].insert(0, ["ids listed", f"{ids['listed']:,}"])
    return counts


def _outcomes_table(result: MatchedResult) -> Table:
    """The outcomes of all cohorts together: the binary rate (the data-lab headline with ``--style data-lab``),
    events per 100 and reoffences per person, each with its difference, interval and p; the days to first
    proven reoffence with the data-lab style."""
    pooled = result.rows.row(-1, named=True)
    params = result.params
    level = f"{100 * params.measure.confidence:g}%"
    # the matched intervals are at the level that agrees with the one-sided test (reoffend.report.verdict)
    verdict_level = f"{100 * interval_confidence(params.alpha, 'one'):g}%"
    rates_rows = []
    if result.data_lab is not None:
        lab = result.data_lab
        rates_rows.append(
            [
                "one-year proven reoffending rate (headline)",
                per_cent(lab.rate_participants_pct),
                per_cent(lab.rate_comparison_pct),
                _with_unit(number(lab.difference_pp, signed=True), " points"),
                interval(lab.difference_low_pp, lab.difference_high_pp, _signed) + f" ({level})",
                p_value(lab.p_two_sided) + " (two-sided)",
            ]
        )
    else:
        rates_rows.append(
            [
                "proven reoffending rate",
                pct(pooled["binary_rate_treated"]),
                pct(pooled["binary_rate_comparison"]),
                _with_unit(number(pooled["binary_difference_pp"], signed=True), " points"),
                interval(pooled["binary_difference_pp_low"], pooled["binary_difference_pp_high"], _signed)
                + f" ({verdict_level})",
                p_value(pooled["binary_p_reduction"]) + " (one-sided, reduction)",
            ]
        )
    for label, means, change, decimals in (
        ("reconviction events per 100", "events_per_100", "events", 1),
        ("proven reoffences per person", "reoffences_per_offender", "reoffences_per_offender", 2),
    ):
        rates_rows.append(
            [
                label,
                number(pooled[f"{means}_treated"], decimals),
                number(pooled[f"{means}_comparison"], decimals),
                per_cent(pooled[f"{change}_change_pct"], signed=True),
                interval(pooled[f"{change}_change_low"], pooled[f"{change}_change_high"], _signed_pct)
                + f" ({verdict_level})",
                p_value(pooled[f"{change}_p_reduction"]) + " (one-sided, reduction)",
            ]
        )
    if result.data_lab is not None and result.data_lab.days_to_first_participants is not None:
        rates_rows.append(
            [
                "days to first proven reoffence (those who reoffended)",
                number(result.data_lab.days_to_first_participants, 0),
                number(result.data_lab.days_to_first_comparison, 0),
                "",
                "",
                "",
            ]
        )
    return (["measure", "treated", "comparison", "difference", "interval", "p"], rates_rows)


def _balance_table(result: MatchedResult) -> Table:
    """Each covariate (and level) with its standardised mean difference before and after matching."""
    return (
        ["covariate", "SMD before", "SMD after"],
        [
            [
                r["covariate"] if r["level"] is None else f"{r['covariate']}={r['level']}",
                number(r["smd_before"], 3, signed=True),
                number(r["smd_after"], 3, signed=True),
            ]
            for r in result.balance.iter_rows(named=True)
        ],
    )


def _method_paragraph(result: MatchedResult) -> str:
    """The method in one paragraph: the matching, the weights, the follow-up and the intervals."""
    params = result.params
    forms = params.as_dict().get("covariate_forms") or {}
    return (
        f"Each treated index release was matched, within the same {', '.join(params.exact) or 'population'}, to up "
        f"to {params.ratio} releases of people not treated with the nearest propensity score (logit; caliper "
        f"{params.caliper:g} standard deviations; with replacement), from a logistic regression of treatment on "
        f"{', '.join(params.covariates)}"
        + (f" (forms: {', '.join(f'{c} {f}' for c, f in forms.items())})" if forms else "")
        + ". Comparators are weighted 1 / (the number of comparators of the person they serve). Follow-up is one "
        "year from release, with offences proven by a conviction within that year or a further six months. "
        f"Intervals for the events and offences are bootstrap percentile intervals ({params.bootstrap:,} "
        "replicates of treated people with their comparators)."
        + (" " + DATA_LAB_METHOD if result.data_lab is not None else "")
        + " Matching only balances what was measured: see the sensitivity section."
    )


def _signed(value: float | None) -> str:
    return number(value, signed=True)


def _signed_pct(value: float | None) -> str:
    return per_cent(value, signed=True)


def _with_unit(figure: str, unit: str) -> str:
    """``figure`` and its unit; a dash (a figure that could not be computed) alone."""
    return figure if figure == DASH else figure + unit


# ----------------------------------------------------------------------------------------- rendering
def _markdown(sections: Sequence[tuple[str, list[str], Table | None]]) -> str:
    """report.md: every text Markdown-escaped (a covariate level or a label from the data is shown, never markup)."""
    lines = [f"# {md_text(TITLE)}", ""]
    for heading, paragraphs, table in sections:
        lines += [f"## {md_text(heading)}", ""]
        for paragraph in paragraphs:
            lines += [md_text(paragraph), ""]
        if table is not None:
            header, rows = table
            lines.append("| " + " | ".join(md_text(h).replace("|", "\\|") for h in header) + " |")
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines += ["| " + " | ".join(md_text(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
            lines.append("")
        if heading == "Balance":
            lines += ["![Covariate balance before and after matching](balance.png)", ""]
    return "\n".join(lines)


CSS = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;"
    "line-height:1.45}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}th,td{padding:.2rem .6rem;border-bottom:1px "
    "solid #e3e3e3;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}"
    "@media print{body{margin:0;font-size:10pt}h2{break-after:avoid}}"
)


def _html(sections: Sequence[tuple[str, list[str], Table | None]], balance_png: bytes) -> str:
    e: Callable[[str], str] = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(TITLE)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{e(TITLE)}</h1>",
    ]
    for heading, paragraphs, table in sections:
        parts.append(f"<h2>{e(heading)}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in paragraphs]
        if table is not None:
            header, rows = table
            parts.append(
                "<table><thead><tr>" + "".join(f'<th scope="col">{e(h)}</th>' for h in header) + "</tr></thead>"
            )
            parts.append("<tbody>")
            for row in rows:
                cells = [f'<th scope="row">{e(row[0])}</th>'] + [f'<td class="n">{e(c)}</td>' for c in row[1:]]
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table>")
        if heading == "Balance":
            encoded = base64.b64encode(balance_png).decode()
            parts.append(
                f'<img src="data:image/png;base64,{encoded}" alt="Standardised mean differences of the covariates '
                'before and after matching">'
            )
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
