"""Checking a published result from its published rates (issue 29): ``18%/805`` as counts, and what the rounding of
a published rate allows."""

from __future__ import annotations

import json

import pytest

from reoffend.compare.baseline import MAX_COUNT, BaselineParams, Counts, parse_counts, rounding_check
from reoffend.errors import UsageError


def test_a_rate_with_its_size_is_the_nearest_count_and_every_count_that_rounds_to_it():
    # 18% of 805 = 144.9 -> 145 reoffenders; 18% is 17.5% to 18.5% (excluded): 17.5 x 8.05 = 140.875 -> 141 is the
    # least, 18.5 x 8.05 = 148.925 -> 148 the most (149 / 805 = 18.51%, which rounds to 19%)
    counts = parse_counts("18%/805", "current")
    assert (counts.reoffenders, counts.cohort_size, counts.possible, counts.published) == (145, 805, (141, 148), "18%")
    # one decimal place: 17.9% is 17.85% to 17.95%; 17.85 x 8.05 = 143.69 -> 144, 17.95 x 8.05 = 144.50 -> 144
    assert parse_counts("2023Q4=17.9%/805", "x") == Counts("2023Q4", 144, 805, (144, 144), "17.9%")
    assert parse_counts("480/1000", "x").possible is None  # whole counts: nothing to round
    for rounded in (141, 148):
        assert round(100 * rounded / 805) == 18
    assert round(100 * 140 / 805, 1) < 17.5 and round(100 * 149 / 805, 2) >= 18.5


def test_a_rate_of_0_or_100_per_cent_reaches_the_ends_of_the_cohort():
    # 0% of 805: 0 reoffenders; 0% is 0% to 0.5% (excluded): 0.5 x 8.05 = 4.025 -> 4 the most, and no fewer than 0
    assert parse_counts("0%/805", "x") == Counts("x", 0, 805, (0, 4), "0%")
    # 100% of 805: 805; 99.5% x 8.05 = 800.975 -> 801 the least, and no more than the 805 released
    assert parse_counts("100%/805", "x") == Counts("x", 805, 805, (801, 805), "100%")


def test_a_rate_against_counts_is_checked_too():
    # the current cohort published as a rate, the baseline as counts (or the reverse): the rounding of the one rate
    # still bounds the verdict (18% of 805: 141 to 148 against 160 of 805, exactly)
    params = BaselineParams()
    (check,) = rounding_check([parse_counts("18%/805", "now")], parse_counts("160/805", "then"), params)
    assert check["current_reoffenders_possible"] == [141, 148] and check["baseline_reoffenders_possible"] == [160, 160]
    (reverse,) = rounding_check([parse_counts("160/805", "now")], parse_counts("18%/805", "then"), params)
    assert reverse["current_reoffenders_possible"] == [160, 160] and reverse["baseline_reoffenders_possible"] == [
        141,
        148,
    ]


def test_the_ends_of_the_rounding_are_exact_at_whole_numbers_and_follow_the_places_published():
    # 10% of 1000: 10% is 9.5% to 10.5% (excluded): 9.5 x 10 = 95 exactly, so 95 (9.5% rounds up to 10%) is the
    # least; 10.5 x 10 = 105 exactly rounds to 11%, so 104 the most
    assert parse_counts("10%/1000", "x").possible == (95, 104)
    # 10.0% of 10,000 (one place): 9.95% to 10.05%: 995 to 1004 (half of the last place, 0.05, not 0.5)
    assert parse_counts("10.0%/10000", "x").possible == (995, 1004)


def test_the_largest_cohort_size_is_accepted_and_one_more_refused():
    assert parse_counts(f"50%/{MAX_COUNT}", "x").cohort_size == MAX_COUNT
    with pytest.raises(UsageError, match="a cohort size is at most"):
        parse_counts(f"50%/{MAX_COUNT + 1}", "x")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("101%/10", "a rate is at most 100%"),
        ("100.4%/1000", "a rate is at most 100%"),  # a rate over 100 is refused as such, whatever its size
        ("50%/0", "no whole number of reoffenders rounds to that rate"),
    ],
)
def test_impossible_rates_are_usage_errors(text, said):
    with pytest.raises(UsageError, match=said):
        parse_counts(text, "x")


def test_the_verdict_is_checked_at_both_ends_of_the_rounding():
    # 21% and 24% of 805: 166-173 against 190-197 reoffenders. Nearest (169 against 193, 21.0% against 24.0%): no
    # significant reduction; the largest fall the rounding allows (166 against 197, 20.6% against 24.5%) is one
    params = BaselineParams()
    (check,) = rounding_check([parse_counts("21%/805", "now")], parse_counts("24%/805", "then"), params)
    assert check["current_reoffenders_possible"] == [166, 173] and check["baseline_reoffenders_possible"] == [190, 197]
    assert check["verdict"] == "no significant change"
    assert check["verdict_at_largest_fall"] == "significant reduction"
    assert check["verdict_at_smallest_fall"] == "no significant change"
    assert not check["verdict_holds"]
    # 18% against 23%: a fall of about 5 points, significant at every count the rounding allows
    (clear,) = rounding_check([parse_counts("18%/805", "now")], parse_counts("23%/805", "then"), params)
    assert clear["verdict_holds"] and clear["verdict"] == "significant reduction"
    assert rounding_check([parse_counts("480/1000", "a")], parse_counts("530/1000", "b"), params) == []


def test_the_cli_says_when_rounding_could_change_the_verdict(cli):
    status, out, _ = cli("compare", "baseline", "--current-counts", "21%/805", "--baseline-counts", "24%/805", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["rounding"][0]["verdict_holds"] is False
    assert document["headline"][-1].startswith("Rounding: current at 21% is 166 to 173 reoffenders")
    assert "ask for the counts" in document["headline"][-1]
