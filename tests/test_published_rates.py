"""Checking a published result from its published rates (issue 29): ``18%/805`` as counts, and what the rounding of
a published rate allows."""

from __future__ import annotations

import json

import pytest

from reoffend.compare.baseline import BaselineParams, Counts, parse_counts, rounding_check
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


@pytest.mark.parametrize("text", ["101%/10", "50%/0"])
def test_impossible_rates_are_usage_errors(text):
    with pytest.raises(UsageError):
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
