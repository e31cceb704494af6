"""LeanDbtCliResource (orchestration/assets/dbt.py): the dbt resource without dagster-dbt's `dbt --version`
subprocess and in-process adapter handle; same project, profiles, executable and version."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from orchestration.settings import DBT_PROJECT_DIR


def test_lean_keeps_the_resource_settings_and_knows_the_dbt_version(pipeline_manifest):
    from orchestration.assets.dbt import LeanDbtCliResource, lean  # the module reads the manifest

    dbt_exe = str(Path(sys.executable).with_name("dbt"))
    full = DbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_exe)
    lean_dbt = lean(full)
    assert isinstance(lean_dbt, LeanDbtCliResource) and lean(lean_dbt) is lean_dbt
    assert (lean_dbt.project_dir, lean_dbt.dbt_executable, lean_dbt.profiles_dir, lean_dbt.target) == \
        (full.project_dir, full.dbt_executable, full.profiles_dir, full.target)
    out = subprocess.run([dbt_exe, "--version"], capture_output=True, text=True).stdout
    assert lean_dbt._cli_version == version.parse(re.search(r"(\d+\.\d+\.\d+)", out).group(1))
    assert lean_dbt._initialize_dbt_core_adapter(["build"]) is None
