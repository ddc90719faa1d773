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


# ------------------------------------------------------------------------ edges found by mutation testing (issue 33)
def test_a_group_of_exactly_min_cohort_is_published():
    # min_cohort 10 suppresses fewer than 10: 9 people are suppressed, 10 are not (5 reoffended, 5 did not: both
    # at least min_count 3)
    out = suppress(groups(("nine", 9, 4), ("ten", 10, 5), ("eleven", 11, 5)), RULE, by=["group"])
    assert out["suppressed"].fill_null("").to_list() == ["min_cohort", "", ""]
    assert RULE.fails(10, 5) == "" and RULE.fails(9, 4) == "min_cohort"
    # exactly min_count reoffenders (3 of 10) or non-reoffenders (7 of 10) passes; one fewer (2, or 8 of 10) fails
    assert [RULE.fails(10, x) for x in (2, 3, 7, 8)] == ["min_count", "", "", "min_count"]


def test_secondary_suppression_repeats_until_both_margins_are_safe():
    # Three cohorts by three sexes; both totals published (each cohort's over sex, each sex's over cohorts).
    #        F         M         X          (released, reoffended)
    # C1   (5, 2)   (40, 10)  (30, 12)     C1 F: fewer than 10 released, suppressed
    # C2   (60, 20) (50, 15)  (35, 10)
    # C3   (45, 15) (55, 20)  (70, 25)
    # Round 1, within each cohort: C1 F alone -> its smallest sibling C1 X (30) goes too (35 people, 14 reoffended
    # together: passes). Within each sex: F has C1 F alone -> C3 F (45, smaller than C2 F's 60); X has C1 X alone
    # -> C2 X (35). Now C2 has X alone and C3 has F alone, which only a second round catches: C2 M (50, smaller
    # than C2 F's 60) and C3 M (55, smaller than C3 X's 70). Round 2's sex sets: M has C2 M and C3 M, 105 people
    # and 35 reoffenders together: safe. Round 3 changes nothing.
    cells = [
        ("C1", "F", 5, 2), ("C1", "M", 40, 10), ("C1", "X", 30, 12),
        ("C2", "F", 60, 20), ("C2", "M", 50, 15), ("C2", "X", 35, 10),
        ("C3", "F", 45, 15), ("C3", "M", 55, 20), ("C3", "X", 70, 25),
    ]  # fmt: skip
    rows = pl.DataFrame(cells, schema=["cohort", "sex", "cohort_size", "reoffenders"], orient="row")
    out = suppress(rows, RULE, by=["cohort", "sex"], margins=["sex", "cohort"])
    assert out["suppressed"].fill_null("").to_list() == [
        "min_cohort", "", "secondary",
        "", "secondary", "secondary",
        "secondary", "secondary", "",
    ]  # fmt: skip


def test_rows_with_null_counts_are_left_alone():
    rows = pl.DataFrame(
        {"group": ["A", "B", "C"], "cohort_size": [None, 40, 5], "reoffenders": [None, 10, 2]},
        schema={"group": pl.String, "cohort_size": pl.Int64, "reoffenders": pl.Int64},
    )
    out = suppress(rows, RULE, by=["group"])
    # nothing measured for A: no reason to suppress (and nothing to null); C (5 released) is suppressed
    assert out["suppressed"].to_list() == [None, None, "min_cohort"]
    assert out["reoffenders"].to_list() == [None, 10, None]


def test_margins_must_be_grouping_columns():
    with pytest.raises(ValueError, match="not grouping columns"):
        suppress(groups(("A", 5, 2)), RULE, by=["group"], margins=["sex"])


def test_suppress_nulls_the_further_columns_named_and_replaces_an_old_reason():
    rows = groups(("A", 5, 2), ("B", 40, 10)).with_columns(
        pl.Series("note", ["a", "b"]), pl.Series("suppressed", ["stale", "stale"])
    )
    out = suppress(rows, RULE, by=["group"], columns=["note", "not_there"])
    assert out["note"].to_list() == [None, "b"]
    assert out["suppressed"].to_list() == ["min_cohort", None]
    assert out.columns == rows.columns  # replaced in place, nothing added for a column the frame lacks


def test_withhold_keeps_an_earlier_reason_and_adds_the_column_when_absent():
    from reoffend.disclosure import suppressed_mask, withhold

    rows = pl.DataFrame({"group": ["A", "B", "C"], "change": [1.0, 2.0, 3.0], "suppressed": ["min_cohort", None, None]})
    out = withhold(rows, [True, True, False], ["change", "absent"], "derived")
    # A keeps its first reason (min_cohort), B takes the new one, C is untouched
    assert out["suppressed"].to_list() == ["min_cohort", "derived", None]
    assert out["change"].to_list() == [None, None, 3.0]
    assert suppressed_mask(out) == [True, True, False]
    bare = pl.DataFrame({"group": ["A", "B"], "change": [1.0, 2.0]})
    assert suppressed_mask(bare) == [False, False]
    out = withhold(bare, [False, True], ["change"], "derived")
    assert out["suppressed"].to_list() == [None, "derived"] and out["suppressed"].dtype == pl.String
    assert out["change"].to_list() == [1.0, None]
    # one flag per row: a list of another length is an error, not a silently shortened mask
    with pytest.raises(ValueError):
        withhold(bare, [False, True, True], [], "derived")


def test_the_rule_is_checked_and_described():
    for bad in (True, 1.5, "3", -1):
        with pytest.raises(UsageError, match="whole number"):
            DisclosureRule(min_cohort=bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="protection"):
        DisclosureRule(protection=-1)
    assert DisclosureRule(protection=0).protection_width == 0
    assert DisclosureRule(min_count=3).protection_width == 3  # defaults to min_count
    assert DisclosureRule(min_count=0).protection_width == 1  # at least 1: no count worked out exactly
    assert DisclosureRule(protection=5).protection_width == 5
    assert [DisclosureRule(a, b).active for a, b in ((0, 0), (0, 3), (10, 0), (1, 0))] == [False, True, True, True]
    # min_cohort 1 suppresses exactly the groups of nobody released (fewer than 1)
    rows = pl.DataFrame({"group": ["none", "one"], "cohort_size": [0, 1], "reoffenders": [0, 0]})
    out = suppress(rows, DisclosureRule(1, 0), by=["group"])
    assert out["suppressed"].to_list() == ["min_cohort", None]
    assert DisclosureRule(0, 0).describe().startswith("No disclosure control was applied")
    both = DisclosureRule(10, 3).describe()
    assert "a group of fewer than 10 people released and of a group in which fewer than 3 people reoffended" in both
    assert "a range of less than 3." in both
    only_size = DisclosureRule(10, 0).describe()
    assert "fewer than 10 people released are suppressed" in only_size and "reoffended, or" not in only_size
    only_count = DisclosureRule(0, 3).describe()
    assert "people released are" not in only_count and "fewer than 3 people reoffended" in only_count
    assert DisclosureRule(10, 3).as_dict() == {
        "min_cohort": 10,
        "min_count": 3,
        "protection": 3,
        "shorthand": "[c]",
        "secondary_suppression": True,
    }


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
