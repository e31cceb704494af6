"""Answer-scheme versions of loaded waves: loaded waves are never silently recoded (SPEC 3.3).

At load time every wave records, per item, the answer scheme (version) it was decoded with, with the
scheme's coding (codes -> values, the values, the missing codes) and labels as JSON and two SHA-256
fingerprints (``raw.survey_items``: ``scheme``, ``scheme_coding``, ``scheme_labels``,
``coding_fingerprint``, ``scheme_fingerprint``). Before anything is loaded, :func:`check_loaded_waves`
compares the current instrument definitions with those records:

- the coding of a loaded wave's item would change (an edited scheme, or the wave now mapped to another
  scheme that decodes differently): refused with :class:`settings.ConfigurationError` (exit code 2),
  naming the instrument, the scheme, the loaded waves and what changed, and how to declare a new version;
- only labels (value labels, missing-code reasons) or the scheme's name changed: allowed; the change is
  reported in the run output and, when the wave is loaded again, written to ``audit.scheme_changes``.

Only the instrument definitions and the recorded schemes are compared: no respondent data is read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from orchestration import instruments as instruments_mod
from orchestration import settings

CODING, LABELS = "coding", "labels"
_SHOWN_ITEMS = 5


@dataclass(frozen=True)
class SchemeChange:
    """A difference between the scheme a loaded wave's items were decoded with and the definition now.

    Attributes:
        instrument: instrument id.
        scheme: the scheme (version) the waves were loaded with.
        new_scheme: the scheme the definition now names for those waves (usually ``scheme``).
        kind: ``"coding"`` (codes, values or missing codes differ: refused) or ``"labels"`` (allowed).
        details: one sentence per difference, e.g. ``"code A3 now value 2, was 3"``.
        waves: the loaded waves concerned, sorted.
        items: the items concerned, sorted.
    """

    instrument: str
    scheme: str
    new_scheme: str
    kind: str
    details: tuple[str, ...]
    waves: tuple[str, ...]
    items: tuple[str, ...]

    def describe(self) -> str:
        """One line: instrument, scheme, waves, items and the differences (no respondent data)."""
        items = ", ".join(self.items[:_SHOWN_ITEMS]) + (
            f" and {len(self.items) - _SHOWN_ITEMS} more" if len(self.items) > _SHOWN_ITEMS else "")
        waves = ", ".join(self.waves)
        if self.new_scheme == self.scheme:
            head = (f"instrument {self.instrument}, scheme {self.scheme}, used by loaded wave"
                    f"{'s' if len(self.waves) > 1 else ''} {waves} (items {items})")
        else:
            head = (f"instrument {self.instrument}, loaded wave{'s' if len(self.waves) > 1 else ''} {waves} "
                    f"(items {items}) loaded with scheme {self.scheme}, now mapped to scheme {self.new_scheme}")
        return f"{head}: {'; '.join(self.details)}"


def _num(v) -> str:
    return str(int(v)) if v is not None and float(v).is_integer() else str(v)


def _values_text(values: list[float]) -> str:
    if not values:
        return "none"
    ints = [int(v) for v in values if float(v).is_integer()]
    if len(ints) == len(values) and len(ints) > 3 and ints == list(range(ints[0], ints[-1] + 1)):
        return f"{ints[0]}..{ints[-1]}"
    return ", ".join(_num(v) for v in values)


def coding_diff(old: dict, new: dict) -> list[str]:
    """What changed between two codings (:meth:`AnswerScheme.coding` dicts), one sentence each (SPEC 3.3).

    E.g. ``["code A3 now value 2, was 3", "missing code -8 added"]``; empty when they are equal.
    """
    out: list[str] = []
    if old.get("text") != new.get("text"):
        out.append("now an open-text scheme, was coded" if new.get("text") else "now coded, was open text")
    old_codes, new_codes = old.get("codes") or {}, new.get("codes") or {}
    for code in sorted(set(old_codes) | set(new_codes)):
        if code not in new_codes:
            out.append(f"code {code} removed (was value {_num(old_codes[code])})")
        elif code not in old_codes:
            out.append(f"code {code} added (value {_num(new_codes[code])})")
        elif float(old_codes[code]) != float(new_codes[code]):
            out.append(f"code {code} now value {_num(new_codes[code])}, was {_num(old_codes[code])}")
    if [float(v) for v in old.get("values") or []] != [float(v) for v in new.get("values") or []]:
        out.append(f"values now {_values_text(new.get('values') or [])}, were {_values_text(old.get('values') or [])}")
    elif (old.get("min"), old.get("max")) != (new.get("min"), new.get("max")):
        out.append(f"range now {_num(new.get('min'))}..{_num(new.get('max'))}, "
                   f"was {_num(old.get('min'))}..{_num(old.get('max'))}")
    for code in sorted(set(old.get("missing") or []) - set(new.get("missing") or [])):
        out.append(f"missing code {code} removed")
    for code in sorted(set(new.get("missing") or []) - set(old.get("missing") or [])):
        out.append(f"missing code {code} added")
    if bool(old.get("nominal")) != bool(new.get("nominal")):
        out.append("now nominal, was ordered" if new.get("nominal") else "now ordered, was nominal")
    return out


def label_diff(old: dict, new: dict) -> list[str]:
    """What changed between two label sets (:meth:`AnswerScheme.label_texts` dicts), one sentence each."""
    out: list[str] = []
    for key, what in (("labels", "label of value"), ("missing", "reason of missing code")):
        a, b = old.get(key) or {}, new.get(key) or {}
        for k in sorted(set(a) | set(b), key=lambda x: (_sort_key(x), x)):
            if k not in b:
                out.append(f"{what} {k} removed (was {a[k]!r})")
            elif k not in a:
                out.append(f"{what} {k} added ({b[k]!r})")
            elif a[k] != b[k]:
                out.append(f"{what} {k} now {b[k]!r}, was {a[k]!r}")
    return out


def _sort_key(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def _recorded(con, instrument: str | None = None, wave: str | None = None) -> list[tuple]:
    """``(instrument, wave, item, scheme, scheme_coding, scheme_labels, coding_fingerprint, scheme_fingerprint)``
    of every loaded wave's items that carry a scheme record."""
    sql = """select instrument, wave, item, scheme, scheme_coding, scheme_labels, coding_fingerprint,
                    scheme_fingerprint
             from raw.survey_items where coding_fingerprint is not null"""
    args: list[str] = []
    if instrument is not None:
        sql += " and instrument = ? and wave = ?"
        args = [instrument, wave]
    if not _has_record_columns(con):
        return []
    return con.execute(sql + " order by instrument, wave, item", args).fetchall()


