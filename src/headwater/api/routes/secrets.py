"""`/api/2.0/secrets/...`: the secret scopes that tasks read with `dbutils.secrets`, and
their ACLs (`secrets/acls/...`), as the databricks-sdk's `w.secrets` and `databricks secrets`
ask (who may do what: see the service).

Values travel as Databricks sends them: `string_value` or base64 `bytes_value` in, base64
`value` out; an ACL entry is `{"principal", "permission"}`, a list of them `{"items": [...]}`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter

from headwater.api.auth import Caller
from headwater.api.schemas import SecretAclKey, SecretAclPut, SecretKey, SecretPut, SecretScopeName
from headwater.core.secret_acls import ScopeAcl
from headwater.errors import InvalidRequest

router = APIRouter(prefix="/api/2.0/secrets", tags=["secrets"])


@router.post("/scopes/create")
def create_scope(body: SecretScopeName, service: Caller) -> dict[str, Any]:
    service.create_secret_scope(body.scope, body.initial_manage_principal)
    return {}


@router.get("/scopes/list")
def list_scopes(service: Caller) -> dict[str, Any]:
    scopes = [{"name": name, "backend_type": "DATABRICKS"} for name in service.secret_scopes()]
    return {"scopes": scopes} if scopes else {}


@router.post("/scopes/delete")
def delete_scope(body: SecretScopeName, service: Caller) -> dict[str, Any]:
    service.delete_secret_scope(body.scope)
    return {}


@router.post("/put")
def put(body: SecretPut, service: Caller) -> dict[str, Any]:
    """Store a value, replacing the one there (the scope must exist, as on Databricks)."""
    service.put_secret(body.scope, body.key, _value(body))
    return {}


@router.get("/list")
def list_secrets(scope: str, service: Caller) -> dict[str, Any]:
    """The keys of a scope with when each was last put; never the values."""
    keys = [{"key": key, "last_updated_timestamp": int(updated.timestamp() * 1000)}
            for key, updated in service.secret_keys(scope)]
    return {"secrets": keys} if keys else {}


@router.get("/get")
def get(scope: str, key: str, service: Caller) -> dict[str, Any]:
    """A secret's value, base64 encoded."""
    value = service.secret_value(scope, key)
    return {"key": key, "value": base64.b64encode(value).decode("ascii")}


@router.post("/delete")
def delete(body: SecretKey, service: Caller) -> dict[str, Any]:
    service.delete_secret(body.scope, body.key)
    return {}


@router.post("/acls/put")
def put_acl(body: SecretAclPut, service: Caller) -> dict[str, Any]:
    service.put_secret_acl(body.scope, body.principal, body.permission)
    return {}


@router.get("/acls/get")
def get_acl(scope: str, principal: str, service: Caller) -> dict[str, Any]:
    return _acl(service.secret_acl(scope, principal))


@router.get("/acls/list")
def list_acls(scope: str, service: Caller) -> dict[str, Any]:
    items = [_acl(acl) for acl in service.secret_acls(scope)]
    return {"items": items} if items else {}


@router.post("/acls/delete")
def delete_acl(body: SecretAclKey, service: Caller) -> dict[str, Any]:
    service.delete_secret_acl(body.scope, body.principal)
    return {}


def _acl(acl: ScopeAcl) -> dict[str, Any]:
    return {"principal": acl.principal, "permission": acl.permission.name}


def _value(body: SecretPut) -> bytes:
    if (body.string_value is None) == (body.bytes_value is None):
        raise InvalidRequest("give exactly one of string_value and bytes_value")
    if body.string_value is not None:
        return body.string_value.encode("utf-8")
    try:
        return base64.b64decode(body.bytes_value or "", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("bytes_value is not base64") from None


__all__ = ["router"]
