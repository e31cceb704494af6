"""Synthetic dossier extracts for the demo (input contract SPEC 3.4).

Writes quarterly full snapshots of a plausible, entirely synthetic case-management population:

- about 6,000 dossiers registered from 2019 on, over the five OSD regions and both services
  (OCJ voluntary, SDJ court-ordered; SDJ dossiers run longer and are placed more often);
- closures from a few weeks to several years after registration (log-normal), some still open;
- out-of-home placements for roughly one dossier in eight, some with moves between placements,
  some ongoing;
- reopenings: for roughly one closed dossier in six the same child gets a new dossier within a year
  (a few on the closure day itself, a few later than a year), sometimes in the other service;
- Signs of Safety practice events (mapping, three houses, words and pictures, network meetings,
  safety plans, scaling questions) in a share of dossiers that grows from ~10% (2019) to ~80% (2025).

Later extracts agree with earlier ones: a closure, placement end or event appears in the first extract
on or after its date. A few records are corrected between extracts (a registration date, a child id,
a team name) and two dossiers registered in error disappear again: these exercise the warnings of
SPEC 3.4. Older extracts (2022-2023) come from the "old export": cp1252, ``;`` separated, CRLF,
dates DD/MM/YYYY; from 2024 on UTF-8 (with BOM in 2024), ``,`` separated, ISO dates; the 2023-12-31
migration extract mixes both date forms between files. Child ids look like Belgian national register
numbers (valid check digits) but are generated, as is everything else.

Deterministic: the same seed gives the same files byte for byte (numpy ``Generator``, no clock, no
hash randomisation). All 16 extracts are written in about a second.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import numpy as np

from orchestration.contracts import dossier_extract as contract

#: Quarterly extract dates written by :func:`write_demo_dossiers`.
EXTRACT_DATES: list[date] = [
    date(year, month, day)
    for year in range(2022, 2026)
    for month, day in ((3, 31), (6, 30), (9, 30), (12, 31))
]

#: The regions of the extract contract (SPEC 3.4) in the demo's drawing order, with their shares of dossiers.
_REGION_SHARES = {"Antwerpen": 0.28, "Oost-Vlaanderen": 0.23, "West-Vlaanderen": 0.18,
                  "Vlaams-Brabant en Brussel": 0.17, "Limburg": 0.14}
REGIONS = list(_REGION_SHARES)
REGION_WEIGHTS = list(_REGION_SHARES.values())
TEAMS = {
    "Antwerpen": ["Antwerpen Noord", "Antwerpen Zuid", "Mechelen", "Turnhout"],
    "Oost-Vlaanderen": ["Gent Centrum", "Gent Rand", "Aalst", "Sint-Niklaas Waasland"],
    "West-Vlaanderen": ["Brugge Sint-André", "Kortrijk – Roeselare", "Oostende Westkust"],
    "Vlaams-Brabant en Brussel": ["Leuven", "Vilvoorde", "Brussel Noord-Oost", "Tienen – Hageland"],
    "Limburg": ["Hasselt", "Genk", "Sint-Truiden"],
}
#: A team renamed in the course of the demo period (the old name appears in extracts before 2024).
TEAM_RENAMES = {"Gent Rand": "Gent Rand (Lochristi)"}
#: The closure reasons of the extract contract (SPEC 3.4), in this order, with the weights below.
CLOSURE_REASONS = list(contract.CLOSURE_REASONS)
CLOSURE_REASON_WEIGHTS = [0.45, 0.2, 0.08, 0.07, 0.1, 0.1]
#: The placement types and raters of the extract contract, in its order, with the weights below.
PLACEMENT_TYPES = list(contract.PLACEMENT_TYPES)
PLACEMENT_TYPE_WEIGHTS = [0.33, 0.25, 0.32, 0.05, 0.05]
RATERS = list(contract.RATERS)
RATER_WEIGHTS = [0.6, 0.25, 0.1, 0.05]

_FIRST_REGISTRATION = date(2019, 1, 1).toordinal()
_LAST_DAY = EXTRACT_DATES[-1].toordinal()
_N_INDEX_DOSSIERS = 5200  # first dossiers of a child; reopenings bring the total to about 6,000


def write_demo_dossiers(landing: Path, seed: int = 20211) -> list[Path]:
    """Write the demo dossier extracts under ``landing/dossiers/<YYYY-MM-DD>/``.

    Args:
        landing: root of the landing zone (SPEC 3); ``dossiers/`` is created in it. Existing demo
            files are overwritten (so running twice leaves identical files and the SHA-256 change
            detector sees no new work).
        seed: seed of the numpy Generator; the same seed gives byte-identical files.

    Returns:
        The written files, 3 per extract (dossiers.csv, placements.csv, practice_events.csv) for the 16
        quarter ends 2022-03-31 .. 2025-12-31, in that order.
    """
    rng = np.random.default_rng(seed)
    population = _Population(rng)
    written: list[Path] = []
    for index, extract in enumerate(EXTRACT_DATES):
        folder = Path(landing) / "dossiers" / extract.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        style = _style(extract)
        tables = population.snapshot(extract.toordinal(), index)
        for fc in contract.CONTRACT:  # the files of the extract contract, in its order, with its columns
            date_style = style["dossier_dates"] if fc.table == contract.DOSSIERS else style["other_dates"]
            path = folder / fc.file
            path.write_bytes(_render(fc, tables[fc.name], style, date_style))
            written.append(path)
    return written


def _style(extract: date) -> dict:
    if extract.year <= 2023:
        old = {"encoding": "cp1252", "bom": False, "sep": ";", "newline": "\r\n",
               "dossier_dates": "dmy", "other_dates": "dmy"}
        if extract == date(2023, 12, 31):  # migration extract: placements and events already ISO
            old["other_dates"] = "iso"
        return old
    return {"encoding": "utf-8", "bom": extract.year == 2024, "sep": ",", "newline": "\n",
            "dossier_dates": "iso", "other_dates": "iso"}


_DATE_CACHE: dict[tuple[int, str], str] = {}


def _fmt_date(ordinal: int, style: str) -> str:
    key = (ordinal, style)
    text = _DATE_CACHE.get(key)
    if text is None:
        d = date.fromordinal(ordinal)
        text = d.isoformat() if style == "iso" else f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
        _DATE_CACHE[key] = text
    return text


def _render(fc: contract.FileContract, rows: list[dict], style: dict, date_style: str) -> bytes:
    """One CSV file: the contract's columns of ``fc`` as the header, then ``rows`` (dicts by column; a
    missing or None value is an empty field, dates are ordinals written in ``date_style``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=style["sep"], lineterminator=style["newline"],
                        quoting=csv.QUOTE_MINIMAL)
    columns = fc.source_columns
    writer.writerow(columns)
    date_columns = [i for i, f in enumerate(fc.fields) if f.parse == contract.PARSE_DATE]
    for row in rows:
        out = [row.get(c) for c in columns]
        for i in date_columns:
            out[i] = "" if out[i] is None else _fmt_date(out[i], date_style)
        writer.writerow(["" if v is None else v for v in out])
    data = buffer.getvalue().encode(style["encoding"])
    return (b"\xef\xbb\xbf" + data) if style["bom"] else data


