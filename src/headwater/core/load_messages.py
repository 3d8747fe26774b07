"""Readable messages for pydantic's validation errors over the spec models.

pydantic says "Input should be greater than or equal to 0"; a job author needs
"must be >= 0 (got -5)", and for a typo the field they meant. This module owns that rewriting;
`core/load.py` adds the location.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from headwater.core.checks import PathPart, suggest

# Renders one error type: (error, its path, the root model) -> message.
Renderer = Callable[[ErrorDetails, Sequence[PathPart], type[BaseModel]], str]

MAX_LISTED_FIELDS = 12
MAX_SHOWN_CHARS = 60


def describe(error: ErrorDetails, model: type[BaseModel]) -> tuple[tuple[PathPart, ...], str]:
    """The error's path inside `model` and a message saying what is wrong and how to fix it."""
    loc = tuple(part for part in error["loc"] if part not in ("[key]",))
    render = _RENDERERS.get(error["type"], _fallback)
    return loc, render(error, loc, model)


# Lakeflow task types headwater does not run, with what each needs: named as such, not
# "did you mean".
UNSUPPORTED_TASK_NEEDS = {
    "spark_jar_task": "Spark (a JVM cluster)",
    "spark_submit_task": "Spark (a JVM cluster)",
    "pipeline_task": "a Lakeflow Declarative Pipeline",
    "dashboard_task": "a Databricks dashboard",
    "alert_task": "a Databricks SQL alert",
    "power_bi_task": "Power BI",
    "clean_rooms_notebook_task": "a Databricks clean room",
    "dbt_cloud_task": "dbt Cloud",
    "dbt_platform_task": "dbt Cloud",
    "gen_ai_compute_task": "Databricks AI compute",
    "ai_runtime_task": "Databricks AI compute",
    "ai_function_task": "Databricks AI functions",
}
UNSUPPORTED_TASK_TYPES = frozenset(UNSUPPORTED_TASK_NEEDS)
# Parts of a task that need a Databricks service headwater does not have: (parent, field).
UNSUPPORTED_FIELDS = {
    ("sql_task", "alert"): "a SQL alert lives in Databricks SQL",
    ("sql_task", "dashboard"): "a SQL dashboard lives in Databricks SQL",
}


def _unknown_field(error: ErrorDetails, loc: Sequence[PathPart], model: type[BaseModel]) -> str:
    name = str(loc[-1]) if loc else "?"
    parent = str(loc[-2]) if len(loc) > 1 else ""
    if (parent, name) in UNSUPPORTED_FIELDS:
        return (f"{parent}.{name}: {UNSUPPORTED_FIELDS[parent, name]}, which headwater does not "
                "have; run the SQL itself with query.query_text or file.path")
    if name in UNSUPPORTED_TASK_TYPES:
        return (f"{name} is a Lakeflow task type headwater does not run: it needs "
                f"{UNSUPPORTED_TASK_NEEDS[name]}; use notebook_task, spark_python_task, "
                "python_wheel_task, python_operator_task, sql_task, dbt_task, run_job_task, "
                "condition_task, for_each_task or shell_command_task")
    fields = field_names(model, loc[:-1])
    hint = suggest(name, fields)
    if hint:
        return f"unknown field {name!r}{hint}"
    if fields and len(fields) <= MAX_LISTED_FIELDS:
        return f"unknown field {name!r}; the fields allowed here are: {', '.join(fields)}"
    return f"unknown field {name!r}; remove it or check its spelling and indentation"


def _missing(error: ErrorDetails, loc: Sequence[PathPart], model: type[BaseModel]) -> str:
    name = str(loc[-1]) if loc else "?"
    return f"missing required field {name!r}; add it"


def _enum(error: ErrorDetails, loc: Sequence[PathPart], model: type[BaseModel]) -> str:
    expected = str(error.get("ctx", {}).get("expected", ""))
    choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(", ") if c]
    got = error["input"]
    hint = suggest(got, choices).replace(" (", "; ").rstrip(")") if isinstance(got, str) else ""
    return f"must be one of {', '.join(choices)} (got {shown(got)}{hint})"


def _bound(symbol: str, key: str) -> Renderer:
    def render(error: ErrorDetails, loc: Sequence[PathPart], model: object) -> str:
        limit = error.get("ctx", {}).get(key)
        return f"must be {symbol} {limit} (got {shown(error['input'])})"

    return render


def _length(word: str, key: str) -> Renderer:
    def render(error: ErrorDetails, loc: Sequence[PathPart], model: object) -> str:
        limit = error.get("ctx", {}).get(key)
        value = error["input"]
        size = len(value) if isinstance(value, list | dict | str) else "?"
        unit = "characters" if isinstance(value, str) else "items"
        return f"must have {word} {limit} {unit} (got {size})"

    return render


def _type(wanted: str, hint: Callable[[object], str] | None = None) -> Renderer:
    def render(error: ErrorDetails, loc: Sequence[PathPart], model: object) -> str:
        value = error["input"]
        extra = hint(value) if hint else ""
        return f"must be {wanted} (got {shown(value)}){extra}"

    return render


def _unquote_hint(value: object) -> str:
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return "; remove the quotes"
    if isinstance(value, str) and value.startswith("${"):
        return (
            "; headwater fills in only ${var.*}, ${bundle.target}, ${bundle.name} and "
            "${workspace.current_user.*}: write the value itself"
        )
    return ""


def _quote_hint(value: object) -> str:
    return "; put it in quotes" if isinstance(value, bool | int | float) else ""


def _value_error(error: ErrorDetails, loc: Sequence[PathPart], model: type[BaseModel]) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _fallback(error: ErrorDetails, loc: Sequence[PathPart], model: type[BaseModel]) -> str:
    message = str(error["msg"])
    message = message[:1].lower() + message[1:]
    return f"{message} (got {shown(error['input'])})"


_RENDERERS: dict[str, Renderer] = {
    "extra_forbidden": _unknown_field,
    "missing": _missing,
    "enum": _enum,
    "greater_than_equal": _bound(">=", "ge"),
    "greater_than": _bound(">", "gt"),
    "less_than_equal": _bound("<=", "le"),
    "less_than": _bound("<", "lt"),
    "too_long": _length("at most", "max_length"),
    "too_short": _length("at least", "min_length"),
    "int_type": _type("an integer", _unquote_hint),
    "bool_type": _type("true or false"),
    "string_type": _type("a string", _quote_hint),
    "model_type": _type("a mapping of fields"),
    "model_attributes_type": _type("a mapping of fields"),
    "dict_type": _type("a mapping"),
    "list_type": _type("a list"),
    "value_error": _value_error,
}


def shown(value: object) -> str:
    """A short rendering of a user's value for a message."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def field_names(model: type[BaseModel], loc: Sequence[PathPart]) -> list[str]:
    """The field names of the model reached by following `loc` from `model` ([] if none)."""
    target = annotation_at(model, loc)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return list(target.model_fields)
    return []


def annotation_at(model: type[BaseModel], loc: Sequence[PathPart]) -> object:
    """The type expected at `loc` below `model`, without `Annotated`/`None` (None if unknown)."""
    current: object = model
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return None
    return _unwrap(current)


def _step(annotation: object, part: PathPart) -> object:
    """The annotation one `part` below `annotation`: a field, a list item or a dict value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    args = get_args(annotation)
    if get_origin(annotation) is list and isinstance(part, int) and args:
        return args[0]
    if get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    return None


def _unwrap(annotation: object) -> object:
    """Strip `Annotated[...]` and `X | None` down to `X`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
