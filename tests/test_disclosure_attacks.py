"""Disclosure control against a reader of everything published (issue: "Disclosure control that holds against
a reader of everything published"; docs/bulletin.md, "Disclosure control").

Each test builds bulletins from a synthetic population with small prisons, then performs one of the attacks
that recovered suppressed values before, reading only the published files, with arithmetic of its own (not
the audit's): a total less its published parts; a comparison's group against the table that hides it; a
pooled row less its published cohorts; two quarterly releases differenced; the court lag less the trend;
the narrowing that reason codes allowed. Each finds nothing. The last test runs ``reoffend disclosure-check``
on every bulletin built here, and on a tampered copy, which it must fail.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reoffend.bulletin.build import build_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.errors import ReoffendError
from reoffend.synth import SynthParams, write

RULE = {"min_cohort": 10, "min_count": 3}
WIDTH = 3


# ------------------------------------------------------------------------------------------- the population
@pytest.fixture(scope="module")
def population(tmp_path_factory) -> Path:
    """4,000 releases from 60 prisons over six quarters: about 11 people per prison and quarter, so many
    groups are small and secondary suppression has work to do."""
    folder = tmp_path_factory.mktemp("population")
    write(SynthParams(releases=4000, establishments=60, cohorts=6, seed=5), folder, "csv")
    return folder


BREAKDOWNS = 'columns = ["sex", "age"]\nbands = { age = [21, 25, 30, 40] }'


def build(
    folder: Path,
    target: Path,
    *,
    extract_date: str | None = None,
    rule: dict | None = None,
    breakdowns: str = BREAKDOWNS,
    **sections: str,
) -> Path:
    """A bulletin of ``folder``'s population with the given extra config sections (TOML text)."""
    lines = [
        'title = "Attack"',
        "[inputs]",
        f'releases = "{folder / "releases.csv"}"',
        f'convictions = "{folder / "convictions.csv"}"',
    ]
    if extract_date:
        lines.append(f"extract_date = {extract_date}")
    lines += ["[measure]", *sections.pop("measure", "").splitlines()]
    rule = RULE if rule is None else rule
    lines += ["[disclosure]", f"min_cohort = {rule['min_cohort']}", f"min_count = {rule['min_count']}"]
    lines += ["[breakdowns]", breakdowns]
    for name, body in sections.items():
        lines += [f"[{name.replace('__', '.')}]", body]
    job = target.parent / f"{target.name}.toml"
    job.write_text("\n".join(lines) + "\n")
    build_bulletin(parse_config(str(job)), str(target))
    return target


def extract(population: Path, date: str, folder: Path) -> Path:
    """The population's records as an extract taken on ``date`` would hold them (no conviction after it)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(population / "releases.csv", folder / "releases.csv")
    convictions = pl.read_csv(population / "convictions.csv", infer_schema=False)
    convictions.filter(pl.col("conviction_date") <= date).write_csv(folder / "convictions.csv")
    return folder


# two quarterly extracts: the later one has one more complete cohort (2023Q2's follow-up ends in 2024Q4)
EARLY, LATE = "2024-09-30", "2024-12-31"


def tables(bulletin: Path) -> dict[str, pl.DataFrame]:
    return {p.name: pl.read_csv(p, infer_schema=False) for p in sorted((bulletin / "tables").glob("*.csv"))}


def manifest(bulletin: Path) -> dict:
    return json.loads((bulletin / "manifest.json").read_text())


def number(value) -> int | None:
    return None if value in (None, "") else round(float(value))


def withheld(frame: pl.DataFrame) -> pl.Series:
    return frame["suppressed"].is_not_null() if "suppressed" in frame.columns else pl.Series([False] * frame.height)


# ------------------------------------------------------------------------------------------- the attacker
def split_column(name: str, frame: pl.DataFrame) -> str | None:
    """The one column a table splits each cohort by (None for a table that is no such split)."""
    if name == "establishments.csv":
        return "establishment"
    if name.startswith("breakdown_"):
        return name[len("breakdown_") : -len(".csv")]
    if name == "comparison_adjusted.csv":
        keys = frame.columns[: frame.columns.index("cohort")]
        return keys[0] if len(keys) == 1 else None
    return None


def known_reoffenders(published: dict[str, pl.DataFrame], latest: str) -> dict[tuple, int]:
    """Every (cohort, column, value) group's published reoffenders, from whichever table shows it."""
    known: dict[tuple, int] = {}

    def note(group: tuple, value) -> None:
        if number(value) is not None:
            known[group] = number(value)  # type: ignore[assignment]

    for row in published["trend.csv"].iter_rows(named=True):
        note((row["cohort"],), row["reoffenders"])
    for name, frame in published.items():
        column = split_column(name, frame)
        if column:
            for row in frame.iter_rows(named=True):
                note((row["cohort"], column, row[column]), row["reoffenders"])
    return known


def comparison_groups(published: dict[str, pl.DataFrame], site: str) -> dict[tuple, int]:
    """The baseline comparison's published groups: the site's current and baseline cohorts."""
    extra = {}
    for row in published["comparison_baseline.csv"].iter_rows(named=True):
        if number(row["current_reoffenders"]) is not None:
            extra[(row["current"], "establishment", site)] = number(row["current_reoffenders"])
            extra[(row["baseline"], "establishment", site)] = number(row["baseline_reoffenders"])
    return extra


def difference_attack(published: dict[str, pl.DataFrame], extra: dict[tuple, int], latest: str) -> list[str]:
    """Each split of a cohort (establishments, a breakdown, the adjusted comparison's units): its total less every
    part any table (or ``extra``, a comparison's group) publishes. One part left unknown is recovered."""
    known = {**known_reoffenders(published, latest), **extra}
    recovered = []
    for name, frame in published.items():
        column = split_column(name, frame)
        if column is None:
            continue
        for (cohort,), rows in frame.group_by(["cohort"]):
            total = known.get((cohort,))
            if total is None:
                continue
            unknown = [r for r in rows.iter_rows(named=True) if (cohort, column, r[column]) not in known]
            if len(unknown) == 1:
                recovered.append(f"{name}: {cohort}, {column} {unknown[0][column]}")
            if not unknown and withheld(rows).any():
                recovered.append(f"{name}: {cohort}: a withheld {column} is published elsewhere")
    return recovered


