"""Job clusters made for the run: a `LocalCluster` started from `new_cluster`, closed when the
run no longer needs it, found again by an engine that restarts, and never left behind."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from tests.dask.conftest import (
    Headwater,
    alive,
    attempts,
    run_document,
    run_id_of,
    start_run,
    tagged_processes,
    wait_for,
    write_config,
    write_job,
)

REPORT = """\
import os
from headwater.runtime import task_values
task_values.set("worker", os.environ["HEADWATER_WORKER_NAME"])
task_values.set("worker_pid", int(os.environ["HEADWATER_WORKER_PID"]))
task_values.set("sees_secret", "MY_API_SECRET" in os.environ)
"""

CLUSTERS = [{"job_cluster_key": "etl", "new_cluster": {"num_workers": 2}}]


def job_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "job"
    directory.mkdir(exist_ok=True)
    (directory / "report.py").write_text(REPORT + "import time; time.sleep(1)\n")
    return directory


def on_etl(key: str, *deps: str, **fields: object) -> dict[str, object]:
    return {"task_key": key, "job_cluster_key": "etl",
            "depends_on": [{"task_key": d} for d in deps],
            "spark_python_task": {"python_file": "report.py"}, **fields}


def test_a_new_cluster_of_two_workers_runs_the_tasks_and_leaves_nothing(
        tmp_path: Path, hw: Headwater) -> None:
    # Given a job whose tasks name a job cluster of two workers, and a local task after them
    write_config(tmp_path, {})
    job = write_job(job_dir(tmp_path) / "job.json", [
        on_etl("a"), on_etl("b"),
        {"task_key": "after", "depends_on": [{"task_key": "a"}, {"task_key": "b"}],
         "shell_command_task": {"command": "echo local"}},
    ], job_clusters=CLUSTERS)
    # When it runs, by an engine with a secret in its environment
    result = hw("run", str(job), extra_env={"MY_API_SECRET": "canary-secret-44c2"})
    # Then both tasks ran on the cluster's two worker processes (not the engine)
    assert result.returncode == 0, result.stdout + result.stderr
    document = run_document(hw, run_id_of(result.stdout))
    a, b = attempts(document, "a")[0], attempts(document, "b")[0]
    assert a["task_values"]["worker_pid"] != b["task_values"]["worker_pid"]
    assert a["cluster_instance"]["cluster_id"] == b["cluster_instance"]["cluster_id"]
    # and saw the defined environment, not the workers' (inherited from the engine)
    assert a["task_values"]["sees_secret"] is False and b["task_values"]["sees_secret"] is False
    # and waiting for the cluster to start shows as set-up time
    assert max(a["setup_duration"], b["setup_duration"]) > 0
    assert document["setup_duration"] >= max(a["setup_duration"], b["setup_duration"])
    assert "cluster_instance" not in attempts(document, "after")[0]
    log = hw("runs", "logs", str(document["run_id"]), "a").stdout
    assert "cluster job_clusters/etl: starting distributed.LocalCluster (2 workers" in log
    # and no process of the cluster is left: no host, no worker, no attempt
    assert not any(alive(t["task_values"]["worker_pid"]) for t in (a, b))
    no_cluster_process_left()
    assert not any((tmp_path / ".headwater" / "clusters").glob("*/*"))


def test_a_task_failing_on_a_job_cluster_reports_its_own_error(
        tmp_path: Path, hw: Headwater) -> None:
    # Given a script that raises and a shell command that complains, both on a job cluster
    # (whose log ends with headwater's line saying which worker ran it)
    write_config(tmp_path, {})
    directory = job_dir(tmp_path)
    (directory / "boom.py").write_text("raise ValueError('boom on the cluster')\n")
    job = write_job(directory / "job.json", [
        {"task_key": "script", "job_cluster_key": "etl",
         "spark_python_task": {"python_file": "boom.py"}},
        {"task_key": "shell", "job_cluster_key": "etl",
         "shell_command_task": {"command": "echo 'no such table: sales' >&2; exit 3"}},
    ], job_clusters=[{"job_cluster_key": "etl", "new_cluster": {"num_workers": 1}}])
    # When it runs
    result = hw("run", str(job))
    # Then each failure names the task's own error, not the worker that ran it
    assert result.returncode == 1, result.stdout + result.stderr
    document = run_document(hw, run_id_of(result.stdout))
    script, shell = attempts(document, "script")[0], attempts(document, "shell")[0]
    assert script["state"]["state_message"] == "ValueError: boom on the cluster"
    assert shell["state"]["state_message"].endswith("its last output line: no such table: sales")
    # while the log still says where it ran
    log = hw("runs", "logs", str(document["run_id"]), "script").stdout
    assert "ran on worker" in log


HOLD = """\
sleep 300 & echo $! >> "$PIDS"
echo $$ >> "$PIDS"
wait
"""


def test_a_cancelled_run_leaves_no_cluster_process(tmp_path: Path, hw: Headwater) -> None:
    # Given a run whose task on a job cluster holds a child
    write_config(tmp_path, {})
    pids_file = tmp_path / "pids"
    job = write_job(job_dir(tmp_path) / "job.json", [
        {"task_key": "hold", "job_cluster_key": "etl",
         "shell_command_task": {"command": HOLD, "env": {"PIDS": str(pids_file)}}},
    ], job_clusters=CLUSTERS)
    run = start_run(tmp_path, job)
    try:
        wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 2,
                 what="the task on the cluster")
        assert tagged_processes()
        # When the run is cancelled
        run_id = run_id_of((tmp_path / "run.out").read_text())
        assert hw("runs", "cancel", str(run_id)).returncode == 0
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    # Then it is CANCELED and nothing of the cluster or the task is left
    assert run_document(hw, run_id)["state"]["result_state"] == "CANCELED"
    no_cluster_process_left()
    assert not any(alive(int(p)) for p in pids_file.read_text().split())


STEP = """\
echo $$ > "$PIDS"
while [ ! -e "$GO" ]; do sleep 0.1; done
echo done
"""


def test_an_engine_killed_mid_run_finds_its_cluster_again_and_closes_it(
        tmp_path: Path, hw: Headwater) -> None:
    # Given a run whose task on a job cluster waits for a go, and a second task after it
    write_config(tmp_path, {})
    pids_file, go = tmp_path / "pids", tmp_path / "go"
    job = write_job(job_dir(tmp_path) / "job.json", [
        {"task_key": "first", "job_cluster_key": "etl",
         "shell_command_task": {"command": STEP, "env": {"PIDS": str(pids_file),
                                                         "GO": str(go)}}},
        on_etl("second", "first"),
    ], job_clusters=CLUSTERS)
    run = start_run(tmp_path, job)
    wait_for(lambda: pids_file.exists() and pids_file.read_text().strip(), what="the task")
    task_pid = int(pids_file.read_text())
    run_id = run_id_of((tmp_path / "run.out").read_text())
    # When the engine is killed while the task runs
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    # Then the cluster and the task run on without it
    assert alive(task_pid)
    cluster = tagged_processes()
    assert cluster
    # and when a new engine resumes the run (and the task is let go)
    go.touch()
    resumed = hw("runs", "resume", str(run_id))
    # Then it adopts the attempt, runs the rest on the same cluster, and closes it
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    document = run_document(hw, run_id)
    assert document["state"]["result_state"] == "SUCCESS"
    first, second = attempts(document, "first"), attempts(document, "second")
    assert len(first) == 1 and first[0]["state"]["result_state"] == "SUCCESS"
    assert second[0]["cluster_instance"]["cluster_id"] == first[0]["cluster_instance"]["cluster_id"]
    assert "done" in hw("runs", "logs", str(run_id), "first").stdout
    no_cluster_process_left()
    assert not any(alive(p) for p in cluster)


RECORDING_CLUSTER = """\
import json, os
from distributed import LocalCluster


