"""Load one landing partition into ``raw``: read, check, pseudonymise, write (SPEC 3, 4, 6, 7).

Plain Python called by the Dagster ingestion assets (and nothing else), so the same code path serves
the sensor, the UI and ``sofs-warehouse run``. A partition is loaded as a unit: all its rows are
replaced in one transaction together with its ``audit`` rows, so a run killed mid-load leaves the
warehouse as it was and the next run loads the partition again. A partition with an error-severity
rule failure is quarantined: nothing of it reaches ``raw`` and the earlier version stays.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from orchestration import instruments as instruments_mod
from orchestration import faults, history, privacy, schemes, settings, warehouse
from orchestration.contracts import dossier_extract
from orchestration.landing import Partition
from orchestration.quality.results import ERROR, RuleResult, from_reader_error
from orchestration.readers.base import ReaderError, SurveyRead

LOADED, QUARANTINED, UNCHANGED, RETRACTED = "loaded", "quarantined", "unchanged", "retracted"


@dataclass
class LoadOutcome:
    """What happened to one partition: status, rows promoted to raw, every rule's result and notes."""

    kind: str
    partition_key: str
    status: str
    load_id: str
    rows: int = 0
    message: str = ""
    results: list[RuleResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None  # the data file(s) as read: utf-8, utf-8-sig or cp1252
    # landing-relative file -> rows of that file promoted to raw (``audit.loads.rows``). A file
    # that is not a table of rows (survey.lss, wave.yaml, the instrument pseudo-file) maps to None;
    # a file missing here gets ``rows`` (0 for quarantined and unchanged attempts).
    file_rows: dict[str, int | None] = field(default_factory=dict)
    history: str = ""  # a dossier extract: the versions it added and closed (:meth:`history.ExtractChange.describe`)


def last_loads(con) -> dict[str, tuple[str, str]]:
    """Landing-relative file -> (sha256, status) of its latest ``loaded``/``quarantined`` attempt.

    A file whose partition was retracted after that attempt is left out: the partition is new work when its
    folder is put back (SPEC 3.3: move it out, retract, put it back, run)."""
    rows = con.execute("""
        with latest as (
            select * from (
                select *, row_number() over (partition by source_file order by started_at desc, finished_at desc) as rn
                from audit.loads where status in ('loaded', 'quarantined')) where rn = 1),
        retracted as (
            select source_file as folder, max(started_at) as retracted_at
            from audit.loads where status = 'retracted' group by source_file)
        select l.source_file, l.sha256, l.status from latest l
        where not exists (select 1 from retracted r
                          where starts_with(l.source_file, r.folder || '/') and r.retracted_at > l.started_at)
    """).fetchall()
    return {f: (sha, status) for f, sha, status in rows}


def verify_key(con, key: bytes) -> None:
    """Refuse a pseudonymisation key other than the one the warehouse was built with (SPEC 6).

    The warehouse keeps ``HMAC(key, "sofs:key-check:v1")`` in ``audit.key_check`` (never the key);
    a different key would silently break linkage across waves.

    Raises:
        settings.ConfigurationError: the key's fingerprint differs from the stored one.
    """
    fingerprint = privacy.key_fingerprint(key)
    con.execute("create table if not exists audit.key_check (fingerprint varchar not null, first_used timestamp)")
    row = con.execute("select fingerprint from audit.key_check").fetchone()
    if row is None:
        con.execute("insert into audit.key_check values (?, ?)", [fingerprint, datetime.now()])
    elif row[0] != fingerprint:
        raise settings.ConfigurationError(
            "SOFS_PSEUDONYM_KEY differs from the key this warehouse was built with: the same respondent, "
            "dossier or child would get another pseudonym and linkage across waves would break. Use the "
            "original key (from your secret store); nothing was loaded.")


def previous_results(con, partition_key: str) -> list[RuleResult]:
    """The rule results of the partition's latest loaded or quarantined attempt (they still stand when
    the files are unchanged)."""
    rows = con.execute("""
        select stage, "check", severity, message, columns, passed, failing_rows, sample_lines, source_file
        from audit.check_results where load_id = (
            select load_id from audit.loads where partition_key = ? and status in ('loaded', 'quarantined')
            order by started_at desc limit 1)
        order by stage, "check" """, [partition_key]).fetchall()
    return [RuleResult(code=code, stage=stage, severity=sev, message=msg or "", columns=[c for c in (cols or "").split(",") if c],
                       passed=passed, failing_rows=n, sample_lines=[int(x) for x in (lines or "").split(",") if x],
                       source_file=src or "")
            for stage, code, sev, msg, cols, passed, n, lines, src in rows]


def is_unchanged(partition: Partition, fingerprint: dict[str, str], previous: dict[str, tuple[str, str]]) -> bool:
    """True when every file of the partition was attempted before with the same SHA-256 (and no file went
    away since): such a partition is never loaded twice (SPEC 3)."""
    if not fingerprint:
        return False
    if any(previous.get(f, ("", ""))[0] != sha for f, sha in fingerprint.items()):
        return False
    prefix = partition.relative(partition.folder) + "/"
    earlier = {f for f in previous if f.startswith(prefix)}
    return earlier <= set(fingerprint)


def load_partition(partition: Partition, *, key: bytes | None = None, force: bool = False,
                   wait_seconds: float = 0.0, db: Path | None = None) -> LoadOutcome:
    """Load one partition, or record it as unchanged.

    Args:
        partition: from :func:`orchestration.landing.discover`.
        key: the pseudonymisation key (default :func:`settings.pseudonym_key`; a Dagster run passes its
            ``pseudonym_key`` resource, :mod:`orchestration.resources`).
        force: reload even when every file's SHA-256 equals the last attempt's.
        wait_seconds: how long to wait for another writer before :class:`warehouse.WarehouseBusy`.
        db: the warehouse file (default :func:`settings.warehouse_path`; a Dagster run passes its
            ``warehouse`` resource's file).

    A survey wave that is in the warehouse already is checked against its recorded answer-scheme
    versions first (SPEC 3.3, :mod:`orchestration.schemes`): a labels-only change is loaded and written to
    ``audit.scheme_changes``; a change of codes, values or missing codes is refused. A loaded wave without
    a scheme record (loaded by an earlier version) counts as changed, so that it gets one.

    Raises:
        settings.ConfigurationError: no or short pseudonymisation key; or the instrument definition would
            recode this loaded wave (nothing is loaded).
        warehouse.WarehouseBusy: another process writes the warehouse.
    """
    key = key or settings.pseudonym_key()
    load_id = uuid.uuid4().hex
    started = datetime.now()
    fingerprint = partition.fingerprint()
    db = Path(db or settings.warehouse_path())
    with warehouse.write_connection(db, wait_seconds=wait_seconds) as con:
        if not force and is_unchanged(partition, fingerprint, last_loads(con)) and not (
                partition.kind == "survey" and partition.key in schemes.unrecorded_partitions(con)):
            outcome = LoadOutcome(partition.kind, partition.key, UNCHANGED, load_id, files=fingerprint,
                                  file_rows=dict.fromkeys(fingerprint),  # nothing loaded: rows null
                                  message="every file has the SHA-256 of its last load attempt; nothing to do",
                                  results=previous_results(con, partition.key))
            with warehouse.transaction(con):
                _write_audit(con, outcome, started)
            return outcome
        verify_key(con, key)
        scheme_changes: list[schemes.SchemeChange] = []
        if partition.kind == "survey" and not partition.problem:
            # a loaded wave keeps its answer-scheme versions: refuse a definition that would recode it (SPEC 3.3)
            scheme_changes = schemes.find_changes(con, only=(partition.instrument, partition.wave))
            schemes.refuse_recoding(scheme_changes)
        outcome, frames = _prepare(partition, key, load_id, con)
        if partition.ignored:
            outcome.notes.append(f"{partition.relative(partition.folder)}: ignored files not in the landing "
                                 f"contract (names are case-sensitive): {', '.join(partition.ignored)}")
        outcome.files = fingerprint or {partition.relative(partition.folder): ""}
        blocking = [r for r in outcome.results if r.blocks]
        if not blocking:
            try:
                with warehouse.transaction(con):
                    for frame in frames.values():
                        frame["load_id"] = load_id
                    counts = _write_partition(con, partition, frames, load_id, outcome)
                    outcome.notes.extend(schemes.record_label_changes(con, load_id, partition.key, scheme_changes))
                    outcome.status = LOADED
                    outcome.rows = counts.get(_MAIN_TABLE[partition.kind], 0)
                    outcome.file_rows = file_row_counts(partition, outcome.files, counts)
                    warned = [r for r in outcome.results if not r.passed]
                    outcome.message = f"{outcome.rows} rows" + (
                        f" (change history: {outcome.history})" if outcome.history else "") + (
                        "; warnings: " + " | ".join(r.describe() for r in warned) if warned else "")
                    _write_audit(con, outcome, started)
                return outcome
            except (OSError, duckdb.IOException, duckdb.FatalException) as exc:
                if faults.is_disk_full(exc):  # rolled back; the check before the run missed it
                    raise faults.DiskFull(db, partition, exc) from exc
                raise
            except duckdb.ConversionException as exc:  # a value the raw layout cannot hold (rolled back)
                blocking = [RuleResult(code="RAW_TYPE", stage=1, severity=ERROR, passed=False, failing_rows=1,
                                       message="a value does not fit the raw table's type: "
                                               + re.sub(r"'[^']*'", "<value>", str(exc).splitlines()[0]),
                                       columns=[], source_file=partition.relative(partition.folder))]
                outcome.results.extend(blocking)
                outcome.rows = 0
        with warehouse.transaction(con):
            outcome.status = QUARANTINED
            outcome.message = " | ".join(r.describe() for r in blocking)
            _write_audit(con, outcome, started)
    return outcome


def _write_partition(con, partition: Partition, frames: dict, load_id: str, outcome: LoadOutcome) -> dict[str, int]:
    """Write a checked partition's frames, inside the caller's transaction: a survey wave replaces its
    rows (:func:`warehouse.replace_partition`); a dossier extract goes into the change history
    (:func:`history.load_extract`; a note says how many versions it added and closed). Returns rows per
    table or extract file (``raw.dossiers`` ... for the extract's files)."""
    if partition.kind != "dossier":
        return warehouse.replace_partition(con, partition.kind, partition.key, frames)
    change = history.load_extract(con, date.fromisoformat(partition.key), partition.key, load_id, frames)
    outcome.history = change.describe()
    outcome.notes.append(f"dossiers/{partition.key}: change history: {outcome.history}")
    return change.rows


#: the table (survey) or extract file (dossier, a frame of :mod:`orchestration.history`) whose rows a
#: partition's ``rows`` count
_MAIN_TABLE = {"survey": "raw.survey_responses", "dossier": dossier_extract.DOSSIERS}
#: extract file -> its frame (the extract contract, :mod:`orchestration.contracts.dossier_extract`)
_DOSSIER_FILE_TABLE = {fc.file: fc.table for fc in dossier_extract.CONTRACT}
_SURVEY_DATA_FILES = ("responses.csv", "responses.sav")


def file_row_counts(partition: Partition, files: dict[str, str], counts: dict[str, int]) -> dict[str, int | None]:
    """Rows each landing file of a loaded partition put into ``raw`` (``audit.loads.rows``).

    Args:
        partition: the partition as discovered.
        files: landing-relative file -> SHA-256 (:meth:`Partition.fingerprint`).
        counts: raw table or dossier extract file -> rows it delivered (:func:`_write_partition`).

    Returns landing-relative file -> rows: ``dossiers.csv`` / ``placements.csv`` / ``practice_events.csv``
    the rows of ``raw.dossiers`` / ``raw.placements`` / ``raw.practice_events``; a survey's
    ``responses.csv|sav`` the rows of ``raw.survey_responses``; None for files that are not tables of
    rows (``survey.lss``, ``wave.yaml``, the instrument definition).
    """
    out: dict[str, int | None] = {}
    for f in files:
        name = f.rsplit("/", 1)[-1]
        if partition.kind == "dossier" and name in _DOSSIER_FILE_TABLE:
            out[f] = counts.get(_DOSSIER_FILE_TABLE[name], 0)
        elif partition.kind == "survey" and name in _SURVEY_DATA_FILES:
            out[f] = counts.get(_MAIN_TABLE["survey"], 0)
        else:
            out[f] = None
    return out


def _prepare(partition: Partition, key: bytes, load_id: str, con) -> tuple[LoadOutcome, dict]:
    """Read and check a partition (:func:`_prepare_survey` / :func:`_prepare_dossiers`); a file with
    bare-CR line ends, or any error a reader did not foresee (e.g. an SPSS date past year 9999), becomes a
    quarantine under a rule code that names the file, the cause and the fix, never a bare
    step failure."""
    try:
        failure = faults.line_ending_failure(partition) if not partition.problem else None
        if failure is None:
            if partition.kind == "survey":
                return _prepare_survey(partition, key, load_id)
            return _prepare_dossiers(partition, key, load_id, con)
    except (settings.ConfigurationError, warehouse.WarehouseBusy, KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - reported as a rule, with the error's type and text
        failure = faults.read_failure(partition, exc)
    outcome = LoadOutcome(partition.kind, partition.key, QUARANTINED, load_id)
    outcome.results = [failure]
    return outcome, {}


def loaded_partitions(con) -> set[tuple[str, str]]:
    """``(kind, key)`` of every partition with rows in ``raw``."""
    rows = con.execute("""select 'survey', partition_key from raw.survey_waves
                          union select 'dossier', partition_key from raw.dossier_extracts""").fetchall()
    return {(kind, key) for kind, key in rows}


def retract_partition(kind: str, key: str, root: Path | None = None) -> int:
    """Remove a partition whose landing folder was taken away (e.g. an extract delivered by mistake).

    A survey wave's rows are deleted from every raw table of the kind; a dossier extract is taken out of
    the change history, which restores the state before it was loaded exactly
    (:func:`history.remove_extract`). A ``retracted`` row goes into ``audit.loads`` in the same
    transaction. Returns the rows of the kind's main table (responses; dossiers of the extract) removed.

    Raises:
        settings.UsageError: the landing folder still exists (remove it first: the landing zone is the record of
            what was delivered), or the warehouse holds no such partition.
    """
    from orchestration import landing as landing_mod

    root = Path(root or settings.landing_dir())
    folder = root / ("surveys" if kind == "survey" else "dossiers") / key
    if kind not in _MAIN_TABLE:
        raise settings.UsageError(f"kind must be survey or dossier, got {kind!r}")
    if folder.exists():
        raise settings.UsageError(f"{folder} is still in the landing zone: move it out first, then retract")
    with warehouse.write_connection() as con:
        if (kind, key) not in loaded_partitions(con):
            raise settings.UsageError(f"the warehouse holds no {kind} partition {key!r}")
        if kind == "dossier":
            count = dossier_extract.BY_TABLE[dossier_extract.DOSSIERS].count_column
            (rows,) = con.execute(f"select {count} from {history.EXTRACTS} where partition_key = ?", [key]).fetchone()
        else:
            (rows,) = con.execute(f"select count(*) from {_MAIN_TABLE[kind]} where partition_key = ?", [key]).fetchone()
        outcome = LoadOutcome(kind, key, RETRACTED, uuid.uuid4().hex, message=f"retracted: {rows} rows removed",
                              files={landing_mod.Partition(kind, key, folder, ()).relative(folder, root): ""})
        with warehouse.transaction(con):
            if kind == "dossier":
                history.remove_extract(con, date.fromisoformat(key))
            else:
                warehouse.replace_partition(con, kind, key, {})
            _write_audit(con, outcome, datetime.now())
    return rows


def _write_audit(con, outcome: LoadOutcome, started: datetime) -> None:
    finished = datetime.now()
    for source_file, sha in sorted(outcome.files.items()):
        con.execute("insert into audit.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            outcome.load_id, outcome.kind, outcome.partition_key, source_file, sha, outcome.status,
            outcome.file_rows.get(source_file, outcome.rows), started, finished, outcome.message, outcome.encoding])
    for r in outcome.results:
        con.execute("insert into audit.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            outcome.load_id, outcome.partition_key, r.stage, r.code, r.severity, r.passed, r.failing_rows,
            ",".join(str(n) for n in r.sample_lines), r.source_file, ",".join(r.columns), r.message, finished])
    for note in outcome.notes:
        con.execute("insert into audit.load_notes values (?, ?, ?, ?)", [
            outcome.load_id, outcome.partition_key, None, note])


