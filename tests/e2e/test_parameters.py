"""Parameters, references, task values and bundle targets, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Cli, shell, write_job
from .test_run import run_document, run_id_of


def test_a_value_flows_from_task_to_task_and_into_parameters(hw: Cli, tmp_path: Path) -> None:
    # Given A sets a task value, B reads it through a reference and sets another, C reads B's
    script = tmp_path / "double.py"
    script.write_text(
        "import json, os, sys\n"
        "rows = int(sys.argv[1])\n"
        "with open(os.path.join(os.environ['HEADWATER_ATTEMPT_DIR'], 'values.jsonl'), 'a') as f:\n"
        "    f.write(json.dumps({'key': 'doubled', 'value': rows * 2}) + '\\n')\n"
    )
    out = tmp_path / "c.out"
    job = write_job(tmp_path / "values.json", [
        shell("a", 'echo \'{"key": "rows", "value": 21}\' >> "$HEADWATER_ATTEMPT_DIR/values.jsonl"'),
        {"task_key": "b", "depends_on": [{"task_key": "a"}],
         "spark_python_task": {"python_file": "double.py",
                               "parameters": ["{{tasks.a.values.rows}}"]}},
        shell("c", f'printf %s "$DOUBLED" > {out}', "b",
              env={"DOUBLED": "{{tasks.b.values.doubled}}"}),
    ])
    # When it runs
    result = hw("run", str(job))
    assert result.returncode == 0, result.stdout + result.stderr
    # Then C got 42, and runs get shows the values and the resolved parameters
    assert out.read_text() == "42"
    document = json.loads(hw("runs", "get", str(run_id_of(result.stdout)), "--json", "--resolved",
                             check=True).stdout)
    tasks = {t["task_key"]: t for t in document["tasks"]}
    assert tasks["a"]["task_values"] == {"rows": 21}
    assert tasks["b"]["task_values"] == {"doubled": 42}
    assert tasks["b"]["resolved_values"] == {"spark_python_task": {"parameters": ["21"]}}
    assert tasks["c"]["resolved_values"] == {"shell_command_task": {"env": {"DOUBLED": "42"}}}
    # and the text view shows them under each attempt when asked, and only then
    run_id = str(run_id_of(result.stdout))
    text = hw("runs", "get", run_id, "--resolved", check=True).stdout
    assert '      resolved: {"spark_python_task": {"parameters": ["21"]}}' in text, text
    assert "resolved:" not in hw("runs", "get", run_id, check=True).stdout


def test_a_too_large_task_value_fails_the_task_that_set_it(hw: Cli, tmp_path: Path) -> None:
    big = "x" * (48 * 1024 + 1)
    (tmp_path / "big.json").write_text(json.dumps({"key": "blob", "value": big}) + "\n")
    job = write_job(tmp_path / "job.json", [
        shell("a", f'cat {tmp_path / "big.json"} >> "$HEADWATER_ATTEMPT_DIR/values.jsonl"')])
    result = hw("run", str(job))
    assert result.returncode == 1
    task = run_document(hw, run_id_of(result.stdout))["tasks"][0]
    assert task["state"]["result_state"] == "FAILED"
    assert "limit is 49152 bytes" in task["state"]["state_message"]


def test_job_parameters_override_and_reach_tasks(hw: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    job = write_job(tmp_path / "job.json", [
        shell("show", f'printf "%s|%s" "$HEADWATER_PARAM_ENV" "$WHEN" > {out}',
              env={"WHEN": "{{job.parameters.env}}-{{job.run_id}}"})],
        parameters=[{"name": "env", "default": "dev"}])
    result = hw("run", str(job), "--param", "env=prod")
    assert result.returncode == 0, result.stderr
    run_id = run_id_of(result.stdout)
    assert out.read_text() == f"prod|prod-{run_id}"
    document = run_document(hw, run_id)
    assert document["job_parameters"] == [{"name": "env", "default": "dev", "value": "prod"}]
    unknown = hw("run", str(job), "--param", "envv=x")
    assert unknown.returncode == 1 and "did you mean 'env'" in unknown.stderr


# From the reliability plan, section G5.
PAYLOADS = [
    "x; touch CANARY",
    "$(touch CANARY)",
    "`touch CANARY`",
    "| touch CANARY",
    "a\ntouch CANARY",
    "a && touch CANARY",
    "unbalanced ' quote",
    'unbalanced " quote',
    "--output=/x",
    "*",
    "$(touch pwned); rm -rf ~",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payloads_arrive_byte_for_byte_and_run_nothing(hw: Cli, tmp_path: Path,
                                                                 payload: str) -> None:
    out = tmp_path / "out"
    job = write_job(tmp_path / "job.json", [
        shell("echo", f'printf %s "$HEADWATER_PARAM_NAME" > {out}'),
        {"task_key": "argv", "spark_python_task": {
            "python_file": "argv.py", "parameters": ["{{job.parameters.name}}"]}},
    ], parameters=[{"name": "name", "default": ""}])
    (tmp_path / "argv.py").write_text(
        "import sys\nopen('argv.out', 'w').write(sys.argv[1])\n")
    result = hw("run", str(job), "--param", f"name={payload}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_bytes() == payload.encode()
    assert (tmp_path / "argv.out").read_bytes() == payload.encode()
    assert not (tmp_path / "CANARY").exists() and not (tmp_path / "pwned").exists()


BUNDLE = """\
bundle:
  name: etl
variables:
  retries:
    default: 1
  warehouse:
    default: dev_wh
resources:
  jobs:
    etl:
      name: etl
      schedule:
        quartz_cron_expression: "0 0 2 * * ?"
        timezone_id: UTC
      parameters:
        - name: env
          default: dev
        - name: warehouse
          default: ${var.warehouse}
      tasks:
        - task_key: flaky
          max_retries: ${var.retries}
          shell_command_task:
            command: 'printf "%s %s\\n" "$HEADWATER_PARAM_ENV" "$HEADWATER_PARAM_WAREHOUSE" >> runs.log; exit 1'
targets:
  dev:
    default: true
    mode: development
  test:
    variables:
      retries: 2
  prod:
    mode: production
    variables:
      retries: 3
      warehouse: prod_wh
    resources:
      jobs:
        etl:
          parameters:
            - name: env
              default: prod
"""


@pytest.mark.parametrize(("target", "name", "env", "warehouse", "attempts", "paused"), [
    ("dev", "[dev tester] etl", "dev", "dev_wh", 2, "PAUSED"),
    ("test", "etl", "dev", "dev_wh", 3, None),
    ("prod", "etl", "prod", "prod_wh", 4, None),
])
def test_a_bundle_runs_under_each_target(hw: Cli, tmp_path: Path, target: str, name: str,
                                         env: str, warehouse: str, attempts: int,
                                         paused: str | None) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    result = hw("run", "databricks.yml", "--target", target,
                extra_env={"HEADWATER_USER": "tester"})
    assert result.returncode == 1  # the task always fails: we count its attempts
    document = run_document(hw, run_id_of(result.stdout))
    assert document["run_name"] == name
    assert {p["name"]: p["value"] for p in document["job_parameters"]} == {
        "env": env, "warehouse": warehouse}
    assert len(document["tasks"]) == attempts
    assert (tmp_path / "runs.log").read_text().splitlines() == [f"{env} {warehouse}"] * attempts
    rendered = json.loads(hw("bundle", "render", "databricks.yml", "--target", target,
                             check=True, extra_env={"HEADWATER_USER": "tester"}).stdout)["etl"]
    assert rendered["schedule"].get("pause_status") == paused
