"""The faults a head-of-profession review found in the bulletin (issue 26, the review's items): each test
failed before its fix.

Two bulletins are built in memory: the sample (data/sample/job.toml, every comparison) and a small-prison one
(one establishment of a synthetic population, 4 to 16 people a cohort, provisional figures on), where most
figures are withheld.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from reoffend.bulletin.build import Bulletin, compute_bulletin
from reoffend.bulletin.config import parse_config
from reoffend.bulletin.document import Figure, Heading, Paragraph, Table
from reoffend.report.verdict import Verdict
from reoffend.synth import SynthParams, write

from .test_bulletin_house import prose

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def sample_job(folder: Path, *, where: str = "", comparisons: bool = True, provisional: bool = False) -> str:
    """The sample's job with absolute input paths and a quick bootstrap; ``where`` one establishment."""
    job = (SAMPLE / "job.toml").read_text()
    job = job.replace('"excluded_offences.txt"', f'"{SAMPLE / "excluded_offences.txt"}"')
    job = job.replace("bootstrap = 1000", "bootstrap = 200")
    if not comparisons:  # the comparison sections, header to the next header
        kept, skip = [], False
        for line in job.splitlines():
            if line.startswith("["):
                skip = line.startswith("[comparisons.")
            if not skip:
                kept.append(line)
        job = "\n".join(kept) + "\n"
    if where:
        job = job.replace("[measure]\n", f'[measure]\nwhere = {{ establishment = ["{where}"] }}\n')
    if provisional:
        job += "\n[provisional]\ncohorts = 3\norigins = 4\n"
    return job


@pytest.fixture(scope="module")
def sample() -> Bulletin:
    return compute_bulletin(parse_config(str(SAMPLE / "job.toml")))


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Bulletin:
    """EST072 of the reviewer's 20,000-release population: 4 to 16 people a cohort, most figures withheld."""
    folder = tmp_path_factory.mktemp("small")
    write(SynthParams(releases=20000, seed=26, cohorts=10, extract_date=dt.date(2025, 3, 31)), folder, "csv")
    (folder / "job.toml").write_text(sample_job(folder, where="EST072", comparisons=False, provisional=True))
    return compute_bulletin(parse_config(str(folder / "job.toml")))


@pytest.fixture(scope="module")
def one_prison(tmp_path_factory) -> Bulletin:
    """EST042 of the same population (about 70 people a cohort): breakdowns with one or no published group."""
    folder = tmp_path_factory.mktemp("one")
    write(SynthParams(releases=20000, seed=26, cohorts=10, extract_date=dt.date(2025, 3, 31)), folder, "csv")
    (folder / "job.toml").write_text(sample_job(folder, where="EST042", comparisons=False))
    return compute_bulletin(parse_config(str(folder / "job.toml")))


def section_blocks(bulletin: Bulletin, anchor: str) -> list:
    """The blocks under the second-level heading ``anchor``, up to the next one."""
    out, inside = [], False
    for block in bulletin.document.blocks:
        if isinstance(block, Heading) and block.level == 2:
            inside = block.anchor == anchor
        elif inside:
            out.append(block)
    return out


def words_of(blocks: list) -> str:
    return "\n".join(
        b.text if isinstance(b, Paragraph) else f"{b.caption}\n{b.alt}" if isinstance(b, Figure) else "" for b in blocks
    )


