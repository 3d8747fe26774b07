"""Where the server is and which token to send: options, the environment, ~/.databrickscfg.

As the Databricks tools do: `--host` (or `DATABRICKS_HOST`) names the server and
`DATABRICKS_TOKEN` the token; `--profile NAME` (or `DATABRICKS_CONFIG_PROFILE`) reads both
from that section of `~/.databrickscfg` (`DATABRICKS_CONFIG_FILE` moves the file). A token is
never an option, so it never lands in a shell history or a process list.
"""

from __future__ import annotations

import configparser
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class Remote:
    """A server to talk to, and the token to talk with."""

    host: str
    token: str


def remote_from(host: str | None, profile: str | None, env: Mapping[str, str],
                home: Path) -> Remote | None:
    """The server the options and environment name, or None to use the local state store.

    Raises:
        InvalidRequest: for a profile that is not there, or a host without a token.
    """
    profile = profile or env.get("DATABRICKS_CONFIG_PROFILE")
    token = env.get("DATABRICKS_TOKEN")
    host = host or env.get("DATABRICKS_HOST")
    if profile:
        section = _profile(profile, Path(env.get("DATABRICKS_CONFIG_FILE") or
                                         home / ".databrickscfg"))
        host, token = host or section.get("host"), token or section.get("token")
    if not host:
        return None
    _check_host(host)
    if not token:
        which = f" (profile {profile!r} has none)" if profile else ""
        raise InvalidRequest(f"no token for {host}{which}: set DATABRICKS_TOKEN, or name a "
                             "profile of ~/.databrickscfg that has one (--profile); "
                             "`headwater tokens create` makes one on the server's machine")
    return Remote(host.rstrip("/"), token)


def _check_host(host: str) -> None:
    """`InvalidRequest` for a host that is not a server's address: `http://HOST:PORT`."""
    parts = urllib.parse.urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"the host {host!r} is not a URL: write it with its scheme, "
                             f"http://{host.split('://')[-1]}")
    if parts.path.strip("/") or parts.query:
        raise InvalidRequest(f"the host {host!r} has a path: name the server alone, "
                             f"{parts.scheme}://{parts.netloc} (the API's paths are added to it)")


@dataclass(frozen=True, slots=True)
class NamedServer:
    """A server the environment names for every command, and the variable that names it (the
    one to unset to act locally again)."""

    host: str
    variable: str  # DATABRICKS_HOST, or DATABRICKS_CONFIG_PROFILE for a profile's host


def server_in_environment(env: Mapping[str, str], home: Path) -> NamedServer | None:
    """The server `DATABRICKS_HOST` (or the profile `DATABRICKS_CONFIG_PROFILE` names) points
    every command at, as `remote_from` reads them without options; None when there is none.

    Raises:
        InvalidRequest: for a profile that is not there.
    """
    if env.get("DATABRICKS_HOST"):
        return NamedServer(env["DATABRICKS_HOST"].rstrip("/"), "DATABRICKS_HOST")
    profile = env.get("DATABRICKS_CONFIG_PROFILE")
    if not profile:
        return None
    host = _profile(profile, Path(env.get("DATABRICKS_CONFIG_FILE") or
                                  home / ".databrickscfg")).get("host")
    return NamedServer(host.rstrip("/"), "DATABRICKS_CONFIG_PROFILE") if host else None


def _profile(name: str, path: Path) -> Mapping[str, str]:
    parser = configparser.ConfigParser()
    parser.read(path)
    if name != "DEFAULT" and not parser.has_section(name):
        known = ", ".join(parser.sections()) or "none"
        raise InvalidRequest(f"no profile {name!r} in {path} (profiles: {known})")
    return parser[name]