def narrowing_attack(published: dict[str, pl.DataFrame]) -> list[str]:
    """Within one split: the withheld parts share what the total leaves; each lies in
    [max(0, left - the others' sizes), min(its size, left)]. That range must span the rule's width."""
    narrow = []
    trend = {r["cohort"]: number(r["reoffenders"]) for r in published["trend.csv"].iter_rows(named=True)}
    for name, frame in published.items():
        if not (name == "establishments.csv" or name.startswith("breakdown_")):
            continue
        for (cohort,), rows in frame.group_by(["cohort"]):
            if trend.get(cohort) is None:
                continue
            hidden = rows.filter(withheld(rows))
            left = trend[cohort] - sum(number(v) or 0 for v in rows.filter(~withheld(rows))["reoffenders"])
            sizes = [number(v) for v in hidden["cohort_size"]]
            for size in sizes:
                others = sum(sizes) - size  # type: ignore[operator]
                low, high = max(0, left - others), min(size, left)  # type: ignore[type-var]
                if high - low < min(WIDTH, size):  # type: ignore[operator]
                    narrow.append(f"{name}: {cohort}: {size} people with {low} to {high} reoffenders")
    return narrow


# ------------------------------------------------------------------------------------------- the attacks
@pytest.fixture(scope="module")
def plain(population, tmp_path_factory) -> Path:
    return build(population, tmp_path_factory.mktemp("plain") / "bulletin")


@pytest.fixture(scope="module")
def secondary_site(plain) -> str:
    """An establishment of the latest cohort withheld though large enough on its own (secondary suppression)."""
    rows = tables(plain)["establishments.csv"]
    hidden = rows.filter(withheld(rows))
    big = hidden.filter(pl.col("cohort_size").cast(pl.Int64) >= RULE["min_cohort"])
    assert big.height, "the population should need secondary suppression"
    return big["establishment"][0]


def test_1_a_comparison_does_not_publish_a_group_another_table_hides(population, plain, secondary_site, tmp_path):
    """[comparisons.baseline] site = a secondarily suppressed establishment: before, the comparison printed its
    counts and the cohort total less the published establishments gave the primary-suppressed one away."""
    latest = manifest(plain)["facts"]["latest_cohort"]
    first = manifest(plain)["facts"]["complete_cohorts"][0]
    bulletin = build(
        population,
        tmp_path / "bulletin",
        comparisons__baseline=f'site = "{secondary_site}"\nbaseline = "{first}"',
        comparisons__adjusted=f'baseline = ["{first}"]\ncovariates = ["age", "sex"]',
    )
    published = tables(bulletin)
    extra = comparison_groups(published, secondary_site)
    assert difference_attack(published, extra, latest) == []
    text = (bulletin / "bulletin.md").read_text()
    # the comparison of a withheld group says it is not published, and quotes none of its counts
    site_row = published["establishments.csv"].filter(pl.col("establishment") == secondary_site).row(0, named=True)
    if site_row["suppressed"] is not None:
        assert "not published" in text
        assert published["comparison_baseline.csv"]["current_reoffenders"].null_count() == 1


def test_2_a_pooled_row_is_no_unprotected_total(population, tmp_path):
    """The matched comparison of a small prison: a cohort row withheld means the pooled row is too."""
    bulletin = build(
        population,
        tmp_path / "bulletin",
        comparisons__matched='treated = { establishment = ["EST007"] }\ncovariates = ["age", "sex"]\nbootstrap = 200',
    )
    rows = tables(bulletin)["comparison_matched.csv"]
    cohorts = rows.filter(pl.col("scope") == "cohort")
    pooled = rows.filter(pl.col("scope") == "pooled")
    hidden_cohorts = withheld(cohorts).sum()
    assert cohorts.height and pooled.height == 1
    if hidden_cohorts:
        assert withheld(pooled).all(), "a pooled row over a withheld cohort gives it away"
        assert pooled["binary_rate_treated"].null_count() == 1
    # whatever is published: pooled less the published cohort rows never leaves one withheld cohort
    if not withheld(pooled).any():
        assert hidden_cohorts == 0


def test_3_two_quarterly_releases_do_not_difference_to_a_withheld_cohort(population, tmp_path):
    """Two extracts of one population, a quarter apart: the pooled row and the court lag of the later one
    less those of the earlier give the new cohorts' figures, so those must be published (or the totals not)."""
    matched = 'treated = { establishment = ["EST007"] }\ncovariates = ["age", "sex"]\nbootstrap = 200'
    early = build(extract(population, EARLY, tmp_path / "e1"), tmp_path / "early", extract_date=EARLY,
                  comparisons__matched=matched)  # fmt: skip
    late = build(extract(population, LATE, tmp_path / "e2"), tmp_path / "late", extract_date=LATE,
                 comparisons__matched=matched)  # fmt: skip
    before, after = tables(early)["comparison_matched.csv"], tables(late)["comparison_matched.csv"]
    new = set(after["cohort"]) - set(before["cohort"]) - {"all"}
    assert new, "the later release should have a new complete cohort"
    pooled_before = before.filter(pl.col("scope") == "pooled")
    pooled_after = after.filter(pl.col("scope") == "pooled")
    if not withheld(pooled_before).any() and not withheld(pooled_after).any():
        new_rows = after.filter(pl.col("cohort").is_in(sorted(new)))
        assert not withheld(new_rows).any(), "the difference of the pooled rows is a withheld cohort"
    lag_before, lag_after = (manifest(b)["facts"]["court_lag_cohorts"] for b in (early, late))
    trend = tables(late)["trend.csv"]
    hidden = set(trend.filter(withheld(trend))["cohort"])
    assert not (set(lag_after) - set(lag_before)) & hidden