class _Population:
    """The whole synthetic history, generated once; :meth:`snapshot` cuts it at an extract date.

    Dates are proleptic Gregorian ordinals (``date.toordinal``) to keep arithmetic cheap.
    """

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.dossiers: list[dict] = []
        self.placements: list[dict] = []
        self.events: list[dict] = []
        self._nrn_used: set[str] = set()
        self._make_dossiers()
        self._make_placements()
        self._make_events()
        self._make_corrections()

    # -- dossiers and children -----------------------------------------------------------------
    def _make_dossiers(self) -> None:
        rng = self.rng
        n = _N_INDEX_DOSSIERS
        span = _LAST_DAY - _FIRST_REGISTRATION
        # registrations spread over the years, slowly growing in number
        registration = _FIRST_REGISTRATION + np.floor(span * np.sqrt(rng.random(n)) ** 1.15 * 0.98
                                                      + span * 0.02 * rng.random(n)).astype(int)
        registration.sort()
        region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
        service_sdj = rng.random(n) < 0.42
        age = rng.integers(0, 17, size=n)
        sex_draw = rng.random(n)
        queue = []
        for i in range(n):
            child = self._new_child(int(registration[i]), int(age[i]), float(sex_draw[i]))
            queue.append((child, int(registration[i]), REGIONS[region[i]], "SDJ" if service_sdj[i] else "OCJ"))
        while queue:
            next_queue = []
            for child, reg, region_name, service in queue:
                if reg > _LAST_DAY:
                    continue
                dossier = self._new_dossier(child, reg, region_name, service)
                follow = self._reopening(dossier)
                if follow is not None:
                    next_queue.append(follow)
            queue = next_queue
        self.dossiers.sort(key=lambda d: (d["registration"], d["seq"]))
        for number, dossier in enumerate(self.dossiers, start=1):
            dossier["dossier_id"] = f"DOS-{dossier['registration_year']}-{number:05d}"

    def _new_child(self, registration: int, age: int, sex_draw: float) -> dict:
        rng = self.rng
        born = registration - int(age * 365.25) - int(rng.integers(0, 365))
        born = max(born, date(2003, 1, 1).toordinal())
        sex = "M" if sex_draw < 0.5 else ("V" if sex_draw < 0.985 else ("X" if sex_draw < 0.99 else None))
        return {"child_id": self._nrn(born, sex), "birth_year": date.fromordinal(born).year, "sex": sex}

    def _nrn(self, born: int, sex: str | None) -> str:
        """A synthetic national-register-like number YY.MM.DD-XXX.CC with valid check digits (born >= 2000)."""
        d = date.fromordinal(born)
        while True:
            seq = int(self.rng.integers(1, 998))
            if sex == "M" and seq % 2 == 0:
                seq += 1
            elif sex == "V" and seq % 2 == 1:
                seq += 1
            body = f"{d.year % 100:02d}{d.month:02d}{d.day:02d}{seq:03d}"
            check = 97 - (int("2" + body) % 97)
            text = f"{body[0:2]}.{body[2:4]}.{body[4:6]}-{body[6:9]}.{check:02d}"
            if text not in self._nrn_used:
                self._nrn_used.add(text)
                return text

    def _new_dossier(self, child: dict, registration: int, region: str, service: str) -> dict:
        rng = self.rng
        median = 240 if service == "OCJ" else 420
        duration = max(14, int(rng.lognormal(np.log(median), 0.75)))
        closure = registration + duration
        if rng.random() < 0.03:  # a few dossiers that stay open for very long
            closure = registration + 3000
        age_at_registration = date.fromordinal(registration).year - child["birth_year"]
        reason_draw = rng.choice(len(CLOSURE_REASONS), p=CLOSURE_REASON_WEIGHTS)
        if age_at_registration + duration / 365.25 >= 18:
            reason_draw = CLOSURE_REASONS.index("meerderjarig")
        dossier = {
            "seq": len(self.dossiers), "child": child, "registration": registration,
            "registration_year": date.fromordinal(registration).year,
            "closure": closure if closure <= _LAST_DAY else None,
            "closure_reason": CLOSURE_REASONS[reason_draw], "region": region, "service": service,
            "team": TEAMS[region][int(rng.integers(0, len(TEAMS[region])))],
            "registration_shown": {}, "child_shown": {}, "deleted_after": None, "created_index": None,
        }
        self.dossiers.append(dossier)
        return dossier

    def _reopening(self, dossier: dict) -> tuple | None:
        """Maybe a new dossier for the same child after this one's closure: (child, reg, region, service)."""
        rng = self.rng
        if dossier["closure"] is None:
            return None
        draw = rng.random()
        if date.fromordinal(dossier["closure"]).year - dossier["child"]["birth_year"] >= 17:
            return None                               # (almost) of age: no new youth-protection dossier
        if draw < 0.012:
            gap = 0                                   # new registration on the closure day (not a reopening)
        elif draw < 0.165:
            gap = int(rng.integers(1, 366))           # reopened within a year
        elif draw < 0.235:
            gap = int(rng.integers(366, 1100))        # back later than a year
        else:
            return None
        service = dossier["service"]
        if service == "OCJ" and rng.random() < 0.35:
            service = "SDJ"                           # escalation to the court-ordered track
        region = dossier["region"] if rng.random() < 0.93 else REGIONS[int(rng.integers(0, 5))]
        return dossier["child"], dossier["closure"] + gap, region, service

    # -- placements ----------------------------------------------------------------------------
    def _make_placements(self) -> None:
        rng = self.rng
        number = 0
        for dossier in self.dossiers:
            p = 0.24 if dossier["service"] == "SDJ" else 0.07
            if rng.random() >= p:
                continue
            end_of_dossier = dossier["closure"] if dossier["closure"] is not None else None
            start = dossier["registration"] + int(rng.exponential(110))
            if rng.random() < 0.05:
                start = dossier["registration"] - int(rng.integers(1, 21))  # emergency placement before registration
            n_spells = 1 + int(rng.choice(4, p=[0.58, 0.26, 0.11, 0.05]))
            for _ in range(n_spells):
                if start > _LAST_DAY or (end_of_dossier is not None and start > end_of_dossier):
                    break
                end = start + max(3, int(rng.lognormal(np.log(190), 0.9)))
                if end_of_dossier is not None and end > end_of_dossier:
                    end = end_of_dossier
                number += 1
                self.placements.append({
                    "placement_id": f"PL{number:06d}", "dossier": dossier, "start": start,
                    "end": end if end <= _LAST_DAY else None,
                    "type": PLACEMENT_TYPES[int(rng.choice(5, p=PLACEMENT_TYPE_WEIGHTS))],
                })
                if end > _LAST_DAY or (end_of_dossier is not None and end >= end_of_dossier):
                    break
                start = end + int(rng.integers(0, 15))

    # -- practice events -----------------------------------------------------------------------
    def _make_events(self) -> None:
        rng = self.rng
        rollout_start = _FIRST_REGISTRATION
        rollout_span = date(2025, 6, 30).toordinal() - rollout_start
        number = 0
        for dossier in self.dossiers:
            progress = min(1.0, max(0.0, (dossier["registration"] - rollout_start) / rollout_span))
            if rng.random() >= 0.10 + 0.70 * progress:
                continue
            first = dossier["registration"]
            last = dossier["closure"] if dossier["closure"] is not None else _LAST_DAY
            length = max(1, last - first)

            def when(lo: float, hi: float) -> int:
                return first + int(length * (lo + (hi - lo) * rng.random()))

            planned: list[tuple[int, str, float | None, str | None]] = []
            if rng.random() < 0.85:
                planned.append((when(0.0, 0.15), "mapping", None, None))
                if rng.random() < 0.4:
                    planned.append((when(0.4, 0.9), "mapping", None, None))
            if rng.random() < 0.5:
                planned.append((when(0.05, 0.4), "three_houses", None, None))
            if rng.random() < 0.3:
                planned.append((when(0.05, 0.5), "words_and_pictures", None, None))
            for _ in range(int(rng.choice(4, p=[0.3, 0.35, 0.25, 0.1]))):
                planned.append((when(0.1, 0.95), "network_meeting", None, None))
            if rng.random() < 0.55:
                planned.append((when(0.3, 0.95), "safety_plan", None, None))
            n_scaling = int(rng.choice(6, p=[0.2, 0.2, 0.2, 0.2, 0.1, 0.1]))
            score = float(rng.integers(1, 6))
            for k in range(n_scaling):
                moment = when(k / max(1, n_scaling), (k + 1) / max(1, n_scaling))
                rater = RATERS[int(rng.choice(4, p=RATER_WEIGHTS))]
                planned.append((moment, "scaling_question", score, rater))
                score = float(min(10, max(0, score + rng.integers(-1, 4))))
            planned.sort(key=lambda e: (e[0], e[1]))
            for moment, kind, value, rater in planned:
                if moment > _LAST_DAY:
                    continue
                number += 1
                self.events.append({"event_id": f"EV{number:07d}", "dossier": dossier, "date": moment,
                                    "type": kind, "value": value, "rated_by": rater})

    # -- corrections between extracts ------------------------------------------------------------
    def _make_corrections(self) -> None:
        """A few records shown differently in early extracts and corrected later (SPEC 3.4 warnings)."""
        rng = self.rng
        early = [d for d in self.dossiers if d["registration"] <= EXTRACT_DATES[3].toordinal()]
        picks = rng.choice(len(early), size=14, replace=False)
        for j, pick in enumerate(picks):
            dossier = early[int(pick)]
            fixed_in = int(rng.integers(2, 10))  # extract index from which the record is right
            if j < 10:
                wrong = dossier["registration"] - int(rng.integers(1, 11))  # typo in the registration date
                dossier["registration_shown"] = {i: wrong for i in range(fixed_in)}
            else:
                wrong_child = self._nrn(dossier["registration"] - 3000 - int(rng.integers(0, 2000)),
                                        dossier["child"]["sex"])
                dossier["child_shown"] = {i: wrong_child for i in range(fixed_in)}
        # two dossiers registered in error: shown in two extracts, then deleted
        for k, index in enumerate((5, 11)):
            extract_day = EXTRACT_DATES[index].toordinal()
            number = len(self.dossiers) + 1 + k
            region = REGIONS[k]
            child = self._new_child(extract_day - 40, 8, 0.3)
            self.dossiers.append({
                "seq": number, "child": child, "registration": extract_day - 40,
                "registration_year": date.fromordinal(extract_day - 40).year, "closure": None,
                "closure_reason": None, "region": region, "service": "OCJ", "team": TEAMS[region][0],
                "registration_shown": {}, "child_shown": {}, "deleted_after": index + 1,
                "dossier_id": f"DOS-ERR-{number:05d}",
            })

    # -- one extract --------------------------------------------------------------------------
    def snapshot(self, day: int, index: int) -> dict[str, list[dict]]:
        """Rows of the three files as the system showed them on ``day`` (extract number ``index``), by the
        contract's short file name (``dossiers`` ...); a row is a dict by CSV column, dates as ordinals."""
        year = date.fromordinal(day).year
        dossiers, shown = [], set()
        for d in self.dossiers:
            if d["registration"] > day or (d["deleted_after"] is not None and index > d["deleted_after"]):
                continue
            closed = d["closure"] is not None and d["closure"] <= day
            team = TEAM_RENAMES.get(d["team"], d["team"]) if year >= 2024 else d["team"]
            dossiers.append({
                "dossier_id": d["dossier_id"], "child_id": d["child_shown"].get(index, d["child"]["child_id"]),
                "service": d["service"], "region": d["region"], "team": team,
                "registration_date": d["registration_shown"].get(index, d["registration"]),
                "closure_date": d["closure"] if closed else None,
                "closure_reason": d["closure_reason"] if closed else None,
                "birth_year": d["child"]["birth_year"], "sex": d["child"]["sex"],
            })
            shown.add(d["dossier_id"])
        placements = [
            {"placement_id": p["placement_id"], "dossier_id": p["dossier"]["dossier_id"], "start_date": p["start"],
             "end_date": p["end"] if p["end"] is not None and p["end"] <= day else None, "placement_type": p["type"]}
            for p in self.placements if p["start"] <= day and p["dossier"]["dossier_id"] in shown
        ]
        events = [
            {"event_id": e["event_id"], "dossier_id": e["dossier"]["dossier_id"], "event_date": e["date"],
             "event_type": e["type"], "value": "" if e["value"] is None else str(int(e["value"])),
             "rated_by": e["rated_by"]}
            for e in self.events if e["date"] <= day and e["dossier"]["dossier_id"] in shown
        ]
        return {"dossiers": dossiers, "placements": placements, "practice_events": events}
