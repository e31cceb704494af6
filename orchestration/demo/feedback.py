"""Demo client and child feedback waves, linked to the demo dossiers (SPEC 3.1, 3.2).

:func:`write_demo_feedback` writes four half-yearly waves of two instruments into a landing zone::

    <landing>/surveys/client_feedback/<wave>/responses.sav   SPSS, declared user-missing codes
    <landing>/surveys/client_feedback/<wave>/wave.yaml
    <landing>/surveys/child_feedback/<wave>/responses.csv    LimeSurvey RemoteControl CSV
    <landing>/surveys/child_feedback/<wave>/wave.yaml        wave = 2024H1, 2024H2, 2025H1, 2025H2

Who answers. Each wave invites a sample of the demo dossiers (:mod:`orchestration.demo.dossiers`,
the same synthetic history, regenerated from the seed ``write_demo_dossiers`` uses) that were open
during the fieldwork period and registered at least a month before it; about a third of the
dossiers of the previous wave that are still open are invited again. Per dossier one or two
parents and zero to two network members fill in ``client_feedback``; a child aged 8-17 fills in
``child_feedback``. A person keeps the same token (``token``) for every wave in which the dossier is
invited, so repeated feedback links (``respondent_key``); not everyone answers every time. Every
response carries the dossier id (``DOSSIER``) exactly as the dossier extracts write it, so after
pseudonymisation it joins ``marts.fct_dossier``. All dossiers used are in the latest extract.

What the answers follow. A dossier-level propensity is the sum of a region effect
(:data:`REGION_EFFECT`), the breadth of Signs of Safety practice recorded in the dossier before the
fieldwork ended (mapping, safety plan, network meeting; for children also three houses and words
and pictures) and noise; scaling scores also grow with the time since registration. So the region
means in ``marts.region_period_outcomes`` differ, mildly, and dossiers with broader practice report
better partnership and higher safety scores.

Format details. The ``.sav`` files carry variable labels, value labels and declared user-missing
values (``missing_ranges``: 9 = niet van toepassing and -9 = weet niet on the agreement items, -9 on
the 0-10 scales), ``submitdate``/``startdate`` as SPSS DATETIME (system-missing while incomplete).
ReadStat writes the creation date and time into the file header; :func:`_fix_sav_timestamp`
replaces them by the wave's fieldwork end (17:00:00), so the same seed gives byte-identical files
(SHA-256 stable for the landing-zone change detector). The child CSV is written like the staff
waves: UTF-8 with BOM, ``;``, every field quoted, CRLF, answer codes ``A1``..``A3`` and ``A9`` (weet
ik niet, a declared missing code).

Everything is drawn from one seeded :class:`numpy.random.Generator`: the same seed gives the same
bytes; files whose bytes would not change are not rewritten.
"""
from __future__ import annotations

import csv
import inspect
import io
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyreadstat

from orchestration.demo.dossiers import EXTRACT_DATES, _Population, write_demo_dossiers
from orchestration.demo.surveys import METADATA_COLUMNS, TIMING_COLUMNS, _new_token, _write_if_changed

#: The seed the demo dossier extracts are generated with (write_demo_dossiers' default).
DOSSIER_SEED: int = inspect.signature(write_demo_dossiers).parameters["seed"].default


@dataclass(frozen=True)
class FeedbackWave:
    """One half-yearly feedback wave: fieldwork window, dossiers invited, overall change."""

    wave: str
    fieldwork_start: date
    fieldwork_end: date
    n_dossiers: int             # dossiers invited (returning + new)
    shift: float = 0.0          # change of the propensity since the first wave (standard deviations)


WAVES: tuple[FeedbackWave, ...] = (
    FeedbackWave("2024H1", date(2024, 5, 6), date(2024, 6, 14), n_dossiers=220),
    FeedbackWave("2024H2", date(2024, 11, 4), date(2024, 12, 13), n_dossiers=230, shift=0.05),
    FeedbackWave("2025H1", date(2025, 5, 5), date(2025, 6, 13), n_dossiers=240, shift=0.10),
    FeedbackWave("2025H2", date(2025, 11, 3), date(2025, 12, 12), n_dossiers=250, shift=0.15),
)

