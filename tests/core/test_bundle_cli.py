"""Bundles loaded as the Databricks CLI loads them (issue 16): each test holds one behaviour of
the CLI that headwater used to refuse or get wrong, on real files in a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from headwater.core.bundle_model import BundleContext
from headwater.core.load import LoadedBundle, load_bundle
from headwater.errors import Problem, SpecError


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load(path: Path, target: str | None = None, variables: dict[str, str] | None = None,
         context: BundleContext | None = None) -> LoadedBundle:
    return load_bundle([path], target, variables, context)


def problems(path: Path, target: str | None = None, **options: object) -> list[Problem]:
    with pytest.raises(SpecError) as raised:
        load(path, target, **options)  # type: ignore[arg-type]
    return raised.value.problems


STANDARD = """
bundle:
  name: my_project
include:
  - resources/*.yml
targets:
  dev:
    mode: development
    default: true
  prod:
    mode: production
"""

JOB = """
resources:
  jobs:
    my_job:
      name: my_job
      tasks:
        - task_key: main
          spark_python_task:
            python_file: ../src/main.py
        - task_key: notebook
          depends_on: [{task_key: main}]
          notebook_task:
            notebook_path: ../src/notebook
      environments:
        - environment_key: default
          spec:
            dependencies: ["../dist/*.whl", "-r ../requirements.txt", "pandas==2.2.0"]
"""


# 1. Paths start at the file that writes them, bounded by the bundle's folder ----------------


def test_the_standard_layout_resolves_paths_from_the_job_file(tmp_path: Path) -> None:
    # Given what `databricks bundle init` makes: jobs in resources/, code in src/
    root = write(tmp_path, "databricks.yml", STANDARD)
    write(tmp_path, "resources/my_job.job.yml", JOB)
    write(tmp_path, "src/main.py", "")
    write(tmp_path, "src/notebook.py", "# Databricks notebook source\n")

    (job,) = load(root).jobs

    # Then the paths are the files in src/ and dist/, as absolute paths
    tasks = job.settings.tasks
    assert tasks[0].spark_python_task is not None and tasks[1].notebook_task is not None
    assert tasks[0].spark_python_task.python_file == f"{tmp_path}/src/main.py"
    assert tasks[1].notebook_task.notebook_path == f"{tmp_path}/src/notebook"
    spec = job.settings.environments[0].spec
    assert spec is not None and spec.dependencies == [
        f"{tmp_path}/dist/*.whl", f"-r {tmp_path}/requirements.txt", "pandas==2.2.0"]
    # and the job runs from the bundle's folder, whichever file defines it
    assert job.source == root and job.defined_in == tmp_path / "resources" / "my_job.job.yml"


def test_a_target_overriding_a_path_writes_it_from_its_own_file(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", STANDARD + textwrap.indent(textwrap.dedent("""
        resources:
          jobs:
            my_job:
              tasks:
                - task_key: main
                  spark_python_task:
                    python_file: src/prod_main.py
        """), "    "))
    write(tmp_path, "resources/my_job.job.yml", JOB)
    for code in ("src/main.py", "src/prod_main.py", "src/notebook.py"):
        write(tmp_path, code, "")

    (job,) = load(root, "prod").jobs

    script = job.settings.tasks[0].spark_python_task
    assert script is not None and script.python_file == f"{tmp_path}/src/prod_main.py"
    (job,) = load(root, "dev").jobs
    script = job.settings.tasks[0].spark_python_task
    assert script is not None and script.python_file == f"{tmp_path}/src/main.py"


def test_a_path_that_leaves_the_bundle_is_an_error_unless_synced(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    root = write(bundle, "databricks.yml", """
        bundle: {name: b}
        resources:
          jobs:
            j:
              tasks:
                - task_key: t
                  spark_python_task: {python_file: ../shared/tool.py}
        """)

    (problem,) = problems(root)
    assert problem.where == f"{root}:7:44"
    assert "'../shared/tool.py'" in problem.message and "leaves the bundle's folder" in problem.message
    assert "sync.paths" in problem.message

    # When the bundle syncs the shared folder, as the Databricks CLI needs it to
    text = root.read_text().replace("bundle: {name: b}", "bundle: {name: b}\nsync: {paths: [../shared]}")
    root.write_text(text)
    write(tmp_path, "shared/tool.py", "")
    (job,) = load(root).jobs
    script = job.settings.tasks[0].spark_python_task
    assert script is not None and script.python_file == f"{tmp_path}/shared/tool.py"


def test_paths_read_from_git_stay_as_written(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        resources:
          jobs:
            j:
              git_source: {git_url: "https://example.com/r.git", git_provider: gitHub, git_branch: main}
              tasks:
                - task_key: t
                  notebook_task: {notebook_path: notebooks/etl}
        """)
    (job,) = load(root).jobs
    notebook = job.settings.tasks[0].notebook_task
    assert notebook is not None and notebook.notebook_path == "notebooks/etl"


# 3. Other resource types are read and left out, with one line per type ----------------------


def test_other_resources_warn_once_per_type_and_the_jobs_load(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        bundle: {name: b}
        include: [resources/*.yml]
        resources:
          schemas:
            raw: {name: raw, catalog_name: main}
          pipelines:
            etl: {name: etl}
        targets:
          dev:
            default: true
            resources:
              clusters:
                dev_cluster: {spark_version: "15.4.x-scala2.12"}
              pipelines:
                extra: {name: extra}
        """)
    write(tmp_path, "resources/v.yml", """
        resources:
          volumes:
            files: {name: files, catalog_name: main, schema_name: raw}
          jobs:
            j:
              tasks:
                - task_key: t
                  shell_command_task: {command: "echo ${resources.schemas.raw.name}"}
        """)

    loaded = load(root)

    (job,) = loaded.jobs
    shell = job.settings.tasks[0].shell_command_task
    assert shell is not None and shell.command == "echo raw"  # a written field is filled in
    assert [str(w) for w in loaded.warnings] == [
        f"{root}:4:3: resources.schemas: headwater does not deploy schemas (1: raw); they are "
        "read and left out, and only the jobs are loaded",
        f"{root}:6:3: resources.pipelines: headwater does not deploy pipelines (2: etl, extra); "
        "they are read and left out, and only the jobs are loaded",
        f"{root}:12:7: targets.dev.resources.clusters: headwater does not deploy clusters (1: "
        "dev_cluster); they are read and left out, and only the jobs are loaded",
        f"{tmp_path}/resources/v.yml:2:3: resources.volumes: headwater does not deploy volumes "
        "(1: files); they are read and left out, and only the jobs are loaded",
    ]


def test_a_task_that_needs_another_resource_stays_a_located_error(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        resources:
          pipelines:
            etl: {name: etl}
          jobs:
            j:
              tasks:
                - task_key: refresh
                  pipeline_task: {pipeline_id: "${resources.pipelines.etl.id}"}
        """)
    (problem,) = problems(root)
    assert problem.where == f"{root}:8:11"
    assert problem.message.startswith("pipeline_task is a Lakeflow task type headwater does not "
                                      "run: it needs a Lakeflow Declarative Pipeline")


def test_an_unknown_resource_type_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", "resources:\n  pipeline: {}\n")
    (problem,) = problems(root)
    assert problem.message.startswith("unknown resource type 'pipeline' (did you mean 'pipelines'?)")


# 4. Bundle syntax the CLI accepts ------------------------------------------------------------


def test_a_top_level_key_holding_only_anchors_warns(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        common_permissions: &permissions
          permissions:
            - level: CAN_VIEW
              group_name: users
        typo_section: {a: 1}
        resources:
          jobs:
            j:
              <<: *permissions
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        """)
    (problem,) = problems(root)  # a section that is not an anchor holder stays an error
    assert problem.message == "unknown section 'typo_section'"

    root.write_text(root.read_text().replace("typo_section: {a: 1}\n", ""))
    loaded = load(root)
    (warning,) = loaded.warnings
    assert warning.where == f"{root}:1:1" and "holds YAML anchors" in warning.message
    assert loaded.jobs[0].settings.permissions[0].group_name == "users"


def test_the_only_target_is_the_default_and_several_need_a_choice(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        targets:
          staging:
            variables: {suffix: s}
        variables:
          suffix: {default: none}
        resources:
          jobs:
            j:
              name: job-${var.suffix}-${bundle.target}
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        """)
    (job,) = load(root).jobs
    assert job.target == "staging" and job.settings.name == "job-s-staging"

    root.write_text(root.read_text().replace("targets:\n", "targets:\n  prod: {}\n"))
    (problem,) = problems(root)
    assert problem.where == f"{root}:1:1"
    assert problem.message == ("the bundle defines the targets prod, staging and none is marked "
                               "default: true; choose one with --target, or mark one default: true")


def test_variables_are_filled_in_before_the_target_merges(tmp_path: Path) -> None:
    # A job cluster keyed by a variable merges with the target's entry for its value
    root = write(tmp_path, "databricks.yml", """
        variables:
          cluster: {default: main}
        resources:
          jobs:
            j:
              job_clusters:
                - job_cluster_key: ${var.cluster}
                  new_cluster: {num_workers: 1}
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        targets:
          prod:
            default: true
            resources:
              jobs:
                j:
                  job_clusters:
                    - job_cluster_key: main
                      new_cluster: {num_workers: 8}
        """)
    (job,) = load(root).jobs
    assert [(c.job_cluster_key, c.new_cluster) for c in job.settings.job_clusters] == [
        ("main", {"num_workers": 8})]


def test_top_level_permissions_and_the_targets_run_as_reach_every_job(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        permissions:
          - level: CAN_VIEW
            group_name: analysts
        resources:
          jobs:
            a:
              permissions: [{level: CAN_MANAGE, user_name: owner@example.com}]
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
            b:
              run_as: {user_name: b@example.com}
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        targets:
          prod:
            default: true
            run_as: {service_principal_name: etl-bot}
            permissions:
              - level: CAN_MANAGE_RUN
                group_name: ops
        """)
    jobs = {job.resource_name: job.settings for job in load(root).jobs}

    assert [(p.level, p.user_name or p.group_name) for p in jobs["a"].permissions] == [
        ("CAN_MANAGE", "owner@example.com"), ("CAN_VIEW", "analysts"), ("CAN_MANAGE_RUN", "ops")]
    assert [(p.level, p.group_name) for p in jobs["b"].permissions] == [
        ("CAN_VIEW", "analysts"), ("CAN_MANAGE_RUN", "ops")]
    assert jobs["a"].run_as is not None and jobs["a"].run_as.service_principal_name == "etl-bot"
    assert jobs["b"].run_as is not None and jobs["b"].run_as.user_name == "b@example.com"


def test_text_is_read_into_integer_boolean_and_enum_fields(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        variables:
          retries: {}
          paused: {}
        resources:
          jobs:
            j:
              max_concurrent_runs: "2"
              git_source: {git_url: "https://example.com/r.git", git_provider: github, git_branch: main}
              queue: {enabled: "${var.paused}"}
              tasks:
                - task_key: t
                  max_retries: ${var.retries}
                  retry_on_timeout: "TRUE"
                  run_if: all_done
                  shell_command_task: {command: "true"}
                  source: x
        """.replace("                  source: x\n", ""))
    (job,) = load(root, variables={"retries": "3", "paused": "false"}).jobs
    settings = job.settings
    task = settings.tasks[0]
    assert settings.max_concurrent_runs == 2
    assert settings.git_source is not None and settings.git_source.git_provider == "gitHub"
    assert settings.queue is not None and settings.queue.enabled is False
    assert task.max_retries == 3 and task.retry_on_timeout is True and task.run_if == "ALL_DONE"

    (problem,) = problems(root, variables={"retries": "three", "paused": "false"})
    assert problem.path == "tasks[0].max_retries" and "got 'three'" in problem.message


def test_bracketed_references_stay_literal_with_a_warning(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        resources:
          jobs:
            j:
              parameters: [{name: input, default: x}]
              tasks:
                - task_key: t
                  spark_python_task:
                    python_file: main.py
                    parameters: ["--input", "{{ job.parameters.[input] }}"]
        """)
    write(tmp_path, "main.py", "")
    loaded = load(root)
    (warning,) = loaded.warnings
    assert warning.where == f"{root}:9:37"
    assert warning.message.startswith("{{ job.parameters.[input] }}: Databricks leaves this as "
                                      "literal text")
    script = loaded.jobs[0].settings.tasks[0].spark_python_task
    assert script is not None and script.parameters[1] == "{{ job.parameters.[input] }}"


def test_a_run_job_task_names_another_job_of_the_bundle_by_its_id_reference(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        bundle: {name: b}
        targets:
          dev: {mode: development}
        resources:
          jobs:
            leaf:
              name: leaf
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
            parent:
              tasks:
                - task_key: call
                  run_job_task: {job_id: "${resources.jobs.leaf.id}"}
                - task_key: typo
                  run_job_task: {job_id: "${resources.jobs.lief.id}"}
        """)
    (problem,) = problems(root, context=BundleContext(user="ana@example.com"))
    assert problem.path == "tasks[1].run_job_task.job_id"
    assert "the bundle has no job 'lief' (did you mean 'leaf'?)" in problem.message

    root.write_text(root.read_text().replace(
        """        - task_key: typo\n          run_job_task: {job_id: "${resources.jobs.lief.id}"}\n""", ""))
    jobs = {j.resource_name: j.settings for j in load(root, context=BundleContext(user="ana@example.com")).jobs}
    call = jobs["parent"].tasks[0].run_job_task
    # the job's name as the target makes it, which the task looks up when it starts
    assert call is not None and call.job_id is None and call.job_name == "[dev ana] leaf"


INGEST_AND_REPORT = """
    bundle: {name: b}
    targets:
      TARGET
    resources:
      jobs:
        ingest:
          name: ingest
          tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        report:
          tasks: [{task_key: t, shell_command_task: {command: "true"}}]
          TRIGGERS"""


def ingest_and_report(tmp_path: Path, target: str, triggers: str) -> Path:
    """A bundle of the jobs `ingest` and `report`, whose trigger settings are `triggers`."""
    text = INGEST_AND_REPORT.replace("TARGET", target).replace(
        "TRIGGERS", textwrap.indent(textwrap.dedent(triggers).strip("\n"), " " * 10).strip())
    return write(tmp_path, "databricks.yml", text)


def test_a_job_completion_trigger_names_a_job_of_the_bundle_by_its_id_reference(
        tmp_path: Path) -> None:
    root = ingest_and_report(tmp_path, "prod: {mode: production}", """
        trigger:
          job_completion:
            jobs: [{job_id: "${resources.jobs.ingest.id}"}, {job_id: "${resources.jobs.ingets.id}"}]
        """)
    (problem,) = problems(root, context=BundleContext(user="ana@example.com"))
    assert problem.path == "trigger.job_completion.jobs[1].job_id"
    assert "the bundle has no job 'ingets' (did you mean 'ingest'?)" in problem.message

    root.write_text(root.read_text().replace(', {job_id: "${resources.jobs.ingets.id}"}', ""))
    jobs = {j.resource_name: j.settings for j in load(root, context=BundleContext(user="ana@example.com")).jobs}
    trigger = jobs["report"].trigger
    assert trigger is not None and trigger.job_completion is not None
    [monitored] = trigger.job_completion.jobs
    # the job's name, which the trigger looks up where the bundle was deployed
    assert monitored.job_id is None and monitored.job_name == "ingest"


def test_each_entry_of_triggers_names_bundle_jobs_and_is_paused_in_development(
        tmp_path: Path) -> None:
    root = ingest_and_report(tmp_path, "dev: {mode: development, default: true}", """
        triggers:
          - schedule: {quartz_cron_expression: "0 0 6 * * ?", timezone_id: UTC}
          - job_completion: {jobs: [{job_id: "${resources.jobs.ingest.id}"}]}
            pause_status: UNPAUSED
        """)

    jobs = {j.resource_name: j.settings
            for j in load(root, context=BundleContext(user="ana@example.com")).jobs}

    first, second = jobs["report"].triggers
    assert first.pause_status == "PAUSED"  # development pauses what does not say otherwise
    assert second.pause_status == "UNPAUSED"
    assert second.job_completion is not None
    assert second.job_completion.jobs[0].job_name == "[dev ana] ingest"


def test_workspace_and_git_references_have_local_meanings(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        bundle: {name: b}
        resources:
          jobs:
            j:
              tags:
                files: ${workspace.file_path}
                root: ${workspace.root_path}
                host: ${workspace.host}
                user: ${workspace.current_user.userName}
                short: ${workspace.current_user.short_name}
                branch: ${bundle.git.branch}
                commit: ${bundle.git.commit}
                origin: ${bundle.git.origin_url}
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        """)
    context = BundleContext(user="ana.lima@example.com", host="http://127.0.0.1:8611",
                            git={"branch": "main", "commit": "abc123"})
    (job,) = load(root, context=context).jobs
    assert job.settings.tags == {
        "files": str(tmp_path), "root": str(tmp_path), "host": "http://127.0.0.1:8611",
        "user": "ana.lima@example.com", "short": "ana_lima", "branch": "main",
        "commit": "abc123", "origin": ""}


def test_complex_variables_give_fields_and_items(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        variables:
          cluster:
            type: complex
            default: {spark_version: "15.4", nodes: [{type: small}, {type: large}]}
          args:
            type: complex
            default: ["--since", "2024-01-01"]
        resources:
          jobs:
            j:
              tags:
                version: ${var.cluster.spark_version}
                second: ${var.cluster.nodes[1].type}
                since: ${var.args[1]}
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        """)
    (job,) = load(root).jobs
    assert job.settings.tags == {"version": "15.4", "second": "large", "since": "2024-01-01"}

    root.write_text(root.read_text().replace("${var.args[1]}", "${var.args[5]}"))
    (problem,) = problems(root)
    assert problem.message == ("${var.args[5]}: variable 'args' has no item [5] (its value is "
                               "a list of 2)")


def test_a_lookup_is_an_error_until_a_value_replaces_it(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        variables:
          warehouse_id:
            lookup: {warehouse: Shared Serverless}
        resources:
          jobs:
            j:
              tasks:
                - task_key: t
                  sql_task: {warehouse_id: "${var.warehouse_id}", query: {query_text: "SELECT 1"}}
        """)
    (problem,) = problems(root)  # one problem: the reference is not reported again
    assert problem.where == f"{root}:3:5" and problem.path == "variables.warehouse_id.lookup"
    assert problem.message.startswith("lookup is not supported by headwater")
    assert "--var warehouse_id=..." in problem.message

    (job,) = load(root, variables={"warehouse_id": "abc"}).jobs
    sql = job.settings.tasks[0].sql_task
    assert sql is not None and sql.warehouse_id == "abc"


def test_a_lookup_nothing_headwater_runs_uses_is_a_warning(tmp_path: Path) -> None:
    # Bundles declare lookups for the dashboards and pipelines headwater leaves out, or for one
    # target's values: such a bundle runs unchanged, and the lookup is named once, as a warning
    root = write(tmp_path, "databricks.yml", """
        variables:
          warehouse_id:
            lookup: {warehouse: Shared Serverless}
        resources:
          dashboards:
            sales: {display_name: Sales, warehouse_id: "${var.warehouse_id}"}
          jobs:
            j:
              tasks:
                - task_key: t
                  sql_task: {warehouse_id: local, query: {query_text: "SELECT 1"}}
        """)
    loaded = load(root)
    (warning,) = [w for w in loaded.warnings if w.path == "variables.warehouse_id.lookup"]
    assert warning.where == f"{root}:3:5"
    assert "nothing headwater runs uses it, so it is ignored" in warning.message
    assert "--var warehouse_id=..." in warning.message


def test_a_lookup_reached_through_another_variable_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        variables:
          owner:
            lookup: {service_principal: deployer}
          runner: {default: "${var.owner}"}
        resources:
          jobs:
            j:
              tags: {runner: "${var.runner}"}
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        """)
    (problem,) = problems(root)
    assert problem.path == "variables.owner.lookup" and problem.where == f"{root}:3:5"
    assert "ignored" not in problem.message


def test_variables_named_n_and_y_are_names(tmp_path: Path) -> None:
    # YAML 1.1 reads a bare n or y as a boolean; the Databricks CLI reads them as names
    root = write(tmp_path, "databricks.yml", """
        variables:
          n: {default: "3"}
          y: {default: "yes please"}
        resources:
          jobs:
            j:
              max_concurrent_runs: ${var.n}
              tags: {answer: "${var.y}"}
              tasks: [{task_key: t, shell_command_task: {command: "true"}}]
        """)
    (job,) = load(root, variables={"n": "4"}).jobs
    assert job.settings.max_concurrent_runs == 4 and job.settings.tags == {"answer": "yes please"}


def test_a_job_files_path_that_climbs_out_of_its_folder_is_a_validate_error(
        tmp_path: Path) -> None:
    # A jobs/create body has no bundle to translate its paths: its folder bounds them
    job = tmp_path / "jobs" / "nightly.json"
    job.parent.mkdir()
    job.write_text('{"name": "n", "tasks": [{"task_key": "t", "spark_python_task": '
                   '{"python_file": "../tools/x.py"}}, {"task_key": "ok", '
                   '"spark_python_task": {"python_file": "tools/../x.py"}}]}')
    (job.parent / "x.py").touch()
    (problem,) = problems(job)
    assert problem.where == f"{job}: $.tasks[0].spark_python_task.python_file"
    assert problem.message.startswith("'../tools/x.py' leaves the job file's folder")


def test_declared_secret_scopes_are_named_for_the_run_with_a_warning(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        bundle: {name: b}
        resources:
          secret_scopes:
            creds: {name: "${var.team}-creds"}
            plain: {}
          jobs:
            j:
              parameters: [{name: scope, default: "${resources.secret_scopes.creds.name}"}]
              tasks:
                - task_key: t
                  shell_command_task: {command: "true"}
        variables:
          team: {default: data}
        targets:
          dev: {default: true}
          prod:
            resources:
              secret_scopes:
                creds: {name: prod-creds}
        """)

    loaded, prod = load(root), load(root, target="prod")

    assert loaded.secret_scopes == ("data-creds", "plain")
    assert prod.secret_scopes == ("prod-creds", "plain")
    assert prod.jobs[0].settings.parameters[0].default == "prod-creds"
    [warning] = [str(w) for w in loaded.warnings]
    assert warning.endswith("secret_scopes (2: creds, plain) are made where the bundle runs "
                            "or deploys, their permissions put as the scopes' ACLs (a scope "
                            "without any is open to every job), without their backend; put "
                            "their secrets with `headwater secrets put-secret SCOPE KEY`")


def test_secret_scope_permissions_become_acl_entries_and_a_bad_one_is_located(
        tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", """
        bundle: {name: b}
        resources:
          secret_scopes:
            creds:
              name: "${var.team}-creds"
              permissions:
                - {level: READ, group_name: users}
                - {level: MANAGE, user_name: "${workspace.current_user.userName}"}
          jobs:
            j:
              tasks:
                - task_key: t
                  shell_command_task: {command: "true"}
        variables:
          team: {default: data}
        targets:
          dev: {default: true}
          prod:
            resources:
              secret_scopes:
                creds:
                  permissions:
                    - {level: WRITE, service_principal_name: deployer}
          odd:
            resources:
              secret_scopes:
                creds:
                  permissions:
                    - {level: OWNER, user_name: ana}
                    - {level: READ, user_name: ana, group_name: users}
        """)

    dev = load(root, context=BundleContext(user="ana@example.com"))
    prod = load(root, target="prod", context=BundleContext(user="ana@example.com"))
    found = problems(root, "odd")

    assert [(g.scope, g.principal, g.permission) for g in dev.scope_grants] == [
        ("data-creds", "users", "READ"), ("data-creds", "ana@example.com", "MANAGE")]
    assert [(g.principal, g.permission) for g in prod.scope_grants][-1] == ("deployer", "WRITE")
    assert [str(p).removeprefix(f"{tmp_path}/") for p in found] == [
        "databricks.yml:29:23: targets.odd.resources.secret_scopes.creds.permissions[0]"
        ".level: 'OWNER' is not a secret scope permission: give READ, WRITE or MANAGE",
        "databricks.yml:30:15: targets.odd.resources.secret_scopes.creds.permissions[1]: "
        "a permission names exactly one of user_name, group_name, service_principal_name "
        "(2 given)"]
