"""The real databricks-sdk meets Databricks' strictness (audit s37 A, S8 and S11): a Databricks
job id, past 32 bits, is an unknown job rather than a range error, and settings the Jobs API
refuses raise `InvalidParameterValue` naming the field."""

from __future__ import annotations

import pytest
from databricks.sdk.errors import InvalidParameterValue, ResourceDoesNotExist
from databricks.sdk.service import jobs

from tests.servers import Server

from .conftest import sdk_client

DATABRICKS_JOB_ID = 914_773_822_156_017  # the size of a real one


def test_a_databricks_id_is_an_unknown_job_or_run(server: Server,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)

    with pytest.raises(ResourceDoesNotExist, match=f"Job {DATABRICKS_JOB_ID} does not exist"):
        w.jobs.get(DATABRICKS_JOB_ID)
    with pytest.raises(ResourceDoesNotExist, match=f"Run {DATABRICKS_JOB_ID} does not exist"):
        w.jobs.get_run(DATABRICKS_JOB_ID)
    assert list(w.jobs.list_runs(job_id=DATABRICKS_JOB_ID)) == []


def test_settings_databricks_refuses_raise_naming_each_field(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    w = sdk_client(server, server.token("ann"), monkeypatch)

    with pytest.raises(InvalidParameterValue) as raised:
        w.jobs.create(name="strict", job_clusters=[jobs.JobCluster(job_cluster_key="small")],
                      run_as=jobs.JobRunAs(user_name="ann", service_principal_name="robot"),
                      tasks=[jobs.Task(task_key="t", spark_python_task=jobs.SparkPythonTask(
                          python_file="t.py"))])
    with pytest.raises(InvalidParameterValue, match=r"\$\.tasks: a one-time run needs"):
        w.jobs.submit(run_name="nothing", tasks=[])

    assert "$.job_clusters[0]: job cluster 'small' has no new_cluster" in str(raised.value)
    assert "$.run_as: name exactly one of" in str(raised.value)
