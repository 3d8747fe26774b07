"""The permissions section of a job's page, over HTTP against a real `headwater server`: each
entry says what it is (user, service principal, group), and saving the form keeps a service
principal one and may add one, or the `admins` group."""

from __future__ import annotations

import html
import re

from tests.servers import Server
from tests.web.browsing import create_job, shell
from tests.web.page_forms import signed_in

ROBOT = "6f0e5c1a-robot"


def rows(page: str) -> list[str]:
    """The permissions table's rows as text, one per entry."""
    section = page.split('id="permissions"')[1].split("</section>")[0]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
            for row in re.findall(r"<tr><td>(.*?)</td>", section, re.S)]


def acl(server: Server, admin: str, job_id: int) -> set[tuple[str, str, str]]:
    """The job's direct entries: (how it names its principal, the name, the level)."""
    body = server.call("GET", f"/api/2.0/permissions/jobs/{job_id}", token=admin).body
    return {(key, entry[key], entry["all_permissions"][0]["permission_level"])
            for entry in body["access_control_list"] if not entry["all_permissions"][0][
                "inherited"]
            for key in ("user_name", "service_principal_name", "group_name") if key in entry}


def test_the_page_keeps_a_service_principal_one_and_adds_one_or_the_admins(
        server: Server, admin: str) -> None:
    # Given a job whose list names a service principal (it has a token: `--user <id>`)
    server.token(ROBOT)
    job_id = create_job(server, admin, {"name": "robots", "tasks": [shell("hi", "echo hi")],
                                        "access_control_list": [
        {"service_principal_name": ROBOT, "permission_level": "CAN_VIEW"}]})
    ada = signed_in(server, admin)

    # Then the page shows it as one, in a field of its kind
    page = ada.get(f"/jobs/{job_id}").text
    assert f"{ROBOT} (service principal)" in rows(page)
    assert f'name="level:service_principal:{ROBOT}"' in page

    # When the form is saved with the service principal raised, and the admins group added
    saved = ada.post(f"/jobs/{job_id}/permissions", {
        "level:user:ada": "IS_OWNER", f"level:service_principal:{ROBOT}": "CAN_MANAGE_RUN",
        "new_kind": "group", "new_name": "admins", "new_level": "CAN_MANAGE"})

    # Then the list keeps it a service principal, with the admins group granted
    assert saved.status == 303
    assert acl(server, admin, job_id) == {
        ("user_name", "ada", "IS_OWNER"), ("service_principal_name", ROBOT, "CAN_MANAGE_RUN"),
        ("group_name", "admins", "CAN_MANAGE")}
    assert "admins (group: the admins)" in rows(ada.get(f"/jobs/{job_id}").text)

    # When a service principal is added by the form's own kind
    added = ada.post(f"/jobs/{job_id}/permissions", {
        "level:user:ada": "IS_OWNER", "new_kind": "service_principal", "new_name": ROBOT,
        "new_level": "CAN_VIEW"})

    # Then it is listed as one (and the admins group, left out of the form, is gone)
    assert added.status == 303
    assert acl(server, admin, job_id) == {
        ("user_name", "ada", "IS_OWNER"), ("service_principal_name", ROBOT, "CAN_VIEW")}


def test_naming_a_second_owner_is_refused_saying_how_and_keeps_the_list(
        server: Server, admin: str) -> None:
    # Given a job of ada's that bob may run
    server.token("bob")
    job_id = create_job(server, admin, {"name": "owned", "tasks": [shell("hi", "echo hi")],
                                        "access_control_list": [
        {"user_name": "bob", "permission_level": "CAN_MANAGE_RUN"}]})
    ada = signed_in(server, admin)
    before = acl(server, admin, job_id)

    # When the form makes bob IS_OWNER too, with ada still the owner
    saved = ada.post(f"/jobs/{job_id}/permissions", {
        "level:user:ada": "IS_OWNER", "level:user:bob": "IS_OWNER"})

    # Then it is refused, saying why and what to do, and nobody is dropped
    assert saved.status == 400, saved.text
    assert "ada and bob are each IS_OWNER, but a job has exactly one owner" in \
        html.unescape(saved.text)
    assert acl(server, admin, job_id) == before == {
        ("user_name", "ada", "IS_OWNER"), ("user_name", "bob", "CAN_MANAGE_RUN")}
