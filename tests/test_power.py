"""Power: hand-worked closed forms, statsmodels agreement, a simulation of the count approximation, CLI."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from reoffend.compare.power import (
    Baseline,
    PowerParams,
    achieved_power,
    dispersion_of,
    minimum_detectable,
    needed_size,
    power_curve,
    standardised_effect,
)
from reoffend.compare.rows import PowerRow
from reoffend.errors import UsageError
from reoffend.inputs import InputSpec, load_inputs
from reoffend.measure import MeasureParams, measure
from reoffend.report.views import power_headlines
from tests.conftest import write_csv
from tests.helpers import EVERYONE, HEADER_ONLY, RELEASES

Z95_ONE = 1.6448536269514722  # z_{0.95}
Z975 = 1.959963984540054  # z_{0.975}
Z80 = 0.8416212335729143  # z_{0.80}


def row_of(result, i: int = 0) -> dict:
    return result.rows.row(i, named=True)


# ------------------------------------------------------------------------------------------ closed forms
def test_standardised_effect():
    # one-sided: d = z_{1-alpha} + z_power = 1.64485 + 0.84162 = 2.48647
    assert standardised_effect(PowerParams()) == pytest.approx(Z95_ONE + Z80, rel=1e-12)
    # two-sided: the root of Φ(d - 1.95996) + Φ(-d - 1.95996) = 0.8, a hair below 1.95996 + 0.84162 = 2.80158
    d = standardised_effect(PowerParams(sided="two"))
    phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    assert phi(d - Z975) + phi(-d - Z975) == pytest.approx(0.8, abs=1e-13)
    assert Z975 + Z80 - 1e-5 < d < Z975 + Z80


def test_minimum_detectable_reduction_by_hand():
    result = minimum_detectable(Baseline("binary", 0.53), [1000], [1000], PowerParams())
    row = row_of(result)
    # s = sqrt(1/1000 + 1/1000) = 0.0447214; h = 2.48647 * 0.0447214 = 0.111199
    h = (Z95_ONE + Z80) * math.sqrt(0.002)
    assert h == pytest.approx(0.111199, abs=1e-6) and row["effect_size"] == pytest.approx(h, rel=1e-12)
    # p1 = sin²(asin(√0.53) - h/2): asin(√0.53) = 0.815399; minus 0.0555995 = 0.759800; sin² = 0.474430
    p1 = math.sin(math.asin(math.sqrt(0.53)) - h / 2) ** 2
    assert p1 == pytest.approx(0.474430, abs=1e-6)
    assert row["current_per_100"] == pytest.approx(100 * p1, rel=1e-12)
    assert row["reduction_per_100"] == pytest.approx(100 * (0.53 - p1), rel=1e-12)  # 5.557 points
    assert row["reduction_relative_pct"] == pytest.approx(100 * (0.53 - p1) / 0.53, rel=1e-12)
    assert (row["solved_for"], row["current_size"], row["baseline_size"]) == ("reduction", 1000, 1000)


def test_needed_size_by_hand():
    # h = 2 asin(√0.53) - 2 asin(√0.48) = 0.100047 (Cohen's h)
    h = 2 * math.asin(math.sqrt(0.53)) - 2 * math.asin(math.sqrt(0.48))
    assert h == pytest.approx(proportion_effectsize(0.53, 0.48), rel=1e-12)
    d = Z95_ONE + Z80
    # equal cohorts: 2/n = (h/d)² -> n = 2 (d/h)² = 2 * 617.68 = 1235.36 -> 1236
    equal = row_of(needed_size(Baseline("binary", 0.53), [5], None, PowerParams()))
    assert 2 * (d / h) ** 2 == pytest.approx(1235.357, abs=1e-3)
    assert (equal["current_size"], equal["baseline_size"], equal["solved_for"]) == (1236, 1236, "cohort_size")
    # a baseline of 1000 already observed: 1/n1 = (h/d)² - 1/1000 = 0.0016190 - 0.001 -> n1 = 1615.6 -> 1616
    fixed = row_of(needed_size(Baseline("binary", 0.53), [5], 1000, PowerParams()))
    assert 1 / ((h / d) ** 2 - 0.001) == pytest.approx(1615.6, abs=0.1)
    assert (fixed["current_size"], fixed["baseline_size"], fixed["solved_for"]) == (1616, 1000, "current_size")
    # a baseline of 300: 1/300 = 0.00333 > 0.00162: no current cohort is large enough
    impossible = needed_size(Baseline("binary", 0.53), [5], 300, PowerParams())
    assert row_of(impossible)["current_size"] is None and impossible.warnings
    assert "no current cohort is large enough" in power_headlines(impossible)


def test_events_per_100_by_hand():
    # 150 events per 100 = 1.5 per person, dispersion 3: φ = 2√(μ/D); h = 0.111199 for 1000 against 1000
    h = (Z95_ONE + Z80) * math.sqrt(0.002)
    row = row_of(minimum_detectable(Baseline("frequency", 150, 3.0), [1000], [1000], PowerParams()))
    # √(μ1/3) = √0.5 - h/2 = 0.707107 - 0.055600 = 0.651507; μ1 = 3 * 0.424462 = 1.273386
    mu1 = 3 * (math.sqrt(0.5) - h / 2) ** 2
    assert mu1 == pytest.approx(1.273386, abs=1e-6)
    assert row["current_per_100"] == pytest.approx(100 * mu1, rel=1e-12)
    assert row["reduction_per_100"] == pytest.approx(150 - 100 * mu1, rel=1e-12)  # 22.66 events per 100
    assert row["measure"] == "events_per_100" and row["dispersion"] == 3.0
    # Poisson (D = 1) detects less: √μ1 = √1.5 - h/2 -> 136.69 per 100
    poisson = row_of(minimum_detectable(Baseline("frequency", 150), [1000], [1000], PowerParams()))
    assert poisson["current_per_100"] == pytest.approx(100 * (math.sqrt(1.5) - h / 2) ** 2, rel=1e-12)
    # needed size for 15 per 100 with D = 3: h = 2(√0.5 - √0.45); n = 2 (d/h)² = 2347.3 -> 2348
    h15 = 2 * (math.sqrt(0.5) - math.sqrt(0.45))
    size = row_of(needed_size(Baseline("frequency", 150, 3.0), [15], None, PowerParams()))
    assert size["current_size"] == math.ceil(2 * ((Z95_ONE + Z80) / h15) ** 2) == 2348


def test_cohorts_too_small_to_detect_anything():
    result = minimum_detectable(Baseline("binary", 0.53), [3, 1000], [2, 1000], PowerParams())
    assert result.rows["reduction_per_100"].to_list()[0] is None
    assert result.rows["reduction_per_100"].to_list()[1] is not None
    assert result.warnings and "no reduction can be detected" in power_headlines(result).splitlines()[0]


# ------------------------------------------------------------------------------------------- statsmodels
@settings(max_examples=40, deadline=None)
@given(
    p0=st.floats(0.05, 0.95),
    n1=st.integers(20, 5000),
    n0=st.integers(20, 5000),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
    power=st.sampled_from([0.7, 0.8, 0.9]),
    sided=st.sampled_from(["one", "two"]),
)
def test_agrees_with_statsmodels_normal_ind_power(p0, n1, n0, alpha, power, sided):
    params = PowerParams(alpha=alpha, power=power, sided=sided)
    alternative = "larger" if sided == "one" else "two-sided"
    row = row_of(minimum_detectable(Baseline("binary", p0), [n1], [n0], params))
    engine = NormalIndPower()
    # statsmodels' power at our effect size is exactly the power asked for
    assert engine.power(row["effect_size"], n1, alpha, ratio=n0 / n1, alternative=alternative) == pytest.approx(
        power, abs=1e-9
    )
    solved = engine.solve_power(None, nobs1=n1, alpha=alpha, power=power, ratio=n0 / n1, alternative=alternative)
    assert row["effect_size"] == pytest.approx(solved, rel=1e-4)
    if row["current_per_100"] is not None:
        # and the effect size is Cohen's h between the baseline and the detectable rate
        h = proportion_effectsize(p0, row["current_per_100"] / 100)
        assert h == pytest.approx(row["effect_size"], rel=1e-9)
        # needed size for that very reduction with this baseline is n1 again (up to the rounding up)
        back = row_of(needed_size(Baseline("binary", p0), [row["reduction_per_100"]], n0, params))
        assert back["current_size"] in (n1, n1 + 1)


def test_needed_size_agrees_with_statsmodels_and_is_the_smallest():
    engine = NormalIndPower()
    for sided, alternative in (("one", "larger"), ("two", "two-sided")):
        params = PowerParams(sided=sided)
        h = proportion_effectsize(0.45, 0.40)
        n = engine.solve_power(h, nobs1=None, alpha=0.05, power=0.8, ratio=1, alternative=alternative)
        row = row_of(needed_size(Baseline("binary", 0.45), [5], None, params))
        assert row["current_size"] == math.ceil(n)
        # with a baseline of 2000 fixed: the solved size reaches the power and one fewer does not
        fixed = row_of(needed_size(Baseline("binary", 0.45), [5], 2000, params))["current_size"]
        assert engine.power(h, fixed, 0.05, ratio=2000 / fixed, alternative=alternative) >= 0.8
        assert engine.power(h, fixed - 1, 0.05, ratio=2000 / (fixed - 1), alternative=alternative) < 0.8


def test_the_count_approximation_holds_in_simulation():
    """Over-dispersed counts (negative binomial, variance = 2.5 x mean in both arms) at the detectable
    reduction: a one-sided Wald test on the means rejects in about 80% of 3,000 simulated trials."""
    rng = np.random.default_rng(20240401)
    dispersion, n = 2.5, 400
    row = row_of(minimum_detectable(Baseline("frequency", 120, dispersion), [n], [n], PowerParams()))
    mu0, mu1 = 1.2, row["current_per_100"] / 100
    trials = 3000

    def draws(mu):
        # NB with mean mu and variance D*mu: size r = mu/(D - 1), success probability 1/D
        return rng.negative_binomial(mu / (dispersion - 1), 1 / dispersion, size=(trials, n))

    base, current = draws(mu0), draws(mu1)
    se = np.sqrt(base.var(axis=1, ddof=1) / n + current.var(axis=1, ddof=1) / n)
    z = (current.mean(axis=1) - base.mean(axis=1)) / se
    rejected = (z < -Z95_ONE).mean()
    assert rejected == pytest.approx(0.8, abs=0.03)  # binomial s.e. of the estimate 0.007


def test_dispersion_of():
    # events 0, 0, 1, 3: mean 1, sample variance ((1 + 1 + 0 + 4) / 3) = 2 -> D = 2
    assert dispersion_of(pl.Series([0, 0, 1, 3])) == pytest.approx(2.0)
    assert dispersion_of(pl.Series([0, 0, 0])) is None  # mean 0
    assert dispersion_of(pl.Series([2])) is None  # one person: no variance


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Baseline("binary", 0.0), "strictly between 0 and 1"),
        (lambda: Baseline("binary", 1.2), "strictly between 0 and 1"),
        (lambda: Baseline("frequency", -3), "positive"),
        (lambda: Baseline("frequency", 100, 0), "dispersion"),
        (lambda: PowerParams(power=0.01), "must exceed"),
        (lambda: needed_size(Baseline("binary", 0.3), [40], None, PowerParams()), "not below the baseline"),
        (lambda: needed_size(Baseline("binary", 0.3), [-1], None, PowerParams()), "positive"),
        (lambda: minimum_detectable(Baseline("binary", 0.3), [0], [10], PowerParams()), "at least 1"),
    ],
)
def test_bad_values_are_usage_errors(call, message):
    with pytest.raises(UsageError, match=message):
        call()


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_formats(cli, tmp_path):
    base = ("power", "--baseline-rate", "53%", "--current-size", "1000,100", "--baseline-size", "1000")
    status, out, err = cli(*base, "--csv")
    assert status == 0, err
    rows = pl.read_csv(out.encode())
    assert rows["current_size"].to_list() == [1000, 100]
    assert rows["reduction_per_100"][0] == pytest.approx(5.557, abs=1e-3)
    assert "the smallest reduction that can be detected is 5.6 percentage points" in " ".join(err.split())
    document = json.loads(cli(*base, "--json", "-q")[1])
    assert document["parameters"]["power"] == 0.8 and len(document["rows"]) == 2
    assert document["headline"][1].startswith("With 100 current and 1,000 baseline releases")
    lines = cli(*base, "--nl")[1].splitlines()
    assert [json.loads(line)["current_size"] for line in lines] == [1000, 100]
    target = tmp_path / "power.parquet"
    assert cli(*base, "-o", target)[0] == 0
    assert pl.read_parquet(target).height == 2
    status, out, _ = cli(*base, "--format", "table")
    assert status == 0 and "5.6 pp (detectable)" in out


def test_cli_needed_size_and_frequency(cli):
    status, out, err = cli("power", "--baseline-rate", "0.53", "--reduction", "5", "--sided", "two", "--csv")
    assert status == 0, err
    assert pl.read_csv(out.encode())["current_size"].to_list() == [1569]  # statsmodels: 1568.3
    status, out, _ = cli(
        "power", "--measure", "frequency", "--baseline-events", "150", "--dispersion", "3", "--reduction", "15", "--csv"
    )
    assert pl.read_csv(out.encode())["current_size"].to_list() == [2348]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--baseline-rate is required"),
        (("--baseline-rate", "lots", "--current-size", "10"), "proportion (0.53) or a percentage"),
        (("--baseline-rate", "150%", "--current-size", "10"), "strictly between 0 and 1"),
        (("--baseline-rate", "0.5", "--current-size", "10", "--reduction", "5", "--power", "0.9"), "--power is what"),
        (("--baseline-rate", "0.5", "--baseline-size", "10", "--reduction", "5", "--ratio", "2"), "--ratio sets"),
        (("--baseline-rate", "0.5", "--current-size", "10", "--ratio", "2"), "--ratio sets"),
        (("--baseline-rate", "0.5", "--current-size", "10", "--plot", "p.pdf"), "PNG or SVG"),
        (("--baseline-rate", "0.5"), "--current-size"),
        (("--baseline-rate", "0.5", "--current-size", "ten"), "numbers"),
        (("--measure", "frequency", "--current-size", "10"), "--baseline-events is required"),
        (("releases.csv",), "give both files: RELEASES and CONVICTIONS"),
    ],
)
def test_cli_usage_errors(cli, args, message):
    status, _, err = cli("power", *args)
    assert status == 2, err
    assert message in err and "Traceback" not in err


def test_cli_from_records_measures_the_baseline(cli, sample_dir):
    files = [sample_dir / "releases.csv", sample_dir / "convictions.csv"]
    status, out, err = cli(
        "power", *files, "--site", "EST042", "--baseline", "2022", "--period", "year", "--measure", "both", "--json"
    )
    assert status == 0, err
    document = json.loads(out)
    inputs = load_inputs(InputSpec(str(files[0]), str(files[1])))
    measured = measure(
        inputs,
        MeasureParams(period="year", where={"establishment": ("EST042",), "cohort": ("2022",)}),
        audit_table=True,
    )
    events = measured.per_release["reconviction_events"].to_numpy()
    expected_dispersion = events.var(ddof=1) / events.mean()
    facts = document["metadata"]["baseline_cohort"]
    assert facts["cohort_size"] == len(events) == measured.rows["cohort_size"][0]
    assert facts["dispersion"] == pytest.approx(expected_dispersion, rel=1e-12)
    binary, frequency = document["rows"]
    assert binary["baseline_per_100"] == pytest.approx(100 * measured.rows["binary_rate"][0])
    assert frequency["baseline_per_100"] == pytest.approx(measured.rows["events_per_100"][0])
    assert frequency["dispersion"] == pytest.approx(expected_dispersion)
    assert binary["current_size"] == binary["baseline_size"] == len(events)


# ------------------------------------------------------------------------------------------ power both ways
def test_achieved_power_by_hand():
    # 53% -> 48% with 1000 against 1000, one-sided 5%: h = 2 asin sqrt(.53) - 2 asin sqrt(.48) = 0.100047,
    # s = sqrt(2/1000) = 0.0447214, h/s = 2.23712; power = Phi(2.23712 - 1.64485) = Phi(0.59227) = 0.72316
    result = achieved_power(Baseline("binary", 0.53), [1000], [1000], [5.0], PowerParams())
    row = row_of(result)
    assert row["solved_for"] == "power" and row["reduction_per_100"] == pytest.approx(5.0)
    assert row["effect_size"] == pytest.approx(0.100047, abs=1e-6)
    assert row["power"] == pytest.approx(0.72316, abs=1e-5)
    # two-sided: Phi(2.23711 - 1.95996) + Phi(-2.23711 - 1.95996) = Phi(0.27715) + Phi(-4.19707)
    #          = 0.609167 + 0.0000135 = 0.609181
    two = row_of(achieved_power(Baseline("binary", 0.53), [1000], [1000], [5.0], PowerParams(sided="two")))
    assert two["power"] == pytest.approx(0.609181, abs=1e-6)
    assert "detected with probability 72.3%" in power_headlines(result)


def test_at_the_minimum_detectable_reduction_the_power_is_the_one_asked_for():
    params = PowerParams(power=0.9, sided="two")
    for base in (Baseline("binary", 0.3), Baseline("frequency", 150.0, 2.5)):
        detectable = row_of(minimum_detectable(base, [400], [900], params))["reduction_per_100"]
        row = row_of(achieved_power(base, [400], [900], [detectable], params))
        assert row["power"] == pytest.approx(0.9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    p0=st.floats(0.1, 0.9),
    share=st.floats(0.02, 0.5),
    n1=st.integers(20, 5000),
    n0=st.integers(20, 5000),
    sided=st.sampled_from(["one", "two"]),
)
def test_achieved_power_agrees_with_statsmodels(p0, share, n1, n0, sided):
    reduction = 100 * p0 * share
    row = row_of(achieved_power(Baseline("binary", p0), [n1], [n0], [reduction], PowerParams(sided=sided)))
    effect = proportion_effectsize(p0, p0 - reduction / 100)
    expected = NormalIndPower().power(
        effect_size=effect, nobs1=n1, alpha=0.05, ratio=n0 / n1, alternative="larger" if sided == "one" else "two-sided"
    )
    assert row["power"] == pytest.approx(expected, abs=1e-10)
    assert 0 <= row["power"] <= 1


@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0, 3.0])
def test_the_allocation_ratio_agrees_with_statsmodels_solve_power(ratio):
    # statsmodels: nobs2 = ratio x nobs1, Var = 1/nobs1 + 1/nobs2; with nobs1 the baseline, nobs2 = the current
    base = Baseline("binary", 0.53)
    row = row_of(needed_size(base, [5.0], None, PowerParams(), ratio=ratio))
    baseline_needed = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(0.53, 0.48), alpha=0.05, power=0.8, ratio=ratio, alternative="larger"
    )
    assert row["baseline_size"] == math.ceil(baseline_needed - 1e-9)
    assert row["current_size"] == math.ceil(ratio * baseline_needed - 1e-9)
    # rounded up, so the power at the sizes found is at least 80%
    achieved = row_of(achieved_power(base, [row["current_size"]], [row["baseline_size"]], [5.0], PowerParams()))
    assert achieved["power"] >= 0.8


def test_power_curve_rises_from_alpha_and_passes_the_asked_power_at_the_detectable_reduction():
    base, params = Baseline("binary", 0.53), PowerParams()
    curve = power_curve(base, 1000, 1000, params, points=201)
    assert curve["power"][0] == pytest.approx(0.05)  # no reduction: the test's level
    assert (curve["power"].diff().drop_nulls() >= -1e-12).all()
    detectable = row_of(minimum_detectable(base, [1000], [1000], params))["reduction_per_100"]
    below = curve.filter(pl.col("reduction_per_100") < detectable)["power"].max()
    above = curve.filter(pl.col("reduction_per_100") > detectable)["power"].min()
    assert below < 0.8 < above


def test_cli_power_of_given_sizes_and_a_plot(cli, tmp_path):
    args = ["power", "--baseline-rate", "53%", "--current-size", "1000,2000", "--baseline-size", "1000"]
    status, out, _ = cli(*args, "--reduction", "5", "--csv")
    assert status == 0
    rows = pl.read_csv(out.encode())
    assert rows["solved_for"].to_list() == ["power", "power"]
    assert rows["power"][0] == pytest.approx(0.72316, abs=1e-5) and rows["power"][1] > rows["power"][0]
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    for target in (first, second):
        assert cli(*args, "--reduction", "5", "--plot", target, "-q", "--csv")[0] == 0
    assert first.read_bytes() == second.read_bytes() and b"<svg" in first.read_bytes()
    assert b"1,000 against 1,000" in first.read_bytes() and b"2,000 against 1,000" in first.read_bytes()
    png = tmp_path / "p.png"
    assert cli(*args, "--plot", png, "-q", "--csv")[0] == 0 and png.read_bytes().startswith(b"\x89PNG")


# ------------------------------------------------------------------- the arithmetic without numpy or scipy (issue 30)
def test_normal_cdf_by_hand():
    from reoffend.compare.power import normal_cdf

    # Φ(0) = 0.5 exactly; Φ(1.959963984540054) = 0.975 and Φ(-1.6448536269514722) = 0.05 (the z values above)
    assert normal_cdf(0.0) == 0.5
    assert normal_cdf(Z975) == pytest.approx(0.975, rel=1e-15)
    assert normal_cdf(-Z95_ONE) == pytest.approx(0.05, rel=1e-14)
    # the far lower tail keeps its relative accuracy (erfc, not 1 - erf): Φ(-30) = 4.906713927148187e-198
    assert normal_cdf(-30.0) == pytest.approx(4.906713927148187e-198, rel=1e-13)


@given(st.floats(-37.5, 8.5))
def test_normal_cdf_is_scipys_ndtr_to_the_last_digits(x):
    """Φ as scipy.special.ndtr computed it before (same erf/erfc scheme, the C library's erf and erfc): equal
    to 1e-13 relative over the whole range where Φ is neither 0 nor 1 in doubles."""
    from scipy.special import ndtr

    from reoffend.compare.power import normal_cdf

    assert normal_cdf(x) == pytest.approx(float(ndtr(x)), rel=1e-13, abs=0)


@given(st.floats(1e-6, 1e4), st.integers(1, 400))
def test_linspace_is_numpys(top, points):
    from reoffend.compare.power import _linspace

    assert _linspace(top, points) == np.linspace(0.0, top, points).tolist()


POWER_RUNS = [
    ("--baseline-rate", "0.45", "--current-size", "500", "--baseline-size", "500"),
    ("--baseline-rate", "53%", "--reduction", "5,10"),
    ("--baseline-rate", "0.02", "--current-size", "5,1e6", "--baseline-size", "5", "--sided", "two"),
    ("--measure", "both", "--baseline-rate", "0.4", "--baseline-events", "140", "--dispersion", "2.5",
     "--reduction", "1,3", "--baseline-size", "800"),
    ("--baseline-rate", "0.45", "--reduction", "5", "--baseline-size", "20"),
    ("--measure", "frequency", "--baseline-events", "0.05", "--current-size", "10", "--baseline-size", "10"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
@pytest.mark.parametrize("args", POWER_RUNS)
def test_power_written_without_polars_is_byte_for_byte_the_frame_written(cli, tmp_path, args, fmt):
    """CSV, TSV and JSON of `power` are written from plain rows (reoffend.runs.records.Records, issue 30);
    ``--columns`` with every column in order takes the polars frame's path: the bytes are the same, on standard
    output and in a gzip-compressed file. Rows with nulls (no detectable reduction, no cohort large enough)
    included."""
    every = ",".join(PowerRow.columns())
    status, light, _ = cli("power", *args, "--format", fmt, "-q")
    assert status == 0
    assert cli("power", *args, "--format", fmt, "-q", "--columns", every)[1] == light
    gz_light, gz_frame = tmp_path / f"a.{fmt}.gz", tmp_path / f"b.{fmt}.gz"
    assert cli("power", *args, "-q", "-o", gz_light)[0] == 0
    assert cli("power", *args, "-q", "-o", gz_frame, "--columns", every)[0] == 0
    assert gzip.decompress(gz_light.read_bytes()) == gzip.decompress(gz_frame.read_bytes()) == light.encode()


CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.sampled_from('ab ,;\t"\n\r#é'), max_size=6),
)


@settings(max_examples=300)
@given(st.lists(st.tuples(CELLS, CELLS, CELLS), max_size=4), st.sampled_from([",", "\t"]))
def test_records_csv_is_polars_write_csv(cells, separator):
    """Every cell kind polars writes (null, boolean, integer, float of any size or NaN/inf, text with quotes,
    separators and line breaks) comes out of records_csv as polars' write_csv writes it: one column a kind."""
    from reoffend.runs.records import Records, records_csv

    kinds = {"text": str, "number": float, "count": int, "flag": bool}
    values = {
        "text": [c for row in cells for c in row if isinstance(c, str)],
        "number": [c for row in cells for c in row if isinstance(c, float)],
        "count": [c for row in cells for c in row if isinstance(c, int) and not isinstance(c, bool)],
        "flag": [c for row in cells for c in row if isinstance(c, bool)],
    }
    height = max(len(column) for column in values.values())
    columns = {name: column + [None] * (height - len(column)) for name, column in values.items()}
    dtypes = {"text": pl.String, "number": pl.Float64, "count": pl.Int64, "flag": pl.Boolean}
    frame = pl.DataFrame(columns, schema=dtypes)
    rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    records = Records(rows, kinds, lambda: frame)
    assert records_csv(records, separator) == frame.write_csv(separator=separator).encode()


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0001, "0.0001"),  # Python and polars both in fixed point from 1e-4 up
        (1e-05, "0.00001"),  # Python: 1e-05; polars stays in fixed point down to 1e-5
        (5.649407226767994e-05, "0.00005649407226767994"),
        (-2.5e-05, "-0.000025"),
        (1.5e-07, "1.5e-7"),  # Python: 1.5e-07; polars does not pad the exponent
        (1e16, "1e+16"),  # from 1e16 up both write an exponent, with its sign
        (123.0, "123.0"),
        (float("nan"), "NaN"),
        (float("-inf"), "-inf"),
    ],
)
def test_csv_float_by_hand(value, text):
    from reoffend.runs.records import csv_float

    assert csv_float(value) == text == pl.DataFrame({"x": [value]}).write_csv().splitlines()[1]


