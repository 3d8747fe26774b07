"""Git credentials, purely: providers read whatever their case, the credential a fetch uses,
the user name sent with the token, and the API's view of one (never the token)."""

from __future__ import annotations

import pytest

from headwater.core.git_credentials import (
    GitCredential,
    chosen,
    credential_json,
    login_of,
    provider_named,
)
from headwater.core.spec_job import GitProvider
from headwater.errors import InvalidRequest

HUB, LAB = GitProvider.GIT_HUB, GitProvider.GIT_LAB


def test_a_provider_is_read_whatever_its_case_and_an_unknown_one_lists_the_others() -> None:
    assert provider_named("GITHUB") is HUB
    assert provider_named("gitLabEnterpriseEdition") is GitProvider.GIT_LAB_ENTERPRISE_EDITION
    with pytest.raises(InvalidRequest, match=r"^git_provider: 'svn' is not a Git provider: use "
                                             r"one of gitHub, bitbucketCloud, .*awsCodeCommit$"):
        provider_named("svn")


def test_a_fetch_uses_the_provider_s_default_else_the_first_made() -> None:
    first, second = GitCredential(3, "ann", HUB), GitCredential(5, "ann", HUB)
    lab = GitCredential(4, "ann", LAB, is_default_for_provider=True)
    assert chosen([second, lab, first], HUB) == first
    default = GitCredential(7, "ann", HUB, is_default_for_provider=True)
    assert chosen([first, second, default, lab], HUB) == default
    assert chosen([lab], HUB) is None


def test_the_user_name_sent_is_the_username_else_the_email_else_git() -> None:
    assert login_of(GitCredential(1, "ann", HUB, "ann-gh", "ann@x")) == "ann-gh"
    assert login_of(GitCredential(1, "ann", HUB, None, "ann@x")) == "ann@x"
    assert login_of(GitCredential(1, "ann", HUB)) == "git"


def test_the_api_shows_a_credential_without_its_token_or_empty_fields() -> None:
    assert credential_json(GitCredential(9, "ann", HUB, "ann-gh", name="work")) == {
        "credential_id": 9, "git_provider": "gitHub", "git_username": "ann-gh",
        "name": "work", "is_default_for_provider": False}
