"""The secret store of `dbutils.secrets`: where it is, names, sizes, replacing a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.runtime.secret_store import (
    MAX_VALUE_BYTES,
    SecretError,
    SecretStore,
    default_root,
    with_secret_references,
)


def test_the_store_is_where_the_engine_says_else_in_headwater_s_home(tmp_path: Path) -> None:
    assert default_root({"HEADWATER_SECRETS_DIR": "/a/secrets", "HEADWATER_HOME": "/b"}) == \
        Path("/a/secrets")
    assert default_root({"HEADWATER_HOME": "/b"}) == Path("/b/secrets")
    assert default_root({}) == Path.cwd() / ".headwater" / "secrets"


def test_a_value_is_replaced_whole_and_listed_by_key(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    assert store.create_scope("db") and not store.create_scope("db")
    store.put("db", "password", b"old")
    store.put("db", "password", b"new value")
    assert store.get("db", "password") == b"new value"
    assert store.list_secrets("db") == ["password"]  # no temporary file left beside it
    assert store.list_scopes() == ["db"]


@pytest.mark.parametrize(("scope", "key", "message"), [
    ("..", "k", "scope name '..' is not valid"),
    ("db", "a/b", "secret key name 'a/b' is not valid"),
    ("db", "x" * 129, "is not valid"),
    ("nowhere", "k", "no secret scope 'nowhere'"),
    ("db", "absent", "no secret 'absent' in scope 'db'"),
])
def test_what_cannot_be_read_says_why(tmp_path: Path, scope: str, key: str,
                                      message: str) -> None:
    store = SecretStore(tmp_path)
    store.create_scope("db")
    with pytest.raises(SecretError, match=message.replace(".", r"\.")):
        store.get(scope, key)


def test_a_value_over_128_kb_is_refused(tmp_path: Path) -> None:
    store = SecretStore(tmp_path)
    store.create_scope("db")
    with pytest.raises(SecretError, match="at most 131,072"):
        store.put("db", "big", b"x" * (MAX_VALUE_BYTES + 1))


def test_a_value_that_is_a_secret_reference_becomes_the_secret(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    store.create_scope("prod")
    store.put("prod", "db.password", "pässword".encode())
    env = {"HEADWATER_SECRETS_DIR": str(tmp_path / "secrets"),
           "DB_PASSWORD": "{{secrets/prod/db.password}}",
           "EMBEDDED": "user:{{secrets/prod/db.password}}", "PLAIN": "{{secrets}}"}
    assert with_secret_references(env) == {**env, "DB_PASSWORD": "pässword"}
    # A value that is only part of a reference stays as written, and the input is not changed
    assert env["DB_PASSWORD"] == "{{secrets/prod/db.password}}"
    with pytest.raises(SecretError, match=r"^environment variable TOKEN: "
                                          r"\{\{secrets/prod/nope\}\}: no secret 'nope'"):
        with_secret_references({**env, "TOKEN": "{{secrets/prod/nope}}"})
    with pytest.raises(SecretError, match="no secret scope 'dev'"):
        with_secret_references({**env, "TOKEN": "{{secrets/dev/db}}"})
