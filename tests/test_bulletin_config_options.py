"""The bulletin's config offers every comparison option the CLI has that means something in a bulletin (issue
28: the bulletin advised ``covariate_form``, which its config rejected); the exceptions are listed with why."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from reoffend.bulletin.config import COMPARISON_SCHEMAS, INPUTS_SCHEMA, MEASURE_SCHEMA, parse_config
from reoffend.cli import cli
from reoffend.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
# CLI options with no place in a comparison section of the bulletin, and why
NOT_IN_A_BULLETIN = {
    "config": "the bulletin has its own config",
    "column_map": "[columns] maps columns once for every section",
    "columns": "an output choice of the command's table; the bulletin publishes its own tables",
    "output": "the bulletin writes its folder (-o)",
    "output_format": "the bulletin writes CSV, ODS, HTML and Markdown",
    "quiet": "a run option of the bulletin command",
    "errors_file": "a run option of the bulletin command",
    "streaming": "a run option; the bulletin reads its inputs once",
    "incomplete": "the bulletin measures complete cohorts and publishes the rest as provisional",
    "index_rule": "[measure] index, shared by every section",
    "latest_cohort": "the bulletin's cohorts are chosen by each section's keys",
    "baseline_cohort": "published-counts mode of compare baseline, not a records run",
    "baseline_counts": "published-counts mode of compare baseline, not a records run",
    "current_counts": "published-counts mode of compare baseline, not a records run",
    "balance_plot": "the bulletin draws its own figures",
    "report_dir": "the bulletin is the report",
    "matches_file": "record-level output: the bulletin publishes no record-level data",
    "model_summary": "the bulletin's adjusted section states the model's fit",
    "baseline_filter": "the bulletin compares each unit of `by` with its own baseline",
    "current_filter": "the bulletin compares each unit of `by` with its own baseline",
    "log": "a run option of every command (bulletin --log)",
    "acknowledge": "the bulletin config's top-level acknowledge, for every section",
    "relative_to": "the bulletin judges units against the mechanism's baseline and publishes the shift they share",
}


@pytest.mark.parametrize("name", ["baseline", "matched", "adjusted"])
def test_every_comparison_option_of_the_cli_is_a_key_of_the_bulletin_or_said_why_not(name: str) -> None:
    context = click.Context(cli)
    command = cli.get_command(context, "compare").get_command(context, name)  # type: ignore[union-attr]
    options = {p.name for p in command.params if p.name and not getattr(p, "hidden", False)}
    keys = set(COMPARISON_SCHEMAS[name]) | set(MEASURE_SCHEMA) | set(INPUTS_SCHEMA)
    assert sorted(options - keys - set(NOT_IN_A_BULLETIN)) == []


@pytest.mark.parametrize("name", ["matched", "adjusted"])
def test_covariate_form_is_read_and_checked_by_the_bulletin(tmp_path: Path, name: str) -> None:
    sample = ROOT / "data" / "sample"
    config = tmp_path / "job.toml"
    head = f'[inputs]\nreleases = "{sample / "releases.csv"}"\nconvictions = "{sample / "convictions.csv"}"\n'
    section = f'[comparisons.{name}]\ncovariates = ["age", "prior_convictions"]\n'
    section += 'baseline = ["2022Q1"]\n' if name == "adjusted" else 'treated = { establishment = ["EST042"] }\n'
    config.write_text(head + section + 'covariate_form = { age = "spline:3" }\n', encoding="utf-8")
    assert parse_config(str(config)).comparisons[name]["covariate_form"] == {"age": "spline:3"}
    config.write_text(head + section + 'covariate_form = ["age=spline:3", "prior_convictions=log1p"]\n', "utf-8")
    forms = parse_config(str(config)).comparisons[name]["covariate_form"]
    assert forms == {"age": "spline:3", "prior_convictions": "log1p"}
    config.write_text(head + section + "covariate_form = 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match="covariate_form"):
        parse_config(str(config))


def test_the_docs_list_every_comparison_key() -> None:
    table = (ROOT / "docs" / "bulletin.md").read_text(encoding="utf-8")
    for name, schema in COMPARISON_SCHEMAS.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `[comparisons.{name}]` |"))
        missing = [key for key in schema if f"`{key}`" not in row]
        assert missing == [], f"docs/bulletin.md's row for [comparisons.{name}] lacks {missing}"
