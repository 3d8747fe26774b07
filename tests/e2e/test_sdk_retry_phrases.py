"""A client's mistake is never retried by the databricks-sdk, even when the caller's own
text holds a phrase the SDK reads as transient (reference 0.7): the 400 comes back at once."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import jobs

from tests.servers import Server

RETRIED = ("Unexpected error", "Please try again later or try a faster operation.",
           "ClusterNotReadyException")


@pytest.mark.parametrize("phrase", RETRIED)
def test_a_mistake_quoting_a_retried_phrase_is_answered_not_retried(
        server: Server, phrase: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(server.workdir / "no.databrickscfg"))
    # A retry would run out this budget and raise TimeoutError instead.
    w = WorkspaceClient(config=Config(host=server.url, token=server.token("ann"),
                                      retry_timeout_seconds=3))
    job_id = w.jobs.create(name="phrases", tasks=[jobs.Task(
        task_key="t", spark_python_task=jobs.SparkPythonTask(python_file="t.py"))]).job_id

    with pytest.raises(InvalidParameterValue) as refused:
        w.jobs.run_now(job_id, job_parameters={phrase: "x"})

    message = str(refused.value)
    assert phrase not in message
    assert phrase.replace(" ", "") in message.replace(" ", "").replace("\u200b", "")
