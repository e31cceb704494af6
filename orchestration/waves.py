"""The order of the waves of an instrument (SPEC 3): by fieldwork_start, else by a date in the wave name.

``marts.fct_survey_response.wave_order``, ``marts.scale_change`` (consecutive waves) and
``marts.panel_participation`` depend on it. The dbt model ``int_survey_waves_ordered`` applies the same
rule in SQL; ``sofs-warehouse status`` shows the order with :func:`wave_order`, and the quality gate warns
(``S_WAVE_UNDATED``) when a wave without fieldwork_start is loaded among dated ones.

The order date of a wave is, first that applies:

1. its ``fieldwork_start`` (``wave.yaml``);
2. an ISO date in its name: ``2023-03-15`` -> 2023-03-15;
3. a year and month in its name: ``2023-03``, ``2023_03`` -> 2023-03-01;
4. a year (1900-2099, not part of a longer number) in its name, on the first day of the month a
   season or quarter word gives (``q1``/``h1`` 01, ``q2`` 04, ``q3``/``h2`` 07, ``q4`` 10, ``voorjaar``/``lente``/
   ``spring`` 03, ``zomer``/``summer`` 06, ``najaar``/``herfst``/``autumn``/``fall`` 09, ``winter`` 12; case
   ignored), else 01: ``2021`` -> 2021-01-01, ``2024-najaar`` -> 2024-09-01.

Waves are ordered by order date (waves without one last), then by name.
"""
from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"(?:^|[^0-9])((?:19|20)[0-9]{2})-([01][0-9])-([0-3][0-9])(?:[^0-9]|$)")
_YEAR_MONTH = re.compile(r"(?:^|[^0-9])((?:19|20)[0-9]{2})[-_]([01][0-9])(?:[^0-9]|$)")
_YEAR = re.compile(r"(?:^|[^0-9])((?:19|20)[0-9]{2})(?:[^0-9]|$)")
#: season or quarter word in a wave name -> month (checked in this order; the first found counts)
SEASON_MONTHS: tuple[tuple[str, int], ...] = (
    ("q1", 1), ("q2", 4), ("q3", 7), ("q4", 10), ("h1", 1), ("h2", 7),
    ("voorjaar", 3), ("lente", 3), ("spring", 3), ("zomer", 6), ("summer", 6),
    ("najaar", 9), ("herfst", 9), ("autumn", 9), ("fall", 9), ("winter", 12),
)


def name_date(wave: str) -> tuple[date | None, str]:
    """The order date a wave name gives, and what it was read from (module docstring, rules 2-4).

    Returns ``(date, basis)`` with basis ``"date in name"``, ``"year and month in name"`` or ``"year in
    name"``; ``(None, "name")`` when the name holds no year. An impossible date (``2023-02-30``) counts as
    no date at that rule.
    """
    m = _ISO.search(wave)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), "date in name"
        except ValueError:
            pass
    m = _YEAR_MONTH.search(wave)
    if m and 1 <= int(m.group(2)) <= 12:
        return date(int(m.group(1)), int(m.group(2)), 1), "year and month in name"
    m = _YEAR.search(wave)
    if m:
        lower = wave.lower()
        month = next((mm for word, mm in SEASON_MONTHS if word in lower), 1)
        return date(int(m.group(1)), month, 1), "year in name"
    return None, "name"


def order_date(wave: str, fieldwork_start: date | None) -> tuple[date | None, str]:
    """``(order date, basis)`` of one wave: its fieldwork_start (basis ``"fieldwork_start"``), else
    :func:`name_date`."""
    if fieldwork_start is not None:
        return fieldwork_start, "fieldwork_start"
    return name_date(wave)


def wave_order(waves: dict[str, date | None]) -> list[tuple[str, date | None, str]]:
    """The waves of one instrument in order: ``[(wave, order date, basis), ...]`` (SPEC 3).

    Args:
        waves: wave name -> its fieldwork_start (None when wave.yaml gives none).
    """
    keyed = [(w, *order_date(w, start)) for w, start in waves.items()]
    return sorted(keyed, key=lambda t: (t[1] is None, t[1] or date.min, t[0]))


def describe_order(wave: str, when: date | None, basis: str) -> str:
    """``2019 (year in name: 2019-01-01)`` / ``2023 (fieldwork_start 2023-03-01)`` / ``pilot (name)``."""
    if when is None:
        return f"{wave} (by name)"
    if basis == "fieldwork_start":
        return f"{wave} (fieldwork_start {when.isoformat()})"
    return f"{wave} ({basis}: {when.isoformat()})"