#: Region effect on the dossier propensity (standard deviations): enough to make the region table
#: differ, small next to the individual variation.
REGION_EFFECT = {"Antwerpen": -0.20, "Limburg": 0.15, "Oost-Vlaanderen": 0.05,
                 "Vlaams-Brabant en Brussel": -0.10, "West-Vlaanderen": 0.25}
#: Effect of each Signs of Safety step recorded before the end of fieldwork.
PRACTICE_EFFECT = {"mapping": 0.25, "safety_plan": 0.30, "network_meeting": 0.20}
CHILD_PRACTICE_EFFECT = {"three_houses": 0.30, "words_and_pictures": 0.30, "safety_plan": 0.15}
RETURNING_SHARE = 0.35        # of the previous wave's dossiers still open, the share invited again
CHILD_AGES = range(8, 18)     # children who get the child questionnaire (age in the fieldwork year)

#: Shares of categories 1..5 (agreement) and 1..3 (child items) at propensity 0.
AGREE_SHARES = np.array([0.05, 0.09, 0.18, 0.42, 0.26])
CHILD_SHARES = np.array([0.12, 0.33, 0.55])
ROLE_PARENT, ROLE_NETWORK = 1, 2

# -- the client questionnaire (SPSS) -----------------------------------------------------------------
CLIENT_ITEMS = ["SAMEN_SQ001", "SAMEN_SQ002", "SAMEN_SQ003", "SAMEN_SQ004"]
CLIENT_SCALES = ["SCHAAL_SQ001", "SCHAAL_SQ002"]
CLIENT_COLUMNS = ["id", "submitdate", "lastpage", "startlanguage", "token", "DOSSIER", "startdate", "ROL",
                  *CLIENT_ITEMS, *CLIENT_SCALES, "OPMERKING"]
CLIENT_PAGES = {"ROL": 1, **{c: 2 for c in CLIENT_ITEMS}, **{c: 3 for c in CLIENT_SCALES}, "OPMERKING": 4}
CLIENT_LAST_PAGE = 4
AGREE_LABELS = {1.0: "helemaal niet akkoord", 2.0: "eerder niet akkoord", 3.0: "neutraal", 4.0: "eerder akkoord",
                5.0: "helemaal akkoord"}
NOT_APPLICABLE, DONT_KNOW = 9.0, -9.0
VARIABLE_LABELS = {
    "id": "Antwoord-ID", "submitdate": "Datum verstuurd", "lastpage": "Laatste pagina",
    "startlanguage": "Starttaal", "token": "Toegangscode", "DOSSIER": "Dossiernummer",
    "startdate": "Startdatum", "ROL": "Ik vul deze vragenlijst in als",
    "SAMEN_SQ001": "Ik voelde me gehoord door de consulent",
    "SAMEN_SQ002": "Mijn mening telde mee bij de beslissingen over ons gezin",
    "SAMEN_SQ003": "De consulent en wij werkten goed samen aan de veiligheid van de kinderen",
    "SAMEN_SQ004": "Ik begrijp waarover de consulent zich zorgen maakt",
    "SCHAAL_SQ001": "Hoe veilig zijn de kinderen nu? (0-10)",
    "SCHAAL_SQ002": "Hoeveel vooruitgang is er sinds de start van de begeleiding? (0-10)",
    "OPMERKING": "Wil je nog iets kwijt over de begeleiding?",
}
CLIENT_OPEN_ANSWERS = (
    "Het netwerkgesprek heeft ons echt geholpen om afspraken te maken.",
    "Ik had graag sneller een nieuwe afspraak gehad; bel me gerust op 0478 11 22 33.",
    "De consulent nam de tijd om alles uit te leggen, ook aan de grootouders.",
    'Het "veiligheidsplan" is duidelijk, maar het blijft moeilijk om het vol te houden.',
    "Meer contact met de school zou goed zijn. Mijn mail: ouder.voorbeeld@example.be",
    "Soms voelde ik me niet begrepen, maar het is wel beter geworden.",
)

# -- the child questionnaire (LimeSurvey CSV) ----------------------------------------------------------
CHILD_ITEMS = ["KIND[SQ001]", "KIND[SQ002]", "KIND[SQ003]", "KIND[SQ004]"]
CHILD_SCALE = "VEILIG"
CHILD_LAST_PAGE = 2

