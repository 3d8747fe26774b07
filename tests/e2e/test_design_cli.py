"""`headwater describe` and `headwater lint` as a user runs them: `python -m headwater ...`."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.design.code_files import with_its_code
from tests.e2e.conftest import Cli

FIXTURES = Path(__file__).parent.parent / "design" / "fixtures"
EXAMPLE = Path(__file__).parents[2] / "examples" / "lf_job_etl_pipeline" / "databricks.yml"


def test_describe_writes_the_design_before_the_code_exists_and_lint_refuses_it(
        hw: Cli, tmp_path: Path) -> None:
    job = Path(shutil.copy(FIXTURES / "designed_job.yml", tmp_path / "job.yml"))  # no code

    described = hw("describe", str(job), "--target", "prod")
    linted = hw("lint", str(job))

    assert described.returncode == 0, described.stderr
    assert described.stdout.startswith("# Job design: shop_orders\n")
    assert linted.returncode == 1 and "no such file" in linted.stderr


def test_describe_lint_and_simulate_read_databricks_yml_when_no_file_is_named(
        hw: Cli, tmp_path: Path) -> None:
    with_its_code(Path(shutil.copy(FIXTURES / "designed_job.yml", tmp_path / "databricks.yml")),
                  "designed_job.yml")

    described = hw("describe", "--target", "prod", check=True)
    linted = hw("lint")
    simulated = hw("simulate", check=True)

    assert described.stdout.startswith("# Job design: shop_orders\n")
    assert linted.stdout.startswith("databricks.yml:"), linted.stdout + linted.stderr
    assert "shop_orders" in simulated.stdout
    (tmp_path / "databricks.yml").unlink()
    assert "no databricks.yml here" in hw("lint").stderr


def test_describe_prints_markdown_and_writes_html(hw: Cli, tmp_path: Path) -> None:
    job = with_its_code(Path(shutil.copy(FIXTURES / "designed_job.yml", tmp_path / "job.yml")),
                        "designed_job.yml")

    markdown = hw("describe", str(job), "--target", "prod", check=True).stdout
    html = hw("describe", str(job), "--format", "html", "--output", "design.html", check=True)

    assert markdown.startswith("# Job design: shop_orders\n")
    assert "## Alerting rules" in markdown and "```mermaid\nflowchart LR\n" in markdown
    assert "wrote design.html" in html.stderr
    assert (tmp_path / "design.html").read_text().count('<g class="node') == 5


def test_lint_reports_and_exits_by_severity(hw: Cli, tmp_path: Path) -> None:
    poor = with_its_code(Path(shutil.copy(FIXTURES / "poor_job.yml", tmp_path / "poor.yml")),
                         "poor_job.yml")
    good = with_its_code(Path(shutil.copy(FIXTURES / "good_job.yml", tmp_path / "good.yml")),
                         "good_job.yml")

    bad = hw("lint", str(poor))
    clean = hw("lint", str(good), "--strict")
    rules = hw("lint", "--list-rules", check=True)

    assert bad.returncode == 1
    assert f"{poor}:20:24: HW104 task 'clean_silver_orders' retries without limit" in bad.stdout
    assert bad.stdout.splitlines()[-1] == "10 findings: 1 error, 8 warnings, 1 info"
    assert (clean.returncode, clean.stdout) == (0, "no findings\n")
    assert "HW203" in rules.stdout


def test_spec_errors_are_reported_not_raised(hw: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("resources:\n  jobs:\n    x:\n      tasks:\n        - task_key: a\n"
                      "          timeout_seconds: -1\n          shell_command_task: {command: x}\n")

    for command in ("describe", "lint"):
        result = hw(command, str(broken))
        assert result.returncode == 1
        assert f"{broken}:6:28" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_flagship_example(hw: Cli) -> None:
    described = hw("describe", str(EXAMPLE), check=True)
    linted = hw("lint", str(EXAMPLE))

    assert "## Schedule" in described.stdout
    assert linted.returncode == 0, linted.stdout


def _include_layout(folder: Path) -> None:
    """A bundle as `databricks bundle init` lays it out: the job in resources/, the code in
    src/, a production target in databricks.yml overriding one task's retries."""
    (folder / "resources").mkdir()
    (folder / "src").mkdir()
    (folder / "src" / "load.py").write_text("print('loaded')\n")
    (folder / "databricks.yml").write_text(
        "bundle: {name: shop}\n"
        "include:\n  - resources/*.yml\n"
        "targets:\n"
        "  dev: {mode: development, default: true}\n"
        "  prod:\n"
        "    mode: production\n"
        "    resources:\n"
        "      jobs:\n"
        "        orders:\n"
        "          tasks:\n"
        "            - task_key: load\n"
        "              max_retries: -1\n")
    (folder / "resources" / "orders.job.yml").write_text(
        "resources:\n"
        "  jobs:\n"
        "    orders:\n"
        "      name: orders\n"
        "      tasks:\n"
        "        - task_key: load\n"
        "          spark_python_task: {python_file: ../src/load.py}\n")


def test_lint_and_describe_see_the_jobs_an_include_brings(hw: Cli, tmp_path: Path) -> None:
    # Given a bundle whose only job comes in through `include:`
    _include_layout(tmp_path)

    # When it is linted (all jobs, then by name) and described
    linted = hw("lint", "databricks.yml", "--target", "prod")
    named = hw("lint", "databricks.yml", "--target", "prod", "--job", "orders")
    described = hw("describe", "databricks.yml", check=True)

    # Then the findings point into the included file, and into databricks.yml for what the
    # target writes there, each file's findings together
    lines = linted.stdout.splitlines()
    assert lines[0].startswith("databricks.yml:6:3: HW203 job 'orders' has no schedule")
    assert lines[1].startswith("databricks.yml:13:28: HW104 task 'load' retries without limit")
    assert lines[2].startswith("resources/orders.job.yml:3:5: HW201 job 'orders' has no timeout")
    assert "resources/orders.job.yml:6:11: HW101 task 'load' has no timeout" in linted.stdout
    assert linted.returncode == 1 and named.stdout == linted.stdout
    assert "| `load` | Python script | `src/load.py` |" in described.stdout


def test_lint_of_a_bundle_without_jobs_is_an_error(hw: Cli, tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("bundle: {name: empty}\n")

    result = hw("lint", "databricks.yml")

    assert result.returncode == 2, result.stdout
    assert "no findings" not in result.stdout
    assert "databricks.yml defines no job" in result.stderr