def _layout_failure(partition: Partition, code: str, message: str) -> RuleResult:
    return RuleResult(code=code, stage=1, severity=ERROR, message=message, columns=[], passed=False,
                      failing_rows=1, source_file=partition.relative(partition.folder))


# ----------------------------------------------------------------------------------------- surveys

def read_wave_yaml(path: Path) -> dict:
    """``wave.yaml`` (SPEC 3): fieldwork_start, fieldwork_end (ISO dates), anonymised (bool); all optional.

    Raises:
        ReaderError: not YAML, unknown keys, or dates that are not ISO dates.
    """
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:  # ValueError: an impossible date
        raise ReaderError(path, f"cannot read wave.yaml: {exc}", code="S_WAVE_YAML") from exc
    if not isinstance(doc, dict):
        raise ReaderError(path, "wave.yaml must be a mapping", code="S_WAVE_YAML")
    unknown = set(doc) - {"fieldwork_start", "fieldwork_end", "anonymised"}
    if unknown:
        raise ReaderError(path, f"unknown keys {sorted(unknown)}", code="S_WAVE_YAML")
    if doc.get("anonymised") is not None and not isinstance(doc["anonymised"], bool):
        raise ReaderError(path, "anonymised must be true or false", column="anonymised", code="S_WAVE_YAML")
    out = {"fieldwork_start": None, "fieldwork_end": None, "anonymised": doc.get("anonymised")}
    for k in ("fieldwork_start", "fieldwork_end"):
        v = doc.get(k)
        if v is None:
            continue
        if isinstance(v, datetime):
            v = v.date()
        if not isinstance(v, date):
            try:
                v = date.fromisoformat(str(v))
            except ValueError as exc:
                raise ReaderError(path, f"{k} {v!r} is not an ISO date (YYYY-MM-DD)", column=k,
                                  code="S_WAVE_YAML") from exc
        out[k] = v
    if out["fieldwork_start"] and out["fieldwork_end"] and out["fieldwork_end"] < out["fieldwork_start"]:
        raise ReaderError(path, "fieldwork_end is before fieldwork_start", column="fieldwork_end", code="S_WAVE_YAML")
    return out


