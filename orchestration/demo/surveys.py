"""Demo staff-survey waves written as LimeSurvey RemoteControl exports (item 6; SPEC 3.1).

:func:`write_demo_surveys` writes three waves of the staff survey into a landing zone::

    <landing>/surveys/staff_survey/<wave>/responses.csv    wave = 2021, 2023, 2025
    <landing>/surveys/staff_survey/<wave>/wave.yaml        fieldwork_start, fieldwork_end, anonymised

The files look like ``export_responses`` output of LimeSurvey's RemoteControl API: UTF-8 with BOM,
``;`` separator, every field quoted (empty ones too), CRLF line ends, question-code headings
(``LEID[SQ001]``) and answer codes (``A1``..``A5``). Metadata columns come first (``id``,
``submitdate``, ``lastpage``, ``startlanguage``, ``seed``, ``token``, ``startdate``, ``datestamp``),
then one column per item of the instrument in instrument order, then two timing columns
(``interviewtime``, ``groupTime123``) that readers ignore.

The 2021 wave reproduces the published staff survey of the 2021-22 process evaluation: 143 complete
responses whose answer counts equal :data:`REFERENCE_2021` (the ``n`` column of
``seed_published_figures.csv``) exactly; respondents beyond an item's total left it empty. Items
without a published distribution get plausible answers driven by the same latent attitude, so they
correlate with the 1-10 attitude score and form scales with a reasonable Cronbach's alpha.

2023 and 2025 are follow-up waves: attitudes improve a little, some responses are incomplete (empty
``submitdate``, ``lastpage`` below the last page, later pages empty), about half of the respondents
return under the token they had in the previous wave, and in 2025 one respondent answered twice
(first a partial, then a complete response). Tokens appear only in the ``token`` column. A few open
answers exercise CSV quoting and the masking of e-mail addresses, phone numbers and national
register numbers.

Everything is drawn from one seeded :class:`numpy.random.Generator`: the same seed and instrument
give byte-identical files. Files whose bytes would not change are not rewritten.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np

from orchestration.instruments import AnswerScheme, Instrument, Item, load_instrument

METADATA_COLUMNS = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "startdate", "datestamp"]
TIMING_COLUMNS = ["interviewtime", "groupTime123"]
TOKEN_LENGTH = 15
_TOKEN_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))


@dataclass(frozen=True)
class WaveSpec:
    """One demo wave: fieldwork window and sample design."""

    wave: str
    fieldwork_start: date
    fieldwork_end: date
    n_respondents: int          # distinct respondents (tokens)
    n_returning: int = 0        # of those, tokens that also answered the previous wave
    n_returning_older: int = 0  # tokens seen two waves ago but not in the previous wave
    n_incomplete: int = 0       # responses left before the last page
    n_duplicates: int = 0       # respondents with an extra, earlier partial response
    shift: float = 0.0          # change of the latent attitude since 2021 (standard deviations)


WAVES: tuple[WaveSpec, ...] = (
    WaveSpec("2021", date(2021, 10, 4), date(2021, 10, 29), n_respondents=143),
    WaveSpec("2023", date(2023, 10, 2), date(2023, 10, 27), n_respondents=138, n_returning=70,
             n_incomplete=11, shift=0.25),
    WaveSpec("2025", date(2025, 10, 6), date(2025, 10, 31), n_respondents=134, n_returning=66,
             n_returning_older=6, n_incomplete=9, n_duplicates=1, shift=0.45),
)

#: Published 2021 distributions: item -> {category value: n} (seed_published_figures.csv, column n).
#: Respondents beyond the sum of an item's counts (out of 143) left the item empty.
REFERENCE_2021: dict[str, dict[int, int]] = {
    "function": {1: 33, 2: 56, 3: 5, 4: 14, 5: 23, 6: 3, 7: 1, 8: 2, 9: 4, 10: 2},
    "support_regional_staff": {1: 6, 2: 16, 3: 24, 4: 49, 5: 32},
    "coaching_sofs_consultants": {1: 11, 2: 24, 3: 37, 4: 38, 5: 10},
    "staff_feedback_heard": {1: 10, 2: 33, 3: 17, 4: 32, 5: 11},
    "client_feedback_heard": {1: 4, 2: 53, 3: 40, 4: 37, 5: 8},
    "asked_by_manager": {1: 19, 2: 61, 3: 39, 4: 20, 5: 1},
    "implementation_plan_known": {1: 8, 2: 20, 3: 23, 4: 64, 5: 25},
    "partners_on_board": {1: 18, 2: 62, 3: 28, 4: 26, 5: 2},
    "attitude_implementation": {1: 0, 2: 2, 3: 5, 4: 9, 5: 9, 6: 22, 7: 25, 8: 27, 9: 9, 10: 14},
}

#: 2021 target shares (categories 1..5) of items without a published distribution. Where the report
#: gives a single share (reference/README.md) the agreeing (4+5) or disagreeing (1+2) share matches it.
TARGETS_2021: dict[str, tuple[float, ...]] = {
    "region": (0.25, 0.13, 0.22, 0.20, 0.20),
    "manager_support_under_pressure": (0.05, 0.09, 0.14, 0.45, 0.27),      # 72 % agree
    "manager_initiative_learning": (0.04, 0.08, 0.12, 0.50, 0.26),         # 76 % agree
    "manager_strength_based": (0.043, 0.131, 0.207, 0.397, 0.221),         # unpublishable chart, as orientation
    "joint_reflection": (0.05, 0.12, 0.17, 0.48, 0.18),                    # 66 % agree
    "learning_time_space": (0.08, 0.22, 0.25, 0.35, 0.10),
    "learning_from_cases": (0.03, 0.08, 0.17, 0.50, 0.22),
    "practice_in_line_with_sofs": (0.01, 0.04, 0.12, 0.58, 0.25),          # 83 % agree
    "sofs_relation_unclear": (0.08, 0.26, 0.18, 0.36, 0.12),               # 48 % agree
    "sofs_little_grip": (0.10, 0.33, 0.22, 0.27, 0.08),                    # 35 % agree
    "procedures_support_sofs": (0.10, 0.30, 0.28, 0.27, 0.05),
    "scaling_progress_followed": (0.04, 0.12, 0.20, 0.46, 0.18),
    "results_discussed_in_team": (0.12, 0.35, 0.25, 0.23, 0.05),
    "team_safe_to_discuss_doubts": (0.03, 0.06, 0.10, 0.40, 0.41),         # 9 % do not feel safe
    "team_mistakes_discussable": (0.03, 0.08, 0.14, 0.45, 0.30),
    "team_colleague_support": (0.01, 0.03, 0.06, 0.40, 0.50),
    "workload_manageable": (0.18, 0.35, 0.22, 0.20, 0.05),
    "energy_from_work": (0.03, 0.10, 0.22, 0.45, 0.20),
    "emotionally_exhausted": (0.07, 0.25, 0.28, 0.30, 0.10),
}

#: How strongly each construct follows the general attitude, and how it moves per standard
#: deviation of ``WaveSpec.shift`` (measurement and learning gain most: the evaluation's
#: recommendations were about monitoring and joint reflection; wellbeing barely moves).
CONSTRUCT_LOADING = {"team_safety": 0.4, "wellbeing": 0.35}
CONSTRUCT_SHIFT = {"measurement_monitoring": 1.4, "learning_organisation": 1.2, "leadership": 0.8,
                   "organisational_alignment": 1.0, "team_safety": 0.2, "wellbeing": 0.1}
DEFAULT_CONSTRUCT_LOADING = 0.6
ITEM_LOADING = 0.75         # item on its construct factor
ATTITUDE_LOADING = 0.85     # attitude item on the general factor
OTHER_LOADING = 0.5         # items without a construct (satisfaction) on the general factor
SKIP_RATE_OTHER = 0.02      # items without a published total: share left empty

#: LimeSurvey page (question group) of each question code; complete responses have lastpage 8.
PAGES = {"FUNCTIE": 1, "REGIO": 1, "ATTITUDE": 2, "TEVR": 2, "LEID": 3, "LEER": 4, "AFST": 5,
         "METEN": 6, "TEAM": 7, "WELZ": 7, "SUGGESTIES": 8}
LAST_PAGE = 8

#: Open answers per wave (synthetic; addresses and numbers are fake). Each needs masking or quoting.
OPEN_ANSWERS: dict[str, tuple[str, ...]] = {
    "2021": (
        "Meer tijd voor intervisie; nu schiet het er in drukke periodes bij in.",
        "Graag meer coaching door de SofS-consultants in onze regio.",
        'Het "drie huizen"-instrument werkt goed bij jonge kinderen; contacteer me gerust via '
        "an.voorbeeld@example.org of 0470 12 34 56.",
        "De afstemming met partners (CLB, CAW, politie) blijft moeilijk: zij kennen de taal van SofS niet.",
        "Minder registratielast, meer tijd voor gezinnen.",
        "Blijf investeren in de netwerkgesprekken, daar zie ik het verschil.",
    ),
    "2023": (
        "De schaalvragen in het registratiesysteem helpen om vooruitgang zichtbaar te maken.",
        "Teamreflecties zijn waardevol, maar graag op een vast moment.",
        "Wie vragen heeft over ons werkingsproject: mail naar teamnoord@example.be; bellen kan op 02/123.45.67.",
        "Nog altijd onduidelijk hoe SofS en de \"signalenlijst\" samen gebruikt moeten worden.",
    ),
    "2025": (
        "Meer feedback van ouders verzamelen, bv. met een korte bevraging na het netwerkgesprek.",
        'Casus (rijksregisternummer 00.00.00-000.00) toont dat "woorden en tekeningen" ook bij '
        "oudere jongeren werkt; vragen via +32 470 00 00 00.",
        "Goede evolutie; de werkdruk blijft wel hoog.",
        "Meer gezamenlijke vorming met partners; dat maakt de samenwerking vlotter.",
        "Het dashboard per regio is nuttig, maar de cijfers komen te laat.",
    ),
}


@dataclass
class _Person:
    token: str
    latent: np.ndarray              # [general attitude, one unique factor per construct]
    skip_propensity: float
    attributes: dict[str, int] = field(default_factory=dict)


@dataclass
class _Response:
    person: _Person
    complete: bool
    lastpage: int
    start: datetime
    end: datetime
    codes: dict[str, str]           # source column -> export code ("" when empty)
    seed: int
    group_seconds: float


# ----------------------------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------------------------

def write_demo_surveys(landing: Path, instrument_path: Path, seed: int = 2021) -> list[Path]:
    """Write the demo waves of the instrument at ``instrument_path`` into the landing zone ``landing``.

    Args:
        landing: landing-zone root (``settings.landing_dir()``); ``surveys/<instrument>/<wave>/`` is
            created below it.
        instrument_path: the instrument definition (``data/instruments/staff_survey.yaml``). Item
            order, source columns, answer codes, constructs and reverse flags come from it.
        seed: seed of the random generator; the same seed gives byte-identical files.

    Returns:
        The written paths, per wave ``responses.csv`` then ``wave.yaml``, waves in order.
    """
    instrument = load_instrument(Path(instrument_path))
    rng = np.random.default_rng(seed)
    out = Path(landing) / "surveys" / instrument.instrument
    written: list[Path] = []
    used_tokens: set[str] = set()
    history: list[list[_Person]] = []
    for spec in WAVES:
        if not history:
            persons = [_new_person(rng, instrument, used_tokens) for _ in range(spec.n_respondents)]
            responses = _first_wave(rng, instrument, spec, persons)
        else:
            persons = _panel(rng, instrument, spec, history, used_tokens)
            responses = _later_wave(rng, instrument, spec, persons)
        history.append(persons)
        folder = out / spec.wave
        folder.mkdir(parents=True, exist_ok=True)
        written.append(_write_if_changed(folder / "responses.csv", _export_bytes(instrument, spec, responses)))
        written.append(_write_if_changed(folder / "wave.yaml", _wave_yaml(spec)))
    return written


# ----------------------------------------------------------------------------------------------
# respondents and latent answers
# ----------------------------------------------------------------------------------------------

def _new_token(rng: np.random.Generator, used: set[str]) -> str:
    """A LimeSurvey-style access token: 15 random letters and digits, at least one of each, unique."""
    while True:
        token = "".join(rng.choice(_TOKEN_ALPHABET, size=TOKEN_LENGTH))
        if token not in used and any(c.isalpha() for c in token) and any(c.isdigit() for c in token):
            used.add(token)
            return token


def _new_person(rng: np.random.Generator, instrument: Instrument, used: set[str]) -> _Person:
    latent = rng.standard_normal(1 + len(instrument.constructs))
    return _Person(_new_token(rng, used), latent, float(np.exp(0.8 * rng.standard_normal())))


def _construct_index(instrument: Instrument) -> dict[str, int]:
    return {name: 1 + i for i, name in enumerate(instrument.constructs)}


def _driver(instrument: Instrument, item: Item, latent: np.ndarray, noise: float, shift: float) -> float:
    """Continuous propensity to a high answer; ~N(0, 1) in 2021, plus the wave's change."""
    g = latent[0]
    if item.item == "attitude_implementation":
        value = ATTITUDE_LOADING * (g + shift) + math.sqrt(1 - ATTITUDE_LOADING**2) * noise
    elif item.construct:
        a = CONSTRUCT_LOADING.get(item.construct, DEFAULT_CONSTRUCT_LOADING)
        c = a * g + math.sqrt(1 - a**2) * latent[_construct_index(instrument)[item.construct]]
        c += CONSTRUCT_SHIFT.get(item.construct, 1.0) * shift
        value = ITEM_LOADING * c + math.sqrt(1 - ITEM_LOADING**2) * noise
    else:
        value = OTHER_LOADING * (g + shift) + math.sqrt(1 - OTHER_LOADING**2) * noise
    return -value if item.reverse else value


