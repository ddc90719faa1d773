"""A realistic synthetic population of releases and convictions, seeded (docs/synth.md).

Vectorised with numpy: no loop over people or releases. The generative model:

* about 110 establishments of unequal size whose intake differs in offender mix (prior convictions,
  sentence length), so raw rates differ between establishments even without any effect;
* people with covariates ``age``, ``sex``, ``prior_convictions``, ``index_offence``, ``sentence_months``;
  about 20% are released twice in the period; releases are simulated a year either side of the period but not
  published, so every cohort is alike (no artificial trend);
* releases spread over ``cohorts`` quarters from ``start``;
* for each release, the chance of proven reoffending within 12 months is a logistic function of the
  covariates, with one establishment given a planted change in log-odds and in offence frequency;
  reoffenders commit ``1 + Poisson(mu)`` offences, the first soon after release more often than late;
* each offence is convicted after a court lag (log-normal, median about 2.5 months, so a few exceed the
  6-month waiting period); offences often share a court appearance; ``lag_multiplier`` lengthens the lags of
  offences after releases from ``lag_change_from`` on (a changing development pattern, for the nowcast's
  backtest to detect);
* a moving level of reoffending, for the nowcast (docs/nowcast.md) to follow: ``level_trend`` points a year
  across release dates and ``level_shift`` points for releases from ``level_shift_from`` on, both as shifts in
  the log-odds calibrated to the population's mean ``p(1 - p)``; and ``truncate_repeats``, under which a second
  release after the period is not simulated at all, so the offences it would bring into the window of the
  person's earlier release are missing and the level falls over the last cohorts (an artefact of generating
  people only within a period, kept here as a test of the nowcast);
* noise rows the measure must ignore: offences before release (convicted before or after it), offences
  after the 12-month window, and breach-of-licence rows (code ``BREACH``) that ``--exclude-offences`` drops.

``meta.json`` records the parameters and the planted effect, with the expected binary rate and offences per
offender of the treated establishment's releases with and without the effect (the truth for comparisons).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .errors import UsageError
from .io import small_file_bytes

OFFENCES = ("theft", "burglary", "violence", "drugs", "public_order", "fraud", "motoring", "other")
OFFENCE_LOG_ODDS = np.array([0.55, 0.35, 0.0, 0.15, 0.2, -0.35, -0.25, -0.1])
OFFENCE_SHARE = np.array([0.28, 0.08, 0.2, 0.12, 0.1, 0.05, 0.07, 0.1])
BURN_IN_DAYS = 365
GAP_MEAN_DAYS = 150
# has_second is drawn for every person, but only some second releases fall inside the period; this scale makes
# about `repeat_share` of the people in the published data released twice
SECOND_RELEASE_SCALE = 1.55
OFFENCE_CODES = ("THEFT", "BURGLARY", "VIOLENCE", "DRUGS", "PUBLIC_ORDER", "FRAUD", "MOTORING", "OTHER")
BREACH_CODE = "BREACH"


@dataclass(frozen=True)
class SynthParams:
    releases: int = 10_000
    seed: int = 1
    establishments: int = 110
    cohorts: int = 8
    start: dt.date = dt.date(2022, 1, 1)
    repeat_share: float = 0.2
    treated_establishment: str = "EST042"
    effect_log_odds: float = -0.4
    effect_frequency: float = 0.8
    site_effect_sd: float = 0.0
    extract_date: dt.date | None = None  # default: two years after the period ends
    # a changing development pattern (docs/nowcast.md): court lags of offences after releases on or after
    # lag_change_from are multiplied by lag_multiplier (a court backlog building up)
    lag_multiplier: float = 1.0
    lag_change_from: dt.date | None = None
    # a moving level (docs/synth.md): about `level_trend` percentage points a year in the chance of reoffending
    # (0 at `start`), `level_shift` points for releases on or after `level_shift_from`; `truncate_repeats`: second
    # releases after the period are not simulated (their offences never happen). The defaults change nothing: every
    # population made without them is the same, byte for byte, as before they existed (no extra random draws).
    level_trend: float = 0.0
    level_shift: float = 0.0
    level_shift_from: dt.date | None = None
    truncate_repeats: bool = False

    def extract(self) -> dt.date:
        """The day the synthetic extract is taken: no conviction after it is in the data."""
        if self.extract_date is not None:
            return self.extract_date
        end = _quarter_end(self.start, self.cohorts)
        return end.replace(year=end.year + 2) - dt.timedelta(days=1)


def establishment_names(count: int) -> np.ndarray:
    """The establishments' labels: EST001, EST002, ... (``--establishments`` of them)."""
    return np.array([f"EST{i:03d}" for i in range(1, count + 1)])


