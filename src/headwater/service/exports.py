"""`runs/export`: the code a notebook task run ran, as an HTML view.

Databricks exports a notebook run as the notebook's HTML. headwater has the notebook's file
(a source-format `.py` or an `.ipynb`), so the view is that text in a small HTML page;
dashboards do not exist here, so `DASHBOARDS` exports nothing.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from headwater.core.permissions import Action
from headwater.errors import InvalidRequest, NotFound
from headwater.ports import WorkspaceFiles
from headwater.runtime.written_paths import NOTEBOOK_SUFFIXES, candidates, first_found
from headwater.service.queries import QueriesMixin


class ExportsMixin(QueriesMixin):
    """Run exports; mixed into `Service`."""

    workspace: WorkspaceFiles | None

    def export_run(self, run_id: int, views: str = "CODE") -> list[dict[str, Any]]:
        """The views of a notebook task run (or of a one-task job run): `CODE` and `ALL`
        give its notebook; `DASHBOARDS` gives none."""
        record, seq = self.find_run(run_id)
        self.authorize(record.job.job_id, Action.LOGS)
        plan = record.state.plan
        if seq is None and len(plan.tasks) != 1:
            raise InvalidRequest(f"Run {run_id} has {len(plan.tasks)} tasks; export one task "
                                 "run of it (the run_id of its entry in runs/get)")
        task = (record.state.task_of(record.state.task_runs[seq]) if seq is not None
                else next(iter(plan.tasks.values())))
        notebook = task.spec.notebook_task
        if notebook is None:
            raise InvalidRequest(f"Run {run_id} ran task {task.key!r}, a {task.kind}; only "
                                 "notebook task runs can be exported")
        if views == "DASHBOARDS":
            return []
        workspace = self.workspace.folder if self.workspace is not None else None
        path = _notebook_file(Path(record.workdir), notebook.notebook_path, workspace)
        page = (f"<html><head><title>{html.escape(path.name)}</title></head><body><pre>"
                f"{html.escape(path.read_text(encoding='utf-8', errors='replace'))}"
                "</pre></body></html>")
        return [{"name": notebook.notebook_path, "type": "NOTEBOOK", "content": page}]


def _notebook_file(workdir: Path, notebook_path: str, workspace: str | None) -> Path:
    """The file of the notebook, found as the task found it (`runtime/written_paths.py`)."""
    tried = candidates(notebook_path, workdir, NOTEBOOK_SUFFIXES, workspace)
    found = first_found(tried)
    if found is None:
            raise NotFound(f"The notebook {notebook_path!r} is no longer at {tried[0]} (or with "
                       ".py, .sql or .ipynb); it cannot be exported")
    return found


__all__ = ["ExportsMixin"]