@pytest.mark.parametrize(
    ("convictions", "measure", "says"),
    [
        (
            HEADER_ONLY,
            "binary",
            "0 of its 3 index releases reoffended (the convictions file has no rows), a rate of 0%",
        ),
        (HEADER_ONLY, "frequency", "its 3 index releases have no reconviction events (the convictions file has no"),
        (HEADER_ONLY, "both", "a rate of 0%"),
        (EVERYONE, "binary", "3 of its 3 index releases reoffended, a rate of 100%"),
    ],
)
def test_power_from_records_with_no_reoffender_or_all_is_invalid_data(cli, tmp_path, convictions, measure, says):
    """Before: exit 2, "the baseline rate must be strictly between 0 and 1 (0% and 100%), not 0.0" (or "give
    --dispersion") of a file with a header and no rows: a fault of the data, not of the command line."""
    status, out, err = cli(
        "power", write_csv(tmp_path / "r.csv", RELEASES), write_csv(tmp_path / "c.csv", convictions),
        "--baseline", "2022Q1", "--measure", measure, "--extract-date", "2030-01-01",
    )  # fmt: skip
    assert status == 65, err
    assert "c.csv: the baseline cohort 2022Q1: " in err and says in err and "degenerate-baseline" in err
    assert out == ""


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--baseline-events", "1e308", "0.01<=x<=10000"),  # was exit 0 and a headline of a 309-digit number
        ("--baseline-events", "nan", "0.01<=x<=10000"),
        ("--baseline-events", "1e-300", "0.01<=x<=10000"),  # was "a baseline of 0.0 events per 100"
        ("--dispersion", "1e308", "0.01<=x<=1000"),  # was exit 0 and a 309-digit dispersion in the headline
        ("--dispersion", "1e-308", "0.01<=x<=1000"),  # was "the smallest reduction ... is 0.0"
    ],
)
def test_power_frequency_numbers_out_of_range_are_usage_errors(cli, option, value, allowed):
    args = ["power", "--measure", "frequency", "--current-size", "100", "--baseline-events", "50", option, value]
    status, out, err = cli(*args)
    assert status == 2, err
    assert option in err and allowed in err and out == ""


def test_power_from_records_whose_events_do_not_vary_is_invalid_data_unless_dispersion_is_given(cli, tmp_path):
    """A, B and C each have one reconviction event: mean 1, variance 0, so the dispersion is 0. Before: exit 2,
    "the dispersion (variance/mean) must be a positive number, not 0.0"."""
    files = (write_csv(tmp_path / "r.csv", RELEASES), write_csv(tmp_path / "c.csv", EVERYONE))
    options = ("--baseline", "2022Q1", "--measure", "frequency", "--extract-date", "2030-01-01")
    status, _out, err = cli("power", *files, *options)
    assert status == 65, err
    assert "each of its 3 index releases has the same number of reconviction events" in err and "--dispersion" in err
    status, out, err = cli("power", *files, *options, "--dispersion", "1", "--csv", "-q")
    assert status == 0, err
    assert "events_per_100,reduction,100.0,1.0," in out  # 3 events / 3 releases = 100 per 100