_SPSS_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SAV_STAMP = re.compile(rb"^\d{2} [A-Z][a-z]{2} \d{2}\d{2}:\d{2}:\d{2}$")
_SAV_STAMP_AT = slice(92, 109)     # creation_date (9 bytes) + creation_time (8 bytes) in the file header


@dataclass
class _Person:
    token: str
    role: int                  # ROLE_PARENT, ROLE_NETWORK (client) or 0 (child)
    trait: float               # own deviation from the dossier's propensity
    answer_rate: float         # chance of answering when the dossier is invited


@dataclass
class _Case:
    """A dossier as invited for feedback, with the people who may answer for it."""

    dossier: dict
    level: float               # dossier-level random propensity
    persons: list[_Person] = field(default_factory=list)
    child: _Person | None = None


@dataclass
class _Answer:
    person: _Person
    case: _Case
    complete: bool
    lastpage: int
    start: datetime
    end: datetime
    values: dict[str, float | str | None]
    seed: int = 0


# ------------------------------------------------------------------------------------------------
# public entry point
# ------------------------------------------------------------------------------------------------

def write_demo_feedback(landing: Path, seed: int = 2024, dossier_seed: int = DOSSIER_SEED) -> list[Path]:
    """Write the demo client (``.sav``) and child (LimeSurvey CSV) feedback waves into ``landing``.

    Args:
        landing: landing-zone root; ``surveys/client_feedback/<wave>/`` and
            ``surveys/child_feedback/<wave>/`` are created below it.
        seed: seed of the random generator for the answers; the same seed gives byte-identical files.
        dossier_seed: seed of the demo dossier history the responses link to (must be the seed the
            demo dossier extracts were written with; default: ``write_demo_dossiers``' default).

    Returns:
        The written paths, per wave: client ``responses.sav``, client ``wave.yaml``, child
        ``responses.csv``, child ``wave.yaml``; waves in order.
    """
    population = _Population(np.random.default_rng(dossier_seed))
    last_day = EXTRACT_DATES[-1].toordinal()
    dossiers = [d for d in population.dossiers if d["deleted_after"] is None and d["registration"] <= last_day]
    events: dict[str, list[tuple[int, str]]] = {}
    for e in population.events:
        events.setdefault(e["dossier"]["dossier_id"], []).append((e["date"], e["type"]))

    rng = np.random.default_rng(seed)
    used_tokens: set[str] = set()
    cases: dict[str, _Case] = {}
    previous: list[str] = []
    written: list[Path] = []
    root = Path(landing) / "surveys"
    for spec in WAVES:
        invited = _invite(rng, spec, dossiers, previous, cases, used_tokens)
        previous = [c.dossier["dossier_id"] for c in invited]
        client, child = [], []
        for case in invited:
            base = _propensity(case, events, spec, PRACTICE_EFFECT)
            for person in case.persons:
                if rng.random() < person.answer_rate:
                    client.append(_client_answer(rng, spec, case, person, base))
            child_age = spec.fieldwork_start.year - case.dossier["child"]["birth_year"]
            if case.child is not None and child_age in CHILD_AGES and rng.random() < case.child.answer_rate:
                child_base = _propensity(case, events, spec, CHILD_PRACTICE_EFFECT)
                child.append(_child_answer(rng, spec, case, case.child, child_base))
        _add_open_answers(rng, client)

        folder = root / "client_feedback" / spec.wave
        folder.mkdir(parents=True, exist_ok=True)
        written.append(_write_if_changed(folder / "responses.sav", _client_sav_bytes(spec, client)))
        written.append(_write_if_changed(folder / "wave.yaml", _wave_yaml(spec, "client_feedback")))
        folder = root / "child_feedback" / spec.wave
        folder.mkdir(parents=True, exist_ok=True)
        written.append(_write_if_changed(folder / "responses.csv", _child_csv_bytes(child)))
        written.append(_write_if_changed(folder / "wave.yaml", _wave_yaml(spec, "child_feedback")))
    return written


# ------------------------------------------------------------------------------------------------
# who is invited
# ------------------------------------------------------------------------------------------------

def _open_during(d: dict, spec: FeedbackWave) -> bool:
    """Registered at least 30 days before fieldwork starts and not closed before it starts."""
    start = spec.fieldwork_start.toordinal()
    return d["registration"] <= start - 30 and (d["closure"] is None or d["closure"] >= start)