# ------------------------------------------------------------------- 1. the adjusted summary sentence
def test_each_adjusted_count_stands_beside_its_own_measure(sample):
    """The sample's summary row, its counts in their words: each measure's beat / significantly worse counts,
    after the adjustment and before it, the unadjusted increases too (before the fix: "on reoffences per
    offender 0 beat it ...; 6 and 1 before it", the 6 the binary rate's)."""
    summary = sample.tables["comparison_adjusted_summary.csv"].row(0, named=True)
    text = "\n".join(
        item for block in section_blocks(sample, "comparison-adjusted") for item in getattr(block, "items", ())
    )
    for name, what in (
        ("binary", "the proven reoffending rate"),
        ("reoffences_per_offender", "reoffences per offender"),
    ):
        before_worse = summary[f"{name}_increase_unadjusted"]
        expected = (
            f"on {what} {summary[f'{name}_reduction']} beat the baseline and {summary[f'{name}_increase']} "
            f"{'was' if summary[f'{name}_increase'] == 1 else 'were'} significantly worse after the adjustment "
            f"for multiple testing (before it, {summary[f'{name}_reduction_unadjusted']} beat the baseline and "
            f"{before_worse} {'was' if before_worse == 1 else 'were'} significantly worse)"
        )
        assert expected in text
    # the unadjusted increases are counts of the published rows' unadjusted verdicts
    rows = sample.tables["comparison_adjusted.csv"]
    published = rows.filter(pl.col("suppressed").is_null()) if "suppressed" in rows.columns else rows
    for name in ("binary", "reoffences_per_offender"):
        assert summary[f"{name}_increase_unadjusted"] == (published[f"{name}_verdict"] == Verdict.INCREASE.value).sum()


# ------------------------------------------------------------------- 2. the risk-adjusted table
def test_the_adjusted_section_has_a_table_of_every_published_unit(sample):
    tables = [b for b in section_blocks(sample, "comparison-adjusted") if isinstance(b, Table)]
    assert len(tables) == 1 and tables[0].source == "comparison_adjusted.csv"
    rows = sample.tables["comparison_adjusted.csv"]
    published = rows.filter(pl.col("suppressed").is_null()) if "suppressed" in rows.columns else rows
    # two lines a unit: the rate, then reoffences per offender (compare.rows.AdjustedLine)
    assert [row[0] for row in tables[0].rows if row[0]] == published["establishment"].to_list()
    assert len(tables[0].rows) == 2 * published.height > 0
    assert "[c]" not in {cell for row in tables[0].rows for cell in row}


# ------------------------------------------------------------------- 4. no "[c]" read out as a number
def test_the_trend_and_frequency_text_start_from_the_first_published_cohort(small):
    trend = small.tables["trend.csv"]
    assert trend["binary_rate"].is_null().any() and trend["binary_rate"].is_not_null().sum() >= 2  # the case
    text = words_of(section_blocks(small, "trend")) + words_of(section_blocks(small, "frequency"))
    assert not re.search(r"(was|and|it was|against) \[c\]|\[c\] (for people|in (January|April|July|October))", text), (
        text
    )
    assert "withheld" in text
    first = trend.filter(pl.col("binary_rate").is_not_null()).row(0, named=True)
    assert f"{100 * first['binary_rate']:.1f}%" in text


# ------------------------------------------------------------------- 5. every provisional estimate withheld
def test_no_provisional_chart_of_no_estimate_and_the_check_quotes_the_backtests_months(small):
    provisional = small.tables["provisional.csv"]
    assert provisional["binary_rate_provisional"].is_null().all()  # the case: every estimate withheld
    blocks = section_blocks(small, "provisional")
    assert not any(isinstance(b, Figure) for b in blocks)
    assert "provisional" not in small.figures
    text = words_of(blocks)
    assert "There is no chart here" in text
    assert "0 or more months" not in text
    assert "hollow points" not in text


# ------------------------------------------------------------------- 7. one establishment, tiny breakdowns
def test_one_establishment_is_not_compared_with_itself(small, one_prison):
    for bulletin in (small, one_prison):
        text = words_of(section_blocks(bulletin, "establishments"))
        assert "adjusted for multiple testing" not in text and "0 of the 1" not in text
        assert "needs at least two published establishments" in text