def _has_record_columns(con) -> bool:
    (n,) = con.execute("""select count(*) from information_schema.columns where table_schema = 'raw'
                          and table_name = 'survey_items' and column_name = 'coding_fingerprint'""").fetchone()
    return n > 0


def unrecorded_partitions(con) -> set[str]:
    """Keys of loaded survey partitions without a scheme record (loaded before records existed): the next
    ``sofs-warehouse run`` loads them again once, with their unchanged definition, to record it."""
    (n,) = con.execute("""select count(*) from information_schema.tables
                          where table_schema = 'raw' and table_name = 'survey_items'""").fetchone()
    if not n:
        return set()
    if not _has_record_columns(con):
        return {k for (k,) in con.execute("select distinct partition_key from raw.survey_items").fetchall()}
    return {k for (k,) in con.execute(
        "select distinct partition_key from raw.survey_items where coding_fingerprint is null").fetchall()}


def find_changes(con, definitions: dict[str, instruments_mod.Instrument] | None = None, *,
                 only: tuple[str, str] | None = None) -> list[SchemeChange]:
    """Compare the recorded scheme of every loaded wave's items with the current definitions (SPEC 3.3).

    Args:
        con: a connection to the warehouse (read-only is enough).
        definitions: instrument id -> :class:`Instrument`; default: each loaded instrument's file in
            :func:`settings.instruments_dir`. An instrument without a readable definition is skipped (its
            next load is quarantined with ``S_INSTRUMENT`` and recodes nothing).
        only: ``(instrument, wave)`` to check one wave only.

    Returns:
        The changes, grouped by instrument x recorded scheme x new scheme x differences (waves and items
        collected), coding changes first. Items no longer defined, or no longer asked in the wave, are
        not changes of a scheme and are left out.
    """
    rows = _recorded(con, *only) if only else _recorded(con)
    defs = dict(definitions or {})
    groups: dict[tuple, tuple[set, set]] = {}
    resolved: dict[tuple[str, str], instruments_mod.Instrument | None] = {}
    for inst_name, wave, item, scheme, coding, labels, coding_fp, scheme_fp in rows:
        if (inst_name, wave) not in resolved:
            resolved[(inst_name, wave)] = _definition_for(inst_name, wave, defs)
        definition = resolved[(inst_name, wave)]
        if definition is None:
            continue
        try:
            it = definition.item(item)
        except KeyError:
            continue
        if it.source_for(wave) is None:
            continue
        now = it.scheme
        if now.coding_fingerprint() != coding_fp:
            kind, details = CODING, coding_diff(json.loads(coding), now.coding())
            details = details or ["the coding differs"]
        elif now.fingerprint() != scheme_fp or now.name != scheme:
            kind, details = LABELS, label_diff(json.loads(labels), now.label_texts())
            if now.name != scheme:
                details = [f"renamed from {scheme} to {now.name}", *details]
        else:
            continue
        key = (inst_name, scheme, now.name, kind, tuple(details))
        waves, items = groups.setdefault(key, (set(), set()))
        waves.add(wave)
        items.add(item)
    changes = [SchemeChange(i, s, n, k, d, tuple(sorted(w)), tuple(sorted(it)))
               for (i, s, n, k, d), (w, it) in groups.items()]
    return sorted(changes, key=lambda c: (c.kind != CODING, c.instrument, c.scheme, c.waves))


