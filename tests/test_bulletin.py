"""The bulletin built from data/sample: every number in the text is in tables/ and agrees with `measure`,
the manifest is right, a rerun gives the same files, and a failed run leaves an earlier bulletin in place."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
import math
import re
import time
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin.build import build_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.bulletin.text import cohort_words, cohorts_in_words, long_date, minus, plain_measures
from reoffend.report.views import adjusted_headlines, baseline_headlines, matched_headlines

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
JOB = SAMPLE / "job.toml"
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])")
# Words with digits that are not statistics: figure and table numbers, a unit, the checksum's name.
LABELS = re.compile(
    r"\b(?:Figure|Table) \d+\b|per 100\b|SHA-256"
    r"|\b(?:January|February|March|April|May|June|July|August|September|October|November|December) \d{4}\b"
)


@pytest.fixture(scope="module")
def sample_bulletin(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("sample") / "bulletin"
    build_bulletin(parse_config(str(JOB)), str(target))
    return target


def as_written(sentence: str) -> str:
    """A sentence of an analysis core (shared with the terminal) as the bulletin writes it, by the functions
    its text goes through (text.compose): cohorts and measures in words, the minus sign U+2212."""
    return minus(plain_measures(cohorts_in_words(sentence, "quarter")))


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def table_cells(folder: Path) -> tuple[set[str], list[float]]:
    """Every cell of every CSV under tables/: the text cells and the numeric ones."""
    strings: set[str] = set()
    numbers: list[float] = []
    for path in sorted((folder / "tables").glob("*.csv")):
        frame = pl.read_csv(path, infer_schema_length=0)  # every column as text
        for column in frame.columns:
            for value in frame[column].drop_nulls().to_list():
                try:
                    numbers.append(float(value))
                except ValueError:
                    if value not in ("true", "false"):
                        strings.add(value)
    return strings, numbers


def displayed(text: str, numbers: list[float]) -> bool:
    """True when some table value, as a number or as a percentage, prints as ``text`` at its decimals."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    shown = f"{abs(float(text.replace(',', ''))):.{decimals}f}"
    return any(f"{abs(v) * scale:.{decimals}f}" == shown for v in numbers for scale in (1, 100))


def test_every_number_in_the_text_is_in_the_tables(sample_bulletin):
    text = (sample_bulletin / "bulletin.md").read_text()
    strings, numbers = table_cells(sample_bulletin)
    # text cells (cohort labels, dates, establishment codes, file names, the version) are matched whole, and so
    # are the words the text writes them in (2023Q4 as "October to December 2023", dates as "30 April 2026")
    for cell in sorted(strings, key=len, reverse=True):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
            text = text.replace(long_date(dt.date.fromisoformat(cell)), " ")
        elif re.fullmatch(r"\d{4}Q[1-4]", cell):
            text = text.replace(cohort_words(cell, "quarter"), " ")
    for cell in sorted(strings, key=len, reverse=True):
        if re.search(r"\d", cell):
            text = text.replace(cell, " ")
    text = LABELS.sub(" ", text)
    found = NUMBER.findall(text)
    assert len(found) > 100  # the check has something to check
    missing = sorted({n for n in found if not displayed(n, numbers)})
    assert not missing, f"numbers in bulletin.md not in tables/: {missing}"


def test_the_check_catches_a_number_not_in_the_tables(sample_bulletin):
    _strings, numbers = table_cells(sample_bulletin)
    assert displayed("1,453", numbers) or displayed("56.1", numbers)
    assert not displayed("12345.678", numbers)