def test_4_the_court_lag_is_no_total_over_a_withheld_cohort(population, tmp_path):
    """A one-prison bulletin: some of its cohorts are withheld; the court lag's row at the waiting period less
    the published cohorts must not leave one of them."""
    bulletin = build(population, tmp_path / "bulletin", measure='where = { establishment = ["EST003"] }')
    published = tables(bulletin)
    trend = published["trend.csv"]
    hidden = set(trend.filter(withheld(trend))["cohort"])
    assert hidden, "the one-prison bulletin should have a withheld cohort"
    lag_cohorts = manifest(bulletin)["facts"]["court_lag_cohorts"]
    assert not set(lag_cohorts) & hidden
    if "court_lag.csv" in published:
        row = published["court_lag.csv"].filter(pl.col("waiting_period_months") == "6").row(0, named=True)
        sizes = trend.filter(pl.col("cohort").is_in(lag_cohorts))["cohort_size"].cast(pl.Int64).sum()
        assert number(row["cohort_size"]) == sizes  # exactly the published cohorts: nothing left over


def test_5_no_reason_code_and_no_narrow_range(plain):
    """One mark: nothing separates a primary from a secondary suppression; and within a table each withheld
    count ranges at least the rule's width, so no hidden cell narrows to two or three values."""
    published = tables(plain)
    for name, frame in published.items():
        if "suppressed" in frame.columns:
            assert set(frame["suppressed"].drop_nulls()) <= {"[c]"}, name
    assert narrowing_attack(published) == []
    assert difference_attack(published, {}, manifest(plain)["facts"]["latest_cohort"]) == []
    notes = (plain / "tables" / "..").resolve() / "tables.ods"
    assert notes.exists()


def test_6_derived_statistics_follow_their_counts(population, plain, tmp_path):
    """Counts of units beating the baseline are over published units; medians and means of days need
    min_cohort reoffenders; no published note quotes one person's value."""
    first = manifest(plain)["facts"]["complete_cohorts"][0]
    bulletin = build(
        population, tmp_path / "bulletin", comparisons__adjusted=f'baseline = ["{first}"]\ncovariates = ["age", "sex"]'
    )
    published = tables(bulletin)
    units = published["comparison_adjusted.csv"]
    shown = units.filter(~withheld(units))
    summary = published["comparison_adjusted_summary.csv"].row(0, named=True)
    assert number(summary["units"]) == shown.height
    assert number(summary["units_withheld"]) == units.height - shown.height
    for measure in ("binary", "reoffences_per_offender"):
        reductions = (shown[f"{measure}_verdict_adjusted"] == "significant reduction").sum()
        increases = (shown[f"{measure}_verdict_adjusted"] == "significant increase").sum()
        assert number(summary[f"{measure}_reduction"]) == reductions
        assert number(summary[f"{measure}_increase"]) == increases
    # the adjusted p-values are Holm's over the published units only
    from reoffend.report.multiple import adjust

    # (the p the verdict uses: the smaller one-sided p)
    p = shown.select(pl.min_horizontal(pl.col("binary_p_reduction", "binary_p_increase").cast(pl.Float64))).to_series()
    assert adjust(p, "holm").to_list() == pytest.approx(shown["binary_p_adjusted"].cast(pl.Float64).to_list())
    for name, frame in published.items():
        if "median_days_to_first" in frame.columns:
            days = frame.filter(pl.col("median_days_to_first").is_not_null())
            assert (days["reoffenders"].cast(pl.Int64) >= RULE["min_cohort"]).all(), name
    text = (bulletin / "bulletin.md").read_text()
    assert not re.search(r"release\(s\) \(\d", text)


def test_establishment_tests_are_adjusted_among_published_ones(plain):
    from reoffend.report.multiple import adjust

    rows = tables(plain)["establishments.csv"]
    shown = rows.filter(~withheld(rows))
    p = shown["p_value"].cast(pl.Float64)
    assert adjust(p, "holm").to_list() == pytest.approx(shown["p_adjusted"].cast(pl.Float64).to_list())
    summary = tables(plain)["establishment_summary.csv"].row(0, named=True)
    assert number(summary["suppressed_establishments"]) == rows.height - shown.height


def test_disclosure_check_passes_what_was_built_and_fails_a_tampered_copy(population, plain, cli, tmp_path):
    status, out, err = cli("disclosure-check", plain)
    assert status == 0, err
    assert "disclosure audit passed" in out
    status, out, _ = cli("disclosure-check", plain, "--json")
    document = json.loads(out)
    assert document["passed"] and document["withheld_cells"] > 0 and document["failing"] == []
    # publish one withheld establishment's true figures again (as a hand edit might): the check names it
    open_bulletin = build(population, tmp_path / "open", rule={"min_cohort": 0, "min_count": 0})
    truth = tables(open_bulletin)["establishments.csv"]
    tampered = tmp_path / "tampered"
    shutil.copytree(plain, tampered)
    path = tampered / "tables" / "establishments.csv"
    rows = pl.read_csv(path, infer_schema=False)
    name = rows.filter(withheld(rows))["establishment"][0]
    true_row = truth.filter(pl.col("establishment") == name).with_columns(pl.lit(None, pl.String).alias("suppressed"))
    edited = pl.concat([rows.filter(pl.col("establishment") != name), true_row.select(rows.columns)])
    edited.write_csv(path)
    status, out, err = cli("disclosure-check", tampered)
    assert status == 65
    assert "FAILED" in out


def test_a_matched_comparison_with_unmatched_people_and_tiny_cohorts(tmp_path):
    """Found by a random bulletin: the pooled row of matched people is the sum of every cohort's row, whether
    or not that cohort left someone unmatched (the bulletin refused to publish, with exit 65)."""
    folder = tmp_path / "population"
    write(SynthParams(releases=651, establishments=50, cohorts=5, seed=633795), folder, "csv")
    matched = 'treated = { establishment = ["EST041"] }\ncovariates = ["age", "sex"]\nbootstrap = 200'
    bulletin = build(folder, tmp_path / "bulletin", comparisons__matched=matched)
    rows = tables(bulletin)["comparison_matched.csv"]
    assert rows.filter(pl.col("scope") == "pooled")["unmatched"].cast(pl.Int64).item() > 0
    from reoffend.bulletin.publication import audit_folder

    assert audit_folder(str(bulletin))[0].passed


