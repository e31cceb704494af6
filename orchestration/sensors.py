"""The landing-zone sensor, the marts-after-ingest sensor and the nightly schedule (SPEC 7)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from orchestration import ingest, landing, schemes, warehouse
from orchestration.assets.ingestion import DOSSIER_EXTRACTS, SURVEY_WAVES
from orchestration.jobs import INGEST_JOBS, MART_JOBS, build_all_marts
from orchestration.resources import LandingZoneResource, WarehouseResource
from orchestration.runner import mart_job
from orchestration.warehouse import WarehouseBusy

PARTITIONS = {"survey": SURVEY_WAVES, "dossier": DOSSIER_EXTRACTS}


def pending_partitions(landing_root: Path | None = None, db: Path | None = None
                       ) -> tuple[list[tuple[landing.Partition, dict[str, str]]], int]:
    """Partitions of the landing zone ``landing_root`` with a new or changed file, by SHA-256 against
    ``audit.loads`` of the warehouse ``db`` (and loaded survey waves without an answer-scheme record,
    SPEC 3.3, once). Both default to :mod:`orchestration.settings`.

    Returns ``([(partition, fingerprint), ...], n_unchanged)``. The one place that decides what is new
    work, used by the sensor and by ``sofs-warehouse run``. Raises WarehouseBusy while a writer runs.
    """
    partitions = landing.discover(landing_root)
    try:
        with warehouse.read_connection(db) as con:
            has_audit = con.execute("select count(*) from information_schema.tables "
                                    "where table_schema = 'audit' and table_name = 'loads'").fetchone()[0]
            previous = ingest.last_loads(con) if has_audit else {}
            unrecorded = schemes.unrecorded_partitions(con)
    except FileNotFoundError:
        previous, unrecorded = {}, set()
    pending, unchanged = [], 0
    for p in partitions:
        fp = p.fingerprint()
        if ingest.is_unchanged(p, fp, previous) and not (p.kind == "survey" and p.key in unrecorded):
            unchanged += 1
        else:
            pending.append((p, fp))
    return pending, unchanged


def run_key(partition: landing.Partition, fingerprint: dict[str, str]) -> str:
    """A run key unique to the partition's content: the same files never request a second run."""
    digest = hashlib.sha256(json.dumps(sorted(fingerprint.items())).encode()).hexdigest()[:16]
    return f"{partition.kind}:{partition.key}:{digest}"


@dg.sensor(jobs=list(INGEST_JOBS.values()), minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds a partition for every new landing folder and requests a run for new or changed files.")
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZoneResource,
                        warehouse: WarehouseResource):
    try:
        pending, unchanged = pending_partitions(landing_zone.path, warehouse.db)
    except WarehouseBusy:
        return dg.SkipReason("warehouse busy: a load or dbt build is writing; trying again next tick")
    if not pending:
        return dg.SkipReason(f"no new or changed files ({unchanged} partitions unchanged)")
    requests, adds = [], {"survey": [], "dossier": []}
    for partition, fp in pending:
        if not context.instance.has_dynamic_partition(PARTITIONS[partition.kind].name, partition.key):
            adds[partition.kind].append(partition.key)
        requests.append(dg.RunRequest(run_key=run_key(partition, fp), partition_key=partition.key,
                                      job_name=INGEST_JOBS[partition.kind].name))
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[PARTITIONS[k].build_add_request(keys) for k, keys in adds.items() if keys])


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS,
                      monitored_jobs=list(INGEST_JOBS.values()), request_jobs=list(MART_JOBS.values()),
                      default_status=dg.DefaultSensorStatus.RUNNING,
                      description="After a partition loads, rebuild the dbt models that depend on its kind.")
def rebuild_marts_after_ingest(context: dg.RunStatusSensorContext):
    kind = next(k for k, job in INGEST_JOBS.items() if job.name == context.dagster_run.job_name)
    return dg.RunRequest(run_key=f"marts-after-{context.dagster_run.run_id}", job_name=mart_job({kind}))


# on by default: outcomes that depend on the latest extract date and running 365-day windows
# change only when the marts are rebuilt; `dagster dev` / the daemon then rebuilds them every night
nightly_marts = dg.ScheduleDefinition(job=build_all_marts, cron_schedule="30 2 * * *",
                                      execution_timezone="Europe/Brussels",
                                      default_status=dg.DefaultScheduleStatus.RUNNING,
                                      description="Rebuild every model nightly (as_of-dependent outcomes age daily).")