def test_trend_agrees_with_measure(sample_bulletin, cli):
    status, out, err = cli(
        "measure",
        SAMPLE / "releases.csv",
        SAMPLE / "convictions.csv",
        "--exclude-offences",
        SAMPLE / "excluded_offences.txt",
        "--by",
        "cohort",
        "--incomplete",
        "exclude",
        "--csv",
    )
    assert status == 0, err
    measured = pl.read_csv(io.StringIO(out), schema_overrides={"cohort": pl.String})
    trend = pl.read_csv(sample_bulletin / "tables" / "trend.csv", schema_overrides={"cohort": pl.String})
    # every cohort of the sample is complete at its extract date, so the bulletin's trend is measure's table
    cohorts = pl.read_csv(sample_bulletin / "tables" / "cohorts.csv")
    assert cohorts["complete"].all()
    # every cohort of the sample is large enough to publish: no cell suppressed
    assert trend["suppressed"].null_count() == trend.height
    assert trend.drop("suppressed").equals(measured)


def test_headline_is_the_latest_cohort_and_changes_match_the_trend(sample_bulletin):
    trend = pl.read_csv(sample_bulletin / "tables" / "trend.csv")
    changes = pl.read_csv(sample_bulletin / "tables" / "changes.csv")
    latest = trend.row(-1, named=True)
    assert latest["cohort"] == "2023Q4"
    assert changes["comparison"].to_list() == ["previous cohort", "same cohort a year earlier"]
    assert changes["earlier_cohort"].to_list() == ["2023Q3", "2022Q4"]
    by_cohort = {r["cohort"]: r for r in trend.iter_rows(named=True)}
    for row in changes.iter_rows(named=True):
        earlier = by_cohort[row["earlier_cohort"]]
        assert row["difference_pp"] == pytest.approx(100 * (latest["binary_rate"] - earlier["binary_rate"]))
        assert row["significant"] == (row["p_value"] < 0.05)
    text = (sample_bulletin / "bulletin.md").read_text()
    assert f"**{100 * latest['binary_rate']:.1f}%** of the {latest['cohort_size']:,} people released" in text
    assert "statistically significant at the 5% level" in text
    assert "## About these statistics" in text


def test_folder_has_every_output(sample_bulletin):
    names = set(files_of(sample_bulletin))
    for figure in ("trend", "events_per_100", "establishments", "court_lag"):
        assert f"figures/{figure}.png" in names and f"figures/{figure}.svg" in names
    for table in ("trend", "changes", "cohorts", "establishments", "court_lag", "parameters"):
        assert f"tables/{table}.csv" in names
    assert {"index.html", "bulletin.md", "manifest.json"} <= names
    html = (sample_bulletin / "index.html").read_text()
    figures = len(list((sample_bulletin / "figures").glob("*.png")))
    assert figures == 4 + 5  # four as before and one per [breakdowns] column of data/sample/job.toml
    assert html.count("data:image/png;base64,") == figures  # self-contained: the charts are embedded
    assert "<style>" in html and 'rel="stylesheet"' not in html


def test_court_lag_is_a_rising_share_reaching_one(sample_bulletin):
    lag = pl.read_csv(sample_bulletin / "tables" / "court_lag.csv")
    assert lag["waiting_period_months"].to_list() == list(range(13))
    shares = lag["share_of_reoffences"].to_list()
    assert shares == sorted(shares) and shares[-1] == 1.0 and shares[0] < 0.95
    assert lag["cohort_size"].n_unique() == 1  # the same releases under every waiting period
    # the 6-month row is the bulletin's own measure over the same cohorts
    trend = pl.read_csv(sample_bulletin / "tables" / "trend.csv")
    six = lag.filter(pl.col("waiting_period_months") == 6).row(0, named=True)
    assert six["reoffenders"] == trend["reoffenders"].sum()
    assert six["cohort_size"] == trend["cohort_size"].sum()