# ------------------------------------------------------------------------------------------- a property
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    releases=st.integers(300, 2500),
    establishments=st.integers(3, 40),
    cohorts=st.integers(2, 5),
    seed=st.integers(0, 10_000),
    columns=st.lists(st.sampled_from(["sex", "age", "prior_convictions", "index_offence"]), max_size=3, unique=True),
    width=st.integers(1, 4),
)
def test_random_small_populations_pass_the_audit_and_resist_the_attacks(
    tmp_path_factory, releases, establishments, cohorts, seed, columns, width
):
    """Over random small populations and breakdowns, with the three comparisons of a random prison: the
    bulletin is written, its folder passes ``disclosure-check``'s audit, and neither the difference attack nor
    the narrowing attack recovers anything."""
    from reoffend.bulletin.publication import audit_folder

    folder = tmp_path_factory.mktemp("random")
    write(SynthParams(releases=releases, establishments=establishments, cohorts=cohorts, seed=seed), folder, "csv")
    first = "2022Q1"
    site = f"EST{1 + seed % establishments:03d}"
    edges = {"age": "[21, 30]", "prior_convictions": "[1, 5]"}
    bands = "bands = { " + ", ".join(f"{c} = {edges[c]}" for c in columns if c in edges) + " }"
    lines = [
        'title = "Random"',
        "[inputs]",
        f'releases = "{folder / "releases.csv"}"',
        f'convictions = "{folder / "convictions.csv"}"',
        "[disclosure]",
        f"protection = {width}",
        "[breakdowns]",
        f"columns = {json.dumps(columns)}",
        bands,
        "[comparisons.baseline]",
        f'site = "{site}"',
        f'baseline = "{first}"',
        "[comparisons.adjusted]",
        f'baseline = ["{first}"]',
        'covariates = ["age", "sex"]',
        'unseen = "pool"',
    ]
    job = folder / "job.toml"
    job.write_text("\n".join(lines) + "\n")
    target = folder / "bulletin"
    try:
        build_bulletin(parse_config(str(job)), str(target))
    except ReoffendError as error:  # a population too small to publish at all (no complete cohort, no site)
        assert error.exit_status in (2, 65), error
        assume(False)
    report, _facts = audit_folder(str(target))
    assert report.passed, [r.describe() for r in report.failures]
    published = tables(target)
    latest = manifest(target)["facts"]["latest_cohort"]
    extra = comparison_groups(published, site)
    assert difference_attack(published, extra, latest) == []
    if width >= WIDTH:
        assert narrowing_attack(published) == []


def test_a_bulletin_that_fails_its_audit_is_not_written(population, plain, cli, tmp_path, monkeypatch):
    """Should protection ever leave a count recoverable (simulated here by skipping it), the audit of the
    published tables stops the run: exit 65 naming the group and count, and the earlier bulletin kept."""
    import reoffend.bulletin.build as build

    target = tmp_path / "bulletin"
    shutil.copytree(plain, target)
    before = {p.name: p.read_bytes() for p in (target / "tables").iterdir()}
    job = plain.parent / f"{plain.name}.toml"
    monkeypatch.setattr(build, "protect", lambda model, protection, *readers: None)
    status, _out, err = cli("bulletin", "--config", job, "-o", target, "-q")
    assert status == 65, err
    assert "disclosure audit failed, so nothing was written" in err and "is published" in err
    assert {p.name: p.read_bytes() for p in (target / "tables").iterdir()} == before


# ------------------------------------------------------------------------- a hostile reader's further attacks
def test_7_a_pool_of_one_small_prison_does_not_publish_it(population, plain, tmp_path):
    """A matched comparison whose pool is one small prison, with a ratio and caliper so wide that every pool
    member is a comparator of equal weight: the comparison group's rates are that prison's. Its rows are
    withheld wherever that prison's figures are."""
    latest = manifest(plain)["facts"]["latest_cohort"]
    rows = tables(plain)["establishments.csv"]
    small = rows.filter(withheld(rows) & (pl.col("cohort_size").cast(pl.Int64) >= 5))["establishment"][0]
    treated = rows.filter(~withheld(rows))["establishment"][0]
    matched = (
        f'treated = {{ establishment = ["{treated}"] }}\npool = {{ establishment = ["{small}"] }}\n'
        'covariates = ["age", "sex"]\nratio = 50\ncaliper = 1000.0\nbootstrap = 200'
    )
    bulletin = build(population, tmp_path / "bulletin", comparisons__matched=matched)
    table = tables(bulletin)["comparison_matched.csv"]
    row = table.filter(pl.col("cohort") == latest).row(0, named=True)
    assert row["suppressed"] == "[c]" and row["binary_rate_comparison"] is None
    # no published comparison group of equal weights is a group that fails the rule
    shown = table.filter(~withheld(table) & (pl.col("scope") == "cohort"))
    for r in shown.iter_rows(named=True):
        size = number(r["comparators"])
        count = round(float(r["binary_rate_comparison"]) * size)
        assert size >= RULE["min_cohort"] and RULE["min_count"] <= count <= size - RULE["min_count"]


def test_8_the_same_group_under_another_name_is_the_same_group(tmp_path):
    """treated = an establishment and sex F or M is that establishment. (The population a hostile reader used:
    the matched row of EST028, withheld as a secondary suppression, was published under that name, and the
    cohort total less the other establishments gave EST004's 9 reoffenders.)"""
    folder = tmp_path / "population"
    write(SynthParams(releases=20000, establishments=50, cohorts=8, seed=25), folder, "csv")
    data = extract(folder, "2025-03-31", tmp_path / "extract")
    matched = (
        'treated = { establishment = ["EST028"], sex = ["F", "M"] }\n'
        'covariates = ["age", "sentence_months", "prior_convictions", "index_offence"]\nbootstrap = 0'
    )
    bulletin = build(data, tmp_path / "bulletin", extract_date="2025-03-31", comparisons__matched=matched)
    published = tables(bulletin)
    latest = manifest(bulletin)["facts"]["latest_cohort"]
    extra = {}
    for r in published["comparison_matched.csv"].filter(pl.col("scope") == "cohort").iter_rows(named=True):
        if r["binary_rate_treated"] is not None and r["unmatched"] == "0":
            extra[(r["cohort"], "establishment", "EST028")] = round(float(r["binary_rate_treated"]) * int(r["matched"]))
    assert difference_attack(published, extra, latest) == []


