"""Every output column is in the output dictionary (docs/output-dictionary.md), every dictionary entry is
written by some command, and every JSON document validates against docs/output.schema.json: the commands'
tables and JSON, and every table the bulletin writes (the sample bulletin, and one with the provisional
section) with its manifest.

jsonschema (a dev dependency) validates the documents; the schema's column list is the dictionary's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent
DICTIONARY = ROOT / "docs" / "output-dictionary.md"
SCHEMA = ROOT / "docs" / "output.schema.json"
SAMPLE = ROOT / "data" / "sample"
COVARIATES = "age,sex"


def dictionary_columns() -> list[str]:
    return re.findall(r"^\| `([a-z0-9_]+)` \|", DICTIONARY.read_text(encoding="utf-8"), re.M)


def commands(tmp: Path) -> dict[str, tuple[list[str], list[Path]]]:
    """Each command that writes a table, with the extra tables it writes (per-release, pairs)."""
    records = [str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv")]
    records += ["--exclude-offences", str(SAMPLE / "excluded_offences.txt")]
    return {
        "measure": (["measure", *records, "--by", "cohort,establishment", "--per-release", tmp / "audit.csv"],
                    [tmp / "audit.csv"]),
        "compare baseline": (["compare", "baseline", *records, "--site", "EST042", "--current", "2023Q3,2023Q4",
                              "--baseline", "2022Q4", "--target", "5"], []),
        "compare matched": (["compare", "matched", *records, "--treated", "establishment=EST042", "--covariates",
                             COVARIATES, "--bootstrap", "200", "--style", "peterborough", "--matches",
                             tmp / "pairs.csv"], [tmp / "pairs.csv"]),
        "compare adjusted": (["compare", "adjusted", *records, "--baseline", "2022Q1,2022Q2,2022Q3,2022Q4",
                              "--current", "2023Q4", "--covariates", COVARIATES], []),
        "compare adjusted --relative-to others": (["compare", "adjusted", *records, "--baseline",
                                                   "2022Q1,2022Q2,2022Q3,2022Q4", "--current", "2023Q4",
                                                   "--covariates", COVARIATES, "--relative-to", "others"], []),
        "compare published": (["compare", "published", "--kind", "events", "--current", "142", "--current-size",
                               "1000", "--baseline", "155", "--baseline-size", "1000", "--label", "Peterborough",
                               "--target-reduction", "10"], []),
        "power": (["power", "--baseline-rate", "46%", "--baseline-events", "180", "--measure", "both",
                   "--current-size", "100,400"], []),
        "nowcast": (["nowcast", *records], []),
        "nowcast --backtest": (["nowcast", *records, "--backtest"], []),
    }  # fmt: skip


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict[str, tuple[dict, list[list[str]]]]:
    """Each command's JSON document and the columns of the extra tables it wrote."""
    from reoffend.cli import main

    tmp = tmp_path_factory.mktemp("dictionary")
    found = {}
    for name, (args, extra) in commands(tmp).items():
        out = tmp / f"{name.replace(' ', '_')}.json"
        with pytest.raises(SystemExit) as stop:
            main([str(a) for a in [*args, "--format", "json", "-o", out, "-q"]])
        assert stop.value.code == 0, name
        found[name] = (json.loads(out.read_text()), [pl.read_csv(path).columns for path in extra])
    return found


@pytest.fixture(scope="module")
def bulletins(tmp_path_factory) -> list[Path]:
    """The sample bulletin (every comparison, breakdowns, establishments, court lag) and one built on an early
    extract with the provisional section (its nowcast and backtest tables)."""
    import datetime as dt

    from reoffend.bulletin.build import build_bulletin
    from reoffend.bulletin.config import parse_config
    from reoffend.synth import SynthParams, write

    tmp = tmp_path_factory.mktemp("bulletins")
    build_bulletin(parse_config(str(SAMPLE / "job.toml")), str(tmp / "sample"))
    early = tmp / "early"
    early.mkdir()
    write(SynthParams(releases=2000, seed=20240401, extract_date=dt.date(2024, 6, 30)), early, "csv")
    (early / "job.toml").write_text(
        '[inputs]\nreleases = "releases.csv"\nconvictions = "convictions.csv"\n[provisional]\ncohorts = 2\n'
    )
    build_bulletin(parse_config(str(early / "job.toml")), str(tmp / "provisional"))
    # the same extract against that bulletin: its revisions table (issue 27)
    (early / "revised.toml").write_text(
        f'[inputs]\nreleases = "releases.csv"\nconvictions = "convictions.csv"\n'
        f'[publication]\nprevious = "{tmp / "provisional"}"\n'
    )
    build_bulletin(parse_config(str(early / "revised.toml")), str(tmp / "revised"))
    return [tmp / "sample", tmp / "provisional", tmp / "revised"]