MAX_RELEASES = 10_000_000  # `--releases`: generated in memory at once (bench/run.py joins 5,000,000-release runs)


def period_end(start: dt.date, quarters: int) -> dt.date | None:
    """The day after the last of ``quarters`` quarterly cohorts from ``start``; None past the year 9999."""
    month = start.month - 1 + 3 * quarters
    year = start.year + month // 12
    return dt.date(year, month % 12 + 1, 1) if year <= dt.MAXYEAR else None


def _quarter_end(start: dt.date, quarters: int) -> dt.date:
    end = period_end(start, quarters)
    assert end is not None, "--start and --cohorts are checked to end by the year 9999 (cli/synth.py)"
    return end


def generate(params: SynthParams) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Return (releases, convictions, meta) for ``params``; the same params give the same frames.

    Every step draws from one generator, in this order: the establishments, the people drawn until exactly
    ``releases`` are published, their characteristics, every simulated release, the outcomes, the offences
    and their convictions. Changing the order changes every frame a seed gives."""
    rng = np.random.default_rng(params.seed)
    sites = _establishments(params, rng)
    period_start = np.datetime64(params.start, "D")
    period_end = np.datetime64(_quarter_end(params.start, params.cohorts), "D")
    span = int((period_end - period_start).astype(int))
    drawn = _draw_releases(params, rng, span)
    people = _people(params, rng, drawn.first_offset.size, sites)
    releases = _every_release(params, rng, drawn, people, sites, period_start)
    outcome = _outcomes(params, rng, people, releases, sites, period_start)
    offences = _offences(params, rng, releases, outcome)
    # truncated repeats: a second release after the period never happens, nor do its offences (dropped after every
    # draw, so the rest of the population is the same as without the option)
    kept = ~(releases.second_release & (releases.offset >= span))[offences.release] if params.truncate_repeats else None
    release_frame, conviction_frame = _frames(params, rng, sites, people, releases, offences, kept)
    meta = _meta(params, outcome.treated & releases.published, outcome.p0, outcome.p1, outcome.base_mu, outcome.mu)
    return release_frame, conviction_frame, meta


@dataclass(frozen=True)
class _Sites:
    """The establishments: names, share of the people released from each, intake risk (shifts priors and the
    sentence mix), a planted site effect on the log-odds, and the treated establishment's index (or None)."""

    names: np.ndarray
    weights: np.ndarray
    intake_risk: np.ndarray
    site_effect: np.ndarray
    treated_index: int | None


def _establishments(params: SynthParams, rng: np.random.Generator) -> _Sites:
    """Establishments of unequal sizes (the treated one among the largest), intake differing in offender mix."""
    names = establishment_names(params.establishments)
    sizes = rng.lognormal(0.0, 0.6, params.establishments)
    treated_index = (
        int(np.flatnonzero(names == params.treated_establishment)[0]) if params.treated_establishment in names else None
    )
    if treated_index is not None:
        sizes[treated_index] = max(sizes[treated_index], np.quantile(sizes, 0.95))
    weights = sizes / sizes.sum()
    intake_risk = rng.normal(0.0, 0.45, params.establishments)  # shifts priors and sentence mix
    site_effect = (
        rng.normal(0.0, params.site_effect_sd, params.establishments)
        if params.site_effect_sd
        else np.zeros(params.establishments)
    )
    return _Sites(names, weights, intake_risk, site_effect, treated_index)