def test_9_a_band_is_the_sum_of_its_single_values(tmp_path):
    """A breakdown by age bands beside an adjusted comparison by single years of age: a band less its published
    single ages must not leave one withheld age. (The population a hostile reader used: there, band "40 to 49"
    less the published ages 40 to 47 and 49 gave age 48, 10 people with 2 reoffenders.)"""
    folder = tmp_path / "population"
    write(SynthParams(releases=10000, establishments=60, seed=11), folder, "csv")
    edges = [18, 21, 25, 30, 35, 40, 50]
    bulletin = build(
        folder,
        tmp_path / "bulletin",
        breakdowns=f'columns = ["age"]\nbands = {{ age = {edges} }}',
        comparisons__adjusted=(
            'baseline = ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]\ncovariates = ["sex", "index_offence"]\n'
            'by = ["age"]\nunseen = "pool"'
        ),
    )
    published = tables(bulletin)
    from reoffend.banding import band_labels

    labels = band_labels("age", edges)
    bands = {(r["cohort"], r["age"]): r for r in published["breakdown_age.csv"].iter_rows(named=True)}
    singles = published["comparison_adjusted.csv"]
    recovered = []
    for (cohort, label), band in bands.items():
        if number(band["reoffenders"]) is None:
            continue
        inside = [
            r
            for r in singles.filter(pl.col("cohort") == cohort).iter_rows(named=True)
            if labels[sum(1 for e in edges if float(r["age"]) >= e)] == label
        ]
        unknown = [r for r in inside if number(r["reoffenders"]) is None]
        if sum(number(r["cohort_size"]) for r in inside) == number(band["cohort_size"]) and len(unknown) == 1:
            recovered.append(f"{cohort}, age {unknown[0]['age']}")
    assert recovered == []


def test_10_the_manifest_publishes_no_outcome_model_detail(population, tmp_path):
    """With the establishment as the only covariate, each fitted baseline rate is that establishment's: the
    manifest (a published file) keeps the models' fit, never their coefficients or calibration tables."""
    bulletin = build(
        population,
        tmp_path / "bulletin",
        comparisons__adjusted=(
            'baseline = ["2022Q1"]\ncovariates = ["establishment"]\nby = ["sex"]\ncount_model = "poisson"'
        ),
    )
    models = manifest(bulletin)["comparisons"]["adjusted"]["models"]
    assert "calibration_by" not in models
    for name in ("binary", "frequency"):
        assert {"coefficients", "calibration"}.isdisjoint(models[name]) and "auc" in models["binary"]


def test_11_an_earlier_cohort_is_protected_as_it_was_when_it_was_the_latest(population, tmp_path):
    """Two releases a quarter apart, of three prisons (one too small to publish in the earlier release's latest
    cohort, so one other is withheld with it): the later release, whose establishment table is of the next
    cohort, withholds the same groups wherever it shows them. Before, its matched comparison of the secondary
    one published it, giving the small one away (cohort total less the other establishments)."""
    data = extract(population, EARLY, tmp_path / "e1")
    truth = tables(build(data, tmp_path / "open", extract_date=EARLY, rule={"min_cohort": 0, "min_count": 0}))
    rows = truth["establishments.csv"]
    cohort = rows["cohort"][0]

    def passes(r) -> bool:
        n, x = int(r["cohort_size"]), int(r["reoffenders"])
        return n >= RULE["min_cohort"] and RULE["min_count"] <= x <= n - RULE["min_count"]

    failing = [r["establishment"] for r in rows.iter_rows(named=True) if not passes(r) and int(r["cohort_size"]) > 2]
    passing = [r["establishment"] for r in rows.iter_rows(named=True) if passes(r)]
    three = [failing[0], *passing[:2]]
    where = f"where = {{ establishment = {json.dumps(three)} }}"
    first = tables(build(data, tmp_path / "first", extract_date=EARLY, measure=where))["establishments.csv"]
    hidden = set(first.filter(withheld(first))["establishment"])
    assert failing[0] in hidden and len(hidden) == 2, hidden
    (secondary,) = hidden - {failing[0]}
    matched = f'treated = {{ establishment = ["{secondary}"] }}\ncovariates = ["age", "sex"]\nbootstrap = 200'
    later = extract(population, LATE, tmp_path / "e2")
    second = build(later, tmp_path / "second", extract_date=LATE, measure=where, comparisons__matched=matched)
    assert manifest(second)["facts"]["latest_cohort"] != cohort
    row = tables(second)["comparison_matched.csv"].filter(pl.col("cohort") == cohort).row(0, named=True)
    assert row["suppressed"] == "[c]", f"{cohort} {secondary} was withheld in the earlier release"


def test_disclosure_check_reads_no_table_named_outside_the_folder(plain, cli, tmp_path):
    """A table name in the manifest is a value from a file: it never becomes a path out of tables/."""
    tampered = tmp_path / "tampered"
    shutil.copytree(plain, tampered)
    (tmp_path / "secret.csv").write_text("cohort,cohort_size\n2022Q1,5\n")
    document = manifest(tampered)
    document["facts"]["disclosure"]["layout"]["tables"][0]["table"] = "../../secret.csv"
    (tampered / "manifest.json").write_text(json.dumps(document))
    status, _out, err = cli("disclosure-check", tampered)
    assert status == 65 and "a table named '../../secret.csv'" in err


