"""Quick paths that must answer exactly as the slow ones they stand in front of (issue 16).

Each test makes the quick path miss (or hit) on purpose and checks the answer is the full check's.
"""

from __future__ import annotations

import polars as pl
import pytest

from reoffend import validate
from reoffend.validate import CONVICTIONS, RELEASES, Table, input_warnings, validate_inputs

WARNING = "no offender_id in"


def inputs_of(releases: dict, convictions: dict, *, dedupe: bool = False):
    r = pl.DataFrame(releases, schema_overrides={"offender_id": pl.String, "release_date": pl.String})
    c = pl.DataFrame(convictions, schema_overrides={k: pl.String for k in convictions})
    return validate_inputs(
        Table("releases.csv", RELEASES, r.lazy()), Table("convictions.csv", CONVICTIONS, c.lazy()), dedupe=dedupe
    )


CONVICTED = {
    "offender_id": ["X", "Y", "Z", "B"],
    "offence_date": ["2022-02-01"] * 4,
    "conviction_date": ["2022-03-01"] * 4,
}


@pytest.mark.parametrize("sample", [1, 2, 3, 10_000])
def test_a_match_after_the_sampled_conviction_rows_is_found(monkeypatch, sample):
    # only the 4th conviction row (B) is a released person: a sample of 1 to 3 rows misses it
    monkeypatch.setattr(validate, "ID_SAMPLE", sample)
    inputs = inputs_of({"offender_id": ["A", "B"], "release_date": ["2022-01-10", "2022-01-11"]}, CONVICTED)
    assert not any(WARNING in w for w in input_warnings(inputs))


@pytest.mark.parametrize("sample", [1, 10_000])
def test_no_match_anywhere_is_warned_about(monkeypatch, sample):
    monkeypatch.setattr(validate, "ID_SAMPLE", sample)
    inputs = inputs_of({"offender_id": ["A", "C"], "release_date": ["2022-01-10", "2022-01-11"]}, CONVICTED)
    assert [w for w in input_warnings(inputs) if WARNING in w]


def test_unused_exclusion_codes_are_named_and_used_ones_are_not():
    convictions = {**CONVICTED, "offence_code": ["TH", None, "BREACH", "TH"]}
    inputs = inputs_of({"offender_id": ["B"], "release_date": ["2022-01-10"]}, convictions)
    warnings = input_warnings(inputs, frozenset({"BREACH", "BREECH", "XX"}))
    assert any("no conviction has the offence code(s) BREECH, XX;" in w for w in warnings)
    assert not any("offence code" in w for w in input_warnings(inputs, frozenset({"BREACH", "TH"})))
