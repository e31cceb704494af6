"""Demo waves of two more respondent groups: team leaders and external partners (SPEC 3.1, 3.3).

:func:`write_demo_groups` writes LimeSurvey RemoteControl exports into a landing zone::

    <landing>/surveys/leader_self_assessment/<wave>/responses.csv   wave = 2023, 2025
    <landing>/surveys/leader_self_assessment/<wave>/wave.yaml
    <landing>/surveys/partner_survey/<wave>/responses.csv           wave = 2024, 2025
    <landing>/surveys/partner_survey/<wave>/wave.yaml

Who answers. ``leader_self_assessment`` (population ``leader``): the 18 team leaders of the demo's
teams (:data:`orchestration.demo.dossiers.TEAMS`), region and years in the role as attributes; most
answer both waves under the same token, a few leaders are new in 2025 (a team changed leader).
``partner_survey`` (population ``partner``): about 160 professional partners (schools, CAW, child
psychiatry, police, foster and residential care ...) of the five regions; about 45 % of the 2024
partners answer again in 2025 under their token.

What the answers follow. Every respondent has one latent score per construct of the instrument
(correlated through a general factor); every item loads on its construct, reverse-scored items the
other way round. Leaders rate themselves high (self-assessments are lenient) and highest on care,
lowest on steering (monitoring with figures is new); partners rate availability lowest and improve a
little from 2024 to 2025. A few answers are ``A9`` (weet niet, a declared missing code) or empty, and
a few responses are incomplete (empty ``submitdate``, later pages empty).

Files are written like the staff survey's (:mod:`orchestration.demo.surveys`): UTF-8 with BOM, ``;``,
every field quoted, CRLF, question-code headings, answer codes. Everything is drawn from seeded
:class:`numpy.random.Generator` objects of their own (seeds :data:`LEADER_SEED`, :data:`PARTNER_SEED`),
so the other demo files are unchanged; the same seeds give the same bytes and unchanged files are not
rewritten.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np

from orchestration.demo.dossiers import REGIONS, TEAMS
from orchestration.demo.surveys import METADATA_COLUMNS, TIMING_COLUMNS, _new_token, _write_if_changed
from orchestration.instruments import Instrument, load_instrument

LEADER_SEED = 2023_07
PARTNER_SEED = 2024_07

#: Region codes of the ``region`` scheme of both instruments (alphabetical, as in the staff survey).
REGION_CODE = {"Antwerpen": 1, "Limburg": 2, "Oost-Vlaanderen": 3, "Vlaams-Brabant en Brussel": 4,
               "West-Vlaanderen": 5}


@dataclass(frozen=True)
class GroupWave:
    """One wave of a group survey: fieldwork window, change of the latent scores, incomplete share."""

    wave: str
    fieldwork_start: date
    fieldwork_end: date
    shift: float = 0.0
    incomplete_share: float = 0.04


LEADER_WAVES = (GroupWave("2023", date(2023, 11, 6), date(2023, 11, 24)),
                GroupWave("2025", date(2025, 11, 3), date(2025, 11, 21), shift=0.3))
PARTNER_WAVES = (GroupWave("2024", date(2024, 3, 4), date(2024, 3, 29)),
                 GroupWave("2025", date(2025, 3, 3), date(2025, 3, 28), shift=0.2))

#: Mean latent level per construct (standard deviations; 0 gives the middle category 3 most often).
LEADER_LEVEL = {"steering": 0.55, "care": 1.05, "inspiration": 0.8}
PARTNER_LEVEL = {"shared_language": 0.2, "collaboration": 0.45, "availability": -0.15}
#: Sector codes of ``partner_survey`` and their shares.
SECTOR_SHARES = np.array([0.30, 0.14, 0.12, 0.10, 0.14, 0.14, 0.06])
N_PARTNERS_2024, N_PARTNERS_2025_NEW, PARTNER_RETURN = 150, 85, 0.45


@dataclass
class _Respondent:
    token: str
    attributes: dict[str, str]
    latent: dict[str, float]
    answer_rate: float


def write_demo_groups(landing: Path, instruments_dir: Path) -> list[Path]:
    """Write the demo waves of ``leader_self_assessment`` and ``partner_survey`` into ``landing``.

    Args:
        landing: landing-zone root; ``surveys/<instrument>/<wave>/`` is created below it.
        instruments_dir: folder with ``leader_self_assessment.yaml`` and ``partner_survey.yaml`` (item
            order, source columns, codes, constructs and reverse flags come from them).

    Returns:
        The written paths, per instrument and wave ``responses.csv`` then ``wave.yaml``.
    """
    written = _leaders(Path(landing), load_instrument(Path(instruments_dir) / "leader_self_assessment.yaml"))
    written += _partners(Path(landing), load_instrument(Path(instruments_dir) / "partner_survey.yaml"))
    return written


def _latent(rng: np.random.Generator, levels: dict[str, float]) -> dict[str, float]:
    general = float(rng.standard_normal())
    return {c: level + 0.55 * general + 0.65 * float(rng.standard_normal()) for c, level in levels.items()}


def _leaders(landing: Path, instrument: Instrument) -> list[Path]:
    rng = np.random.default_rng(LEADER_SEED)
    used: set[str] = set()
    leaders = {}
    for region in sorted(TEAMS):
        for team in TEAMS[region]:
            leaders[team] = _Respondent(_new_token(rng, used), {"REGIO": str(REGION_CODE[region]),
                                                                "JAREN": str(int(rng.choice(3, p=[0.25, 0.4, 0.35])) + 1)},
                                        _latent(rng, LEADER_LEVEL), 0.92)
    written: list[Path] = []
    for k, spec in enumerate(LEADER_WAVES):
        if k:   # a few teams got a new leader; the others are two years longer in the role
            for team in sorted(leaders):
                old = leaders[team]
                if rng.random() < 0.2:
                    leaders[team] = _Respondent(_new_token(rng, used), {"REGIO": old.attributes["REGIO"], "JAREN": "1"},
                                                _latent(rng, LEADER_LEVEL), 0.92)
                else:
                    old.attributes["JAREN"] = str(min(3, int(old.attributes["JAREN"]) + 1))
        people = [leaders[t] for t in sorted(leaders)]
        written += _write_wave(rng, landing, instrument, spec, people)
    return written


def _partners(landing: Path, instrument: Instrument) -> list[Path]:
    rng = np.random.default_rng(PARTNER_SEED)
    used: set[str] = set()

    def partner() -> _Respondent:
        region = REGIONS[int(rng.choice(len(REGIONS), p=[0.28, 0.23, 0.18, 0.17, 0.14]))]
        sector = int(rng.choice(len(SECTOR_SHARES), p=SECTOR_SHARES)) + 1
        latent = _latent(rng, PARTNER_LEVEL)
        if sector in (5, 6):        # foster and residential care work closest with the consultants
            latent = {c: v + 0.3 for c, v in latent.items()}
        return _Respondent(_new_token(rng, used), {"SECTOR": str(sector), "REGIO": str(REGION_CODE[region])},
                           latent, 1.0)

    first = [partner() for _ in range(N_PARTNERS_2024)]
    back = [p for p in first if rng.random() < PARTNER_RETURN]
    second = back + [partner() for _ in range(N_PARTNERS_2025_NEW)]
    written = _write_wave(rng, landing, instrument, PARTNER_WAVES[0], first)
    written += _write_wave(rng, landing, instrument, PARTNER_WAVES[1], second)
    return written


def _page(source: str) -> int:
    """Page of a column in both instruments: attributes on page 1, then one page per question group."""
    pages = {"REGIO": 1, "JAREN": 1, "SECTOR": 1, "STUUR": 2, "ZORG": 3, "INSP": 4, "TAAL": 2, "SAMW": 3,
             "BESCH": 4}
    return pages.get(source.split("[")[0], 1)


def _write_wave(rng: np.random.Generator, landing: Path, instrument: Instrument, spec: GroupWave,
                people: list[_Respondent]) -> list[Path]:
    cuts = [NormalDist().inv_cdf(p) for p in (0.06, 0.17, 0.40, 0.78)]   # categories 1..5 at latent 0
    columns = [it.source_for(spec.wave) for it in instrument.items]
    last_page = max(_page(c) for c in columns)
    rows = []
    for person in people:
        if rng.random() >= person.answer_rate:
            continue
        complete = rng.random() >= spec.incomplete_share
        lastpage = last_page if complete else int(rng.integers(1, last_page))
        codes: dict[str, str] = {}
        for it in instrument.items:
            column = it.source_for(spec.wave)
            if not complete and _page(column) >= lastpage:
                codes[column] = ""
            elif it.role == "attribute":
                codes[column] = person.attributes[column]
            else:
                draw = rng.random()
                if draw < 0.01:
                    codes[column] = ""
                elif draw < 0.035:
                    codes[column] = "A9"
                else:
                    level = person.latent[it.construct] + spec.shift
                    driver = 0.8 * (-level if it.reverse else level) + 0.6 * float(rng.standard_normal())
                    codes[column] = f"A{1 + int(np.searchsorted(cuts, driver))}"
        days = [spec.fieldwork_start + timedelta(days=d) for d in range((spec.fieldwork_end - spec.fieldwork_start).days + 1)]
        days = [d for d in days if d.weekday() < 5]
        start = datetime.combine(days[int(rng.integers(len(days)))], time(8, 0)) + timedelta(
            seconds=int(rng.integers(0, 10 * 3600)))
        minutes = float(np.exp(rng.normal(math.log(7.0), 0.35))) * (lastpage / last_page)
        rows.append((start, person.token, complete, lastpage, start + timedelta(seconds=round(minutes * 60)), codes,
                     int(rng.integers(10_000_000, 2_000_000_000))))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(METADATA_COLUMNS + columns + TIMING_COLUMNS)
    fmt = "%Y-%m-%d %H:%M:%S"
    for rid, (start, token, complete, lastpage, end, codes, seed) in enumerate(sorted(rows, key=lambda r: (r[0], r[1])),
                                                                              start=1):
        meta = [str(rid), end.strftime(fmt) if complete else "", str(lastpage), "nl", str(seed), token,
                start.strftime(fmt), end.strftime(fmt)]
        seconds = (end - start).total_seconds()
        writer.writerow(meta + [codes[c] for c in columns] + [f"{seconds:.2f}", f"{seconds / 3:.2f}"])
    folder = landing / "surveys" / instrument.instrument / spec.wave
    folder.mkdir(parents=True, exist_ok=True)
    wave_yaml = (f"# Demo wave {spec.wave} of {instrument.instrument} (generated by orchestration.demo.groups)\n"
                 f"fieldwork_start: {spec.fieldwork_start.isoformat()}\n"
                 f"fieldwork_end: {spec.fieldwork_end.isoformat()}\n"
                 "anonymised: false\n").encode("utf-8")
    return [_write_if_changed(folder / "responses.csv", b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")),
            _write_if_changed(folder / "wave.yaml", wave_yaml)]
