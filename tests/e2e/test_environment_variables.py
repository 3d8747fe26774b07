"""A job's `environment_variables` reach the processes of the tasks that select them: inline
variables over `.env` files, a task's own `env` over both, the run's own variables over all;
in a for-each's iterations too; a bad file fails the attempt naming its line."""

from __future__ import annotations

from pathlib import Path

from .conftest import Cli, write_job
from .test_run import run_document, run_id_of

SHOW = 'echo "REGION=$REGION SHARED=$SHARED FROM_FILE=$FROM_FILE RUN=$HEADWATER_RUN_ID"'
SCRIPT = 'import os, sys\nprint(sys.argv[1], os.environ["REGION"], os.environ["TOKEN_PATH"])\n'


def test_tasks_see_the_variables_they_select(hw: Cli, tmp_path: Path) -> None:
    # Given two .env files and an entry that names them beside inline variables
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "base.env").write_text(
        "# shared settings\nSHARED=base\nFROM_FILE=base\nREGION=from-file\n")
    (tmp_path / "conf" / "dev.env").write_text("\nSHARED=dev\nTOKEN_PATH=/run/t=1\n")
    (tmp_path / "show.py").write_text(SCRIPT)
    job = write_job(tmp_path / "job.json", [
        {"task_key": "shell", "environment_variables_key": "dev",
         "shell_command_task": {"command": SHOW}},
        {"task_key": "own_env", "environment_variables_key": "dev",
         "shell_command_task": {"command": SHOW,
                                "env": {"REGION": "task", "HEADWATER_RUN_ID": "forged"}}},
        {"task_key": "none", "shell_command_task": {"command": SHOW}},
        {"task_key": "loop", "for_each_task": {"inputs": '["a", "b"]', "task": {
            "task_key": "loop_iteration", "environment_variables_key": "dev",
            "spark_python_task": {"python_file": "show.py", "parameters": ["{{input}}"]}}}},
    ], environment_variables=[{"environment_variables_key": "dev", "spec": {
        "variables": {"REGION": "eu-west-1"},
        "files": ["conf/base.env", "conf/dev.env"]}}])

    # When it runs
    result = hw("run", str(job))
    run = run_id_of(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr

    # Then each task saw what it selected, in the documented order
    def log(key: str) -> str:
        return hw("runs", "logs", str(run), key, check=True).stdout

    assert log("shell") == f"REGION=eu-west-1 SHARED=dev FROM_FILE=base RUN={run}\n"
    assert log("own_env") == f"REGION=task SHARED=dev FROM_FILE=base RUN={run}\n"
    assert log("none") == f"REGION= SHARED= FROM_FILE= RUN={run}\n"
    for iteration, element in enumerate(("a", "b")):
        found = hw("runs", "logs", str(run), "loop", "--iteration", str(iteration), check=True)
        assert found.stdout == f"{element} eu-west-1 /run/t=1\n"


def test_a_bad_env_file_fails_the_attempt_naming_its_line(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "bad.env").write_text("GOOD=1\nexport BAD=2\n")
    job = write_job(tmp_path / "job.json", [
        {"task_key": "shell", "environment_variables_key": "e",
         "shell_command_task": {"command": "echo never"}},
    ], environment_variables=[{"environment_variables_key": "e",
                               "spec": {"files": ["bad.env", "missing.env"]}}])

    result = hw("run", str(job))

    assert result.returncode == 1
    task = run_document(hw, run_id_of(result.stdout))["tasks"][0]
    assert task["state"]["result_state"] == "FAILED"
    assert task["state"]["state_message"].startswith(
        "The task could not start: bad.env:2: 'export BAD=2' is not KEY=VALUE")


def test_validate_names_an_unknown_entry_and_a_workspace_file(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.yml").write_text("""\
resources:
  jobs:
    j:
      name: j
      environment_variables:
        - environment_variables_key: dev
          spec:
            files: [/Workspace/Users/me/dev.env]
      tasks:
        - task_key: t
          environment_variables_key: deev
          shell_command_task: {command: env}
""")
    result = hw("validate", "job.yml")
    assert result.returncode == 1
    assert ("job.yml:8:21: environment_variables[0].spec.files[0]: '/Workspace/Users/me/dev.env'"
            " is a Databricks workspace or cloud path") in result.stdout + result.stderr
    assert ("job.yml:11:38: tasks[0].environment_variables_key: unknown environment variables "
            "'deev' (did you mean 'dev'?)") in result.stdout + result.stderr


CLUSTER_SCRIPT = """\
import os
password = os.environ["DB_PASSWORD"]
print(os.environ["REGION"], os.environ["PORT"], os.environ["DEBUG"], password == "pa55-word",
      os.environ["OVERRIDDEN"])
"""


def test_a_cluster_s_spark_env_vars_and_secret_references_reach_its_tasks(
        hw: Cli, tmp_path: Path) -> None:
    # Given a secret, a job cluster whose spark_env_vars name it, and a local task that does too
    hw("secrets", "put-secret", "prod", "db", "--string-value", "pa55-word", check=True)
    (tmp_path / "show.py").write_text(CLUSTER_SCRIPT)
    job = write_job(tmp_path / "job.json", [
        {"task_key": "on_cluster", "job_cluster_key": "etl",
         "environment_variables_key": "common",
         "spark_python_task": {"python_file": "show.py"}},
        {"task_key": "local", "shell_command_task": {
            "command": 'echo "token of ${#TOKEN} characters, literal=$LITERAL"',
            "env": {"TOKEN": "{{secrets/prod/db}}", "LITERAL": "x{{secrets/prod/db}}"}}},
        {"task_key": "missing", "shell_command_task": {
            "command": "echo never", "env": {"TOKEN": "{{secrets/prod/nope}}"}}},
    ], job_clusters=[{"job_cluster_key": "etl", "new_cluster": {
        "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1,
        "spark_env_vars": {"REGION": "eu", "PORT": 5432, "DEBUG": True,
                           "DB_PASSWORD": "{{secrets/prod/db}}", "OVERRIDDEN": "cluster"}}}],
        environment_variables=[{"environment_variables_key": "common",
                                "spec": {"variables": {"OVERRIDDEN": "entry"}}}])

    # When it runs
    run = run_id_of(hw("run", str(job)).stdout)

    # Then the cluster's task has its variables (under the entry's), the secret resolved
    def log(key: str) -> str:
        return hw("runs", "logs", str(run), key, check=True).stdout

    assert "\neu 5432 true True entry\n" in log("on_cluster")  # among the cluster's lines
    assert log("local") == "token of 9 characters, literal=x{{secrets/prod/db}}\n"
    tasks = {t["task_key"]: t for t in run_document(hw, run)["tasks"]}
    assert tasks["missing"]["state"]["state_message"] == (
        "The task could not start: environment variable TOKEN: {{secrets/prod/nope}}: no secret "
        "'nope' in scope 'prod'; add it with `headwater secrets put-secret prod nope`")
    # And the value is nowhere headwater keeps things but the secret store
    home = tmp_path / ".headwater"
    holding = [path.relative_to(home) for path in home.rglob("*")
               if path.is_file() and b"pa55-word" in path.read_bytes()]
    assert holding == [Path("secrets/prod/db")]
