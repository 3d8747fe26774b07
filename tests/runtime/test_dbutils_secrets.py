"""`dbutils.secrets` in a run's task reads only the scopes the engine said its run's user may
read (`HEADWATER_READABLE_SCOPES`): any other is refused with a `KeyError` naming the user, the
scope and how to ask for READ; `listScopes` lists only those; `{{secrets/...}}` references obey
it too; without the variable (the local `headwater run`), every scope is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.runtime.dbutils import SecretsUtils
from headwater.runtime.secret_store import (
    READABLE_VARIABLE,
    Readable,
    SecretError,
    SecretStore,
    with_secret_references,
)

BINARY = b"\xff\xfe"  # not text: reading it redacts nothing in this test's process


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two scopes, ann's and bob's, each with a secret; the task's store is there."""
    store = SecretStore(tmp_path / "secrets")
    for scope in ("anns", "bobs"):
        store.create_scope(scope)
        store.put(scope, "key", BINARY)
    monkeypatch.setenv("HEADWATER_SECRETS_DIR", str(store.root))
    return store.root


def test_a_task_of_ann_s_run_cannot_read_bob_s_scope(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a task whose run runs as ann, who may read her scope only
    monkeypatch.setenv(READABLE_VARIABLE, Readable("ann", frozenset({"anns"})).encoded())
    secrets = SecretsUtils()

    # Then it reads and lists hers, and sees only hers among the scopes
    assert secrets.getBytes("anns", "key") == BINARY
    assert [s.key for s in secrets.list("anns")] == ["key"]
    assert [s.name for s in secrets.listScopes()] == ["anns"]

    # And every way into bob's is refused, saying who, which scope and how to ask for it
    for read in (lambda: secrets.get("bobs", "key"), lambda: secrets.getBytes("bobs", "key"),
                 lambda: secrets.list("bobs")):
        with pytest.raises(KeyError) as refused:
            read()
        assert isinstance(refused.value, SecretError) and refused.value.denied
        assert str(refused.value) == (
            "user ann, whom this run runs as, may not read secret scope 'bobs': a task reads "
            "only the scopes its run's user has READ on; ask a user with MANAGE on 'bobs' (or "
            "an admin) to grant it: `headwater secrets put-acl bobs ann READ` (`databricks "
            "secrets put-acl` against a server)")
    # And a scope that does not exist is still said to be missing
    with pytest.raises(SecretError, match="no secret scope 'nope'"):
        secrets.get("nope", "key")


def test_a_reference_to_a_scope_the_run_s_user_may_not_read_is_refused(root: Path) -> None:
    env = {"HEADWATER_SECRETS_DIR": str(root), "TOKEN": "{{secrets/bobs/key}}",
           READABLE_VARIABLE: Readable("ann", frozenset({"anns"})).encoded()}

    with pytest.raises(SecretError, match=r"^environment variable TOKEN: "
                                          r"\{\{secrets/bobs/key\}\}: user ann, whom"):
        with_secret_references(env)


def test_an_admin_s_run_and_the_local_run_read_every_scope(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert [s.name for s in SecretsUtils().listScopes()] == ["anns", "bobs"]  # no variable
    monkeypatch.setenv(READABLE_VARIABLE, Readable("root", None).encoded())
    assert SecretsUtils().getBytes("bobs", "key") == BINARY


def test_a_variable_the_engine_cannot_have_written_reads_nothing(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(READABLE_VARIABLE, "anns,bobs")
    with pytest.raises(SecretError, match="HEADWATER_READABLE_SCOPES is not what the engine"):
        SecretsUtils().getBytes("anns", "key")
