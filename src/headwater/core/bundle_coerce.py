"""Bundle values read as the Databricks CLI reads them into typed fields, before validation.

A bundle's values often arrive as text where a number, a boolean or an enum belongs: a quoted
`max_retries: "3"`, a `--var retries=3` or `BUNDLE_VAR_retries=3` filled into
`max_retries: ${var.retries}`, `git_provider: github` for `gitHub`. The CLI converts such text
into the field's type (`libs/dyn/convert`) and the Jobs API takes enum values in any case;
headwater does the same, so that only a value that cannot be read as the field's type is an
error. Plain JSON bodies (`jobs/create`) are not converted: they are typed already.
"""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel

from headwater.core.load_messages import annotation_at

__all__ = ["coerce"]

_INTEGER = re.compile(r"-?\d+")
_BOOLEANS = {"true": True, "false": False}


def coerce(model: type[BaseModel], data: object) -> object:
    """`data` with text converted where `model` expects an integer, a boolean or an enum."""
    return _coerce(model, data, ())


def _coerce(model: type[BaseModel], value: object, at: tuple[str | int, ...]) -> object:
    if isinstance(value, dict):
        return {key: _coerce(model, item, (*at, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce(model, item, (*at, index)) for index, item in enumerate(value)]
    if not isinstance(value, str) or not at:
        return value
    expected = annotation_at(model, at)
    if expected is bool and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    if expected is int and _INTEGER.fullmatch(value.strip()):
        return int(value)
    if isinstance(expected, type) and issubclass(expected, Enum):
        return _enum_value(expected, value)
    return value


def _enum_value(kind: type[Enum], text: str) -> object:
    """The member of `kind` whose value or name is `text` in any case (else `text`)."""
    folded = text.casefold()
    for member in kind:
        if folded in (str(member.value).casefold(), member.name.casefold()):
            return member.value
    return text
