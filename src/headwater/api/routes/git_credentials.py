"""`/api/2.0/git-credentials`: the caller's Git credentials, as the databricks-sdk's
`w.git_credentials` and `databricks git-credentials` ask; never the token in an answer.

`principal_id` (another principal's credentials) is refused, named: headwater has users only,
and each manages their own.

Ids are 64 bits, as Databricks' are: a `credential_id` past what the store holds is "Git
credential N does not exist." as any unknown one is (a credential is looked for among the
caller's, so no id reaches a query), and a `principal_id` of any size is refused as above.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from headwater.api.auth import Caller
from headwater.api.schemas import GitCredentialBody, JobsApiId
from headwater.core.git_credentials import credential_json
from headwater.errors import InvalidRequest

router = APIRouter(prefix="/api/2.0/git-credentials", tags=["git-credentials"])


def _own_only(principal_id: int | None) -> None:
    if principal_id is not None:
        raise InvalidRequest("principal_id: headwater has no service principals: each user "
                             "manages their own Git credentials; leave principal_id out")


@router.post("")
def create(body: GitCredentialBody, service: Caller) -> dict[str, Any]:
    _own_only(body.principal_id)
    return credential_json(service.create_git_credential(
        body.git_provider, git_username=body.git_username, git_email=body.git_email,
        name=body.name, is_default_for_provider=bool(body.is_default_for_provider),
        personal_access_token=body.personal_access_token))


@router.get("")
def list_credentials(service: Caller, principal_id: JobsApiId | None = None) -> dict[str, Any]:
    _own_only(principal_id)
    return {"credentials": [credential_json(c) for c in service.git_credentials_of_caller()]}


@router.get("/{credential_id}")
def get(credential_id: JobsApiId, service: Caller, principal_id: JobsApiId | None = None
        ) -> dict[str, Any]:
    _own_only(principal_id)
    return credential_json(service.git_credential(credential_id))


@router.patch("/{credential_id}")
def update(credential_id: JobsApiId, body: GitCredentialBody, service: Caller) -> dict[str, Any]:
    _own_only(body.principal_id)
    service.update_git_credential(
        credential_id, body.git_provider, git_username=body.git_username,
        git_email=body.git_email, name=body.name,
        is_default_for_provider=body.is_default_for_provider,
        personal_access_token=body.personal_access_token)
    return {}


@router.delete("/{credential_id}")
def delete(credential_id: JobsApiId, service: Caller, principal_id: JobsApiId | None = None
           ) -> dict[str, Any]:
    _own_only(principal_id)
    service.delete_git_credential(credential_id)
    return {}
