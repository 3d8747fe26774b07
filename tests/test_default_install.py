"""What `pip install headwater` brings without extras (issue 16): a Databricks user's `.ipynb`
notebooks run with it, so the kernel packages are not an extra to discover."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_notebook_kernel_packages_come_with_the_default_install() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = {re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0].lower()
             for requirement in project["dependencies"]}
    assert {"nbclient", "ipykernel"} <= names