def test_withheld_breakdown_groups_are_said_in_words(one_prison, small, sample):
    for bulletin in (one_prison, small, sample):
        text = prose(bulletin.document)
        assert "can be published for fewer than two groups" not in text
        assert not re.search(r"The figures of \d+ of the \d+ groups? (is|are) suppressed", text)
        for block in bulletin.document.blocks:
            if isinstance(block, Figure) and block.name.startswith("breakdown_"):
                assert ": [c]" not in block.alt, block.alt


# ------------------------------------------------------------------- 6. tables.ods in words, [z] for n/a
def test_the_revisions_sheet_is_in_words_with_z_for_another_tables_groups():
    """Three hand-made revisions rows: the trend's (no sex: [z], withheld or not), a breakdown's by sex ("F"
    is "Female") and a completed cohort's (no previous figure: [z]); the table named by its title."""
    from reoffend.bulletin.labels import Labels
    from reoffend.bulletin.spreadsheet import cell_values, group_keys, in_words, not_applicable_columns

    frame = pl.DataFrame(
        {
            "table": ["trend.csv", "breakdown_sex.csv", "trend.csv"],
            "cohort": ["2023Q1", "2023Q1", "2023Q3"],
            "sex": [None, "F", None],
            "index_offence": [None, None, None],
            "previous_cohort_size": [100, 40, None],
            "cohort_size": [100, 40, 120],
            "previous_binary_rate": [0.40, None, None],
            "binary_rate": [0.41, None, 0.5],
            "reason": ["late convictions", None, "cohort completed"],
            "suppressed": [None, "[c]", None],
        }
    )
    titles = {"trend.csv": "Table 1: Proven reoffending by cohort"}
    worded = in_words("revisions.csv", frame, Labels(values={"sex": {"F": "Female"}}), titles)
    cells = list(
        cell_values(worded, not_applicable_columns("revisions.csv", worded), group_keys("revisions.csv", worded))
    )
    assert cells[0][:4] == ["Table 1: Proven reoffending by cohort", "2023Q1", "[z]", "[z]"]
    assert cells[0][-2] == "Late convictions"
    assert cells[1][:4] == ["Breakdown sex", "2023Q1", "Female", "[z]"]  # a table this bulletin lacks: in words
    assert cells[1][6:8] == ["[c]", "[c]"]  # withheld figures stay [c]
    assert cells[2][4] == "[z]" and cells[2][6] == "[z]"  # no previous figure of a completed cohort
    assert "[x]" not in {c for row in cells for c in row}


def test_no_code_of_the_verdicts_or_the_pooled_row_in_the_workbook(sample):
    from reoffend.bulletin.build import SHEET_TITLES
    from reoffend.bulletin.spreadsheet import labelled_tables

    tables = labelled_tables(sample)
    codes = {"similar", "higher", "lower", "pooled", "all", "no change"}
    for name, frame in tables.items():
        for column in frame.columns:
            if frame.schema[column] == pl.String:
                assert not codes & set(frame[column].drop_nulls().to_list()), (name, column)
    assert "similar" not in " ".join(SHEET_TITLES.values())