def test_12_a_revisions_table_does_not_difference_to_a_withheld_count():
    """Two extracts of one population (issue 27): in the earlier release prison A (12 people, 4 reoffenders) and
    B were published; in the later one corrections leave A with 6 people, so A is withheld and B with it (the
    cohort total less C would give A). A revisions table that called B "unchanged" (or showed its value now)
    would give B's 17 now, and 40 - 20 - 17 = A's 3. The revisions table withholds every cell withheld in either
    release ([c]), and the audit of what is written, with the revisions rows declared, fails the naive table."""
    from reoffend.bulletin.publication import (
        Layout,
        audit_publication,
        measure_cells,
        model_of,
        withheld_rows,
        withhold_rows,
    )
    from reoffend.bulletin.revisions import Previous, revision_cells, revisions
    from reoffend.disclosure import DisclosureRule
    from reoffend.errors import DisclosureFailure
    from reoffend.linked import Protection, protect

    columns = ["cohort", "establishment", "cohort_size", "reoffenders", "reconviction_events", "reoffences"]

    def frame(rows: list[tuple], by: bool = True) -> pl.DataFrame:
        names = columns if by else [c for c in columns if c != "establishment"]
        return pl.DataFrame(rows, schema=names, orient="row").with_columns(pl.lit(None, pl.String).alias("suppressed"))

    # the later release, as measured: the cohort and its three prisons (sums 100, 40, 60, 80)
    trend = frame([("2023Q1", 100, 40, 60, 80)], by=False)
    prisons = frame([("2023Q1", "A", 6, 3, 4, 5), ("2023Q1", "B", 44, 17, 26, 35), ("2023Q1", "C", 50, 20, 30, 40)])
    specs = [measure_cells("trend.csv"), measure_cells("establishments.csv", ("establishment",))]
    layout = Layout(list(specs))
    raw = {"trend.csv": trend, "establishments.csv": prisons}
    model = model_of(raw, layout)
    protection = Protection.of(DisclosureRule(min_cohort=10, min_count=3))
    protect(model, protection)
    hidden = {name: withheld_rows(name, f, layout, model) for name, f in raw.items()}
    assert hidden["establishments.csv"] == [True, True, False]  # A (6 people), and B to protect it
    written = {name: withhold_rows(f, layout.specs(name), hidden[name]) for name, f in raw.items()}

    # the earlier release, as published (text, as read from its folder): A 12 people, 4 reoffenders
    earlier = {
        "trend.csv": frame([("2023Q1", 106, 41, 61, 81)], by=False).cast(pl.String),
        "establishments.csv": frame(
            [("2023Q1", "A", 12, 4, 5, 6), ("2023Q1", "B", 44, 17, 26, 35), ("2023Q1", "C", 50, 20, 30, 40)]
        ).cast(pl.String),
    }
    previous = Previous("earlier", "0" * 64, Layout(list(specs)), earlier, "2023Q1")
    table = revisions(previous, {s.table: s for s in specs}, model)
    declared = Layout([*specs, *revision_cells(specs)])
    rows = {(r["table"], r.get("establishment")): r for r in table.iter_rows(named=True)}
    for prison in ("A", "B"):
        row = rows[("establishments.csv", prison)]
        assert row["suppressed"] == "[c]" and row["reoffenders"] is None and row["reason"] != "unchanged"
    assert rows[("establishments.csv", "C")]["reason"] == "unchanged"  # published in both, the same

    # the attacker: the cohort now less every prison whose value now any published row gives
    known = {r["establishment"]: r["reoffenders"] for r in written["establishments.csv"].iter_rows(named=True)}
    for row in table.filter(pl.col("table") == "establishments.csv").iter_rows(named=True):
        if row["reoffenders"] is not None:
            known[row["establishment"]] = row["reoffenders"]
        elif row["reason"] == "unchanged":  # "unchanged" would give the earlier value
            known[row["establishment"]] = row["previous_reoffenders"]
    unknown = [p for p, value in known.items() if value is None]
    assert len(unknown) == 2  # A and B stay unknown: 40 - 20 = 20 between them

    audit_publication({**written, "revisions.csv": table}, declared, protection)  # passes
    naive = table.with_columns(
        pl.when(pl.col("establishment") == "B").then(17).otherwise(pl.col("reoffenders")).alias("reoffenders"),
        pl.when(pl.col("establishment") == "B")
        .then(26)
        .otherwise(pl.col("reconviction_events"))
        .alias("reconviction_events"),
        pl.when(pl.col("establishment") == "B").then(35).otherwise(pl.col("reoffences")).alias("reoffences"),
        pl.when(pl.col("establishment") == "B").then(None).otherwise(pl.col("suppressed")).alias("suppressed"),
    )
    with pytest.raises(DisclosureFailure, match="establishment A: reoffenders"):
        audit_publication({**written, "revisions.csv": naive}, declared, protection)


# ------------------------------------------------------------- successive releases with a data correction
def combined_attack(first: Path, second: Path) -> list[str]:
    """A reader of two releases of the series (issue 26's review): the second release's tables as linked tables
    (reoffend.linked, the project's model used as the attacker), the first release's measure tables beside them
    as cells of their own, and each group taken to be the same in both where nothing published says it changed
    (the revisions table calls it ``unchanged``, or ``[c]`` with no reason: the same number of people). Where
    those assumptions cannot all hold (a withheld group did change), the reader tries each withheld group of
    the contradiction as the one that changed, and keeps every value some consistent guess allows. Every
    withheld count of the second release whose range is narrower than the rule's width is recovered."""
    from reoffend.bulletin.publication import Layout, model_of, row_cells
    from reoffend.bulletin.revisions import revisable
    from reoffend.disclosure import DisclosureRule
    from reoffend.linked import InconsistentTables, Protection, ranges

    now, then = tables(second), tables(first)
    layout = Layout.of(manifest(second)["facts"]["disclosure"]["layout"])
    earlier = [s for s in Layout.of(manifest(first)["facts"]["disclosure"]["layout"]).tables if revisable(s)]
    before = model_of({s.table: then[s.table] for s in earlier}, Layout(earlier))

    def tagged(cell_key):
        return (cell_key[0], cell_key[1], f"{cell_key[2]} in the first release".strip())

    same, assumed = [], []
    revised = now["revisions.csv"]
    for spec in layout.specs("revisions.csv"):
        for found, row in zip(row_cells(revised, spec), revised.iter_rows(named=True), strict=True):
            if found is not None and row["reason"] == "unchanged":
                same.append(found.key)
            elif found is not None and not row["reason"] and row["suppressed"] == "[c]":
                assumed.append(found.key)

    def reader(ties):
        model = model_of(now, layout)
        for cell_key, cell in before.cells.items():
            if cell.implied:
                model.implied(tagged(cell_key), cell.size)
            else:
                shown = {c: cell.values[c] for c in cell.shown}
                model.add(tagged(cell_key), cell.size, shown, table="first release", withheld=cell.withheld)
        for relation in before.relations:
            model.partition(tagged(relation.total), [tagged(p) for p in relation.parts])
        for cell_key in ties:
            if cell_key in model.cells and tagged(cell_key) in model.cells:  # the same people: one part, all of it
                model.partition(cell_key, [tagged(cell_key)])
        return model

    protection = Protection(DisclosureRule(**RULE), WIDTH)

    def bounds(ties):
        model = reader(ties)
        targets = [(k, "reoffenders") for k, c in model.cells.items() if c.withheld and "first release" not in k[2]]
        return {(r.cell, r.count): (r.low, r.high, r.required) for r in ranges(model, targets, protection)}

    try:
        found = [bounds([*same, *assumed])]
    except InconsistentTables:  # a withheld group changed: each one of the contradiction in turn
        found = []
        revised = now["revisions.csv"].filter((pl.col("table") == "trend.csv") & (pl.col("reason") != "unchanged"))
        for changed in [k for k in assumed if k[0][0] in set(revised["cohort"])]:  # in a cohort that changed
            try:
                found.append(bounds([*same, *(k for k in assumed if k != changed)]))
            except InconsistentTables:
                continue
        found = found or [bounds(same)]
    union = {
        target: (min(f[target][0] for f in found), max(f[target][1] for f in found), found[0][target][2])
        for target in found[0]
    }
    return [
        f"{cell[0]} {cell[1]}: {low:g} to {high:g}" for cell, (low, high, need) in union.items() if high - low < need
    ]


