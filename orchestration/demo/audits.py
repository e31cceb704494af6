"""Demo collaborative case audits on the demo dossiers (SPEC 3.1, 3.3; marts of SPEC 4, 5).

:func:`write_demo_audits` writes four half-yearly waves of ``case_audit`` into a landing zone::

    <landing>/surveys/case_audit/<wave>/responses.csv   LimeSurvey RemoteControl CSV
    <landing>/surveys/case_audit/<wave>/wave.yaml       wave = 2024H1, 2024H2, 2025H1, 2025H2

The audit design. Every half year each team puts :data:`DOSSIERS_PER_TEAM` of its dossiers before
the audit panel: a random sample of the dossiers that were open at the start of the audit period,
registered at least 90 days before it, and not audited before. The dossiers are the synthetic
history of :mod:`orchestration.demo.dossiers` (regenerated from the seed ``write_demo_dossiers``
uses, as :mod:`orchestration.demo.feedback` does), and every one of them is in the latest extract,
so after pseudonymisation ``dossier_key`` joins ``marts.fct_dossier``. Each response carries the
dossier id (``DOSSIER``) exactly as the extracts write it.

The panel. Per team its team leader, per region :data:`PEERS_PER_REGION` peers (consultants who
audit dossiers of other teams) and :data:`N_EXTERNAL` external auditors (SofS practice consultants)
for all of Flanders. An auditor has one LimeSurvey token with several uses (``token`` =
the auditor, the same in every wave) and scores several dossiers per wave. A dossier is scored by
one auditor (role drawn from :data:`FIRST_ROLE_SHARES`); about :data:`DOUBLE_SHARE` of the dossiers
are scored a second time, independently and some days later, by an auditor of another role.

What the scores follow. A dossier's true depth is a team effect, a region effect, a small
improvement per wave and noise, plus the Signs of Safety steps recorded in the dossier before the
audit (a mapping raises the danger statement, goal and mapping items, Three Houses or Words and
Pictures the child's voice, network meetings and a safety plan the network and plan items, scaling
questions the safety scale). Each auditor adds a severity of their own (team leaders are lenient,
external auditors strict) and rating noise, so two auditors of one dossier agree well but not
perfectly (quadratic-weighted kappa about 0.7). Code 9 (niet te beoordelen) is frequent for the
child's voice of children under three and rare elsewhere; a few answers are empty and about 2 % of
the audits are left after the first rubric page (incomplete: no ``submitdate``).

Deterministic: its own seeded :class:`numpy.random.Generator` (:data:`AUDIT_SEED`), so the other demo
files do not change; the same seeds give the same bytes, unchanged files are not rewritten.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from orchestration.demo.dossiers import EXTRACT_DATES, REGIONS, TEAMS, _Population
from orchestration.demo.feedback import DOSSIER_SEED
from orchestration.demo.surveys import METADATA_COLUMNS, TIMING_COLUMNS, _new_token, _write_if_changed

AUDIT_SEED = 2024_11
DOSSIERS_PER_TEAM = 5
PEERS_PER_REGION = 3
N_EXTERNAL = 3
DOUBLE_SHARE = 0.15
ROLE_LEADER, ROLE_PEER, ROLE_EXTERNAL = 1, 2, 3
FIRST_ROLE_SHARES = {ROLE_LEADER: 0.45, ROLE_PEER: 0.40, ROLE_EXTERNAL: 0.15}
#: Mean severity per role (score points): added to the true item level before rounding.
ROLE_SEVERITY = {ROLE_LEADER: 0.25, ROLE_PEER: 0.0, ROLE_EXTERNAL: -0.2}
RATING_NOISE = 0.55

ITEMS = [f"RUB[SQ00{i}]" for i in range(1, 9)]
COLUMNS = [*METADATA_COLUMNS, "DOSSIER", "ROL", *ITEMS, *TIMING_COLUMNS]
#: Page of each column: 1 DOSSIER, ROL; 2 RUB 1-4; 3 RUB 5-8.
PAGE = {"ROL": 1, **{c: 2 for c in ITEMS[:4]}, **{c: 3 for c in ITEMS[4:]}}
LAST_PAGE = 3
NOT_ASSESSABLE = "9"


@dataclass(frozen=True)
class AuditWave:
    """One half-yearly audit round: the period in which the panel meets."""

    wave: str
    fieldwork_start: date
    fieldwork_end: date
    shift: float = 0.0   # improvement of practice depth since the first round (score points)


WAVES: tuple[AuditWave, ...] = (
    AuditWave("2024H1", date(2024, 3, 4), date(2024, 6, 21)),
    AuditWave("2024H2", date(2024, 9, 2), date(2024, 12, 13), shift=0.10),
    AuditWave("2025H1", date(2025, 3, 3), date(2025, 6, 20), shift=0.20),
    AuditWave("2025H2", date(2025, 9, 1), date(2025, 12, 12), shift=0.30),
)

#: Region effect on practice depth (score points).
REGION_EFFECT = {"Antwerpen": -0.15, "Limburg": 0.10, "Oost-Vlaanderen": 0.05,
                 "Vlaams-Brabant en Brussel": -0.10, "West-Vlaanderen": 0.20}


@dataclass(frozen=True)
class _Auditor:
    token: str
    role: int
    region: str | None       # leaders and peers audit in their region; external auditors anywhere
    team: str | None         # a leader's own team
    severity: float


@dataclass
class _Audit:
    auditor: _Auditor
    dossier_id: str
    start: datetime
    end: datetime
    complete: bool
    lastpage: int
    codes: dict[str, str]
    seed: int


def write_demo_audits(landing: Path, seed: int = AUDIT_SEED, dossier_seed: int = DOSSIER_SEED) -> list[Path]:
    """Write the demo ``case_audit`` waves into ``landing``.

    Args:
        landing: landing-zone root; ``surveys/case_audit/<wave>/`` is created below it.
        seed: seed of the generator for samples, auditors and scores (same seed, same bytes).
        dossier_seed: seed the demo dossier extracts were written with (``write_demo_dossiers``' default).

    Returns:
        The written paths, per wave ``responses.csv`` then ``wave.yaml``, waves in order.
    """
    population = _Population(np.random.default_rng(dossier_seed))
    last_day = EXTRACT_DATES[-1].toordinal()
    dossiers = [d for d in population.dossiers if d["deleted_after"] is None and d["registration"] <= last_day]
    events: dict[str, list[tuple[int, str]]] = {}
    for e in population.events:
        events.setdefault(e["dossier"]["dossier_id"], []).append((e["date"], e["type"]))

    rng = np.random.default_rng(seed)
    panel = _panel(rng)
    team_effect = {team: float(rng.normal(0.0, 0.35)) for region in REGIONS for team in TEAMS[region]}
    audited: set[str] = set()
    written: list[Path] = []
    for spec in WAVES:
        audits: list[_Audit] = []
        for region in REGIONS:
            for team in TEAMS[region]:
                for dossier in _sample(rng, spec, dossiers, team, audited):
                    audits += _audit_dossier(rng, spec, dossier, events.get(dossier["dossier_id"], []), panel,
                                             team_effect[team])
        folder = Path(landing) / "surveys" / "case_audit" / spec.wave
        folder.mkdir(parents=True, exist_ok=True)
        written.append(_write_if_changed(folder / "responses.csv", _csv_bytes(audits)))
        written.append(_write_if_changed(folder / "wave.yaml", _wave_yaml(spec)))
    return written


def _panel(rng: np.random.Generator) -> list[_Auditor]:
    used: set[str] = set()
    panel = []
    for region in REGIONS:
        for team in TEAMS[region]:
            panel.append(_Auditor(_new_token(rng, used), ROLE_LEADER, region, team,
                                  ROLE_SEVERITY[ROLE_LEADER] + float(rng.normal(0, 0.15))))
        for _ in range(PEERS_PER_REGION):
            panel.append(_Auditor(_new_token(rng, used), ROLE_PEER, region, None,
                                  ROLE_SEVERITY[ROLE_PEER] + float(rng.normal(0, 0.15))))
    for _ in range(N_EXTERNAL):
        panel.append(_Auditor(_new_token(rng, used), ROLE_EXTERNAL, None, None,
                              ROLE_SEVERITY[ROLE_EXTERNAL] + float(rng.normal(0, 0.15))))
    return panel


def _sample(rng: np.random.Generator, spec: AuditWave, dossiers: list[dict], team: str, audited: set[str]) -> list[dict]:
    start = spec.fieldwork_start.toordinal()
    eligible = [d for d in dossiers if d["team"] == team and d["dossier_id"] not in audited
                and d["registration"] <= start - 90 and (d["closure"] is None or d["closure"] >= start)]
    n = min(DOSSIERS_PER_TEAM, len(eligible))
    chosen = [eligible[int(i)] for i in sorted(rng.choice(len(eligible), size=n, replace=False))] if n else []
    audited.update(d["dossier_id"] for d in chosen)
    return chosen


def _pick(rng: np.random.Generator, panel: list[_Auditor], role: int, dossier: dict,
          exclude: _Auditor | None) -> _Auditor:
    if role == ROLE_LEADER:
        pool = [a for a in panel if a.role == role and a.team == dossier["team"]]
    elif role == ROLE_PEER:
        pool = [a for a in panel if a.role == role and a.region == dossier["region"]]
    else:
        pool = [a for a in panel if a.role == role]
    pool = [a for a in pool if a is not exclude]
    return pool[int(rng.integers(len(pool)))]


def _true_levels(rng: np.random.Generator, spec: AuditWave, dossier: dict, done: set[str], team_effect: float) -> list[float]:
    depth = 2.0 + team_effect + REGION_EFFECT[dossier["region"]] + spec.shift + float(rng.normal(0.0, 0.55))
    mapping = "mapping" in done
    voice = bool({"three_houses", "words_and_pictures"} & done)
    plan = "safety_plan" in done
    effects = [
        0.8 if mapping else -0.3,                                              # danger statement
        (0.5 if mapping else -0.2) + (0.3 if plan else 0.0),                   # safety goal
        1.2 if mapping else -0.9,                                              # mapping
        1.3 if voice else -0.6,                                                # child's voice
        (0.7 if "network_meeting" in done else -0.4) + (0.5 if plan else 0.0),  # network in the plan
        1.3 if plan else -0.9,                                                 # safety plan
        0.9 if "scaling_question" in done else -0.7,                           # safety scale
        0.3,                                                                   # next steps
    ]
    return [depth + e + float(rng.normal(0.0, 0.45)) for e in effects]


def _audit_dossier(rng: np.random.Generator, spec: AuditWave, dossier: dict, dossier_events: list[tuple[int, str]],
                   panel: list[_Auditor], team_effect: float) -> list[_Audit]:
    days = [spec.fieldwork_start + timedelta(days=k) for k in range((spec.fieldwork_end - spec.fieldwork_start).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    first_day = days[int(rng.integers(len(days)))]
    done = {kind for day, kind in dossier_events if day <= first_day.toordinal()}
    levels = _true_levels(rng, spec, dossier, done, team_effect)
    child_age = first_day.year - dossier["child"]["birth_year"]
    roles = list(FIRST_ROLE_SHARES)
    first_role = roles[int(rng.choice(len(roles), p=list(FIRST_ROLE_SHARES.values())))]
    first = _pick(rng, panel, first_role, dossier, None)
    out = [_score(rng, first, dossier, levels, child_age, first_day)]
    if rng.random() < DOUBLE_SHARE:
        other_roles = [r for r in roles if r != first_role]
        second = _pick(rng, panel, other_roles[int(rng.integers(len(other_roles)))], dossier, first)
        later = [d for d in days if first_day < d <= first_day + timedelta(days=21)] or [first_day]
        out.append(_score(rng, second, dossier, levels, child_age, later[int(rng.integers(len(later)))]))
    return out


def _score(rng: np.random.Generator, auditor: _Auditor, dossier: dict, levels: list[float], child_age: int,
           day: date) -> _Audit:
    complete = rng.random() >= 0.02
    lastpage = LAST_PAGE if complete else 2
    codes: dict[str, str] = {"ROL": str(auditor.role)}
    for k, (column, level) in enumerate(zip(ITEMS, levels)):
        draw = rng.random()
        if PAGE[column] >= lastpage and not complete:
            codes[column] = ""
        elif draw < 0.008:
            codes[column] = ""
        elif (k == 3 and child_age < 3 and draw < 0.6) or draw < 0.03:
            codes[column] = NOT_ASSESSABLE
        else:
            score = level + auditor.severity + float(rng.normal(0.0, RATING_NOISE))
            codes[column] = str(int(min(4, max(0, round(score)))))
    start = datetime.combine(day, time(9, 0)) + timedelta(seconds=int(rng.integers(0, 7 * 3600)))
    minutes = float(np.exp(rng.normal(math.log(35.0), 0.3))) * (lastpage / LAST_PAGE)
    return _Audit(auditor, dossier["dossier_id"], start, start + timedelta(seconds=round(minutes * 60)), complete,
                  lastpage, codes, int(rng.integers(10_000_000, 2_000_000_000)))


def _csv_bytes(audits: list[_Audit]) -> bytes:
    """The RemoteControl CSV of a wave: BOM, ``;``, every field quoted, CRLF; ids by start time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    fmt = "%Y-%m-%d %H:%M:%S"
    for rid, a in enumerate(sorted(audits, key=lambda a: (a.start, a.auditor.token, a.dossier_id)), start=1):
        seconds = (a.end - a.start).total_seconds()
        writer.writerow([str(rid), a.end.strftime(fmt) if a.complete else "", str(a.lastpage), "nl", str(a.seed),
                         a.auditor.token, a.start.strftime(fmt), a.end.strftime(fmt), a.dossier_id,
                         *[a.codes[c] for c in ("ROL", *ITEMS)], f"{seconds:.2f}", f"{seconds / 2:.2f}"])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _wave_yaml(spec: AuditWave) -> bytes:
    return (f"# Demo audit round {spec.wave} of case_audit (generated by orchestration.demo.audits)\n"
            f"fieldwork_start: {spec.fieldwork_start.isoformat()}\n"
            f"fieldwork_end: {spec.fieldwork_end.isoformat()}\n"
            "anonymised: false\n").encode("utf-8")
