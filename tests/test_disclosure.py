"""Disclosure control and banding, worked by hand (reoffend/disclosure.py, reoffend/banding.py)."""

from __future__ import annotations

import io

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reoffend.banding import band_expr, band_labels, parse_band
from reoffend.disclosure import DisclosureRule, suppress
from reoffend.errors import UsageError

RULE = DisclosureRule(min_cohort=10, min_count=3)


def groups(*rows: tuple[str, int, int]) -> pl.DataFrame:
    """(group, released, reoffenders) rows, with the rate the measure would give."""
    return pl.DataFrame(
        {
            "group": [g for g, _n, _x in rows],
            "cohort_size": [n for _g, n, _x in rows],
            "reoffenders": [x for _g, _n, x in rows],
            "binary_rate": [x / n for _g, n, x in rows],
        }
    )


def test_a_five_person_group_is_suppressed_for_its_size():
    out = suppress(groups(("A", 5, 2), ("B", 40, 10)), RULE, by=["group"])
    # 5 < min_cohort 10: its count and rate are withheld; its size is still published
    assert out["suppressed"].fill_null("").to_list() == ["min_cohort", ""]
    assert out["reoffenders"].to_list() == [None, 10]
    assert out["binary_rate"].to_list() == [None, 0.25]
    assert out["cohort_size"].to_list() == [5, 40]


def test_nobody_or_everybody_reoffending_is_suppressed_for_the_count():
    # 0 of 12: reoffenders 0 < 3; 12 of 12: non-reoffenders 0 < 3; 2 of 12 and 10 of 12 likewise; 3 of 12 and
    # 9 of 12 leave at least 3 on each side and are published
    out = suppress(
        groups(("none", 12, 0), ("all", 12, 12), ("two", 12, 2), ("ten", 12, 10), ("three", 12, 3), ("nine", 12, 9)),
        RULE,
        by=["group"],
    )
    assert out["suppressed"].fill_null("").to_list() == ["min_count", "min_count", "min_count", "min_count", "", ""]


def test_a_lone_suppressed_sibling_is_protected_by_suppressing_the_next_smallest():
    # Total 75 released, 24 reoffenders published. A (5 people) is suppressed; alone it would be
    # 24 - 10 - 12 = 2 reoffenders of 75 - 40 - 30 = 5. So the smallest other group, C (30), is suppressed too:
    # the total then gives only A + C together (35 people, 14 reoffenders), which passes the rule.
    out = suppress(groups(("A", 5, 2), ("B", 40, 10), ("C", 30, 12)), RULE, by=["group"], margins=["group"])
    assert out["suppressed"].fill_null("").to_list() == ["min_cohort", "", "secondary"]
    assert out["reoffenders"].to_list() == [None, 10, None]


def test_two_suppressed_siblings_that_together_still_disclose_take_a_third():
    # A: 0 of 5 and B: 0 of 6 are both suppressed, but together they are 0 of 11: the total less C and D
    # would show that nobody in A or B reoffended. The next smallest, D (20 people, 5 reoffenders), joins them:
    # 5 of 31 together passes.
    out = suppress(groups(("A", 5, 0), ("B", 6, 0), ("C", 50, 20), ("D", 20, 5)), RULE, by=["group"], margins=["group"])
    assert out["suppressed"].fill_null("").to_list() == ["min_cohort", "min_cohort", "", "secondary"]


def test_without_a_published_total_there_is_no_secondary_suppression():
    out = suppress(groups(("A", 5, 2), ("B", 40, 10), ("C", 30, 12)), RULE, by=["group"])
    assert out["suppressed"].fill_null("").to_list() == ["min_cohort", "", ""]


def test_thresholds_of_zero_publish_everything():
    out = suppress(groups(("A", 1, 0), ("B", 2, 2)), DisclosureRule(0, 0), by=["group"], margins=["group"])
    assert out["suppressed"].fill_null("").to_list() == ["", ""]
    assert out["reoffenders"].to_list() == [0, 2]


def test_secondary_suppression_runs_within_each_cohort_and_across_margins():
    # Two cohorts by sex; the margin is sex within a cohort (the cohort's total is published).
    rows = pl.DataFrame(
        {
            "cohort": ["Q1", "Q1", "Q2", "Q2"],
            "sex": ["F", "M", "F", "M"],
            "cohort_size": [4, 60, 30, 60],
            "reoffenders": [1, 20, 10, 20],
        }
    )
    out = suppress(rows, RULE, by=["cohort", "sex"], margins=["sex"])
    # Q1: F (4) is primary, M must go too (else F = total - M); Q2 is untouched
    assert out["suppressed"].fill_null("").to_list() == ["min_cohort", "secondary", "", ""]
    # with the cohorts' totals over sex also published (both margins), Q2's F must protect Q1's F, and then Q2's M
    out = suppress(rows, RULE, by=["cohort", "sex"], margins=["cohort", "sex"])
    assert out["suppressed"].fill_null("").to_list() == ["min_cohort", "secondary", "secondary", "secondary"]