def _invite(rng: np.random.Generator, spec: FeedbackWave, dossiers: list[dict], previous: list[str],
            cases: dict[str, _Case], used: set[str]) -> list[_Case]:
    eligible = [d for d in dossiers if _open_during(d, spec)]
    by_id = {d["dossier_id"]: d for d in eligible}
    still_open = [i for i in previous if i in by_id]
    n_back = min(len(still_open), int(round(RETURNING_SHARE * len(still_open))))
    back = sorted(int(i) for i in rng.choice(len(still_open), size=n_back, replace=False)) if n_back else []
    chosen = [still_open[i] for i in back]
    fresh = [d["dossier_id"] for d in eligible if d["dossier_id"] not in cases]
    n_new = min(len(fresh), spec.n_dossiers - len(chosen))
    chosen += [fresh[int(i)] for i in sorted(rng.choice(len(fresh), size=n_new, replace=False))]
    out = []
    for dossier_id in sorted(chosen):
        case = cases.get(dossier_id)
        if case is None:
            case = _new_case(rng, by_id[dossier_id], spec, used)
            cases[dossier_id] = case
        out.append(case)
    return out


def _new_case(rng: np.random.Generator, dossier: dict, spec: FeedbackWave, used: set[str]) -> _Case:
    case = _Case(dossier, level=float(rng.normal(0.0, 0.45)))
    n_parents = 1 + int(rng.random() < 0.45)
    n_network = int(rng.choice(3, p=[0.40, 0.35, 0.25]))
    for role, n, rate in ((ROLE_PARENT, n_parents, 0.82), (ROLE_NETWORK, n_network, 0.60)):
        for _ in range(n):
            case.persons.append(_Person(_new_token(rng, used), role, float(rng.normal(0.0, 0.75)), rate))
    age = spec.fieldwork_start.year - dossier["child"]["birth_year"]
    if age in CHILD_AGES:
        case.child = _Person(_new_token(rng, used), 0, float(rng.normal(0.0, 0.8)), 0.70)
    return case


def _propensity(case: _Case, events: dict[str, list[tuple[int, str]]], spec: FeedbackWave,
                effects: dict[str, float]) -> float:
    """Region effect + practice breadth before the end of fieldwork + dossier level + wave change."""
    end = spec.fieldwork_end.toordinal()
    done = {kind for day, kind in events.get(case.dossier["dossier_id"], ()) if day <= end}
    practice = sum(w for kind, w in effects.items() if kind in done)
    return REGION_EFFECT[case.dossier["region"]] + practice + case.level + spec.shift


# ------------------------------------------------------------------------------------------------
# answers
# ------------------------------------------------------------------------------------------------

def _cut(shares: np.ndarray, driver: float) -> int:
    """Category (1-based) of a N(0, 1)-scaled driver at the cut points that give ``shares`` at 0."""
    cuts = [NormalDist().inv_cdf(float(c)) for c in np.cumsum(shares)[:-1]]
    return 1 + int(np.searchsorted(cuts, driver))


