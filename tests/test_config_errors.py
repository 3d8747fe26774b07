"""`headwater.yml` problems are located like a job file's (issue 16): file:line:col, the field,
what is wrong; every problem, one per line."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.config import ConfigError, load_config


def test_each_problem_of_the_config_file_names_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text("smtp:\n  host: mail.example.com\n  port: many\n  hots: x\ndelivery: {}\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    lines = str(raised.value).splitlines()
    assert lines[0] == f"{path}: invalid configuration:"
    assert f"{path}:3:9: smtp.port: Input should be a valid integer, unable to parse string as " \
        "an integer" in lines
    assert f"{path}:4:3: smtp.hots: unknown field 'hots'" in lines