def _categories(item: Item) -> list[int]:
    return [int(v) for v in item.scheme.values()]


def _shares_2021(item: Item) -> np.ndarray:
    """2021 share per category of the item: published counts, targets, or a generic agree shape."""
    cats = _categories(item)
    if item.item in REFERENCE_2021:
        counts = np.array([REFERENCE_2021[item.item].get(c, 0) for c in cats], dtype=float)
    elif item.item in TARGETS_2021 and len(TARGETS_2021[item.item]) == len(cats):
        counts = np.array(TARGETS_2021[item.item], dtype=float)
    elif item.scheme.nominal:
        counts = np.ones(len(cats))
    else:  # a bell leaning to the agreeing side
        x = np.linspace(-1.5, 1.5, len(cats))
        counts = np.exp(-0.5 * (x - 0.4) ** 2)
    return counts / counts.sum()


def _counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Largest-remainder rounding of ``shares * n`` (deterministic, sums to n)."""
    raw = shares * n
    counts = np.floor(raw).astype(int)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: n - int(counts.sum())]:
        counts[i] += 1
    return counts


def _thresholds(shares: np.ndarray) -> list[float]:
    """Cut points on N(0, 1) that give ``shares`` (rare categories keep a small chance)."""
    cum = np.cumsum(shares)[:-1]
    return [NormalDist().inv_cdf(min(max(float(c), 0.003), 0.997)) for c in cum]


def _page(item: Item, wave: str) -> int:
    source = item.source_for(wave) or ""
    return PAGES.get(source.split("[")[0].split("_")[0].upper(), LAST_PAGE - 1)


def _code(scheme: AnswerScheme, value: int) -> str:
    if scheme.codes:
        inverse = {v: k for k, v in scheme.codes.items()}
        return inverse[float(value)]
    return str(value)


# ----------------------------------------------------------------------------------------------
# waves
# ----------------------------------------------------------------------------------------------

def _first_wave(rng: np.random.Generator, instrument: Instrument, spec: WaveSpec,
                persons: list[_Person]) -> list[_Response]:
    """2021: every respondent complete; published counts exact, answers assigned by rank of the driver."""
    n = len(persons)
    propensity = np.array([p.skip_propensity for p in persons])
    codes: list[dict[str, str]] = [{} for _ in persons]
    for item in instrument.items:
        column = item.source_for(spec.wave)
        if not column:
            continue
        for row in codes:
            row[column] = ""
        if item.scheme.text:
            continue
        cats = _categories(item)
        if item.item in REFERENCE_2021:
            counts = np.array([REFERENCE_2021[item.item].get(c, 0) for c in cats])
        else:
            n_skip = 0 if item.role == "attribute" else int(rng.binomial(n, SKIP_RATE_OTHER))
            counts = _counts(_shares_2021(item), n - n_skip)
        n_valid = int(counts.sum())
        if n_valid > n:
            raise ValueError(f"{item.item}: {n_valid} answers for {n} respondents")
        skippers = set(rng.choice(n, size=n - n_valid, replace=False, p=propensity / propensity.sum()).tolist()) \
            if n_valid < n else set()
        answering = [i for i in range(n) if i not in skippers]
        values = np.repeat(cats, counts)
        if item.role == "attribute":       # characteristics: a random permutation of the counts
            order = rng.permutation(len(answering))
        else:                              # answers: by rank of the latent driver
            noise = rng.standard_normal(len(answering))
            drivers = [_driver(instrument, item, persons[i].latent, z, 0.0) for i, z in zip(answering, noise)]
            order = np.argsort(drivers, kind="stable")
        for rank, pos in enumerate(order):
            i = answering[int(pos)]
            codes[i][column] = _code(item.scheme, int(values[rank]))
            if item.role == "attribute":
                persons[i].attributes[item.item] = int(values[rank])
    _add_open_answers(rng, instrument, spec, codes, list(range(n)))
    return [_timed(rng, spec, p, True, LAST_PAGE, row) for p, row in zip(persons, codes)]


def _panel(rng: np.random.Generator, instrument: Instrument, spec: WaveSpec,
           history: list[list[_Person]], used: set[str]) -> list[_Person]:
    """Respondents of a later wave: returning tokens (latent traits carried over) plus new staff."""
    previous = history[-1]
    seen_previous = {p.token for p in previous}
    idx = rng.choice(len(previous), size=min(spec.n_returning, len(previous)), replace=False)
    returning = [previous[int(i)] for i in sorted(idx)]
    older = [p for wave in history[:-1] for p in wave if p.token not in seen_previous]
    older = list({p.token: p for p in older}.values())
    if older and spec.n_returning_older:
        idx = rng.choice(len(older), size=min(spec.n_returning_older, len(older)), replace=False)
        returning += [older[int(i)] for i in sorted(idx)]
    persons: list[_Person] = []
    for old in returning:   # same token; attitudes persist (r = 0.7 between waves)
        latent = 0.7 * old.latent + math.sqrt(1 - 0.7**2) * rng.standard_normal(old.latent.shape)
        persons.append(_Person(old.token, latent, old.skip_propensity, dict(old.attributes)))
    while len(persons) < spec.n_respondents:
        persons.append(_new_person(rng, instrument, used))
    return [persons[int(i)] for i in rng.permutation(len(persons))]


def _later_wave(rng: np.random.Generator, instrument: Instrument, spec: WaveSpec,
                persons: list[_Person]) -> list[_Response]:
    """2023, 2025: answers cut from the drivers at the 2021 thresholds, with the wave's change."""
    n = len(persons)
    incomplete = set(rng.choice(n, size=spec.n_incomplete, replace=False).tolist())
    complete_ids = [i for i in range(n) if i not in incomplete]
    duplicates = set(rng.choice(complete_ids, size=spec.n_duplicates, replace=False).tolist()) \
        if spec.n_duplicates else set()
    for person in persons:   # new staff: function and region drawn like 2021; returners keep theirs
        for item in instrument.items:
            if item.role == "attribute" and item.item not in person.attributes:
                cats = _categories(item)
                person.attributes[item.item] = int(rng.choice(cats, p=_shares_2021(item)))

    def answers(person: _Person, lastpage: int, complete: bool) -> dict[str, str]:
        row: dict[str, str] = {}
        for item in instrument.items:
            column = item.source_for(spec.wave)
            if not column:
                continue
            row[column] = ""
            page = _page(item, spec.wave)
            if item.scheme.text or (not complete and page >= lastpage):
                continue
            if item.role == "attribute":
                row[column] = _code(item.scheme, person.attributes[item.item])
                continue
            if item.item in REFERENCE_2021:
                skip = 0.8 * (1 - sum(REFERENCE_2021[item.item].values()) / WAVES[0].n_respondents)
            else:
                skip = SKIP_RATE_OTHER
            if rng.random() < min(0.9, skip * person.skip_propensity / 1.4):
                continue
            value = _driver(instrument, item, person.latent, float(rng.standard_normal()), spec.shift)
            cut = _thresholds(_shares_2021(item))
            cats = _categories(item)
            row[column] = _code(item.scheme, cats[int(np.searchsorted(cut, value))])
        return row

    responses: list[_Response] = []
    rows: list[dict[str, str]] = []
    meta: list[tuple[_Person, bool, int]] = []
    for i, person in enumerate(persons):
        if i in incomplete:
            lastpage = int(rng.integers(2, LAST_PAGE))
            meta.append((person, False, lastpage))
        else:
            meta.append((person, True, LAST_PAGE))
        rows.append(answers(person, meta[-1][2], meta[-1][1]))
    _add_open_answers(rng, instrument, spec, rows, complete_ids)
    for (person, complete, lastpage), row in zip(meta, rows):
        responses.append(_timed(rng, spec, person, complete, lastpage, row))
    for i in sorted(duplicates):   # the same token, an earlier partial response (abandoned, then redone)
        final = responses[i]
        lastpage = int(rng.integers(3, LAST_PAGE - 2))
        partial = _timed(rng, spec, persons[i], False, lastpage, answers(persons[i], lastpage, False))
        start = final.start - timedelta(days=2, hours=3)
        if start.date() < spec.fieldwork_start:
            final.start += timedelta(days=3)
            final.end += timedelta(days=3)
            start = final.start - timedelta(days=2, hours=3)
        partial.end = start + (partial.end - partial.start)
        partial.start = start
        responses.append(partial)
    return responses