@dataclass(frozen=True)
class _Drawn:
    """The people drawn, one element each: the days from the period's start of their first and second
    release, whether they have a second, and whether each release is published (inside the period)."""

    first_offset: np.ndarray
    second_offset: np.ndarray
    has_second: np.ndarray
    first_published: np.ndarray
    second_published: np.ndarray


def _draw_releases(params: SynthParams, rng: np.random.Generator, span: int) -> _Drawn:
    """People until exactly ``releases`` releases are published.

    A person is released once, or twice (gap 90 days + exponential). First releases start up to BURN_IN_DAYS
    before the period, and releases outside the period are simulated but not published, so the share of second
    releases and of windows overlapping another release is the same in every cohort (no artificial trend).
    People are drawn in a random order until exactly `releases` are published."""
    candidates = 2 * params.releases + 16
    while True:
        first_offset = rng.integers(-BURN_IN_DAYS, span, candidates)
        has_second = rng.random(candidates) < params.repeat_share * SECOND_RELEASE_SCALE
        second_offset = first_offset + 90 + rng.exponential(GAP_MEAN_DAYS, candidates).astype(np.int64)
        first_published = first_offset >= 0
        second_published = has_second & (second_offset >= 0) & (second_offset < span)
        published_count = first_published.astype(np.int64) + second_published
        # a short period (one or two cohorts) publishes few of the people drawn: draw more, and only then
        # (every population that drew enough the first time is the same as before)
        if published_count.sum() >= params.releases + 2:
            break
        candidates *= 4
    order = rng.permutation(candidates)
    chosen = order[np.cumsum(published_count[order]) <= params.releases]
    if published_count[chosen].sum() < params.releases:  # one short: add a person with one published release
        rest = order[len(chosen) :]
        chosen = np.append(chosen, rest[np.flatnonzero(published_count[rest] == 1)[0]])
    chosen.sort()
    return _Drawn(
        first_offset[chosen],
        second_offset[chosen],
        has_second[chosen],
        first_published[chosen],
        second_published[chosen],
    )


@dataclass(frozen=True)
class _People:
    """Each person's establishment (of their first release), age, sex, prior convictions, index offence and
    sentence."""

    site: np.ndarray
    age: np.ndarray
    female: np.ndarray
    prior: np.ndarray
    offence: np.ndarray
    sentence: np.ndarray


def _people(params: SynthParams, rng: np.random.Generator, n_people: int, sites: _Sites) -> _People:
    """The people's characteristics, their mix shifted by their establishment's intake risk."""
    person_site = rng.choice(params.establishments, size=n_people, p=sites.weights)
    mix = sites.intake_risk[person_site]
    age = np.clip(18 + rng.gamma(2.2, 7.0, n_people) - 2 * mix, 18, 80).astype(np.int64)
    female = rng.random(n_people) < 0.07
    prior = rng.negative_binomial(1.2, 1.2 / (1.2 + np.exp(1.6 + 0.5 * mix)), n_people)
    offence = rng.choice(len(OFFENCES), size=n_people, p=OFFENCE_SHARE)
    sentence = np.clip(np.round(rng.lognormal(1.3 - 0.3 * mix, 0.8, n_people)), 1, 120).astype(np.int64)
    return _People(person_site, age, female, prior, offence, sentence)


@dataclass(frozen=True)
class _Releases:
    """Every simulated release, sorted by person and date: its person, establishment, days from the period's
    start, date, whether it is published (inside the period) and whether it is the person's second."""

    person: np.ndarray
    site: np.ndarray
    offset: np.ndarray
    release_date: np.ndarray
    published: np.ndarray
    second_release: np.ndarray


