"""Git credentials through the service: what the Git Credentials API (2.0) asks, each user for
their own (`core/git_credentials.py`). Each change is in the audit log, never the token.

A user may have several, for one provider or several; one per provider may be its default (a
new default unmarks the one before). `principal_id` (a service principal's credentials) is
refused: headwater has users only.
"""

from __future__ import annotations

from dataclasses import replace

from headwater.core.audit import AuditAction
from headwater.core.git_credentials import GitCredential, provider_named
from headwater.errors import InvalidRequest, NotFound
from headwater.ports import GitCredentialStore
from headwater.service.access import AccessMixin


class GitCredentialsMixin(AccessMixin):
    """Create, list, get, update and delete the caller's Git credentials."""

    git_credentials: GitCredentialStore | None

    def _credentials(self) -> GitCredentialStore:
        if self.git_credentials is None:
            raise InvalidRequest("this headwater keeps no Git credentials")
        return self.git_credentials

    def _audit_credential(self, action: AuditAction, credential: GitCredential,
                          **details: object) -> None:
        self.audit(action, credential_id=credential.credential_id,
                   git_provider=credential.git_provider.value, **details)

    def create_git_credential(self, git_provider: str, *, git_username: str | None = None,
                              git_email: str | None = None, name: str | None = None,
                              is_default_for_provider: bool = False,
                              personal_access_token: str | None = None) -> GitCredential:
        """Keep a new credential of the caller's; it, with its id."""
        store = self._credentials()
        made = store.add(GitCredential(0, self.user, provider_named(git_provider),
                                       git_username, git_email, name,
                                       is_default_for_provider), personal_access_token)
        if made.is_default_for_provider:
            self._unmark_other_defaults(made)
        self._audit_credential(AuditAction.GIT_CREDENTIAL_CREATED, made)
        return made

    def git_credentials_of_caller(self) -> list[GitCredential]:
        return self._credentials().of_user(self.user)

    def git_credential(self, credential_id: int) -> GitCredential:
        """One of the caller's credentials; `NotFound` otherwise (another user's too)."""
        found = next((c for c in self.git_credentials_of_caller()
                      if c.credential_id == credential_id), None)
        if found is None:
            raise NotFound(f"Git credential {credential_id} does not exist.")
        return found

    def update_git_credential(self, credential_id: int, git_provider: str, *,
                              git_username: str | None = None, git_email: str | None = None,
                              name: str | None = None,
                              is_default_for_provider: bool | None = None,
                              personal_access_token: str | None = None) -> GitCredential:
        """Change one of the caller's credentials: the fields given (the provider always, as
        the API asks); the others, and the token when none is given, stay."""
        old = self.git_credential(credential_id)
        new = replace(old, git_provider=provider_named(git_provider),
                      git_username=old.git_username if git_username is None else git_username,
                      git_email=old.git_email if git_email is None else git_email,
                      name=old.name if name is None else name,
                      is_default_for_provider=old.is_default_for_provider
                      if is_default_for_provider is None else is_default_for_provider)
        self._credentials().replace(new, personal_access_token)
        if new.is_default_for_provider:
            self._unmark_other_defaults(new)
        self._audit_credential(AuditAction.GIT_CREDENTIAL_UPDATED, new,
                               token_changed=personal_access_token is not None)
        return new

    def delete_git_credential(self, credential_id: int) -> None:
        credential = self.git_credential(credential_id)
        self._credentials().remove(self.user, credential_id)
        self._audit_credential(AuditAction.GIT_CREDENTIAL_DELETED, credential)

    def _unmark_other_defaults(self, default: GitCredential) -> None:
        """A provider has one default: the others of the caller's for it are unmarked."""
        store = self._credentials()
        for other in store.of_user(self.user):
            if other.credential_id != default.credential_id and other.is_default_for_provider \
                    and other.git_provider == default.git_provider:
                store.replace(replace(other, is_default_for_provider=False), None)


__all__ = ["GitCredentialsMixin"]