def _add_open_answers(rng: np.random.Generator, instrument: Instrument, spec: WaveSpec,
                      rows: list[dict[str, str]], eligible: list[int]) -> None:
    texts = OPEN_ANSWERS.get(spec.wave, ())
    columns = [it.source_for(spec.wave) for it in instrument.items if it.scheme.text and it.source_for(spec.wave)]
    if not texts or not columns:
        return
    chosen = rng.choice(eligible, size=min(len(texts), len(eligible)), replace=False)
    for text, i in zip(texts, sorted(int(c) for c in chosen)):
        rows[i][columns[0]] = text


def _timed(rng: np.random.Generator, spec: WaveSpec, person: _Person, complete: bool, lastpage: int,
           codes: dict[str, str]) -> _Response:
    """Attach a start and end time inside the fieldwork window (working days, office hours)."""
    days = [spec.fieldwork_start + timedelta(days=d)
            for d in range((spec.fieldwork_end - spec.fieldwork_start).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    day = days[int(rng.integers(len(days)))]
    start = datetime.combine(day, time(8, 0)) + timedelta(seconds=int(rng.integers(0, 9 * 3600)))
    minutes = float(np.exp(rng.normal(math.log(11.0), 0.35)))
    if not complete:
        minutes *= lastpage / LAST_PAGE
    end = start + timedelta(seconds=round(minutes * 60))
    return _Response(person, complete, lastpage, start, end, codes,
                     seed=int(rng.integers(10_000_000, 2_000_000_000)),
                     group_seconds=round(float(rng.uniform(20, 120)), 2))


# ----------------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------------

def _export_bytes(instrument: Instrument, spec: WaveSpec, responses: list[_Response]) -> bytes:
    """The RemoteControl CSV: BOM, ``;``, every field quoted, CRLF; ids in order of start time."""
    item_columns = [it.source_for(spec.wave) for it in instrument.items if it.source_for(spec.wave)]
    header = METADATA_COLUMNS + item_columns + TIMING_COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    ordered = sorted(responses, key=lambda r: (r.start, r.person.token))
    for rid, r in enumerate(ordered, start=1):
        fmt = "%Y-%m-%d %H:%M:%S"
        meta = [str(rid), r.end.strftime(fmt) if r.complete else "", str(r.lastpage), "nl", str(r.seed),
                r.person.token, r.start.strftime(fmt), r.end.strftime(fmt)]
        timing = [f"{(r.end - r.start).total_seconds():.2f}", f"{r.group_seconds:.2f}"]
        writer.writerow(meta + [r.codes.get(c, "") for c in item_columns] + timing)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _wave_yaml(spec: WaveSpec) -> bytes:
    return (f"# Demo wave {spec.wave} of the staff survey (generated by orchestration.demo.surveys)\n"
            f"fieldwork_start: {spec.fieldwork_start.isoformat()}\n"
            f"fieldwork_end: {spec.fieldwork_end.isoformat()}\n"
            "anonymised: false\n").encode("utf-8")


def _write_if_changed(path: Path, data: bytes) -> Path:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path
