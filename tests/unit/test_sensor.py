"""The landing-zone sensor: new or changed files become partitions and run requests (SPEC 7)."""
from __future__ import annotations

import dagster as dg
import pytest

from orchestration import ingest, landing
from orchestration.resources import resources_from_settings
from orchestration.sensors import landing_zone_sensor, run_key
from tests.helpers import HEADER, mini_survey_env, write_export

ROW = ["1", "2021-05-03 10:11:12", "3", "nl", "1", "tokA", "A4", "A2", "7", "1", "", "301"]


@pytest.fixture
def survey_landing(project_env, monkeypatch):
    mini_survey_env(project_env, monkeypatch)
    return write_export(project_env / "landing" / "surveys" / "mini_survey" / "w1" / "responses.csv", [HEADER, ROW])


def evaluate(instance):
    resources = {k: v for k, v in resources_from_settings().items() if k in ("landing_zone", "warehouse")}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return landing_zone_sensor(context)


def test_new_folder_adds_partition_and_requests_run(survey_landing):
    with dg.instance_for_test() as instance:
        result = evaluate(instance)
        assert isinstance(result, dg.SensorResult)
        (request,) = result.run_requests
        assert request.partition_key == "mini_survey/w1" and request.job_name == "ingest_survey_wave"
        (adds,) = result.dynamic_partitions_requests
        assert adds.partitions_def_name == "survey_waves" and list(adds.partition_keys) == ["mini_survey/w1"]


def test_loaded_files_are_skipped_and_changed_files_requested_again(survey_landing):
    partition = landing.find("survey", "mini_survey/w1")
    first_key = run_key(partition, partition.fingerprint())
    assert ingest.load_partition(partition).status == "loaded"
    with dg.instance_for_test() as instance:
        skipped = evaluate(instance)
        assert isinstance(skipped, dg.SkipReason) and "1 partitions unchanged" in skipped.skip_message
        write_export(survey_landing, [HEADER, ROW, ["2"] + ROW[1:5] + ["tokB"] + ROW[6:]])
        again = evaluate(instance)
        (request,) = again.run_requests
        assert request.run_key != first_key and request.run_key.startswith("survey:mini_survey/w1:")
