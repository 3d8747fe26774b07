"""What a run's tasks may read of the secret scopes, found in the store at launch: the scopes
its user has READ on and those without ACL, or every scope for a user with a valid admin
token; the attempt is told so in a variable that no variable of the job can override."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from engine_world import World, step_until

from headwater.core.audit import AuditAction, AuditEntry
from headwater.core.secret_acls import ScopeAcl, ScopePermission
from headwater.core.spec import Task
from headwater.engine.secret_readers import SecretReaders
from headwater.engine.supervisor import EngineSettings, Supervisor
from headwater.ports import LaunchSpec, TaskContext
from headwater.runtime.secret_store import READABLE_VARIABLE, Readable, SecretStore
from headwater.testing import FakeExecutor


def readers(world: World) -> SecretReaders:
    """Scopes `anns` (ann manages it), `bobs` (bob's) and `old` (no ACL)."""
    scopes = SecretStore(world.tmp_path / "secrets")
    for scope in ("anns", "bobs", "old"):
        scopes.create_scope(scope)
    made = AuditEntry(world.clock.now(), "root", AuditAction.SCOPE_CREATED)
    for user in ("ann", "bob"):
        world.store.set_secret_acls(f"{user}s", [ScopeAcl(user, ScopePermission.MANAGE)], made)
    return SecretReaders(world.store, scopes, world.clock)


def test_a_user_reads_the_scopes_granted_and_those_without_acl(world: World) -> None:
    found = readers(world)

    assert found.readable("ann") == Readable("ann", frozenset({"anns", "old"}))
    world.store.put_secret_acl("bobs", ScopeAcl("users", ScopePermission.READ), AuditEntry(
        world.clock.now(), "bob", AuditAction.SCOPE_ACL_PUT))
    assert found.readable("ann") == Readable("ann", frozenset({"anns", "bobs", "old"}))


def test_an_admin_is_a_user_with_a_valid_admin_token(world: World) -> None:
    found = readers(world)
    now = world.clock.now()
    world.store.add_token("h1", "ann", False, "", now, None)  # not an admin's
    revoked = world.store.add_token("h2", "root", True, "", now, None)
    world.store.revoke_token(revoked, now)
    world.store.add_token("h3", "ops", True, "", now, now + timedelta(days=1))

    assert not found.is_admin("ann") and not found.is_admin("root")
    assert found.readable("ops") == Readable("ops", None)  # every scope
    world.clock.advance(timedelta(days=1).total_seconds())  # its token expired
    assert found.readable("ops") == Readable("ops", frozenset({"old"}))


class WideningRunner:
    """A runner whose task sets the variable itself, as a job's environment variables could."""

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        return LaunchSpec(argv=["true"], env={READABLE_VARIABLE: Readable("ann", None).encoded()},
                          cwd=context.workdir, log_path=context.log_path)


def test_the_attempt_is_told_what_its_run_s_user_may_read(world: World, tmp_path: Path) -> None:
    # Given an engine that knows the scopes' ACLs, and a job of ann's
    settings = EngineSettings(tmp_path / "logs", 4, "ann")
    engine = Supervisor(world.store, FakeExecutor(world.clock, attempts=world.attempts),
                        {"shell_command_task": WideningRunner()}, world.clock, settings, "e1",
                        secret_readers=readers(world))
    run_id = world.start(world.job(tasks=1))

    # When it launches the run's task
    step_until(lambda: bool(world.attempts.launched), engine)

    # Then the attempt may read what ann may, whatever the task's own variables say
    [(key, attempt)] = world.attempts.launched.items()
    assert key.run_id == run_id
    env = attempt.spec.env
    assert Readable.of(env) == Readable("ann", frozenset({"anns", "old"}))