def test_a_negative_threshold_is_refused():
    with pytest.raises(UsageError, match="min_count"):
        DisclosureRule(min_cohort=10, min_count=-1)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 60), st.floats(0, 1)).map(lambda t: (t[0], round(t[0] * t[1]))),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, 12),
    st.integers(0, 4),
)
def test_no_suppressed_group_can_be_recovered_from_the_total(members, min_cohort, min_count):
    """Property: after suppression, the suppressed groups together (all that total minus the published ones
    reveals) are either none, or every group, or at least two groups whose combined figures pass the rule."""
    rule = DisclosureRule(min_cohort, min_count)
    rows = groups(*[(f"g{i}", n, x) for i, (n, x) in enumerate(members)])
    out = suppress(rows, rule, by=["group"], margins=["group"])
    hidden = [i for i, reason in enumerate(out["suppressed"].fill_null("").to_list()) if reason]
    for i, reason in enumerate(out["suppressed"].fill_null("").to_list()):
        assert bool(reason) == (out["reoffenders"][i] is None)
        n, x = members[i]
        if rule.fails(n, x):
            assert reason in ("min_cohort", "min_count")
    if hidden and len(hidden) < len(members):
        size = sum(members[i][0] for i in hidden)
        count = sum(members[i][1] for i in hidden)
        assert len(hidden) >= 2 and not rule.fails(size, count)


# --------------------------------------------------------------------------------------------- banding
def test_band_labels_for_age_and_for_counts():
    assert band_labels("age", [18, 21, 25, 30, 35, 40, 50]) == [
        "Under 18",
        "18 to 20",
        "21 to 24",
        "25 to 29",
        "30 to 34",
        "35 to 39",
        "40 to 49",
        "50 and over",
    ]
    assert band_labels("prior_convictions", [1, 3, 7, 11]) == ["0", "1 to 2", "3 to 6", "7 to 10", "11 or more"]
    assert band_labels("prior_convictions", [1, 2, 3]) == ["0", "1", "2", "3 or more"]
    assert band_labels("sentence_months", [6, 12.5], whole=False) == ["Under 6", "6 to under 12.5", "12.5 or more"]


def test_band_edges_include_the_lower_edge_and_exclude_the_upper():
    frame = pl.DataFrame({"age": [17, 18, 20, 21, 24, 25, 90, None]})
    out = frame.select(band_expr("age", [18, 21, 25]))["age"]
    assert out.cast(pl.String).to_list() == [
        "Under 18",
        "18 to 20",
        "18 to 20",
        "21 to 24",
        "21 to 24",
        "25 and over",
        "25 and over",
        None,
    ]
    # an ordered Enum: sorting follows the bands, not the alphabet ("Under 18" would sort last)
    assert out.drop_nulls().unique().sort().cast(pl.String).to_list() == [
        "Under 18",
        "18 to 20",
        "21 to 24",
        "25 and over",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age", "COLUMN=EDGE"),
        ("age=18,x", "'x' is not a number"),
        ("age=21,18", "increase strictly"),
        ("age=", "at least one"),
    ],
)
def test_bad_band_option(text, message):
    with pytest.raises(UsageError, match=message):
        parse_band(text)


def test_band_option_parses():
    assert parse_band("age=18, 21,25") == ("age", (18, 21, 25))


# ------------------------------------------------------------------------------------------ measure CLI
def test_measure_suppress_and_band_from_the_command_line(tmp_path, cli):
    from .conftest import write_csv

    # E1: 12 people, 0 reoffend (min_count); E2: 12 people, 6 reoffend; E3: 30 people, 10 reoffend.
    # With the cohort's total published, E1 alone would be derivable: E2 (the next smallest) is suppressed too.
    people = [("E1", 0, 12), ("E2", 6, 12), ("E3", 10, 30)]
    releases = ["offender_id,release_date,establishment,age"]
    convictions = ["offender_id,offence_date,conviction_date"]
    for unit, reoffenders, size in people:
        for i in range(size):
            pid = f"{unit}-{i}"
            releases.append(f"{pid},2022-01-10,{unit},{17 + i}")
            if i < reoffenders:
                convictions.append(f"{pid},2022-03-01,2022-04-01")
    write_csv(tmp_path / "r.csv", "\n".join(releases) + "\n")
    write_csv(tmp_path / "c.csv", "\n".join(convictions) + "\n")
    base = ("measure", tmp_path / "r.csv", tmp_path / "c.csv", "--extract-date", "2024-01-01")
    status, out, err = cli(*base, "--by", "cohort,establishment", "--suppress", "10", "--json")
    assert status == 0, err
    import json

    document = json.loads(out)
    rows = document["rows"] if isinstance(document, dict) and "rows" in document else document
    got = [(r["establishment"], r["reoffenders"], r["suppressed"]) for r in rows]
    assert got == [("E1", None, "min_count"), ("E2", None, "secondary"), ("E3", 10, None)]
    assert document["parameters"]["disclosure"]["min_cohort"] == 10
    # table view shows [c]; banding gives labelled, ordered groups whose sizes add up
    status, out, _err = cli(*base, "--by", "establishment", "--suppress", "10", "--format", "table")
    assert status == 0 and "[c]" in out
    status, out, _err = cli(*base, "--by", "age", "--band", "age=18,21,25", "--csv")
    frame = pl.read_csv(io.StringIO(out))
    assert frame["age"].to_list() == ["Under 18", "18 to 20", "21 to 24", "25 and over"]
    # ages 17, 18, ... within each of the 3 establishments: one 17, three 18-20, four 21-24 each; the rest 25+
    assert frame["cohort_size"].to_list() == [3 * 1, 3 * 3, 3 * 4, 54 - 3 * 8]
    assert "suppressed" not in frame.columns  # no --suppress: measure publishes everything, as before
    status, _out, err = cli(*base, "--by", "age", "--band", "age=21,18")
    assert status == 2 and "increase strictly" in err
    status, _out, err = cli(*base, "--by", "establishment", "--band", "establishment=1,2")
    assert status == 2 and "not numeric" in err