# ------------------------------------------------------------------- 3 and 12. revisions, court lag left out
@pytest.fixture(scope="module")
def successive(tmp_path_factory, monkeypatch_module) -> Bulletin:
    """The sample after a previous bulletin of its extract as at 31 March 2025 (2023Q4 then in follow-up, given
    as a provisional estimate), with the court lag's difference from the previous one taken to fail the rule
    (as build.py leaves it out when a row's change would disclose)."""
    from reoffend.bulletin import build

    folder = tmp_path_factory.mktemp("successive")
    for name in ("releases.csv", "convictions.csv"):
        (folder / name).write_bytes((SAMPLE / name).read_bytes())
    earlier = folder / "earlier"
    earlier.mkdir()
    job = sample_job(folder, comparisons=False)
    (earlier / "job.toml").write_text(
        job.replace("[inputs]\n", "[inputs]\nas_at = 2025-03-31\n")
        .replace('"releases.csv"', f'"{folder / "releases.csv"}"')
        .replace('"convictions.csv"', f'"{folder / "convictions.csv"}"')
        + "\n[provisional]\ncohorts = 1\nbacktest = false\n"
    )
    build.build_bulletin(parse_config(str(earlier / "job.toml")), str(folder / "previous"))
    (folder / "job.toml").write_text(job.replace("[publication]", f'[publication]\nprevious = "{folder / "previous"}"'))
    monkeypatch_module.setattr(build, "court_lag_difference_fails", lambda *args: {1})
    return compute_bulletin(parse_config(str(folder / "job.toml")))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_revisions_sentence_claims_only_what_the_table_holds(successive):
    text = words_of(section_blocks(successive, "revisions"))
    assert "Every figure the previous bulletin published" not in text
    assert "Every final figure the previous bulletin published" in text
    assert "provisional estimates are not in that table" in text
    # the national table: a completed cohort had no figure before, [z] (not applicable), never an empty cell
    (table,) = [b for b in section_blocks(successive, "revisions") if isinstance(b, Table)]
    completed = [row for row in table.rows if row[-1] == "cohort completed"]
    assert completed and all(row[1] == "[z]" and row[3] == "[z]" for row in completed)
    assert "" not in {cell for row in table.rows for cell in row}
    revisions = successive.tables["revisions.csv"]
    assert set(revisions["table"]) <= {"trend.csv", "establishments.csv"} | {
        n for n in successive.tables if n.startswith("breakdown_")
    }


def test_a_court_lag_left_out_for_disclosure_is_said_with_no_number(successive):
    assert "court_lag.csv" not in successive.tables
    text = words_of(section_blocks(successive, "court-lag"))
    assert "left out of this bulletin" in text and "previous bulletin" in text
    numbers = set(re.findall(r"\d+", text))
    assert numbers <= {"6"}, numbers  # the waiting period (a setting), no figure


# ------------------------------------------------------------------- 10 and 11. rounding, jargon
def test_the_rounding_note_is_in_things_you_need_to_know(sample):
    text = "\n".join(item for block in section_blocks(sample, "things-to-know") for item in getattr(block, "items", ()))
    assert "because of rounding" in text and "unrounded figures" in text


def test_the_jargon_is_in_the_glossary_and_no_offence_is_coded(sample):
    from reoffend.bulletin.document import Definitions

    glossary = {
        term.lower()
        for block in section_blocks(sample, "glossary")
        if isinstance(block, Definitions)
        for term, _words in block.items
    }
    text = prose(sample.document)
    for term in (
        "bootstrap resamples",
        "covariate",
        "treated releases",
        "weighted comparison group",
        "logistic regression",
        "count model",
        "normal approximation",
        "doncaster design",
        "peterborough design",
    ):
        if term.split()[0] in text.lower():
            assert term in glossary, term
    assert "coded BREACH" not in text and "Offences coded" not in text


# ------------------------------------------------------------------- 8. the trend chart's axis title
@pytest.mark.parametrize("top", [0.6, 0.911, 0.99])
def test_the_trend_charts_axis_title_is_not_clipped(top):
    """The small prison's rates (50.0%, 75.0% to an interval top of 91.1%): the axis runs to 100%, whose tick
    label is a character wider; before the fix the two-line axis title was cut by the image's left edge, so
    its first pixel columns held ink. Here they are white (255)."""
    import io

    from PIL import Image

    from reoffend.bulletin.figures import trend_chart

    trend = pl.DataFrame(
        {
            "cohort": ["2022Q1", "2022Q2", "2022Q3"],
            "binary_rate": [0.5, 0.55, 0.75],
            "binary_rate_low": [0.3, 0.35, 0.468],
            "binary_rate_high": [top - 0.1, top - 0.05, top],
        }
    )
    image = Image.open(io.BytesIO(trend_chart(trend, 0.95)[0])).convert("L")
    edge = [image.getpixel((x, y)) for x in range(3) for y in range(image.size[1])]
    assert min(edge) == 255