def _definition_for(name: str, wave: str, defs: dict) -> instruments_mod.Instrument | None:
    if name not in defs:
        try:
            defs[name] = instruments_mod.get_instrument(name)
        except instruments_mod.InstrumentError:
            defs[name] = None
    if defs[name] is None:
        return None
    try:
        return defs[name].for_wave(wave)
    except instruments_mod.InstrumentError:
        return None


def refuse_recoding(changes: list[SchemeChange]) -> None:
    """Raise when any change would recode a loaded wave (SPEC 3.3); labels-only changes pass.

    Raises:
        settings.ConfigurationError: one or more coding changes. The message names, per change, the
            instrument, the scheme, the loaded waves and items and what changed, then how to declare a new
            scheme version instead (and how to reload a wave whose loaded coding was itself wrong).
    """
    coding = [c for c in changes if c.kind == CODING]
    if not coding:
        return
    lines = "\n".join(f"  - {c.describe()}" for c in coding)
    first = coding[0]
    waves = ", ".join(f'"{w}": {first.scheme}' for w in first.waves)
    raise settings.ConfigurationError(
        "an instrument definition would recode waves that are already loaded; refused, nothing was loaded "
        f"(SPEC 3.3: loaded waves keep the answer-scheme version they were loaded with):\n{lines}\n"
        f"Put back the codes, values and missing codes of {first.scheme} as they were, and declare the new "
        f"coding as a new scheme version: add it under answer_schemes with a new name (e.g. {first.scheme}_v2) "
        "and give each item that uses it a scheme per wave, e.g. "
        f"`scheme: {{{waves}, default: {first.scheme}_v2}}`. Labels alone may be edited in place. "
        "If the coding of a loaded wave was itself wrong: move the wave's folder out of the landing zone, run "
        "`sofs-warehouse retract survey <instrument>/<wave>`, put the folder back and run again.")


def check_loaded_waves(con=None) -> list[SchemeChange]:
    """The pre-load check of ``sofs-warehouse run`` (SPEC 3.3): compare every loaded wave's recorded
    schemes with the definitions in :func:`settings.instruments_dir`.

    Returns the labels-only changes (to report). With no warehouse yet, returns ``[]``.

    Raises:
        settings.ConfigurationError: a change would recode a loaded wave (see :func:`refuse_recoding`).
    """
    if con is None:
        from orchestration import warehouse

        try:
            with warehouse.read_connection() as own:
                return check_loaded_waves(own)
        except FileNotFoundError:
            return []
    (n,) = con.execute("""select count(*) from information_schema.tables
                          where table_schema = 'raw' and table_name = 'survey_items'""").fetchone()
    if not n:
        return []
    changes = find_changes(con)
    refuse_recoding(changes)
    return changes


def record_label_changes(con, load_id: str, partition_key: str, changes: list[SchemeChange]) -> list[str]:
    """Write the labels-only changes of one wave being loaded again to ``audit.scheme_changes`` (call it in
    the load's transaction) and return one note per change for ``audit.load_notes`` (SPEC 3.3)."""
    now = datetime.now()
    notes = []
    for c in changes:
        if c.kind != LABELS:
            continue
        for wave in c.waves:
            con.execute("insert into audit.scheme_changes values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                load_id, partition_key, c.instrument, wave, c.scheme, c.new_scheme, ",".join(c.items), c.kind,
                "; ".join(c.details), now])
        notes.append(f"answer scheme labels changed (codes, values and missing codes unchanged): {c.describe()}")
    return notes
