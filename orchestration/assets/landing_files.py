"""Landing files as observable source assets, so that lineage in Dagster starts at the file.

``landing/survey_wave_files`` and ``landing/dossier_extract_files`` are partitioned like the ingestion
assets that read them (one partition per survey wave or extract); observing them (the UI's "Observe
sources", or an asset job selecting them) records per partition a data version that is the SHA-256 of the
partition's files: the hex SHA-256 of the one landing file when the partition has one, else the SHA-256
over the sorted ``file sha256`` lines of its fingerprint (:meth:`orchestration.landing.Partition.fingerprint`,
the same fingerprint that decides what is new work). Files are only read, never modified.
"""
from __future__ import annotations

import hashlib
import warnings

import dagster as dg

from orchestration import landing
from orchestration.assets.ingestion import DOSSIER_EXTRACTS, LANDING_KEYS, SURVEY_WAVES

_PARTITIONS = {"survey": SURVEY_WAVES, "dossier": DOSSIER_EXTRACTS}


def partition_version(fingerprint: dict[str, str]) -> str:
    """Data version of one partition's files: the file's SHA-256 when there is one file, else the SHA-256
    of the sorted ``"<landing-relative file> <sha256>"`` lines. ``fingerprint``: file -> SHA-256."""
    if len(fingerprint) == 1:
        return next(iter(fingerprint.values()))
    text = "\n".join(f"{f} {sha}" for f, sha in sorted(fingerprint.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def observe_kind(kind: str, known: set[str] | None = None) -> dict[str, str]:
    """Partition key -> data version for every landing partition of ``kind`` (``survey`` / ``dossier``),
    limited to ``known`` partition keys when given (Dagster only accepts registered dynamic partitions)."""
    out = {}
    for p in landing.discover():
        if p.kind == kind and (known is None or p.key in known):
            out[p.key] = partition_version(p.fingerprint())
    return out


def _source(kind: str, what: str):
    with warnings.catch_warnings():  # observable_source_asset is marked beta: not a message for our users
        warnings.simplefilter("ignore")
        return _define(kind, what)


def _define(kind: str, what: str):
    @dg.observable_source_asset(key=LANDING_KEYS[kind], partitions_def=_PARTITIONS[kind], group_name="landing",
                                description=f"{what} in the landing zone, as delivered (never modified). "
                                            "Data version: SHA-256 of the partition's files.")
    def _observe(context) -> dg.DataVersionsByPartition:
        known = set(context.instance.get_dynamic_partitions(_PARTITIONS[kind].name))
        versions = observe_kind(kind, known)
        return dg.DataVersionsByPartition({k: dg.DataVersion(v) for k, v in versions.items()})
    return _observe


survey_wave_files = _source("survey", "Survey wave exports (responses.csv|sav, survey.lss, wave.yaml)")
dossier_extract_files = _source("dossier", "Dossier extracts (dossiers.csv, placements.csv, practice_events.csv)")