def _every_release(
    params: SynthParams,
    rng: np.random.Generator,
    drawn: _Drawn,
    people: _People,
    sites: _Sites,
    period_start: np.datetime64,
) -> _Releases:
    """Every release of the people drawn; 30% of second releases are from another establishment."""
    n_people = drawn.first_offset.size
    repeaters = np.flatnonzero(drawn.has_second)
    person = np.concatenate([np.arange(n_people), repeaters])
    offset = np.concatenate([drawn.first_offset, drawn.second_offset[repeaters]])
    published = np.concatenate([drawn.first_published, drawn.second_published[repeaters]])
    site = people.site[person].copy()
    moved = rng.random(repeaters.size) < 0.3
    site[n_people:][moved] = rng.choice(params.establishments, size=int(moved.sum()), p=sites.weights)
    order = np.lexsort((offset, person))
    person, site, offset, published = person[order], site[order], offset[order], published[order]
    second_release = np.r_[False, person[1:] == person[:-1]]
    return _Releases(person, site, offset, period_start + offset, published, second_release)


@dataclass(frozen=True)
class _Outcome:
    """Per release: treated or not, the chance of reoffending without and with the effect (``p0``, ``p1``), the
    mean further offences without and with it (``base_mu``, ``mu``), whether it reoffends and its offences."""

    treated: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    base_mu: np.ndarray
    mu: np.ndarray
    reoffends: np.ndarray
    n_offences: np.ndarray


def _outcomes(
    params: SynthParams,
    rng: np.random.Generator,
    people: _People,
    releases: _Releases,
    sites: _Sites,
    period_start: np.datetime64,
) -> _Outcome:
    """The outcome model per release: a logistic chance of reoffending, then 1 + Poisson offences, with the
    planted effect at the treated establishment."""
    person, n_releases = releases.person, releases.person.size
    prior, sentence = people.prior[person], people.sentence[person]
    log_odds = (
        -1.6
        + 0.62 * np.log1p(prior)
        - 0.028 * (people.age[person] - 30)
        - 0.25 * people.female[person]
        + OFFENCE_LOG_ODDS[people.offence[person]]
        + np.where(sentence < 12, 0.45, 0.0)
        + 0.25 * releases.second_release
        + sites.site_effect[releases.site]
    )
    log_odds = log_odds + _level(params, log_odds, releases.release_date, period_start)
    treated = releases.site == sites.treated_index if sites.treated_index is not None else np.zeros(n_releases, bool)
    base_mu = np.exp(0.55 + 0.25 * np.log1p(prior) + np.where(sentence < 12, 0.2, 0.0))
    with np.errstate(over="ignore"):  # exp of a large log-odds is inf, and 1 / (1 + inf) the right chance, 0
        p0 = 1 / (1 + np.exp(-log_odds))
        log_odds = log_odds + params.effect_log_odds * treated
        mu = base_mu * np.where(treated, params.effect_frequency, 1.0)
        p1 = 1 / (1 + np.exp(-log_odds))
    reoffends = rng.random(n_releases) < p1
    n_offences = np.where(reoffends, 1 + rng.poisson(mu), 0)
    return _Outcome(treated, p0, p1, base_mu, mu, reoffends, n_offences)


@dataclass(frozen=True)
class _Offences:
    """Every offence, sorted by release and offence date: its release, offence date and conviction date."""

    release: np.ndarray
    offence_date: np.ndarray
    conviction_date: np.ndarray