def quarter(cohort: str) -> tuple[str, str]:
    """The first and last release dates of a quarterly cohort (``2023Q1``)."""
    year, q = int(cohort[:4]), int(cohort[-1])
    last = {1: "03-31", 2: "06-30", 3: "09-30", 4: "12-31"}[q]
    return f"{year}-{3 * q - 2:02d}-01", f"{year}-{last}"


@pytest.mark.parametrize("correction", ["a prison at the threshold", "a large prison", "a conviction"])
def test_13_a_data_correction_between_releases_does_not_difference_to_a_withheld_count(
    population, tmp_path, correction
):
    """Release 1 from the earlier extract; between the releases a correction to its latest cohort (one release
    of a published prison removed, or one reoffender's convictions of a withheld prison), and a quarter more
    data; release 2 with ``--previous`` release 1. Before, the correction could change the cohort's pattern
    (a prison of exactly 10 people, published, fell to 9 and was withheld; the prisons withheld in both
    releases, taken as unchanged, then gave its 6 reoffenders exactly). Now release 2 withholds every group
    release 1 withheld and no other group release 1 published, unless it fails the rule now; and either a
    reader of both releases recovers nothing, or release 2 is refused, naming the group and release 1."""
    first = build(extract(population, EARLY, tmp_path / "e1"), tmp_path / "first", extract_date=EARLY)
    cohort = manifest(first)["facts"]["latest_cohort"]
    establishments = tables(first)["establishments.csv"].with_columns(pl.col("cohort_size").cast(pl.Int64))
    shown = establishments.filter(~withheld(establishments))
    later = extract(population, LATE, tmp_path / "e2")
    releases = pl.read_csv(later / "releases.csv", infer_schema=False).with_row_index()
    start, end = quarter(cohort)
    in_cohort = pl.col("release_date").is_between(pl.lit(start), pl.lit(end))
    if correction == "a conviction":
        prison = establishments.filter(withheld(establishments) & (pl.col("cohort_size") >= 5))["establishment"][0]
        people = releases.filter(in_cohort & (pl.col("establishment") == prison))["offender_id"]
        convictions = pl.read_csv(later / "convictions.csv", infer_schema=False)
        someone = convictions.filter(pl.col("offender_id").is_in(people.implode()))["offender_id"][0]
        convictions.filter(pl.col("offender_id") != someone).write_csv(later / "convictions.csv")
    else:
        size = pl.col("cohort_size") == RULE["min_cohort"] if "threshold" in correction else pl.col("cohort_size") > 30
        prison = shown.filter(size)["establishment"][0]
        index = releases.filter(in_cohort & (pl.col("establishment") == prison))["index"][0]
        releases.filter(pl.col("index") != index).drop("index").write_csv(later / "releases.csv")
    try:
        second = build(later, tmp_path / "second", extract_date=LATE, publication=f'previous = "{first}"')
    except ReoffendError as error:
        assert correction == "a prison at the threshold", error
        assert error.exit_status == 65
        assert f"{cohort}, establishment {prison}: the previous release {first} published it" in str(error)
        assert f"previous release {first}" in str(error)
        assert not (tmp_path / "second").exists()
        return
    assert combined_attack(first, second) == []
    revised = tables(second)["revisions.csv"].filter(pl.col("table") == "establishments.csv")
    was = dict(zip(establishments["establishment"], withheld(establishments), strict=True))
    now = dict(zip(revised["establishment"], withheld(revised), strict=True))
    assert {p for p, hidden in was.items() if hidden} <= {p for p, hidden in now.items() if hidden}
    newly = {p for p, hidden in now.items() if hidden and not was[p]}
    assert newly == set(), newly  # a prison published before is published now, or the release is refused


def test_15_a_published_prison_withheld_after_a_move_is_refused_not_read_back(population, tmp_path):
    """Issue 26's second disclosure review, reproduction A: one release record moves from EST025 (published by
    release 1 as 3 reoffenders of 12) to EST005 (withheld). Release 2 withheld EST025 (11 people now, so 2 or 3
    reoffenders to a reader of release 1) and passed its audit: withheld, it must fail the rule, so 2 (the
    true count). Now a group published before that fails the rule refuses the release, naming it."""
    first = build(extract(population, EARLY, tmp_path / "e1"), tmp_path / "first", extract_date=EARLY)
    row = tables(first)["establishments.csv"].filter(
        (pl.col("cohort") == "2023Q1") & (pl.col("establishment") == "EST025")
    )
    assert (row["cohort_size"][0], row["reoffenders"][0], row["suppressed"][0]) == ("12", "3", None)
    corrected = extract(population, EARLY, tmp_path / "e2")
    releases = (corrected / "releases.csv").read_text()
    moved = "P0001811,2023-02-12,EST005,"
    assert releases.count("P0001811,2023-02-12,EST025,") == 1
    (corrected / "releases.csv").write_text(releases.replace("P0001811,2023-02-12,EST025,", moved))
    with pytest.raises(ReoffendError) as refused:
        build(corrected, tmp_path / "second", extract_date=EARLY, publication=f'previous = "{first}"')
    assert refused.value.exit_status == 65
    assert f"2023Q1, establishment EST025: the previous release {first} published it" in str(refused.value)
    assert not (tmp_path / "second").exists()


