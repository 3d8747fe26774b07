"""A bundle loaded for a deploy to a server (core/bundle_sync.py): its jobs name the copy the
deploy makes under the server's workspace folder, at Databricks' default root path or the
target's `workspace.root_path`; loaded for this machine, they name the files where they are."""

from __future__ import annotations

from pathlib import Path

from headwater.core.bundle_model import BundleContext
from headwater.core.load import load_bundle

from .test_bundle_cli import write

BUNDLE = """
bundle: {name: shop}
sync:
  paths: [., ../common]
  include: [gen/]
resources:
  jobs:
    load:
      name: load
      tasks:
        - task_key: load
          spark_python_task:
            python_file: src/load.py
            parameters: ["${workspace.root_path}", "${workspace.file_path}"]
          libraries: [{whl: ../common/dist/*.whl}]
targets:
  dev: {default: true}
  prod:
    workspace:
      root_path: /Shared/.bundle/${bundle.name}/${bundle.target}
"""


def test_deployed_to_a_server_the_jobs_name_the_copy_of_the_sync_root(tmp_path: Path) -> None:
    path = write(tmp_path / "project", "databricks.yml", BUNDLE)
    write(tmp_path / "project", "src/load.py", "")  # looked for here, where the deploy copies it
    context = BundleContext(user="ana@example.com", workspace_dir="/srv/ws")

    dev = load_bundle([path], None, None, context)
    prod = load_bundle([path], "prod", None, context)

    # The sync root is the folder holding the bundle and ../common: tmp_path itself.
    files = "/srv/ws/Users/ana@example.com/.bundle/shop/dev/files"
    (job,) = dev.jobs
    task = job.settings.tasks[0]
    assert task.spark_python_task is not None
    assert task.spark_python_task.python_file == f"{files}/project/src/load.py"
    assert task.spark_python_task.parameters == [
        "/srv/ws/Users/ana@example.com/.bundle/shop/dev", files]
    assert task.libraries[0].whl == f"{files}/common/dist/*.whl"
    assert dev.sync is not None and dev.sync.deployed is not None
    assert dev.sync.root == tmp_path.as_posix()
    assert dev.sync.deployed.file_path == "/Workspace/Users/ana@example.com/.bundle/shop/dev/files"
    assert dev.sync.paths == (f"{tmp_path.as_posix()}/project", f"{tmp_path.as_posix()}/common")
    assert dev.sync.include == ("gen/",)
    assert dev.sync.referenced == (f"{tmp_path.as_posix()}/project/src/load.py",
                                   f"{tmp_path.as_posix()}/common/dist/*.whl")
    assert prod.sync is not None and prod.sync.deployed is not None
    assert prod.sync.deployed.file_path == "/Workspace/Shared/.bundle/shop/prod/files"
    (prod_job,) = prod.jobs
    python = prod_job.settings.tasks[0].spark_python_task
    assert python is not None
    assert python.python_file == "/srv/ws/Shared/.bundle/shop/prod/files/project/src/load.py"


def test_on_this_machine_or_for_a_plain_job_file_the_paths_stay_where_the_files_are(
        tmp_path: Path) -> None:
    path = write(tmp_path / "project", "databricks.yml", BUNDLE)
    plain = write(tmp_path / "plain", "job.yml", """
        resources:
          jobs:
            one:
              tasks:
                - task_key: a
                  spark_python_task: {python_file: a.py}
        """)
    write(tmp_path / "project", "src/load.py", "")
    write(tmp_path / "plain", "a.py", "")

    here = load_bundle([path], None, None, BundleContext(user="ana"))
    server = load_bundle([plain], None, None, BundleContext(user="ana", workspace_dir="/srv/ws"))

    python = here.jobs[0].settings.tasks[0].spark_python_task
    assert python is not None and python.python_file == f"{path.parent.as_posix()}/src/load.py"
    assert here.sync is not None and here.sync.deployed is None
    plain_python = server.jobs[0].settings.tasks[0].spark_python_task
    assert plain_python is not None
    assert plain_python.python_file == f"{plain.parent.as_posix()}/a.py"
    assert server.sync is not None and server.sync.deployed is None


def test_a_workspace_path_names_the_workspace_folder_s_file_and_nothing_else_does() -> None:
    from headwater.runtime.written_paths import in_workspace_folder, workspace_file

    assert workspace_file("/Workspace/Users/ana/etl/load.py", "/srv/ws") == \
        "/srv/ws/Users/ana/etl/load.py"
    assert workspace_file("/Workspace/a/./b/../c", "/srv/ws") == "/srv/ws/a/c"
    # `..` out of the workspace, a relative or another absolute path: taken as written
    for written in ("/Workspace/../etc/passwd", "etl/load.py", "/opt/load.py"):
        assert workspace_file(written, "/srv/ws") == written
    environment = {"client": "1", "dependencies": [
        "-r /Workspace/Shared/requirements.txt", "/Workspace/Shared/dist/app-1-py3-none-any.whl",
        "pandas==2.2.2", "./local.whl"]}
    assert in_workspace_folder(environment, "/srv/ws") == {"client": "1", "dependencies": [
        "-r /srv/ws/Shared/requirements.txt", "/srv/ws/Shared/dist/app-1-py3-none-any.whl",
        "pandas==2.2.2", "./local.whl"]}