def _offences(params: SynthParams, rng: np.random.Generator, releases: _Releases, outcome: _Outcome) -> _Offences:
    """The offences in each window (the first early-skewed, the rest after it), the noise before release and
    after the window, and their convictions after a court lag, some sharing the previous offence's hearing."""
    release_date, second_release = releases.release_date, releases.second_release
    n_releases = release_date.size
    n_offences = outcome.n_offences
    # --- offences in the window: first one early-skewed, the rest after it
    release_of_offence = np.repeat(np.arange(n_releases), n_offences)
    rank = np.arange(release_of_offence.size) - np.repeat(np.cumsum(n_offences) - n_offences, n_offences)
    first_day = _truncated_exponential(rng, scale=110.0, upper=365.0, size=n_releases)
    later_day = first_day[release_of_offence] + rng.random(release_of_offence.size) * (
        365.0 - first_day[release_of_offence]
    )
    day = np.where(rank == 0, first_day[release_of_offence], later_day).astype(np.int64)
    offence_date = release_date[release_of_offence] + day

    # --- noise offences: before release, and after the window
    # offences before release are dated before the person's first release, so that they never fall in the
    # window of another release of the same person (which would blur the planted effect)
    first_release_date = release_date[np.r_[0, np.flatnonzero(~second_release[1:]) + 1]][np.cumsum(~second_release) - 1]
    n_before = np.where(second_release, 0, rng.poisson(0.8, n_releases))  # a history before the first release
    before_release = np.repeat(np.arange(n_releases), n_before)
    before_date = first_release_date[before_release] - rng.integers(1, 3 * 365, before_release.size)
    n_after = np.where(outcome.reoffends, rng.poisson(0.3, n_releases), rng.poisson(0.05, n_releases))
    after_release = np.repeat(np.arange(n_releases), n_after)
    after_date = release_date[after_release] + rng.integers(366, 2 * 365, after_release.size)

    all_release = np.concatenate([release_of_offence, before_release, after_release])
    all_offence_date = np.concatenate([offence_date, before_date, after_date])
    # court lag: median ~75 days, some beyond six months; about 40% share the previous offence's hearing
    lag = np.minimum(np.round(rng.lognormal(np.log(75), 0.75, all_release.size)), 730).astype(np.int64)
    if params.lag_change_from is not None and params.lag_multiplier != 1.0:
        slower = release_date[all_release] >= np.datetime64(params.lag_change_from, "D")
        lag = np.where(slower, np.round(lag * params.lag_multiplier), lag).astype(np.int64)
    conviction_date = all_offence_date + lag
    order = np.lexsort((all_offence_date, all_release))
    all_release, all_offence_date, conviction_date = all_release[order], all_offence_date[order], conviction_date[order]
    joins_previous = np.r_[False, all_release[1:] == all_release[:-1]] & (rng.random(all_release.size) < 0.4)
    conviction_date = _share_hearings(conviction_date, all_offence_date, joins_previous)
    return _Offences(all_release, all_offence_date, conviction_date)