def court_lag_differences(first: Path, second: Path) -> list[str]:
    """Each waiting period's court-lag row published by both releases, the second less the first: a group of
    people (the cohorts that joined, and any correction) whose counts must pass the rule, or be no change."""
    if not (second / "tables" / "court_lag.csv").exists():
        return []
    rows = {}
    for name, bulletin in (("first", first), ("second", second)):
        for row in tables(bulletin)["court_lag.csv"].iter_rows(named=True):
            if number(row["reoffenders"]) is not None:
                rows.setdefault(row["waiting_period_months"], {})[name] = row
    exposed = []
    for period, pair in rows.items():
        if len(pair) < 2:
            continue
        size = number(pair["second"]["cohort_size"]) - number(pair["first"]["cohort_size"])  # type: ignore[operator]
        reoffenders = number(pair["second"]["reoffenders"]) - number(pair["first"]["reoffenders"])  # type: ignore[operator]
        group = size >= RULE["min_cohort"] and RULE["min_count"] <= reoffenders <= size - RULE["min_count"]
        if (size, reoffenders) != (0, 0) and not group:
            exposed.append(f"waiting {period} months: {size} people, {reoffenders} reoffenders")
    return exposed


@pytest.mark.parametrize("later", ["a correction alone", "a quarter later"])
def test_14_two_releases_court_lags_do_not_difference_to_a_small_count(population, tmp_path, later):
    """Release 2 less release 1, row by row of the court lag, is the cohorts that joined it plus any correction
    to the cohorts both sum. A quarter later a cohort joins (it passes the rule on its own at every waiting
    period) and the difference is that group. With no cohort joined (release 2 from the same extract date, one
    reoffender's convictions in the court lag's first cohort removed) the difference was that one person (a
    count of 1 under some waiting periods): release 2 now leaves its court lag out."""
    data = extract(population, EARLY, tmp_path / "e1")
    first = build(data, tmp_path / "first", extract_date=EARLY)
    assert (first / "tables" / "court_lag.csv").exists()
    date = EARLY if later == "a correction alone" else LATE
    again = extract(population, date, tmp_path / "e2")
    if later == "a correction alone":
        cohort = manifest(first)["facts"]["court_lag_cohorts"][0]
        start, end = quarter(cohort)
        releases = pl.read_csv(again / "releases.csv", infer_schema=False)
        people = releases.filter(pl.col("release_date").is_between(pl.lit(start), pl.lit(end)))["offender_id"]
        convictions = pl.read_csv(again / "convictions.csv", infer_schema=False)
        soon = convictions.filter(  # convicted within the follow-up of a release in the cohort: a reoffender
            pl.col("offender_id").is_in(people.implode()) & (pl.col("offence_date") > pl.lit(end))
            & (pl.col("conviction_date") < pl.lit(f"{int(end[:4]) + 1}{end[4:]}"))
        )  # fmt: skip
        someone = soon["offender_id"][0]
        convictions.filter(pl.col("offender_id") != someone).write_csv(again / "convictions.csv")
    second = build(again, tmp_path / "second", extract_date=date, publication=f'previous = "{first}"')
    assert court_lag_differences(first, second) == []
    if later == "a correction alone":
        trend = {t: tables(b)["trend.csv"].filter(pl.col("cohort") == cohort) for t, b in (("1", first), ("2", second))}
        assert number(trend["2"]["reoffenders"][0]) == number(trend["1"]["reoffenders"][0]) - 1  # type: ignore[operator]
        assert not (second / "tables" / "court_lag.csv").exists()
    else:
        assert (second / "tables" / "court_lag.csv").exists()  # a cohort joined: the difference is that group


MATCHED = """treated = { establishment = ["EST006"] }
covariates = ["age", "sex", "sentence_months", "prior_convictions", "index_offence"]
bootstrap = 200"""


def test_16_a_group_a_comparison_published_is_carried_over_like_an_establishment(population, tmp_path):
    """Issue 26's third disclosure review: the matched comparison publishes its treated group in every complete
    cohort (EST006 in 2022Q2: 3 of 10), a group the establishment table of that release does not print. A
    correction (one of its reoffenders' convictions withdrawn) made it 2 of 10 and release 2 withheld it; only the
    measure tables were carried over, so it built, and a reader knew a withheld group published before fails the
    rule: 2. Every table the previous release declared is carried over now, so the release is refused."""
    early = extract(population, EARLY, tmp_path / "e1")
    first = build(early, tmp_path / "first", extract_date=EARLY, comparisons__matched=MATCHED)
    matched = tables(first)["comparison_matched.csv"].filter(pl.col("cohort") == "2022Q2")
    assert matched.select("treated", "binary_rate_treated").row(0) == ("10", "0.3")  # 3 of 10, published
    releases = pl.read_csv(early / "releases.csv", infer_schema=False)
    convictions = pl.read_csv(early / "convictions.csv", infer_schema=False)
    start, end = quarter("2022Q2")
    treated = releases.filter(
        pl.col("release_date").is_between(pl.lit(start), pl.lit(end)) & (pl.col("establishment") == "EST006")
    )
    # the first of them with an offence within a year of release: their convictions of that year withdrawn
    within = convictions.join(treated.select("offender_id", "release_date"), on="offender_id").filter(
        (pl.col("offence_date") > pl.col("release_date"))
        & (pl.col("offence_date").str.to_date() <= pl.col("release_date").str.to_date().dt.offset_by("1y"))
    )
    someone = within.sort("offender_id")["offender_id"][0]
    dropped = within.filter(pl.col("offender_id") == someone).select(convictions.columns)
    corrected = extract(population, EARLY, tmp_path / "e2")
    convictions.join(dropped, on=convictions.columns, how="anti").write_csv(corrected / "convictions.csv")
    with pytest.raises(ReoffendError) as refused:
        build(
            corrected,
            tmp_path / "second",
            extract_date=EARLY,
            comparisons__matched=MATCHED,
            publication=f'previous = "{first}"',
        )
    assert refused.value.exit_status == 65, refused.value
    assert "2022Q2" in str(refused.value) and "EST006" in str(refused.value)
    assert f"the previous release {first} published it" in str(refused.value)
    assert not (tmp_path / "second").exists()