class RecordingCluster(LocalCluster):
    \"\"\"A cluster manager of the user's own: a LocalCluster that notes its arguments.\"\"\"

    def __init__(self, mark, **kwargs):
        with open(mark, "w") as f:
            json.dump({"kwargs": kwargs, "pid": os.getpid()}, f)
        super().__init__(**kwargs)
"""


def test_a_cluster_class_from_the_configuration_starts_the_job_cluster_adaptively(
        tmp_path: Path, hw: Headwater) -> None:
    # Given a cluster class of the user's own named for the job cluster in headwater.yml,
    # with its arguments, and a job cluster that autoscales between 1 and 2 workers
    (tmp_path / "user_clusters.py").write_text(RECORDING_CLUSTER)
    mark = tmp_path / "mark.json"
    write_config(tmp_path, {"etl": {
        "cluster_class": "user_clusters.RecordingCluster",
        "cluster_kwargs": {"mark": str(mark), "n_workers": 0, "threads_per_worker": 1,
                           "processes": True, "host": "127.0.0.1",
                           "dashboard_address": None}}})
    job = write_job(job_dir(tmp_path) / "job.json", [on_etl("a")], job_clusters=[
        {"job_cluster_key": "etl", "new_cluster": {"autoscale": {"min_workers": 1,
                                                                 "max_workers": 2}}}])
    # When it runs
    result = hw("run", str(job), extra_env={"PYTHONPATH": str(tmp_path)})
    # Then the class was built with the configured arguments, in a host of its own
    assert result.returncode == 0, result.stdout + result.stderr
    built = json.loads(mark.read_text())
    assert built["kwargs"]["threads_per_worker"] == 1 and built["kwargs"]["n_workers"] == 0
    # and the task ran on one of its workers, scaled adaptively between the bounds
    document = run_document(hw, run_id_of(result.stdout))
    a = attempts(document, "a")[0]
    assert a["state"]["result_state"] == "SUCCESS"
    assert a["task_values"]["worker_pid"] not in (built["pid"], os.getpid())
    log = hw("runs", "logs", str(document["run_id"]), "a").stdout
    assert "starting user_clusters.RecordingCluster (adaptive, 1 to 2 workers" in log
    # and nothing of it is left
    assert not alive(built["pid"]) and not alive(a["task_values"]["worker_pid"])
    no_cluster_process_left()


def no_cluster_process_left() -> None:
    """Every process of the clusters ends (SIGKILLed ones take a moment on a busy machine)."""
    wait_for(lambda: tagged_processes() == [], timeout=15, what="no cluster process left")


FIRST_HOLDS = """\
echo "$HEADWATER_ATTEMPT $HEADWATER_WORKER_PID" >> "$PIDS"
[ "$HEADWATER_ATTEMPT" -gt 0 ] || sleep 300
"""


def test_a_cluster_whose_host_dies_loses_its_attempt_and_the_retry_starts_it_again(
        tmp_path: Path, hw: Headwater) -> None:
    # Given a run whose task on a job cluster holds on its first attempt, with a retry
    write_config(tmp_path, {})
    pids_file = tmp_path / "pids"
    job = write_job(job_dir(tmp_path) / "job.json", [
        {"task_key": "hold", "job_cluster_key": "etl", "max_retries": 1,
         "shell_command_task": {"command": FIRST_HOLDS, "env": {"PIDS": str(pids_file)}}},
    ], job_clusters=CLUSTERS)
    run = start_run(tmp_path, job)
    try:
        wait_for(lambda: pids_file.exists() and pids_file.read_text().strip(), what="the task")
        [record] = (tmp_path / ".headwater" / "clusters").glob("*/*/record.json")
        # When the cluster's host process is killed (and its workers and the task with it)
        os.kill(json.loads(record.read_text())["pid"], signal.SIGKILL)
        run.wait(timeout=180)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    # Then the attempt is lost, and the retry ran on a cluster started again, and succeeded
    document = run_document(hw, run_id_of((tmp_path / "run.out").read_text()))
    first, second = attempts(document, "hold")
    # (lost as the engine sees the host gone, or as the Dask client loses the scheduler:
    # whichever comes first; before, the client's was the only way, half a minute later)
    message = first["state"]["state_message"]
    assert message.startswith("the attempt was lost: ") and (
        "the cluster's host process is gone" in message
        or "scheduler-connection-lost" in message), message
    assert second["state"]["result_state"] == "SUCCESS", second
    workers = dict(line.split() for line in pids_file.read_text().splitlines())
    assert workers["0"] != workers["1"] and not alive(int(workers["0"]))
    assert document["state"]["result_state"] == "SUCCESS"
    no_cluster_process_left()