def read_survey_partition(partition: Partition) -> tuple[instruments_mod.Instrument, SurveyRead, dict]:
    """Read a survey partition's data file with the reader its extension asks for.

    Returns ``(instrument, read, wave_meta)``. Raises ReaderError or InstrumentError.
    """
    instrument = instruments_mod.get_instrument(partition.instrument).for_wave(partition.wave)
    folder = partition.folder
    meta = read_wave_yaml(folder / "wave.yaml") if (folder / "wave.yaml").is_file() else \
        {"fieldwork_start": None, "fieldwork_end": None, "anonymised": None}
    if (folder / "responses.sav").is_file():
        from orchestration.readers.spss import read_spss
        read = read_spss(folder / "responses.sav", instrument, partition.wave)
    else:
        from orchestration.readers.limesurvey import read_limesurvey_csv
        read = read_limesurvey_csv(folder / "responses.csv", instrument, partition.wave)
    meta["lss_duplicates"] = []
    if (folder / "survey.lss").is_file():
        from orchestration.readers.lss import compare_labels, read_lss
        lss = read_lss(folder / "survey.lss")
        meta["lss_duplicates"] = lss.duplicate_codes
        read.report.notes.extend(compare_labels(lss, instrument, partition.wave))
    return instrument, read, meta


def sibling_wave_starts(partition: Partition) -> dict[str, date | None]:
    """fieldwork_start of every wave folder of the partition's instrument in the landing zone (this one
    included), None where ``wave.yaml`` gives none or cannot be read (SPEC 3; for ``S_WAVE_UNDATED``)."""
    starts: dict[str, date | None] = {}
    for folder in sorted(p for p in partition.folder.parent.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            meta = read_wave_yaml(folder / "wave.yaml") if (folder / "wave.yaml").is_file() else {}
        except ReaderError:
            meta = {}
        starts[folder.name] = meta.get("fieldwork_start")
    return starts


def _prepare_survey(partition: Partition, key: bytes, load_id: str) -> tuple[LoadOutcome, dict]:
    from orchestration.quality.survey import check_survey
    from orchestration.responses import mark_superseded

    outcome = LoadOutcome("survey", partition.key, QUARANTINED, load_id)
    if partition.problem:
        outcome.results = [_layout_failure(partition, "S_LAYOUT", partition.problem)]
        return outcome, {}
    data_file = next(f for f in partition.files if f.name.startswith("responses."))
    rel = partition.relative(data_file)
    try:
        instrument, read, meta = read_survey_partition(partition)
    except ReaderError as exc:
        outcome.results = [from_reader_error(exc, partition.relative(exc.path))]
        return outcome, {}
    except instruments_mod.InstrumentError as exc:
        outcome.results = [_layout_failure(partition, "S_INSTRUMENT", str(exc))]
        return outcome, {}
    outcome.notes.extend(read.report.notes)
    outcome.encoding = read.report.encoding
    if len(read.responses) and read.answers.empty and read.open_answers.empty:
        outcome.results = [_layout_failure(partition, "S_NO_ITEMS", (
            f"none of the item columns of instrument {instrument.instrument!r} is in {rel}: is the export in "
            "the right instrument folder, and was it exported with question-code headings?"))]
        return outcome, {}
    if read.report.encoding == "cp1252":
        outcome.notes.append(f"{rel}: encoding cp1252")
    from orchestration.waves import name_date

    dated = sorted(w for w, start in sibling_wave_starts(partition).items() if start and w != partition.wave)
    when, basis = name_date(partition.wave)
    hint = f"by the {basis} ({when.isoformat()})" if when else "by its name, after every dated wave"
    outcome.results = check_survey(read, instrument, partition.wave, rel,
                                   fieldwork_start=meta["fieldwork_start"], fieldwork_end=meta["fieldwork_end"],
                                   lss_duplicates=meta.get("lss_duplicates", ()), dated_waves=dated,
                                   order_hint=hint)
    if any(r.blocks for r in outcome.results):
        return outcome, {}
    superseded, decisions = mark_superseded(read.responses, rel)
    outcome.notes.extend(decisions)
    return outcome, survey_frames(partition, instrument, read, meta, superseded, key, rel)


def survey_frames(partition: Partition, instrument, read: SurveyRead, meta: dict, superseded: pd.Series,
                  key: bytes, source_file: str) -> dict[str, pd.DataFrame]:
    """The raw tables of a survey partition, pseudonymised (no token, no raw id left). SPEC 4, 6."""
    inst, wave, pk = instrument.instrument, partition.wave, partition.key
    common = {"partition_key": pk, "instrument": inst, "wave": wave}
    resp = read.responses
    response_key = privacy.pseudonymise_series(inst + "|" + wave + "|" + resp["response_id"].astype(str),
                                               "response", key)
    rkey_of = dict(zip(resp["response_id"], response_key))
    responses = pd.DataFrame({
        **common, "response_key": response_key.values,
        "respondent_key": privacy.pseudonymise_series(resp["respondent_id"], "respondent", key).values,
        "dossier_key": privacy.pseudonymise_series(resp["dossier_id"], "dossier", key).values,
        "is_complete": resp["is_complete"].values, "lastpage": resp["lastpage"].values,
        "submitted_at": resp["submitted_at"].values, "started_at": resp["started_at"].values,
        "startlanguage": resp["startlanguage"].values, "is_superseded": superseded.values,
        "source_line": resp["source_line"].values,
    })
    ans = read.answers
    answers = pd.DataFrame({
        **common, "response_key": ans["response_id"].map(rkey_of).values, "item": ans["item"].values,
        "source_column": ans["source_column"].values, "raw_code": ans["raw_code"].values,
        "value": ans["value"].values, "missing_reason": ans["missing_reason"].values,
        "source_line": ans["source_line"].values,
    })
    oa = read.open_answers
    open_answers = pd.DataFrame({
        **common, "response_key": oa["response_id"].map(rkey_of).values, "item": oa["item"].values,
        "answer_masked": [privacy.mask_open_answer(t) for t in oa["answer"]],
    })
    items, labels = [], []
    instrument = instrument.for_wave(wave)  # the scheme version of every item in this wave, recorded (SPEC 3.3)
    for it in instrument.items:
        s = it.scheme
        items.append({**common, "item": it.item, "item_text": it.text, "role": it.role, "construct": it.construct,
                      "reverse": it.reverse, "scheme": s.name, "scheme_signature": s.signature(),
                      "scheme_min": s.min, "scheme_max": s.max, "is_nominal": s.nominal, "is_text": s.text,
                      "source_column": it.source_for(wave), "instrument_version": instrument.version,
                      "scheme_fingerprint": s.fingerprint(), "coding_fingerprint": s.coding_fingerprint(),
                      "scheme_coding": json.dumps(s.coding(), sort_keys=True, ensure_ascii=False),
                      "scheme_labels": json.dumps(s.label_texts(), sort_keys=True, ensure_ascii=False),
                      "item_kind": it.measure_kind,
                      "scheme_anchors": json.dumps({_fmt_value(v): t for v, t in sorted(it.scale_anchors.items())},
                                                   ensure_ascii=False) if it.scale_anchors else None})
        for value, label in sorted(s.labels.items()):
            labels.append({**common, "item": it.item, "value": value, "label": label})
    constructs = [{**common, "construct": c.name, "label": c.label, "min_valid_share": c.min_valid_share}
                  for c in instrument.constructs.values()]
    group, region = instrument.respondent_group, instrument.region
    waves = pd.DataFrame([{**common, "population": instrument.population, "title": instrument.title,
                           "fieldwork_start": meta["fieldwork_start"], "fieldwork_end": meta["fieldwork_end"],
                           "anonymised": meta["anonymised"], "source_file": source_file,
                           # who answered and where (SPEC 3.3), read by marts.construct_means
                           "respondent_group_item": group.item if group else None,
                           "respondent_group_codes": json.dumps({_fmt_value(v): c for v, c in sorted(group.codes.items())},
                                                                ensure_ascii=False) if group and group.codes else None,
                           "respondent_group_label": group.label if group else None,
                           "region_item": region.item if region else None,
                           "region_from_dossier": bool(region and region.dossier),
                           "has_dossier_key": bool(instrument.dossier_key)}])
    for col in ("fieldwork_start", "fieldwork_end"):
        waves[col] = pd.to_datetime(waves[col]).dt.date
    return {
        "raw.survey_responses": responses, "raw.survey_answers": answers,
        "raw.survey_items": pd.DataFrame(items), "raw.survey_value_labels": pd.DataFrame(labels),
        "raw.survey_constructs": pd.DataFrame(constructs), "raw.survey_waves": waves,
        "restricted.open_answers": open_answers,
    }


def _fmt_value(v: float) -> str:
    """A scheme value as JSON key text: ``3`` for 3.0, else the float's repr."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# ---------------------------------------------------------------------------------------- dossiers

def _prepare_dossiers(partition: Partition, key: bytes, load_id: str, con) -> tuple[LoadOutcome, dict]:
    from orchestration.quality.dossiers import check_dossier_extract, store_codes
    from orchestration.readers.dossiers import pseudonymise_extract, read_dossier_extract
    from orchestration.teams import team_labels

    outcome = LoadOutcome("dossier", partition.key, QUARANTINED, load_id)
    if partition.problem:
        outcome.results = [_layout_failure(partition, "D_LAYOUT", partition.problem)]
        return outcome, {}
    extract_date = date.fromisoformat(partition.key)
    try:
        read = read_dossier_extract(partition.folder, extract_date)
    except ReaderError as exc:
        outcome.results = [from_reader_error(exc, partition.relative(exc.path))]
        return outcome, {}
    for rep in read.reports.values():
        outcome.notes.extend(rep.notes)
    outcome.encoding = ", ".join(sorted({rep.encoding for rep in read.reports.values()}))
    frames = pseudonymise_extract(read, key, team_labels())
    # the previous extract as the change history reconstructs it (SPEC 4)
    loaded = history.extract_dates(con)
    earlier = [d for d in loaded if d < extract_date]
    previous = pd.DataFrame(columns=["dossier_key", "child_key", "registration_date"])
    if earlier:
        previous = con.execute(history.as_of_sql(dossier_extract.DOSSIERS,
                                                 ("dossier_key", "child_key", "registration_date")),
                               [earlier[-1], earlier[-1]]).df()
    # Great Expectations judges only new and changed rows of an extract newer than every loaded one (the
    # unchanged rows passed for an earlier extract date); an extract out of date order is judged whole.
    # Before store_codes: a delivered code outside a list differs from the stored stand-in, so it is judged.
    changed = None
    if loaded and extract_date > loaded[-1]:
        changed = {name: ~history.unchanged_mask(con, name, frame).to_numpy() for name, frame in frames.items()}
    source_files = {t: partition.relative(partition.folder / dossier_extract.BY_TABLE[t].file) for t in frames}
    outcome.results = check_dossier_extract(frames, extract_date, previous if len(previous) else None, source_files,
                                            findings=read.findings, changed=changed)
    return outcome, store_codes(frames)
