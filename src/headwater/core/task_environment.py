"""What a task's process inherits from the engine's environment: a defined few, never a secret.

An engine's environment holds what it needs and a task must not see: the SMTP password, the
webhook and Slack URLs and tokens the configuration names (`*_env`), a client's
`DATABRICKS_TOKEN`. A task gets only:

- the basics a program needs to run where it is: `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`,
  `LANG`, `LANGUAGE`, `LC_*`, `TZ`, `TMPDIR`, `TERM`, `PYTHONPATH`, `VIRTUAL_ENV`;
- how this machine reaches the network and trusts certificates: proxies (`HTTP_PROXY`,
  `HTTPS_PROXY`, `NO_PROXY`, lower case too), certificate bundles (`SSL_CERT_*`,
  `*_CA_BUNDLE`) and pip's settings (`PIP_*`), so environments build and tasks connect;
- `HEADWATER_*` values;
- what `headwater.yml` lists under `task_environment.inherit` (names, or patterns like
  `AWS_*`);

minus every variable the configuration names as a secret, and minus names that look like
one (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`, `*_KEY`, `*CREDENTIAL*`) unless `inherit` names
them exactly. Then the runner adds the job's and task's own values (`HEADWATER_*`
parameters, the attempt's directory, the task's `env`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from fnmatch import fnmatchcase

BASICS = frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
                    "TMPDIR", "TERM", "PYTHONPATH", "VIRTUAL_ENV", "HTTP_PROXY", "HTTPS_PROXY",
                    "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"})
BASIC_PATTERNS = ("LC_*", "HEADWATER_*", "PIP_*", "SSL_CERT_*", "*_CA_BUNDLE")
SECRET_LOOKING = ("*PASSWORD*", "*SECRET*", "*TOKEN*", "*_KEY", "*CREDENTIAL*")
PARAMETER_PREFIX = "HEADWATER_PARAM_"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def task_environment(engine_env: Mapping[str, str], inherit: Collection[str] = (),
                     secrets: Collection[str] = ()) -> dict[str, str]:
    """The variables of `engine_env` a task's process starts with (see the module's text)."""
    return {name: value for name, value in engine_env.items()
            if name not in secrets and _inherited(name, inherit)}


def _inherited(name: str, inherit: Collection[str]) -> bool:
    if name in inherit:  # named exactly: the operator chose it, whatever it looks like
        return True
    if any(fnmatchcase(name.upper(), pattern) for pattern in SECRET_LOOKING):
        return False
    return name in BASICS or any(fnmatchcase(name, pattern)
                                 for pattern in (*BASIC_PATTERNS, *inherit))


def parameter_variable(name: str) -> str:
    """The environment variable that carries the parameter `name`: `HEADWATER_PARAM_` + the
    name with every character outside `A-Z a-z 0-9` replaced by `_`, upper-cased."""
    return PARAMETER_PREFIX + _NOT_ALNUM.sub("_", name).upper()


__all__ = ["PARAMETER_PREFIX", "parameter_variable", "task_environment"]
