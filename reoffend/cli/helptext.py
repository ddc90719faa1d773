"""What every ``--help`` ends with: the command's examples, one per line, and the shared exit statuses.

Both are click ``\\b`` paragraphs, so click prints them as written instead of re-wrapping them mid-command.
The exit statuses come from :data:`reoffend.errors.EXIT_STATUSES` (one text for every command; docs/cli.md,
"Exit status", lists the same codes). Attached by :class:`reoffend.cli.lazy.LazyGroup` as it loads a command.
"""

from __future__ import annotations

import click

from ..errors import EXIT_STATUSES

# Keyed by the command's path under ``reoffend`` ("" is reoffend itself). Each example is one shell line.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "reoffend synth --format csv --out demo",
        "reoffend measure demo/releases.csv demo/convictions.csv --format table",
        "reoffend docs              # the documentation topics; reoffend docs cli prints one",
        'eval "$(_REOFFEND_COMPLETE=bash_source reoffend)"   # completion in bash (zsh, fish: reoffend docs cli)',
    ),
    "measure": (
        "reoffend measure releases.csv convictions.csv --exclude-offences breach.txt --format table",
        "reoffend measure releases.csv convictions.csv --by cohort,establishment --latest-cohort --json",
        "zcat releases.csv.gz | reoffend measure - convictions.csv --columns cohort,binary_rate",
        "reoffend measure releases.csv convictions.csv --by establishment | cut -d, -f1-4",
        "reoffend measure <(zcat releases.csv.gz) convictions.parquet --input-format csv",
        "reoffend measure releases.csv convictions.csv --by cohort,age --band age=18,21,25 --suppress 10",
        "reoffend measure releases.csv convictions.csv --per-release audit.parquet -o m.csv   # never with --suppress",
    ),
    "validate": (
        "reoffend validate releases.csv convictions.csv --format table",
        'reoffend validate releases.csv convictions.csv --errors problems.csv -q || echo "exit $?"',
    ),
    "synth": (
        "reoffend synth --out data/demo",
        "reoffend synth --releases 1000000 --seed 7 --format parquet --out big",
    ),
    "power": (
        "reoffend power --baseline-rate 0.53 --current-size 1000 --baseline-size 1000",
        "reoffend power --baseline-rate 53% --baseline-size 1000 --reduction 5",
        "reoffend power releases.csv convictions.csv --site EST042 --baseline 2022Q4 --measure both",
    ),
    "bulletin": (
        "reoffend bulletin --example-config > job.toml",
        "reoffend bulletin --config job.toml -o out/bulletin",
    ),
    "disclosure-check": (
        "reoffend disclosure-check out/bulletin",
        "reoffend disclosure-check out/bulletin --json | jq .failing",
    ),
    "sql": (
        "reoffend sql --dialect trino --by establishment,cohort --exclude-offences breach.txt > measure.sql",
        "reoffend sql --dialect spark --releases-table moj.releases --map release_date=date_out --with-validation",
        "reoffend sql --dialect duckdb --by '' | duckdb my.db   # one overall row",
        "reoffend sql --dialect bigquery --by cohort,risk_band --release-columns risk_band -o measure.sql",
    ),
    "nowcast": (
        "reoffend nowcast releases.csv convictions.csv --exclude-offences breach.txt --format table",
        "reoffend nowcast releases.csv convictions.csv --by cohort,establishment --final-cohorts 2 --json",
        "reoffend nowcast releases.csv convictions.csv --backtest --origins 12 --detail backtest.csv --format table",
    ),
    "docs": (
        "reoffend docs",
        "reoffend docs measures | less",
        "reoffend docs output.schema.json > output.schema.json",
    ),
    "sample": (
        "reoffend sample demo",
        "reoffend bulletin --config demo/job.toml -o demo-bulletin",
    ),
    "compare": (
        "reoffend compare baseline --current-counts 480/1000 --baseline-counts 530/1000 --target 5",
        "reoffend compare matched releases.csv convictions.csv --treated establishment=EST042 --covariates age,sex",
    ),
    "compare baseline": (
        "reoffend compare baseline releases.csv convictions.csv --site EST042 --current 2023Q4 --baseline 2022Q4",
        "reoffend compare baseline --current-counts 480/1000 --baseline-counts 530/1000 --target 5",
        "reoffend compare baseline releases.csv convictions.csv --site EST042 --current 2023 --baseline 2022 "
        "--period year --fail-unless-significant -q -o result.json",
    ),
    "compare matched": (
        "reoffend compare matched releases.csv convictions.csv --treated establishment=EST042 "
        "--covariates age,sex,sentence_months,prior_convictions,index_offence --style peterborough",
        "reoffend compare matched releases.csv convictions.csv --treated-ids participants.txt "
        "--covariates age,sex,prior_convictions --matches pairs.csv",
    ),
    "compare adjusted": (
        "reoffend compare adjusted releases.csv convictions.csv --period year --baseline 2022 "
        "--covariates age,sex,sentence_months,prior_convictions,index_offence --current-filter establishment=EST042",
        "reoffend compare adjusted releases.csv convictions.csv --baseline 2022Q1,2022Q2,2022Q3,2022Q4 "
        "--covariates age,sex --by establishment --model-summary models.json",
        "reoffend compare adjusted releases.csv convictions.csv --period year --baseline 2022 "
        "--covariates age,sex --relative-to others",
    ),
    "compare published": (
        "reoffend compare published --kind events --current 142 --current-size 1000 --baseline 155 "
        "--baseline-size 1000 --dispersion 2.5 --target-reduction 10",
        "reoffend compare published --kind data-lab --current 18% --current-size 805 --baseline 23% "
        "--baseline-size 1307",
        "reoffend compare published --kind rates --current 21% --current-size 805 --baseline 24% --baseline-size 805",
        "reoffend compare published --batch results.csv -o checks.csv",
    ),
}


def exit_statuses_text() -> str:
    """The exit statuses, one per line: the same text in every command's ``--help``."""
    lines = [f"  {code:<4} {meaning}" for code, meaning in EXIT_STATUSES.items()]
    return (
        "Exit status:\n\n\b\n" + "\n".join(lines) + "\n\nMore: reoffend docs cli (and reoffend docs for every topic)."
    )


def epilog(path: str) -> str:
    """The epilog of the command at ``path`` ("compare baseline"): its examples, then the exit statuses."""
    examples = EXAMPLES.get(path, ())
    parts = []
    if examples:
        parts.append("Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in examples))
    parts.append(exit_statuses_text())
    return "\n\n".join(parts)


def attach(command: click.Command, path: str) -> click.Command:
    """Give ``command`` the shared epilog unless it has one of its own (idempotent)."""
    if not command.epilog:
        command.epilog = epilog(path)
    return command
