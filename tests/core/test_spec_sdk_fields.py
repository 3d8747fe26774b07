"""Every field the installed `databricks-sdk` defines for a job is accepted (issue 16): a job
written for the current Jobs API loads, its fields stored even where headwater does not act on
them. A task type headwater does not run, and a SQL task's alert or dashboard, are the
exceptions, refused by name with what they need."""

from __future__ import annotations

import dataclasses

import pytest
from databricks.sdk.service import compute, jobs

from headwater.core import spec, spec_common, spec_job, spec_tasks
from headwater.core.load_messages import UNSUPPORTED_FIELDS, UNSUPPORTED_TASK_TYPES
from headwater.core.spec_common import Model

# The SDK's dataclass for each section of a job, and the model that reads that section here.
SECTIONS: list[tuple[type, type[Model]]] = [
    (jobs.JobSettings, spec.JobSettings),
    (jobs.Task, spec.Task),
    (jobs.ForEachTask, spec.ForEachTask),
    (jobs.TaskDependency, spec.TaskDependency),
    (jobs.JobEmailNotifications, spec_common.EmailNotifications),
    (jobs.TaskEmailNotifications, spec_common.EmailNotifications),
    (jobs.WebhookNotifications, spec_common.WebhookNotifications),
    (jobs.JobNotificationSettings, spec_common.JobNotificationSettings),
    (jobs.TaskNotificationSettings, spec_common.TaskNotificationSettings),
    (jobs.JobsHealthRule, spec_common.HealthRule),
    (jobs.JobCluster, spec_job.JobCluster),
    (jobs.JobEnvironment, spec_job.JobEnvironment),
    (compute.Environment, spec_job.EnvironmentSpec),
    (jobs.JobParameterDefinition, spec_job.JobParameter),
    (jobs.CronSchedule, spec_job.CronSchedule),
    (jobs.TriggerSettings, spec_job.TriggerSettings),
    (jobs.PeriodicTriggerConfiguration, spec_job.PeriodicTrigger),
    (jobs.FileArrivalTriggerConfiguration, spec_job.FileArrivalTrigger),
    (jobs.TableUpdateTriggerConfiguration, spec_job.TableUpdateTrigger),
    (jobs.Continuous, spec_job.Continuous),
    (jobs.QueueSettings, spec_job.QueueSettings),
    (jobs.JobRunAs, spec_job.RunAs),
    (jobs.GitSource, spec_job.GitSource),
    (jobs.JobDeployment, spec_job.Deployment),
    (jobs.NotebookTask, spec_tasks.NotebookTask),
    (jobs.SparkPythonTask, spec_tasks.SparkPythonTask),
    (jobs.PythonWheelTask, spec_tasks.PythonWheelTask),
    (jobs.SqlTask, spec_tasks.SqlTask),
    (jobs.DbtTask, spec_tasks.DbtTask),
    (jobs.RunJobTask, spec_tasks.RunJobTask),
    (jobs.ConditionTask, spec_tasks.ConditionTask),
]


@pytest.mark.parametrize(("sdk", "model"), SECTIONS, ids=[s.__name__ for s, _ in SECTIONS])
def test_every_field_of_the_sdk_is_a_field_here(sdk: type, model: type[Model]) -> None:
    fields = {field.name for field in dataclasses.fields(sdk)}
    # refused by name, with what they need: task types and SQL alerts/dashboards
    refused = UNSUPPORTED_TASK_TYPES | {name for _, name in UNSUPPORTED_FIELDS}
    missing = fields - set(model.model_fields) - refused
    assert not missing, f"{sdk.__name__} fields headwater does not read: {sorted(missing)}"


def test_the_newer_fields_load_and_are_kept() -> None:
    settings = spec.JobSettings.model_validate({
        "name": "j",
        "duration_target": "PT1H",
        "triggers": [{"periodic": {"interval": 1, "unit": "DAYS"}}],
        "continuous": {"maintenance_window": {"start": "02:00"}},
        "email_notifications": {"on_maintenance_start": ["ops@example.com"]},
        "environments": [{"environment_key": "e", "spec": {"base_environment": "base.yml",
                                                           "client": "2"}}],
        "tasks": [{"task_key": "t", "compute": {"hardware_accelerator": "GPU_1xA10"},
                   "run_job_task": {"job_id": 1, "python_params": ["--x"]}}],
    })
    dumped = settings.model_dump(exclude_defaults=True)
    assert dumped["duration_target"] == "PT1H"
    assert dumped["triggers"] == [{"periodic": {"interval": 1, "unit": "DAYS"}}]
    assert dumped["email_notifications"] == {"on_maintenance_start": ["ops@example.com"]}
    assert dumped["environments"][0]["spec"]["base_environment"] == "base.yml"
    assert dumped["tasks"][0]["compute"] == {"hardware_accelerator": "GPU_1xA10"}
    assert dumped["tasks"][0]["run_job_task"]["python_params"] == ["--x"]


def test_a_zero_trigger_timer_is_no_timer_as_the_cli_sends_it() -> None:
    # databricks-bundles writes min_time_between_triggers_seconds=0; the CLI drops a zero
    trigger = spec_job.TableUpdateTrigger.model_validate(
        {"table_names": ["main.a.b"], "min_time_between_triggers_seconds": 0,
         "wait_after_last_change_seconds": 3600})
    assert trigger.min_time_between_triggers_seconds is None
    assert trigger.wait_after_last_change_seconds == 3600
    with pytest.raises(ValueError, match="greater than or equal to 60"):
        spec_job.TableUpdateTrigger.model_validate(
            {"table_names": ["main.a.b"], "min_time_between_triggers_seconds": 30})