def test_manifest_hashes_and_counts(sample_bulletin):
    manifest = json.loads((sample_bulletin / "manifest.json").read_text())
    for role, name in (("releases", "releases.csv"), ("convictions", "convictions.csv")):
        data = (SAMPLE / name).read_bytes()
        assert manifest["inputs"][role]["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["inputs"][role]["rows"] == data.count(b"\n") - 1
    config = manifest["inputs"]["config"]
    assert config["sha256"] == hashlib.sha256(JOB.read_bytes()).hexdigest()
    exclude = manifest["inputs"]["exclude_offences"]
    assert exclude["sha256"] == hashlib.sha256((SAMPLE / "excluded_offences.txt").read_bytes()).hexdigest()
    written = files_of(sample_bulletin)
    del written["manifest.json"]
    assert set(manifest["files"]) == set(written)
    for name, data in written.items():
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert manifest["window"]["follow_up_months"] == 12 and manifest["window"]["waiting_period_months"] == 6
    assert manifest["parameters"]["measure"]["excluded_offences"] == ["BREACH"]
    assert manifest["reoffend_version"] and manifest["started"].endswith("+00:00")
    assert manifest["duration_seconds"] >= 0


def test_rerun_gives_identical_files_apart_from_manifest_times(sample_bulletin, tmp_path):
    again = tmp_path / "again"
    before, clock = dt.datetime.now(dt.UTC), time.monotonic()
    build_bulletin(parse_config(str(JOB)), str(again))
    elapsed, after = time.monotonic() - clock, dt.datetime.now(dt.UTC)
    first, second = files_of(sample_bulletin), files_of(again)
    timed = json.loads(second["manifest.json"])
    # the manifest's times are this run's: started within it, and a duration no longer than it took
    started = dt.datetime.fromisoformat(timed["started"])
    assert before - dt.timedelta(seconds=1) <= started <= after
    assert 0 < timed["duration_seconds"] <= elapsed
    assert set(first) == set(second)
    for name in first:
        if name != "manifest.json":
            assert first[name] == second[name], name
    one, two = (json.loads(f["manifest.json"]) for f in (first, second))
    for manifest in (one, two):
        del manifest["started"], manifest["duration_seconds"]
    assert one == two


def test_comparisons_are_the_comparison_cores(sample_bulletin):
    """The sample job's baseline and matched sections are exactly what the cores give for the same inputs."""
    from reoffend.bulletin.build import measure_params
    from reoffend.compare.baseline import BaselineParams, compare_counts, measure_cohorts
    from reoffend.compare.matched import MatchedParams, compare_matched
    from reoffend.inputs import InputSpec, load_inputs

    config = parse_config(str(JOB))
    params = measure_params(config)
    inputs = load_inputs(InputSpec(str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv")))
    site = replace(params, where={"establishment": ("EST042",)})
    frame, base, _ = measure_cohorts(inputs, site, ["2023Q4"], "2022Q4")
    expected = compare_counts(frame, base, BaselineParams(target_pp=5.0), site="EST042")
    table = pl.read_csv(sample_bulletin / "tables" / "comparison_baseline.csv", schema_overrides={"current": pl.String})
    assert table.select("current_reoffenders", "current_size", "baseline_reoffenders", "baseline_size").row(0) == (
        expected.rows.select("current_reoffenders", "current_size", "baseline_reoffenders", "baseline_size").row(0)
    )
    text = (sample_bulletin / "bulletin.md").read_text()
    assert as_written(baseline_headlines(expected)) in text  # cohorts in words, one minus sign

    matched = compare_matched(
        inputs,
        MatchedParams(
            measure=params,
            treated={"establishment": ("EST042",)},
            covariates=("age", "sex", "sentence_months", "prior_convictions", "index_offence"),
            style="peterborough",
            bootstrap=1000,
            seed=20240401,
        ),
    )
    written = pl.read_csv(sample_bulletin / "tables" / "comparison_matched.csv", schema=matched.rows.schema)
    assert written.equals(matched.rows)
    pooled = as_written(matched_headlines(matched).splitlines()[-1])
    assert pooled.startswith("All cohorts together") and pooled in text


def test_adjusted_section_is_the_adjusted_core(sample_bulletin):
    from reoffend.bulletin.build import measure_params
    from reoffend.compare.adjusted import AdjustedParams, run_adjusted
    from reoffend.inputs import InputSpec, load_inputs

    params = measure_params(parse_config(str(JOB)))
    inputs = load_inputs(InputSpec(str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv")))
    result = run_adjusted(
        inputs,
        AdjustedParams(
            covariates=("age", "sex", "sentence_months", "prior_convictions", "index_offence"),
            baseline=("2022Q1", "2022Q2", "2022Q3", "2022Q4"),
            measure=params,
            current=("2023Q4",),
        ),
    )
    written = pl.read_csv(
        sample_bulletin / "tables" / "comparison_adjusted.csv", schema={**result.rows.schema, "suppressed": pl.String}
    )
    # disclosure control: a published row is the core's row, its tests adjusted for multiple testing among the
    # published units only; a withheld one keeps only keys, size and expectation
    published = written["suppressed"].is_null()
    after = [c for c in written.columns if c.endswith(("_p_adjusted", "_verdict_adjusted", "_significant_adjusted"))]
    assert written.filter(published).drop("suppressed", *after).equals(result.rows.filter(published).drop(*after))
    from reoffend.report.multiple import adjust

    shown = written.filter(published)
    p = shown.select(pl.min_horizontal("binary_p_reduction", "binary_p_increase")).to_series()
    assert adjust(p, "holm").to_list() == pytest.approx(shown["binary_p_adjusted"].to_list())
    hidden = written.filter(~published)
    assert hidden.height and hidden["binary_actual"].null_count() == hidden.height
    assert hidden["binary_expected"].null_count() == 0
    summary = pl.read_csv(sample_bulletin / "tables" / "comparison_adjusted_summary.csv").row(0, named=True)
    assert summary["units"] == shown.height and summary["units_withheld"] == hidden.height
    # the headline counts are the adjusted verdicts (Holm by default) of the published units, the raw beside them
    adjusted = shown["binary_verdict_adjusted"] == "significant reduction"
    assert summary["binary_reduction"] == adjusted.sum() <= summary["binary_reduction_unadjusted"]
    assert summary["binary_reduction_unadjusted"] == shown["binary_beat_baseline"].sum()
    text = (sample_bulletin / "bulletin.md").read_text()
    from reoffend.bulletin.comparisons import ADJUSTED_LIST_LIMIT

    sentences = [as_written(sentence) for sentence in adjusted_headlines(result).splitlines()]
    rows = result.rows.with_row_index("i").with_columns(published)
    notable = rows.filter(
        (pl.col("binary_verdict_adjusted") != "no significant change")
        | (pl.col("reoffences_per_offender_verdict_adjusted") != "no significant change")
    )
    # the text lists the notable rows (by the adjusted verdict) that are published, up to the limit
    listed = notable.filter(pl.col("suppressed"))["i"].to_list()[:ADJUSTED_LIST_LIMIT]
    assert all(sentences[i] in text for i in listed)
    counts = (
        f"of {summary['units']:,} published establishments ({summary['cohort_size']:,} releases), "
        f"on the proven reoffending rate {summary['binary_reduction']:,} beat the baseline"
    )
    assert counts in " ".join(text.split())
    # a suppressed establishment is never named with its figures
    for i in rows.filter(~pl.col("suppressed"))["i"].to_list():
        assert sentences[i] not in text


def test_the_cli_and_the_bulletin_give_identical_figures_for_the_same_comparison(sample_bulletin, cli, tmp_path):
    """Same inputs, parameters and seed: the bulletin's comparison tables are the commands' rows, cell for cell
    (disclosure control aside: only published rows are compared)."""
    common = [
        str(SAMPLE / "releases.csv"),
        str(SAMPLE / "convictions.csv"),
        "--exclude-offences",
        str(SAMPLE / "excluded_offences.txt"),
        "--period",
        "quarter",
    ]
    covariates = "age,sex,sentence_months,prior_convictions,index_offence"
    runs = {
        "comparison_matched.csv": [
            "compare", "matched", *common, "--treated", "establishment=EST042", "--covariates", covariates,
            "--style", "peterborough", "--bootstrap", "1000", "--seed", "20240401",
        ],
        "comparison_baseline.csv": [
            "compare", "baseline", *common, "--site", "EST042", "--current", "2023Q4", "--baseline", "2022Q4",
            "--target", "5",
        ],
        "comparison_adjusted.csv": [
            "compare", "adjusted", *common, "--baseline", "2022Q1,2022Q2,2022Q3,2022Q4", "--current", "2023Q4",
            "--covariates", covariates,
        ],
    }  # fmt: skip
    for table, args in runs.items():
        out = tmp_path / table
        status, _, err = cli(*args, "--format", "csv", "-o", out, "-q")
        assert status == 0, err
        from_cli = pl.read_csv(out, infer_schema_length=None)
        written = pl.read_csv(sample_bulletin / "tables" / table, infer_schema_length=None)
        if "suppressed" in written.columns:
            published = written["suppressed"].is_null()
            written = written.filter(published).drop("suppressed")
            from_cli = from_cli.filter(published)
            # the bulletin adjusts for multiple testing among the published units only (disclosure control)
            after = [
                c for c in written.columns if c.endswith(("_p_adjusted", "_verdict_adjusted", "_significant_adjusted"))
            ]
            if not published.all():
                written, from_cli = written.drop(after), from_cli.drop(after)
        assert written.columns == from_cli.columns, table
        assert written.height > 0 and written.equals(from_cli), table
    matched = pl.read_csv(sample_bulletin / "tables" / "comparison_matched.csv").row(-1, named=True)
    # the figures of the issue (186.7 and 24.5% with this seed), one and the same in both
    assert round(matched["events_per_100_comparison"], 1) == 186.7 and round(matched["events_reduction_pct"], 1) == 24.5


def test_establishments_are_tested_against_all_releases_with_holm(sample_bulletin):
    """The one-sample score test that the Wilson interval inverts, adjusted over the establishments (Holm)."""
    from statistics import NormalDist

    table = pl.read_csv(sample_bulletin / "tables" / "establishments.csv", infer_schema_length=None)
    summary = pl.read_csv(sample_bulletin / "tables" / "establishment_summary.csv").row(0, named=True)
    p0 = summary["all_releases_binary_rate"]
    published = table.filter(pl.col("suppressed").is_null())
    for row in published.iter_rows(named=True):
        z = (row["binary_rate"] - p0) / math.sqrt(p0 * (1 - p0) / row["cohort_size"])
        assert row["p_value"] == pytest.approx(2 * NormalDist().cdf(-abs(z)), rel=1e-9, abs=1e-15)
        # the Wilson interval lies wholly above (below) p0 exactly when the unadjusted test says higher (lower)
        drawn = "higher" if row["binary_rate_low"] > p0 else "lower" if row["binary_rate_high"] < p0 else "similar"
        assert row["compared_unadjusted"] == drawn
    assert summary["lower_unadjusted"] == (published["compared_unadjusted"] == "lower").sum() > 0
    # Holm over every establishment tested (the suppressed ones too: tested, then withheld): p <= adjusted <= m p
    m = summary["establishments"]
    for p, adjusted in zip(published["p_value"], published["p_adjusted"], strict=True):
        assert p <= adjusted <= min(1.0, m * p) + 1e-12
    smallest = published.sort("p_value").row(0, named=True)
    assert smallest["p_adjusted"] == pytest.approx(min(1.0, m * smallest["p_value"]))  # Holm's first step
    assert summary["higher"] + summary["lower"] == (published["compared_with_all"] != "similar").sum()
    assert (published["compared_with_all"] != "similar").sum() <= (published["compared_unadjusted"] != "similar").sum()


def markdown_tables(text: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The tables of bulletin.md by caption: headers and rows of cells."""
    lines = text.splitlines()
    tables = {}
    for i, line in enumerate(lines):
        if line.startswith("**Table") and i + 2 < len(lines) and lines[i + 2].startswith("|"):
            body = list(itertools.takewhile(lambda row: row.startswith("|"), lines[i + 2 :]))
            cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in body]
            tables[line.strip("*").split(": ", 1)[1]] = (cells[0], cells[2:])
    return tables


def terminal_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """The rich tables of a terminal output (wide enough that no header wraps): headers and rows of cells."""
    tables, headers, rows = [], None, []
    for line in text.splitlines():
        if line.startswith("┃"):
            headers = [cell.strip() for cell in line.strip("┃").split("┃")]
        elif line.startswith("│"):
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
        elif line.startswith("└") and headers is not None:
            tables.append((headers, rows))
            headers, rows = None, []
    return tables


def house(cell: str | None) -> str | None:
    """A terminal cell as the bulletin writes it: the minus sign U+2212."""
    from reoffend.bulletin.text import minus

    return None if cell is None else minus(cell)


def test_the_terminal_and_the_bulletin_show_the_same_headers_and_cells(sample_bulletin, cli, monkeypatch):
    """One table spec per comparison (reoffend/report/tables.py): every column of the bulletin's comparison
    tables is a column of the command's terminal table, with the same header and the same formatted cells."""
    monkeypatch.setenv("COLUMNS", "400")
    published = markdown_tables((sample_bulletin / "bulletin.md").read_text(encoding="utf-8"))
    common = [str(SAMPLE / f) for f in ("releases.csv", "convictions.csv")]
    common += ["--exclude-offences", str(SAMPLE / "excluded_offences.txt"), "--format", "table", "-q"]
    covariates = "age,sex,sentence_months,prior_convictions,index_offence"

    # baseline: the terminal shows one line per quantity, one column per cohort
    status, out, err = cli("compare", "baseline", *common, "--site", "EST042", "--current", "2023Q4",
                           "--baseline", "2022Q4", "--target", "5")  # fmt: skip
    assert status == 0, err
    ((_, lines),) = terminal_tables(out)
    terminal = {line[0]: line[1] for line in lines}
    caption = "Proven reoffending of establishment EST042 against the baseline cohort October to December 2022"
    headers, rows = published[caption]
    assert headers[:2] == ["Cohort", "Rate"] and "p (one-sided, in the direction of the change)" in headers
    assert "Change (points)" in headers and len(rows) == 1
    # the same cells, the bulletin's with the minus sign U+2212 (docs/bulletin.md, "House style")
    assert {h: house(terminal.get(h)) for h in headers} == dict(zip(headers, rows[0], strict=True))

    # matched: the primary and the secondary tables, one line per cohort
    status, out, err = cli("compare", "matched", *common, "--treated", "establishment=EST042", "--covariates",
                           covariates, "--style", "peterborough", "--bootstrap", "1000",
                           "--seed", "20240401")  # fmt: skip
    assert status == 0, err
    by_cohort: dict[str, dict[str, str]] = {}
    for table_headers, table_rows in terminal_tables(out):
        if table_headers[0] == "Cohort":
            for row in table_rows:
                by_cohort.setdefault(row[0], {}).update(zip(table_headers, row, strict=True))
    headers, rows = published["Reconviction events per 100: establishment EST042 against the matched comparison group"]
    assert len(rows) == 9 and "Significant (adjusted)" in headers
    for row in rows:
        # the pooled row: "all" in the terminal (and the CSV), "All cohorts" in the bulletin's words
        terminal_row = by_cohort["all" if row[0] == "All cohorts" else row[0]]
        shown = {h: house(terminal_row.get(h)) for h in headers[1:] if h != "Treated matched"}
        assert shown == {h: c for h, c in zip(headers, row, strict=True) if h != "Treated matched" and h != "Cohort"}

    # adjusted: two lines per establishment. The sample bulletin lists none (none is significant after Holm), so
    # the bulletin's section is built with a test that lists some: unadjusted, at 20%
    from reoffend.bulletin.build import measure_params
    from reoffend.bulletin.comparisons import run_adjusted
    from reoffend.bulletin.document import Table
    from reoffend.bulletin.text import comparison_blocks
    from reoffend.inputs import InputSpec, load_inputs

    options = {"baseline": ["2022Q1", "2022Q2", "2022Q3", "2022Q4"], "current": ["2023Q4"],
               "covariates": covariates.split(","), "alpha": 0.2, "multiple_testing": "none"}  # fmt: skip
    params = measure_params(parse_config(str(JOB)))
    inputs = load_inputs(InputSpec(str(SAMPLE / "releases.csv"), str(SAMPLE / "convictions.csv")))
    section = run_adjusted(options, inputs, params, "2023Q4", [*options["baseline"], "2023Q4"])
    (table,) = [block for block in comparison_blocks(section) if isinstance(block, Table)]
    status, out, err = cli("compare", "adjusted", *common, "--baseline", "2022Q1,2022Q2,2022Q3,2022Q4", "--current",
                           "2023Q4", "--covariates", covariates, "--alpha", "0.2",
                           "--multiple-testing", "none")  # fmt: skip
    assert status == 0, err
    (terminal_headers, lines), *_ = terminal_tables(out)
    # the bulletin's table lists every published unit, as the terminal does (issue 26 review, item 2)
    assert list(table.columns) == terminal_headers and 2 <= len(table.rows) <= len(lines)
    pairs = {tuple(lines[i][:2]): lines[i : i + 2] for i in range(0, len(lines), 2)}
    for i in range(0, len(table.rows), 2):
        expected = [[house(c) for c in line] for line in pairs[tuple(table.rows[i][:2])]]
        assert [[house(c) for c in r] for r in table.rows[i : i + 2]] == expected


def test_printed_pages_carry_the_page_number_and_the_publication_date(sample_bulletin):
    """The @page margin boxes of index.html (issue 26, item 5): "Page N of M" and the [publication]
    published date of data/sample/job.toml (2026-04-30, "30 April 2026"); Chromium prints them on every page
    (tests/test_bulletin_browser.py checks the PDF)."""
    html = (sample_bulletin / "index.html").read_text()
    assert 'content: "Page " counter(page) " of " counter(pages)' in html
    assert '@bottom-left { content: "Published 30 April 2026";' in html


D = dt.date


def test_bulletin_baseline_site_given_as_empty_text_compares_every_release_as_before(cli, tmp_path):
    """``[comparisons.baseline] site = ""`` names no site, as ``compare baseline --site ""`` does: every release
    is compared (compare_records narrows only by a non-empty site). Counting the comparison from the
    bulletin's one join narrowed it to the releases whose establishment is the empty text instead, which
    a Parquet file can hold (a CSV reads an empty cell as missing, and the site is then not found).

    Hand-worked: 2022Q1 (baseline) has A (establishment "") and B (EST1); 2022Q2 (current) has C ("") and
    D (EST1). A and D reoffend within 12 months (convictions within 18). So each cohort is 1 of 2; narrowed
    to "" the baseline would be 1 of 1 and the current 0 of 1.
    """
    pl.DataFrame(
        {
            "offender_id": ["A", "B", "C", "D"],
            "release_date": [D(2022, 1, 10), D(2022, 2, 10), D(2022, 4, 10), D(2022, 5, 10)],
            "establishment": ["", "EST1", "", "EST1"],
        }
    ).write_parquet(tmp_path / "r.parquet")
    pl.DataFrame(
        {
            "offender_id": ["A", "D"],
            "offence_date": [D(2022, 2, 1), D(2022, 8, 1)],
            "conviction_date": [D(2022, 3, 1), D(2022, 9, 1)],
        }
    ).write_parquet(tmp_path / "c.parquet")
    job = tmp_path / "job.toml"
    job.write_text(
        '[inputs]\nreleases = "r.parquet"\nconvictions = "c.parquet"\nextract_date = 2030-01-01\n'
        '[comparisons.baseline]\nsite = ""\nbaseline = "2022Q1"\ncurrent = ["2022Q2"]\n'
        "[disclosure]\nmin_cohort = 0\nmin_count = 0\n"
    )
    status, _out, err = cli("bulletin", "--config", job, "-o", tmp_path / "out", "-q")
    assert status == 0, err
    row = pl.read_csv(tmp_path / "out" / "tables" / "comparison_baseline.csv").row(0, named=True)
    columns = ("current_size", "current_reoffenders", "baseline_size", "baseline_reoffenders")
    counts = [row[c] for c in columns]
    assert counts == [2, 1, 2, 1]

    status, out, err = cli(
        "compare", "baseline", tmp_path / "r.parquet", tmp_path / "c.parquet", "--site", "",
        "--baseline", "2022Q1", "--current", "2022Q2", "--extract-date", "2030-01-01", "--format", "csv",
    )  # fmt: skip
    assert status == 0, err
    cli_row = pl.read_csv(io.StringIO(out)).row(0, named=True)
    assert [cli_row[c] for c in columns] == counts


def test_the_bulletins_baseline_counts_give_compare_records_rates_to_the_last_bit_for_a_cohort_named_twice():
    """The bulletin counts its baseline comparison from its one join (all complete cohorts), compare_records
    from a measure of the compared cohorts: the same counts. Joined into the current cohorts' frame, the
    counts carried what polars knew of the table they came from, and the Wilson bounds of a cohort named
    twice differed in the last place (0.20654931437723756 against ...745): the comparison's rows are now
    built from plain values either way. Hand-worked: P1 released 2022-01-01 reoffends (offence the same
    day, convicted the same day), P2 released 2022-04-01 does not; 2022Q1 is 1 of 1, 2022Q2 0 of 1."""
    from polars.testing import assert_frame_equal

    from reoffend.bulletin.comparisons import run_baseline
    from reoffend.bulletin.stats import CohortMeasures, restrict_cohorts
    from reoffend.measure import MeasureParams
    from reoffend.validate import CONVICTIONS, RELEASES, Table, validate_inputs
    from reoffend.window import FollowUpWindow

    releases = pl.DataFrame(
        {"offender_id": ["P0000002", "P0000001"], "release_date": [D(2022, 4, 1), D(2022, 1, 1)], "establishment": "E1"}
    )
    convictions = pl.DataFrame(
        {"offender_id": ["P0000001"], "offence_date": [D(2022, 1, 1)], "conviction_date": [D(2022, 1, 1)]}
    )
    inputs = validate_inputs(
        Table("r", RELEASES, releases.lazy()), Table("c", CONVICTIONS, convictions.lazy()), extract_date=D(2030, 1, 1)
    )
    params = MeasureParams(by=("cohort",), period="quarter", incomplete="exclude", window=FollowUpWindow(12, 0))
    labels = ["2022Q1", "2022Q2"]
    measured = CohortMeasures(inputs, restrict_cohorts(params, labels), ("establishment",), 12)
    for baseline in labels:
        options = {"baseline": baseline, "current": ["2022Q1", "2022Q1"]}
        plain = run_baseline(options, inputs, params, labels[-1], labels)
        shared = run_baseline(options, inputs, params, labels[-1], labels, measured=measured)
        assert plain.rows["current_size"].to_list() == [1, 1] and plain.rows["current_reoffenders"].to_list() == [1, 1]
        assert_frame_equal(shared.rows, plain.rows, check_exact=True)
