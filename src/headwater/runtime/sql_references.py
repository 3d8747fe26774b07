"""A dynamic value reference written inside SQL text, where nothing fills it in.

Databricks fills in `{{job.parameters.region}}` in a task's settings (its `parameters`, its
`base_parameters`), never inside the SQL a `sql_task` runs: there the text runs as written. In
SQL, `{{name}}` is a parameter marker, and a dotted one is neither a marker nor valid SQL. So
both the SQL runner (at the statement) and validation (for an inline `query_text`) say how to
pass the value: as one of the task's parameters, which is filled in. Standard library only,
as the task side needs.
"""

from __future__ import annotations

import re

__all__ = ["REFERENCE_IN_SQL", "unfilled_reference"]

REFERENCE_IN_SQL = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[^{}\s]+)+\s*\}\}")


def unfilled_reference(reference: str) -> str:
    """What is wrong with `reference` in SQL text, and how the value reaches the SQL."""
    path = reference[2:-2].strip()
    problem = (f"{reference} is not filled in inside SQL (references are filled in in the "
               "task's settings only)")
    parameter = path.removeprefix("job.parameters.")
    if parameter != path and re.fullmatch(r"[A-Za-z_]\w*", parameter):
        return (f"{problem}; job parameters reach a SQL task as its parameters: write "
                f":{parameter}")
    last = re.sub(r"\W", "_", path.rsplit(".", 1)[-1])
    name = last if last[:1].isalpha() or last[:1] == "_" else f"p_{last}"
    return (f"{problem}; pass it as a parameter, sql_task.parameters: "
            f"{{{name}: \"{reference}\"}}, and write :{name} in the SQL")
