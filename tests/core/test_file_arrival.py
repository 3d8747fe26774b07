"""Where a file-arrival URL points (a local folder, a volume or DBFS path, cloud storage), and
validation refusing cloud storage at the URL's file:line:col."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from headwater.core.file_arrival import WatchedLocation, watched_location
from headwater.core.load import load_files
from headwater.errors import SpecError


@pytest.mark.parametrize(("url", "location"), [
    ("/data/landing", WatchedLocation.LOCAL),
    ("landing/orders", WatchedLocation.LOCAL),  # relative to the job's file
    ("file:///data/landing", WatchedLocation.LOCAL),
    ("file:/Volumes/main/raw/landing", WatchedLocation.LOCAL),  # the machine's own, as dbutils
    ("/VolumesX/landing", WatchedLocation.LOCAL),
    ("/Volumes/main/raw/landing/", WatchedLocation.DBFS),
    ("/Volumes", WatchedLocation.DBFS),
    ("dbfs:/tmp/landing", WatchedLocation.DBFS),
    ("DBFS:/tmp/landing", WatchedLocation.DBFS),
    ("s3://bucket/landing/", WatchedLocation.CLOUD),
    ("abfss://raw@account.dfs.core.windows.net/landing", WatchedLocation.CLOUD),
    ("gs://bucket/landing", WatchedLocation.CLOUD),
])
def test_each_url_names_one_kind_of_place(url: str, location: WatchedLocation) -> None:
    assert watched_location(url) == location


JOB = """
resources:
  jobs:
    ingest:
      name: ingest
      {triggers}
      tasks:
        - task_key: load
          shell_command_task: {{command: "true"}}
"""


def load(tmp_path: Path, triggers: str) -> Path:
    path = tmp_path / "job.yml"
    path.write_text(textwrap.dedent(JOB).lstrip("\n").format(triggers=triggers))
    return path


def test_a_cloud_storage_url_is_refused_at_its_place_with_what_to_write_instead(
        tmp_path: Path) -> None:
    # Given a job whose file-arrival triggers watch S3 and Azure storage
    path = load(tmp_path, "triggers: [{file_arrival: {url: 's3://bucket/landing/'}}, "
                          "{file_arrival: {url: 'abfss://raw@acct.dfs.core.windows.net/in'}}]")

    # When it is loaded (as `headwater validate` and `jobs create` do)
    with pytest.raises(SpecError) as raised:
        load_files([path], None)

    # Then each URL is refused where it is written, saying what headwater watches
    problems = raised.value.problems
    assert [(p.where, p.path) for p in problems] == [
        (f"{path}:5:39", "triggers[0].file_arrival.url"),
        (f"{path}:5:86", "triggers[1].file_arrival.url")]
    assert problems[0].message == (
        "'s3://bucket/landing/' is in cloud storage (s3://), which headwater cannot watch: it "
        "watches local folders and Unity Catalog volume or DBFS paths. Write a "
        "/Volumes/<catalog>/<schema>/<volume>/... or dbfs:/... path (the folder tasks write "
        "with dbutils.fs), or a local folder (a path, or file:///path) where the storage is "
        "mounted")


@pytest.mark.parametrize("url", ["/Volumes/main/raw/landing/", "dbfs:/landing", "landing",
                                 "file:///data/landing", "/data/landing"])
def test_volume_dbfs_and_local_urls_are_accepted(tmp_path: Path, url: str) -> None:
    [job] = load_files([load(tmp_path, f"trigger: {{file_arrival: {{url: '{url}'}}}}")], None)

    assert job.settings.trigger is not None
    assert job.settings.trigger.file_arrival is not None
    assert job.settings.trigger.file_arrival.url == url
