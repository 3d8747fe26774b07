"""What the run page shows of an attempt, from its `runs/get` entry."""

from __future__ import annotations

from headwater.web.views.run_view import _attempt


def test_task_values_show_as_json_as_the_api_gives_them() -> None:
    entry = {"run_id": 5, "task_key": "check", "attempt_number": 0,
             "state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS",
                       "state_message": ""},
             "task_values": {"passed": True, "rows": 3, "note": "true",
                             "shape": {"a": [1, None]}}}

    shown = _attempt(entry, {}, {}).values

    # JSON's words (true, null, double quotes), not Python's (True, None, single quotes)
    assert shown == {"passed": "true", "rows": "3", "note": "true",
                     "shape": '{"a": [1, null]}'}
