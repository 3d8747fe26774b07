"""Git credentials (the Git Credentials API 2.0): a user's personal access token for a Git
provider, with which the runs they run fetch a private repository's `git_source`. Pure: the
providers, how a provider's name is read, which of a user's credentials a fetch uses, and the
API's view of one (never its token).

As on Databricks, a user manages only their own. A run uses those of the user it runs as
(`run_as`, else its creator): the one of the `git_source`'s provider marked
`is_default_for_provider`, else the first made for that provider. The token goes to Git as the
password, with `git_username` (else `git_email`, else `git`) as the user name: GitHub, GitLab
and Azure DevOps take any name with a token, Bitbucket needs the account's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from headwater.core.spec_job import GitProvider
from headwater.errors import InvalidRequest

__all__ = ["GitCredential", "chosen", "credential_json", "login_of", "provider_named"]

_PROVIDERS = {provider.value.lower(): provider for provider in GitProvider}


@dataclass(frozen=True, slots=True)
class GitCredential:
    """One of a user's Git credentials, without its token (which only a fetch reads)."""

    credential_id: int
    user: str
    git_provider: GitProvider
    git_username: str | None = None
    git_email: str | None = None
    name: str | None = None
    is_default_for_provider: bool = False


def provider_named(text: str, path: str = "git_provider") -> GitProvider:
    """The provider `text` names, whatever its case (as the API reads it); `InvalidRequest`
    naming `path` and the providers there are."""
    found = _PROVIDERS.get(text.lower())
    if found is None:
        names = ", ".join(provider.value for provider in GitProvider)
        raise InvalidRequest(f"{path}: {text!r} is not a Git provider: use one of {names}")
    return found


def chosen(credentials: Sequence[GitCredential], provider: GitProvider) -> GitCredential | None:
    """The credential a fetch from `provider` uses: its default, else the first made."""
    mine = sorted((c for c in credentials if c.git_provider == provider),
                  key=lambda c: c.credential_id)
    return next((c for c in mine if c.is_default_for_provider), mine[0] if mine else None)


def login_of(credential: GitCredential) -> str:
    """The user name Git sends with the token."""
    return credential.git_username or credential.git_email or "git"


def credential_json(credential: GitCredential) -> dict[str, Any]:
    """The API's `CredentialInfo`: never the token."""
    body: dict[str, Any] = {"credential_id": credential.credential_id,
                            "git_provider": credential.git_provider.value,
                            "is_default_for_provider": credential.is_default_for_provider}
    for field in ("git_username", "git_email", "name"):
        if (value := getattr(credential, field)) is not None:
            body[field] = value
    return body
