"""A failed attempt's message: the error the task's side wrote, or the end of its log after the
exit code. The two come from an attempt's folder as the attempt parent leaves it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from headwater.core.events import TaskFailed
from headwater.engine.run_driver import exit_event
from headwater.executors.records import OUTPUT_LOG, exit_of_record
from headwater.ports import AttemptKey
from headwater.runtime.channel import RESULT

KEY = AttemptKey(1, 1)
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def message(directory: Path) -> str:
    event = exit_event(exit_of_record(KEY, directory, {"exit_code": 1}), NOW)
    assert isinstance(event, TaskFailed)
    return event.message


def test_an_error_the_task_side_wrote_is_the_message_itself(tmp_path: Path) -> None:
    # Given a script task whose environment could not be built: the environment step wrote
    # the error before the script ran, and pip's output is the log's last line
    error = "environment 'default' could not be built: ERROR: No matching distribution"
    (tmp_path / RESULT).write_text(json.dumps({"error": error}))
    (tmp_path / OUTPUT_LOG).write_text("ERROR: No matching distribution found for nope\n")

    # Then the message is that error, not "exited with code 1; its last output line: ..."
    assert message(tmp_path) == error


def test_an_error_read_from_the_log_comes_after_the_exit_code(tmp_path: Path) -> None:
    (tmp_path / OUTPUT_LOG).write_text("Loaded 500 rows\n")
    assert message(tmp_path) == ("The task's process exited with code 1; "
                                 "its last output line: Loaded 500 rows")


def test_a_traceback_read_from_the_log_is_the_message_itself(tmp_path: Path) -> None:
    (tmp_path / OUTPUT_LOG).write_text(
        "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad row\n")
    assert message(tmp_path) == "ValueError: bad row"
