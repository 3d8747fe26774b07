"""Tasks on the workers of an existing Dask deployment (a `dask scheduler` and two
`dask worker` processes on loopback), named by `existing_cluster_id`."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

from tests.dask.conftest import (
    Headwater,
    LoopbackDask,
    alive,
    attempts,
    run_document,
    run_id_of,
    start_run,
    wait_for,
    write_config,
    write_job,
)

REPORT = """\
import os, sys
from headwater.runtime import task_values
task_values.set("worker", os.environ["HEADWATER_WORKER_NAME"])
task_values.set("worker_pid", int(os.environ["HEADWATER_WORKER_PID"]))
task_values.set("pid", os.getpid())
task_values.set("script", __file__)
task_values.set("ran_in", os.getcwd())
"""

JOIN = """\
import json, os, sys
from headwater.runtime import task_values
left, right = sys.argv[1], sys.argv[2]
assert left != right, (left, right)
task_values.set("seen", [left, right, os.environ["HEADWATER_WORKER_NAME"]])
"""


def job_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "job"
    directory.mkdir(exist_ok=True)
    return directory


def on_lab(task: dict[str, object]) -> dict[str, object]:
    return {**task, "existing_cluster_id": "lab"}


def test_tasks_run_on_the_workers_and_their_values_pass_between_workers(
        tmp_path: Path, hw: Headwater, dask_cluster: LoopbackDask) -> None:
    # Given a scheduler and two one-thread workers, and a job whose two parallel tasks
    # report where they run, and a third that reads both reports
    write_config(tmp_path, {"lab": {"scheduler_address": dask_cluster.address}})
    (tmp_path / "report.py").write_text(REPORT + "import time; time.sleep(1)\n")
    (tmp_path / "join.py").write_text(JOIN)
    job = write_job(tmp_path / "job.json", [
        on_lab({"task_key": "a", "spark_python_task": {"python_file": "report.py"}}),
        on_lab({"task_key": "b", "spark_python_task": {"python_file": "report.py"}}),
        on_lab({"task_key": "join", "depends_on": [{"task_key": "a"}, {"task_key": "b"}],
                "spark_python_task": {"python_file": "join.py", "parameters": [
                    "{{tasks.a.values.worker}}", "{{tasks.b.values.worker}}"]}}),
    ])
    # When it runs
    result = hw("run", str(job))
    # Then every task ran on a worker: the workers' names and pids, not the engine's
    assert result.returncode == 0, result.stdout + result.stderr
    document = run_document(hw, run_id_of(result.stdout))
    values = {t["task_key"]: t.get("task_values", {}) for t in document["tasks"]}
    workers = {"w1": dask_cluster.pid("w1"), "w2": dask_cluster.pid("w2")}
    assert {values["a"]["worker"], values["b"]["worker"]} == {"w1", "w2"}
    for key in ("a", "b"):
        assert values[key]["worker_pid"] == workers[values[key]["worker"]]
        assert values[key]["pid"] not in workers.values()
        # the job's files were shipped to the worker: the script ran from its copy
        assert not values[key]["script"].startswith(str(tmp_path)), values[key]["script"]
    # and the values of tasks on different workers reached the task that joins them
    assert values["join"]["seen"][:2] == [values["a"]["worker"], values["b"]["worker"]]
    # and each task run says which cluster and worker ran it
    instance = attempts(document, "a")[0]["cluster_instance"]
    assert instance["cluster_id"] == "lab"
    assert instance["spark_context_id"] == values["a"]["worker"]
    log = hw("runs", "logs", str(document["run_id"]), "a").stdout
    assert f"ran on worker {values['a']['worker']}" in log


def test_shared_files_run_in_place(tmp_path: Path, hw: Headwater,
                                   dask_cluster: LoopbackDask) -> None:
    # Given a cluster whose workers see the engine's files at the same paths
    write_config(tmp_path, {"lab": {"scheduler_address": dask_cluster.address,
                                    "shared_files": True}})
    (tmp_path / "report.py").write_text(REPORT + "print('shared', flush=True)\n")
    job = write_job(tmp_path / "job.json", [
        on_lab({"task_key": "a", "spark_python_task": {"python_file": "report.py"}})])
    # When it runs
    result = hw("run", str(job))
    # Then the script ran from the job's own directory, its log written in place
    assert result.returncode == 0, result.stdout + result.stderr
    document = run_document(hw, run_id_of(result.stdout))
    values = attempts(document, "a")[0]["task_values"]
    assert values["script"] == str(tmp_path / "report.py")
    assert values["worker_pid"] in (dask_cluster.pid("w1"), dask_cluster.pid("w2"))
    assert "shared" in hw("runs", "logs", str(document["run_id"]), "a").stdout


SLOW_ONCE = """\
if [ -e "$MARK" ]; then echo "second on $HEADWATER_WORKER_NAME"; exit 0; fi
touch "$MARK"
sleep 300 & echo $! > "$PIDS"
echo $$ >> "$PIDS"
echo "$HEADWATER_WORKER_NAME" > "$WHERE"
wait
"""


def test_a_worker_killed_mid_task_is_a_lost_attempt_retried_on_the_other_worker(
        tmp_path: Path, hw: Headwater, dask_cluster: LoopbackDask) -> None:
    # Given a task with one retry whose first attempt runs (with a child) until stopped
    write_config(tmp_path, {"lab": {"scheduler_address": dask_cluster.address}})
    env = {"MARK": str(tmp_path / "mark"), "PIDS": str(tmp_path / "pids"),
           "WHERE": str(tmp_path / "where")}
    # (the job's directory is shipped to the worker: the marks live outside it)
    job = write_job(job_dir(tmp_path) / "job.json", [on_lab({
        "task_key": "t", "max_retries": 1,
        "shell_command_task": {"command": SLOW_ONCE, "env": env}})])
    run = start_run(tmp_path, job)
    try:
        where = wait_for(lambda: (tmp_path / "where").exists()
                         and (tmp_path / "where").read_text().strip(), what="the first attempt")
        pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
        # When the worker that runs it is killed
        dask_cluster.kill(where)
        # Then the run goes on and succeeds
        assert run.wait(timeout=180) == 0, (tmp_path / "run.out").read_text()
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    document = run_document(hw, run_id_of((tmp_path / "run.out").read_text()))
    first, second = attempts(document, "t")
    # the first attempt was lost with its worker, and its whole tree ended with it
    assert first["state"]["result_state"] == "FAILED"
    message = first["state"]["state_message"]
    assert "lost" in message.lower(), message
    if "Dask then gave it to" in message:  # rescheduled (not given up): the lost worker named
        assert f"its worker {where} (tcp://" in message, message
    wait_for(lambda: not any(alive(p) for p in pids), timeout=30, what="the lost tree to end")
    # the retry ran on the other worker
    other = ({"w1", "w2"} - {where}).pop()
    assert second["state"]["result_state"] == "SUCCESS"
    assert second["cluster_instance"]["spark_context_id"] == other


TREE = """\
sleep 300 & echo $! >> "$PIDS"
sh -c 'sleep 300' & echo $! >> "$PIDS"
echo $$ >> "$PIDS"
wait
"""


def test_a_cancel_kills_the_remote_process_tree(tmp_path: Path, hw: Headwater,
                                               dask_cluster: LoopbackDask) -> None:
    # Given a task on a worker with children of its own
    write_config(tmp_path, {"lab": {"scheduler_address": dask_cluster.address}})
    pids_file = tmp_path / "pids"
    job = write_job(job_dir(tmp_path) / "job.json", [on_lab({
        "task_key": "t", "shell_command_task": {"command": TREE,
                                                "env": {"PIDS": str(pids_file)}}})])
    run = start_run(tmp_path, job)
    try:
        wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 3,
                 what="the task's tree")
        pids = [int(p) for p in pids_file.read_text().split()]
        assert all(alive(p) for p in pids)
        # When the run is cancelled (Ctrl-C on `headwater run` cancels it)
        run_id = run_id_of((tmp_path / "run.out").read_text())
        assert hw("runs", "cancel", str(run_id)).returncode == 0
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    # Then the whole remote tree is gone and the run says CANCELED
    wait_for(lambda: not any(alive(p) for p in pids), timeout=30, what="the tree to end")
    document = run_document(hw, run_id)
    assert document["state"]["result_state"] == "CANCELED"


def test_a_timeout_kills_the_remote_process_tree(tmp_path: Path, hw: Headwater,
                                                dask_cluster: LoopbackDask) -> None:
    # Given a task that outlives its 2-second timeout, with children of its own
    write_config(tmp_path, {"lab": {"scheduler_address": dask_cluster.address}})
    pids_file = tmp_path / "pids"
    job = write_job(job_dir(tmp_path) / "job.json", [on_lab({
        "task_key": "t", "timeout_seconds": 2,
        "shell_command_task": {"command": TREE, "env": {"PIDS": str(pids_file)}}})])
    # When it runs
    result = hw("run", str(job))
    # Then it timed out, and nothing of its tree is left on the worker
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 3
    wait_for(lambda: not any(alive(p) for p in pids), timeout=30, what="the tree to end")
    document = run_document(hw, run_id_of(result.stdout))
    assert attempts(document, "t")[0]["state"]["result_state"] == "TIMEDOUT"


def test_an_unknown_existing_cluster_is_a_clear_failure(tmp_path: Path, hw: Headwater) -> None:
    write_config(tmp_path, {})
    job = write_job(tmp_path / "job.json", [on_lab({
        "task_key": "t", "shell_command_task": {"command": "true"}})])
    # validate warns (the job is valid as Databricks sees it), naming what to add
    checked = hw("validate", str(job))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "warning: existing_cluster_id 'lab' (task 't') is not in headwater.yml's " \
        "clusters, so the task cannot start" in checked.stdout
    assert "clusters: {lab: {scheduler_address: tcp://HOST:8786}}" in checked.stdout
    write_config(tmp_path, {"lab": {"scheduler_address": "tcp://127.0.0.1:8786"}})
    assert "warning" not in hw("validate", str(job)).stdout
    write_config(tmp_path, {})
    result = hw("run", str(job))
    assert result.returncode != 0
    document = run_document(hw, run_id_of(result.stdout))
    message = attempts(document, "t")[0]["state"]["state_message"]
    assert "existing_cluster_id 'lab'" in message and "scheduler_address" in message


ENGINE_SECRETS = {"HEADWATER_SMTP_PASSWORD": "canary-smtp-7f3a",
                  "DATABRICKS_TOKEN": "dapi-canary-90ab", "MY_API_SECRET": "canary-secret-44c2"}


def test_an_attempt_on_a_worker_gets_the_defined_environment_not_the_worker_s(
        tmp_path: Path, hw: Headwater) -> None:
    # Given workers whose own environment holds a variable and a secret of theirs
    cluster = LoopbackDask(tmp_path)
    try:
        cluster.start(worker_env={"WORKER_ONLY": "w-canary", "WORKER_TOKEN": "w-secret-1d2e"})
        # and an engine whose configuration names a secret and lets tasks inherit TEAM_*
        (tmp_path / "headwater.yml").write_text(json.dumps({
            "clusters": {"lab": {"scheduler_address": cluster.address}},
            "smtp": {"host": "127.0.0.1", "password_env": "HEADWATER_SMTP_PASSWORD"},
            "task_environment": {"inherit": ["TEAM_*"]}}))
        job = write_job(tmp_path / "job.json", [on_lab(
            {"task_key": "show", "shell_command_task": {"command": "env | sort"}})])
        # When a task on a worker prints its environment
        ran = hw("run", str(job), extra_env={**ENGINE_SECRETS, "TEAM_NAME": "data",
                                             "EDITOR": "vi"})
    finally:
        cluster.stop()
    # Then it saw the engine's defined environment: no secret of the engine's, nothing
    # of the worker's own, what headwater.yml lets it inherit, and where it runs
    assert ran.returncode == 0, ran.stdout + ran.stderr
    logs = hw("runs", "logs", str(run_id_of(ran.stdout)), "show").stdout
    seen = dict(line.split("=", 1) for line in logs.splitlines()
                if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", line))
    for name, value in ENGINE_SECRETS.items():
        assert name not in seen and value not in logs
    assert "WORKER_ONLY" not in seen and "WORKER_TOKEN" not in seen and "w-secret" not in logs
    assert "EDITOR" not in seen
    assert seen["TEAM_NAME"] == "data"
    assert {"PATH", "HOME", "HEADWATER_RUN_ID", "HEADWATER_TASK_KEY",
            "HEADWATER_WORKER_NAME"} <= set(seen)