def _timing(rng: np.random.Generator, spec: FeedbackWave, minutes: float) -> tuple[datetime, datetime]:
    days = [spec.fieldwork_start + timedelta(days=k) for k in range((spec.fieldwork_end - spec.fieldwork_start).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    day = days[int(rng.integers(len(days)))]
    start = datetime.combine(day, time(8, 0)) + timedelta(seconds=int(rng.integers(0, 12 * 3600)))
    return start, start + timedelta(seconds=round(minutes * 60))


def _client_answer(rng: np.random.Generator, spec: FeedbackWave, case: _Case, person: _Person,
                   base: float) -> _Answer:
    network = person.role == ROLE_NETWORK
    propensity = base + person.trait
    complete = rng.random() >= 0.04
    lastpage = CLIENT_LAST_PAGE if complete else int(rng.integers(1, CLIENT_LAST_PAGE))
    values: dict[str, float | str | None] = {c: None for c in CLIENT_COLUMNS[7:]}
    values["OPMERKING"] = ""
    values["ROL"] = float(person.role)
    for k, column in enumerate(CLIENT_ITEMS):
        draw = rng.random()
        if draw < 0.015:
            continue                                                  # skipped (system-missing)
        not_applicable = (0.10 if network else 0.02) if k == 3 else (0.03 if network else 0.005)
        if draw < 0.015 + not_applicable:
            values[column] = NOT_APPLICABLE
        elif draw < 0.015 + not_applicable + (0.05 if network else 0.02):
            values[column] = DONT_KNOW
        else:
            driver = 0.8 * propensity + 0.6 * float(rng.standard_normal())
            values[column] = float(_cut(AGREE_SHARES, driver))
    days_open = spec.fieldwork_end.toordinal() - case.dossier["registration"]
    time_effect = min(1.0, days_open / 540)
    safety = 5.4 + 1.3 * propensity + 1.6 * time_effect + 1.3 * float(rng.standard_normal())
    progress = 4.2 + 1.2 * propensity + 2.2 * time_effect + 1.4 * float(rng.standard_normal())
    for column, score, dont_know in (("SCHAAL_SQ001", safety, 0.08 if network else 0.03),
                                     ("SCHAAL_SQ002", progress, 0.10 if network else 0.04)):
        draw = rng.random()
        if draw < 0.01:
            continue
        values[column] = DONT_KNOW if draw < 0.01 + dont_know else float(min(10, max(0, round(score))))
    for column in CLIENT_COLUMNS[7:]:                                  # an incomplete response stops early
        if not complete and CLIENT_PAGES[column] >= lastpage:
            values[column] = "" if column == "OPMERKING" else None
    start, end = _timing(rng, spec, float(np.exp(rng.normal(math.log(6.0), 0.4))) * (lastpage / CLIENT_LAST_PAGE))
    return _Answer(person, case, complete, lastpage, start, end, values)


def _child_answer(rng: np.random.Generator, spec: FeedbackWave, case: _Case, person: _Person,
                  base: float) -> _Answer:
    propensity = 0.7 * base + person.trait
    complete = rng.random() >= 0.05
    lastpage = CHILD_LAST_PAGE if complete else 1
    values: dict[str, float | str | None] = {}
    for column in CHILD_ITEMS:
        draw = rng.random()
        if not complete or draw < 0.01:
            values[column] = ""
        elif draw < 0.05:
            values[column] = "A9"                                      # weet ik niet
        else:
            driver = 0.75 * propensity + 0.66 * float(rng.standard_normal())
            values[column] = f"A{_cut(CHILD_SHARES, driver)}"
    safety = 6.3 + 1.4 * propensity + 1.5 * float(rng.standard_normal())
    values[CHILD_SCALE] = str(int(min(10, max(0, round(safety))))) if complete and rng.random() >= 0.02 else ""
    start, end = _timing(rng, spec, float(np.exp(rng.normal(math.log(4.0), 0.35))) * (lastpage / CHILD_LAST_PAGE))
    return _Answer(person, case, complete, lastpage, start, end, values,
                   seed=int(rng.integers(10_000_000, 2_000_000_000)))


def _add_open_answers(rng: np.random.Generator, answers: list[_Answer]) -> None:
    eligible = [i for i, a in enumerate(answers) if a.complete]
    if not eligible:
        return
    n = min(len(eligible), int(rng.integers(2, len(CLIENT_OPEN_ANSWERS) + 1)))
    texts = rng.choice(len(CLIENT_OPEN_ANSWERS), size=n, replace=False)
    for i, t in zip(sorted(int(i) for i in rng.choice(eligible, size=n, replace=False)), texts):
        answers[i].values["OPMERKING"] = CLIENT_OPEN_ANSWERS[int(t)]


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------

def _client_sav_bytes(spec: FeedbackWave, answers: list[_Answer]) -> bytes:
    """The wave as an SPSS file (ids in order of start time), with a fixed header timestamp."""
    ordered = sorted(answers, key=lambda a: (a.start, a.person.token))
    rows = []
    for rid, a in enumerate(ordered, start=1):
        rows.append({
            "id": float(rid), "submitdate": a.end if a.complete else None, "lastpage": float(a.lastpage),
            "startlanguage": "nl", "token": a.person.token, "DOSSIER": a.case.dossier["dossier_id"],
            "startdate": a.start, **a.values,
        })
    frame = pd.DataFrame(rows, columns=CLIENT_COLUMNS)
    for column in ("submitdate", "startdate"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    for column in ("id", "lastpage", "ROL", *CLIENT_ITEMS, *CLIENT_SCALES):
        frame[column] = frame[column].astype("float64")
    for column in ("startlanguage", "token", "DOSSIER", "OPMERKING"):
        frame[column] = frame[column].fillna("").astype(str)
    agree = {**AGREE_LABELS, NOT_APPLICABLE: "niet van toepassing", DONT_KNOW: "weet niet"}
    value_labels = {"ROL": {1.0: "ouder", 2.0: "netwerklid"}, **{c: agree for c in CLIENT_ITEMS},
                    "SCHAAL_SQ001": {0.0: "helemaal niet veilig", 10.0: "veilig genoeg om af te sluiten",
                                     DONT_KNOW: "weet niet"},
                    "SCHAAL_SQ002": {0.0: "geen vooruitgang", 10.0: "alles bereikt", DONT_KNOW: "weet niet"}}
    missing = {**{c: [NOT_APPLICABLE, DONT_KNOW] for c in CLIENT_ITEMS}, **{c: [DONT_KNOW] for c in CLIENT_SCALES}}
    measure = {"ROL": "nominal", **{c: "ordinal" for c in CLIENT_ITEMS}, **{c: "scale" for c in CLIENT_SCALES}}
    formats = {"id": "F8.0", "lastpage": "F2.0", "ROL": "F1.0", **{c: "F2.0" for c in CLIENT_ITEMS},
               **{c: "F2.0" for c in CLIENT_SCALES}}
    fd, tmp = tempfile.mkstemp(suffix=".sav")
    os.close(fd)
    try:
        pyreadstat.write_sav(frame, tmp, file_label=f"Feedback ouders en netwerk {spec.wave}",
                             column_labels=VARIABLE_LABELS, variable_value_labels=value_labels,
                             missing_ranges=missing, variable_measure=measure, variable_format=formats)
        data = Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)
    return _fix_sav_timestamp(data, datetime.combine(spec.fieldwork_end, time(17, 0)))


def _fix_sav_timestamp(data: bytes, when: datetime) -> bytes:
    """Replace the creation date and time ReadStat writes into a ``.sav`` header (``dd Mon yy`` at
    byte 92, ``hh:mm:ss`` at byte 101) by ``when``, so that rewriting the same data gives the same bytes.

    Raises:
        ValueError: the header does not look like an SPSS system file header with a timestamp there.
    """
    if not data.startswith(b"$FL2") or not _SAV_STAMP.match(data[_SAV_STAMP_AT]):
        raise ValueError("not an SPSS .sav header with a creation timestamp at bytes 92-108")
    stamp = f"{when.day:02d} {_SPSS_MONTHS[when.month - 1]} {when.year % 100:02d}{when:%H:%M:%S}".encode("ascii")
    return data[:_SAV_STAMP_AT.start] + stamp + data[_SAV_STAMP_AT.stop:]


def _child_csv_bytes(answers: list[_Answer]) -> bytes:
    """The RemoteControl CSV of a child wave: BOM, ``;``, every field quoted, CRLF; ids by start time."""
    header = [*METADATA_COLUMNS, "DOSSIER", *CHILD_ITEMS, CHILD_SCALE, *TIMING_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    fmt = "%Y-%m-%d %H:%M:%S"
    for rid, a in enumerate(sorted(answers, key=lambda a: (a.start, a.person.token)), start=1):
        meta = [str(rid), a.end.strftime(fmt) if a.complete else "", str(a.lastpage), "nl", str(a.seed),
                a.person.token, a.start.strftime(fmt), a.end.strftime(fmt)]
        timing = [f"{(a.end - a.start).total_seconds():.2f}", f"{(a.end - a.start).total_seconds() / 2:.2f}"]
        writer.writerow(meta + [a.case.dossier["dossier_id"]] + [str(a.values[c]) for c in (*CHILD_ITEMS, CHILD_SCALE)]
                        + timing)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _wave_yaml(spec: FeedbackWave, instrument: str) -> bytes:
    return (f"# Demo wave {spec.wave} of {instrument} (generated by orchestration.demo.feedback)\n"
            f"fieldwork_start: {spec.fieldwork_start.isoformat()}\n"
            f"fieldwork_end: {spec.fieldwork_end.isoformat()}\n"
            "anonymised: false\n").encode("utf-8")