def bulletin_columns(folder: Path) -> dict[str, list[str]]:
    """The columns of every table the bulletin wrote, by file; a breakdown's own column (a release column, as a
    ``--by`` column is) left out."""
    tables = {}
    for path in sorted((folder / "tables").glob("*.csv")):
        columns = pl.read_csv(path, infer_schema_length=0).columns
        own = path.stem.removeprefix("breakdown_") if path.stem.startswith("breakdown_") else None
        tables[path.name] = [c for c in columns if c != own]
    return tables


def test_the_bulletins_write_every_kind_of_table(bulletins):
    names = {name for folder in bulletins for name in bulletin_columns(folder)}
    for expected in ("trend.csv", "changes.csv", "cohorts.csv", "establishments.csv", "establishment_summary.csv",
                     "court_lag.csv", "breakdown_age.csv", "parameters.csv", "comparison_baseline.csv",
                     "comparison_matched.csv", "comparison_matched_balance.csv", "comparison_adjusted.csv",
                     "comparison_adjusted_summary.csv", "comparison_adjusted_models.csv", "provisional.csv",
                     "provisional_backtest.csv", "revisions.csv"):  # fmt: skip
        assert expected in names


def test_every_output_column_is_in_the_dictionary(documents, bulletins):
    known = set(dictionary_columns())
    missing = {}
    for name, (document, extra) in documents.items():
        assert document["rows"], name
        columns = {c for row in document["rows"] for c in row} | {c for table in extra for c in table}
        if columns - known:
            missing[name] = sorted(columns - known)
    for folder in bulletins:
        for table, columns in bulletin_columns(folder).items():
            if set(columns) - known:
                missing[f"bulletin {table}"] = sorted(set(columns) - known)
    assert missing == {}


def test_every_dictionary_entry_is_written_by_a_command(documents, bulletins):
    written = set()
    for document, extra in documents.values():
        written |= {c for row in document["rows"] for c in row} | {c for table in extra for c in table}
    for folder in bulletins:
        written |= {c for columns in bulletin_columns(folder).values() for c in columns}
    assert sorted(set(dictionary_columns()) - written) == []


def test_the_bulletin_manifest_validates(bulletins):
    schema = json.loads(SCHEMA.read_text())
    manifest = {"$ref": "#/$defs/bulletin_manifest", "$defs": schema["$defs"]}
    validator = jsonschema.Draft202012Validator(manifest)
    for folder in bulletins:
        document = json.loads((folder / "manifest.json").read_text())
        assert [e.message for e in validator.iter_errors(document)] == []
        written = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
        assert set(document["files"]) == written
    document["files"]["bulletin.md"]["sha256"] = "not a checksum"
    assert not validator.is_valid(document)


def test_one_entry_per_column():
    columns = dictionary_columns()
    assert len(columns) == len(set(columns)) > 100


def test_the_schema_lists_the_dictionary_and_every_document_validates(documents):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["row"]["propertyNames"]["enum"] == dictionary_columns()
    validator = jsonschema.Draft202012Validator(schema)
    for name, (document, _extra) in documents.items():
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], name


def test_the_schema_rejects_an_unknown_column_and_an_unknown_verdict(documents):
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    document = json.loads(json.dumps(documents["compare baseline"][0]))
    document["rows"][0]["offences_per_offender"] = 1.0  # an old name of reoffences_per_offender
    assert not validator.is_valid(document)
    document = json.loads(json.dumps(documents["compare baseline"][0]))
    document["rows"][0]["verdict"] = "significant"
    assert not validator.is_valid(document)


def test_window_dates_are_described_as_exclusive_as_the_window_computes_them() -> None:
    """An auditor counts from the dictionary: `follow_up_end` and `conviction_deadline` are first days outside
    the window (window.py: offence_date < follow_up_end, conviction_date < conviction_deadline), never "last day".
    A release on 2023-01-31 has follow_up_end 2024-01-31 and, with a 6-month wait, conviction_deadline 2024-07-31;
    an offence on 2024-01-31 does not count."""
    from datetime import date

    from reoffend.window import FollowUpWindow

    text = DICTIONARY.read_text(encoding="utf-8")
    for column in ("follow_up_end", "conviction_deadline"):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{column}` |"))
        assert "exclusive" in row and "last day" not in row, row
    window = FollowUpWindow()
    frame = pl.DataFrame({"release_date": [date(2023, 1, 31)]}).with_columns(
        follow_up_end=window.follow_up_end(pl.col("release_date"))
    )
    frame = frame.with_columns(conviction_deadline=window.conviction_deadline(pl.col("follow_up_end")))
    assert frame.row(0) == (date(2023, 1, 31), date(2024, 1, 31), date(2024, 7, 31))