def _frames(
    params: SynthParams,
    rng: np.random.Generator,
    sites: _Sites,
    people: _People,
    releases: _Releases,
    offences: _Offences,
    kept: np.ndarray | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The releases file (the published releases) and the convictions file (offence codes drawn here, 6% of them
    breaches; convicted by the extract date), as the data documentation lays them out."""
    person = releases.person
    conviction_person = person[offences.release]
    code_index = rng.choice(len(OFFENCES), size=offences.release.size, p=OFFENCE_SHARE)
    breach = rng.random(offences.release.size) < 0.06
    code_index = np.where(breach, len(OFFENCE_CODES), code_index)

    # strings are built by polars from integer codes: numpy string arrays are slow to make and to convert
    release_frame = pl.DataFrame(
        {
            "offender_id": _ids(person),
            "release_date": _dates(releases.release_date),
            "establishment": _labels(sites.names, releases.site),
            "age": people.age[person],
            "sex": _labels(np.array(["M", "F"]), people.female[person].astype(np.int64)),
            "sentence_months": people.sentence[person],
            "prior_convictions": people.prior[person] + releases.second_release.astype(np.int64),
            "index_offence": _labels(np.array(OFFENCES), people.offence[person]),
        }
    ).filter(pl.Series(releases.published))
    convictions = pl.DataFrame(
        {
            "offender_id": _ids(conviction_person),
            "offence_date": _dates(offences.offence_date),
            "conviction_date": _dates(offences.conviction_date),
            "offence_code": _labels(np.array([*OFFENCE_CODES, BREACH_CODE]), code_index),
        }
    )
    if kept is not None:
        convictions = convictions.filter(pl.Series(kept))
    convictions = convictions.filter(pl.col("conviction_date") <= params.extract())  # what was convicted by then
    return release_frame, convictions.sort("offender_id", "offence_date", "conviction_date")


def _level(params: SynthParams, log_odds: np.ndarray, release_date: np.ndarray, start: np.datetime64) -> np.ndarray:
    """The shift in log-odds of each release for ``level_trend`` and ``level_shift`` (zeros without them).

    A shift of ``d`` in the log-odds moves a chance ``p`` by about ``d p (1 - p)``, so one percentage point is
    ``1 / (100 mean(p (1 - p)))`` in the log-odds, the mean over every simulated release: the level moves by
    about the points asked for (deterministic, no random draw).
    """
    shift = np.zeros(log_odds.size)
    if not params.level_trend and not params.level_shift:
        return shift
    with np.errstate(over="ignore"):
        p = 1 / (1 + np.exp(-log_odds))
    per_point = 1 / (100 * float((p * (1 - p)).mean()))
    if params.level_trend:
        years = (release_date - start).astype(np.int64) / 365.25
        shift += params.level_trend * per_point * years
    if params.level_shift and params.level_shift_from is not None:
        shift += np.where(
            release_date >= np.datetime64(params.level_shift_from, "D"), params.level_shift * per_point, 0.0
        )
    return shift


def _truncated_exponential(rng: np.random.Generator, scale: float, upper: float, size: int) -> np.ndarray:
    u = rng.random(size)
    return -scale * np.log1p(-u * (1 - np.exp(-upper / scale)))


def _share_hearings(conviction: np.ndarray, offence: np.ndarray, joins_previous: np.ndarray) -> np.ndarray:
    """An offence that joins the previous offence's hearing takes its conviction date, if not before the offence.

    Chains are resolved by a forward fill over runs of joining offences (vectorised).
    """
    start = np.where(~joins_previous, np.arange(conviction.size), 0)
    np.maximum.accumulate(start, out=start)
    shared = conviction[start]
    return np.where(joins_previous & (shared >= offence), shared, conviction)


def _ids(person: np.ndarray) -> pl.Series:
    """Person numbers as identifiers like ``P0000042`` (text, as extracts usually have)."""
    numbers = pl.Series(person.astype(np.int64))
    return pl.select(pl.format("P{}", numbers.cast(pl.String).str.zfill(7))).to_series()


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype("datetime64[D]").astype(np.int64).astype(np.int32)).cast(pl.Date)


def _labels(values: np.ndarray, index: np.ndarray) -> pl.Series:
    return pl.Series(values.tolist(), dtype=pl.String).gather(pl.Series(index.astype(np.int64)))


def _meta(params: SynthParams, treated, p0, p1, base_mu, mu) -> dict:
    mask = treated
    meta = {
        "generator": "reoffend synth",
        "parameters": {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(params).items()},
        "extract_date": params.extract().isoformat(),
    }
    if mask.any():
        expected_binary_1 = float(p1[mask].mean())
        expected_binary_0 = float(p0[mask].mean())
        offences_1 = float((p1[mask] * (1 + mu[mask])).mean())
        offences_0 = float((p0[mask] * (1 + base_mu[mask])).mean())
        meta["planted_effect"] = {
            "establishment": params.treated_establishment,
            "log_odds_shift": params.effect_log_odds,
            "frequency_multiplier": params.effect_frequency,
            "treated_releases": int(mask.sum()),
            "expected_binary_rate_with_effect": expected_binary_1,
            "expected_binary_rate_without_effect": expected_binary_0,
            "expected_binary_difference_pp": 100 * (expected_binary_1 - expected_binary_0),
            "expected_offences_per_offender_with_effect": offences_1,
            "expected_offences_per_offender_without_effect": offences_0,
            "expected_frequency_change_pct": 100 * (offences_1 / offences_0 - 1),
            "note": "expectations of the generative model over the establishment's releases in the period, "
            "before court-lag censoring (which affects both arms alike)",
        }
    return meta


SYNTH_DATA = ("releases.csv", "convictions.csv", "releases.parquet", "convictions.parquet")
GENERATOR = "reoffend synth"  # meta.json's "generator": the mark of a folder synth wrote


def synth_files(folder: Path) -> set[str] | None:
    """The files of ``folder`` that synth wrote, by its ``meta.json`` (None when there is no meta.json from
    synth). A meta.json from before "files" was recorded stands for the four data files synth can write."""
    try:
        meta = json.loads(small_file_bytes(folder / "meta.json").decode("utf-8"))  # a FIFO or 3 GB: not synth's
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: 100,000 nested [
        return None
    if not isinstance(meta, dict) or meta.get("generator") != GENERATOR:
        return None
    files = meta.get("files")
    return {*files, "meta.json"} if isinstance(files, list) else {*SYNTH_DATA, "meta.json"}


def check_replaceable(folder: Path, names: Sequence[str]) -> set[str]:
    """Refuse, before any work, to replace a file in ``folder`` that synth did not write (a usage error,
    exit 2, naming it): a real extract, or a meta.json of something else, is never overwritten (docs/synth.md).
    Returns the files synth wrote there before, as its meta.json lists them."""
    ours = synth_files(folder)
    for name in names:
        path = folder / name
        if (path.exists() or path.is_symlink()) and (ours is None or name not in ours):
            why = "there is no meta.json from reoffend synth" if ours is None else "its meta.json does not list it"
            raise UsageError(
                f"{path}: exists and was not written by reoffend synth ({why}); refusing to replace it. "
                "Give a new or empty folder"
            )
    return ours or set()


def write(
    params: SynthParams, out_dir: str | Path, fmt: str = "parquet", progress: Callable[[str], None] | None = None
) -> dict[str, Path]:
    """Generate and write ``releases.<fmt>``, ``convictions.<fmt>`` and ``meta.json`` into ``out_dir``.

    Only files synth wrote are replaced (:func:`check_replaceable`), and the three are written together
    (:func:`reoffend.io.atomic_write_many`: all or none). ``meta.json`` lists the files synth has written in
    the folder, so a later run may replace them. ``progress`` is told each stage (the command line shows it).
    """
    from .errors import OutputNotCreatable, os_reason
    from .io import atomic_write_many, check_writable, frame_writer

    out = Path(out_dir)
    paths = {"releases": out / f"releases.{fmt}", "convictions": out / f"convictions.{fmt}", "meta": out / "meta.json"}
    earlier = check_replaceable(out, [path.name for path in paths.values()]) if out.is_dir() else set()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a read-only or immutable parent: exit 73 naming the folder, before any work
        raise OutputNotCreatable(f"{out_dir}: cannot create the folder: {os_reason(error)}") from None
    for path in paths.values():
        check_writable(path)
    if progress is not None:
        progress(f"drawing {params.releases:,} releases and their convictions")
    releases, convictions, meta = generate(params)
    if progress is not None:
        progress(f"writing {releases.height:,} releases and {convictions.height:,} convictions")
    meta["rows"] = {"releases": releases.height, "convictions": convictions.height}
    written = {paths["releases"].name, paths["convictions"].name}
    meta["files"] = sorted(written)
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    atomic_write_many(
        [
            (paths["releases"], frame_writer(releases, fmt)),
            (paths["convictions"], frame_writer(convictions, fmt)),
            (paths["meta"], lambda handle: handle.write(text.encode())),
        ]
    )
    # data synth wrote there before in the other format (another seed, perhaps) would stand beside these files
    # as if meta.json described them: removed, now that the new files are complete
    for name in sorted(earlier & set(SYNTH_DATA) - written):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
    return paths
