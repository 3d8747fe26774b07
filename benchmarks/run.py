"""`make bench`: headwater's per-task orchestration overhead against a process-spawn floor.

Workloads, each timed in this same run beside its floor:
- W1: a chain of 100 trivial Python tasks (one at a time);
- W2: one root, 200 parallel trivial tasks, one join, at `--max-parallel` (default 8);
  and the same job on a job cluster: a Dask `LocalCluster` of 2 workers of 4 threads, started
  for the run (its start is part of the run; the row says how long it took);
- W3: a for-each over 1,000 items of the same trivial task, at concurrency `--max-parallel`;
- W4: the per-task cost of a notebook against a script: chains of 20 trivial script tasks,
  20 Databricks-source notebooks, and 5 .ipynb notebooks (a kernel each), one at a time;
- W5: one engine (`headwater engine`'s loop) driving 50 runs of a 10-task job at once, at
  `--max-parallel`; besides the ratio, the engine's own CPU time per task (this process's
  CPU: deciding, storing, launching; the tasks' processes are not counted);
- W6: `headwater simulate --all-failures` of the flagship example (every task failing in
  turn, simulated), a whole command, against `headwater validate` of the same file as its
  floor (starting Python and reading the file); besides, the simulations alone, in-process.
- W7: the web UI's run page, in headless Chromium, of a 1,000-task run (10 layers of 100,
  run first at `--max-parallel`) and of W3's for-each of 1,000 iterations, against the page
  of a one-task run (benchmarks/ui_pages.py).
The floor spawns the same number of `python -c pass`-like processes (the same empty script)
back to back (W1) or with the same parallelism (W2). Overhead per task = (run - floor) / tasks.
This is a report, not a test: machines are small and noisy, so read the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ui_pages import ui_pages

from headwater.bootstrap import App, application
from headwater.config import Settings
from headwater.core.spec import JobSettings
from headwater.core.states import ResultState


def trivial(key: str, *deps: str) -> dict[str, object]:
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "spark_python_task": {"python_file": "noop.py"}}


def chain(n: int) -> list[dict[str, object]]:
    return [trivial(f"t{i}", *([f"t{i - 1}"] if i else [])) for i in range(n)]


def fan(n: int) -> list[dict[str, object]]:
    middle = [trivial(f"t{i}", "root") for i in range(n)]
    return [trivial("root"), *middle, trivial("join", *(f"t{i}" for i in range(n)))]


def on_cluster(tasks: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{**task, "job_cluster_key": "bench"} for task in tasks]


BENCH_CLUSTER = [{"job_cluster_key": "bench", "new_cluster": {"num_workers": 2}}]


def grid(layers: int, width: int) -> list[dict[str, object]]:
    """`layers` x `width` tasks, each after the task in its column of the layer before."""
    return [trivial(f"l{layer}_{i}", *([f"l{layer - 1}_{i}"] if layer else []))
            for layer in range(layers) for i in range(width)]


def loop(n: int, concurrency: int) -> list[dict[str, object]]:
    nested = {"task_key": "item", "spark_python_task": {"python_file": "noop.py",
                                                          "parameters": ["{{input}}"]}}
    return [{"task_key": "loop", "for_each_task": {
        "inputs": json.dumps(list(range(n))), "concurrency": concurrency, "task": nested}}]


def notebook_chain(n: int, path: str) -> list[dict[str, object]]:
    return [{"task_key": f"t{i}", "depends_on": [{"task_key": f"t{i - 1}"}] if i else [],
             "notebook_task": {"notebook_path": path}} for i in range(n)]


def write_notebooks(workdir: Path) -> None:
    (workdir / "noop_notebook.py").write_text(
        "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\ny = x + 1\n")
    cells = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
              "execution_count": None}]
    (workdir / "noop.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}}}))


def notebook_costs(app: App, workdir: Path) -> list[dict[str, object]]:
    """Seconds per task of a script, a source notebook and an .ipynb notebook, in a chain."""
    rows = []
    script = timed_run(app, workdir, "W4 script x20", chain(20))[0] / 20
    rows.append(report("W4 script task", 1, script, script))
    source = timed_run(app, workdir, "W4 notebook x20",
                       notebook_chain(20, "noop_notebook.py"))[0] / 20
    rows.append(report("W4 source notebook task", 1, source, script))
    try:
        import nbclient  # noqa: F401 - only to know whether .ipynb notebooks can run
    except ImportError:
        print("W4 .ipynb notebook task: skipped (pip install 'headwater[notebook]')")
        return rows
    ipynb = timed_run(app, workdir, "W4 ipynb x5", notebook_chain(5, "noop.ipynb"))[0] / 5
    rows.append(report("W4 .ipynb notebook task", 1, ipynb, script))
    return rows


def floor(script: Path, count: int, parallel: int) -> float:
    """Seconds to spawn and reap `count` processes of the empty script, `parallel` at once."""
    started = time.perf_counter()
    live: list[subprocess.Popen[bytes]] = []
    for _ in range(count):
        while len(live) >= parallel:
            live.pop(0).wait()
        live.append(subprocess.Popen([sys.executable, "-u", str(script)], cwd=script.parent,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True))
    for proc in live:
        proc.wait()
    return time.perf_counter() - started


def timed_run(app: App, workdir: Path, name: str, tasks: list[dict[str, object]],
              **job: object) -> tuple[float, int]:
    """Seconds to run a job of `tasks` to its end with an engine in this process; the run."""
    settings = JobSettings.model_validate({"name": name, "tasks": tasks, **job})
    job = app.service.create_job(settings, name)
    created = app.service.start_run(job, {}, workdir, owner=app.engine_name,
                                    lease_seconds=app.settings.lease_seconds)
    started = time.perf_counter()
    with app.engine(only={created.run_id}, deliver_alerts=False) as engine:
        engine.hold(created.run_id, created.fence)
        state = engine.drive(created.run_id)
    elapsed = time.perf_counter() - started
    if state.result is not ResultState.SUCCESS:
        raise SystemExit(f"{name} ended {state.result}: {state.message}")
    return elapsed, created.run_id


def dask_fan(app: App, workdir: Path, base: float) -> dict[str, object] | None:
    """W2 on a 2-worker job cluster; None (and a word why) without Dask."""
    try:
        import distributed  # noqa: F401  (the `[dask]` extra)
    except ImportError:
        print("W2 on Dask: skipped: pip install 'headwater[dask]'")
        return None
    run = timed_run(app, workdir, "W2 on Dask", on_cluster(fan(200)),
                    job_clusters=BENCH_CLUSTER)[0]
    outputs = app.store.task_outputs(app.service.list_runs(limit=1).items[0].run_id)
    setup = max(float(o.get("cluster_setup_seconds", 0.0)) for o in outputs.values())
    row = report("W2 fan-out 200 on Dask 2x4", 202, run, base)
    row["cluster_start_s"] = round(setup, 3)
    print(f"{'':<28} of which the cluster's start: {setup:.2f}s")
    return row


def many_runs(app: App, workdir: Path, runs: int, tasks: int) -> tuple[float, float]:
    """Wall and engine CPU seconds for one engine to drive `runs` runs of a `tasks`-task job
    started at once."""
    settings = JobSettings.model_validate({"name": "W5", "tasks": fan(tasks - 2),
                                           "max_concurrent_runs": runs})
    job = app.service.create_job(settings, "W5")
    run_ids = [app.service.start_run(job, {}, workdir).run_id for _ in range(runs)]
    wall, cpu = time.perf_counter(), time.process_time()
    with app.engine(deliver_alerts=False) as engine:
        while app.service.list_runs(job.job_id, limit=1, active_only=True).items:
            for _ in range(20):
                engine.step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    failed = [r for r in run_ids if app.store.load_run(r).state.result is not ResultState.SUCCESS]
    if failed:
        raise SystemExit(f"W5: runs {failed} did not succeed")
    return wall, cpu


def what_if_cost(repeat: int = 5) -> dict[str, object]:
    """W6: median seconds of `simulate --all-failures` and of `validate` (the floor) on the
    flagship example, and of the sweep alone in this process."""
    from headwater.core.load import load_file
    from headwater.core.whatif_sweep import every_failure

    example = Path(__file__).resolve().parents[1] / "examples/lf_job_etl_pipeline/databricks.yml"

    def median(*args: str) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "headwater", *args, str(example)], check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        return sorted(times)[repeat // 2]

    base, run = median("validate"), median("simulate", "--all-failures")
    settings = load_file(example)[0].settings
    started = time.perf_counter()
    cases = every_failure(settings)
    alone = time.perf_counter() - started
    row = report("W6 what-if --all-failures", len(cases), run, base)
    row["in_process_ms"] = round(alone * 1000, 1)
    print(f"{'':<28} the simulations alone: {row['in_process_ms']} ms for {len(cases)} tasks")
    return row


def report(name: str, tasks: int, run: float, base: float) -> dict[str, object]:
    overhead_ms = (run - base) / tasks * 1000
    print(f"{name:<28} {tasks:>5} tasks  run {run:7.2f}s  floor {base:7.2f}s  "
          f"ratio {run / base:5.2f}  overhead {overhead_ms:6.2f} ms/task")
    return {"workload": name, "tasks": tasks, "run_s": round(run, 3), "floor_s": round(base, 3),
            "ratio": round(run / base, 3), "overhead_ms_per_task": round(overhead_ms, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-parallel", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as tmp:
        workdir = Path(tmp)
        script = workdir / "noop.py"
        script.write_text("pass\n")
        settings = Settings(home=workdir / ".headwater",
                            db_url=f"sqlite:///{workdir / 'bench.db'}",
                            max_parallel=args.max_parallel)
        rows: list[dict[str, object]] = []
        run_ids: dict[str, int] = {}
        with application(settings) as app:
            workloads: list[tuple[str, list[dict[str, object]], Callable[[], float]]] = [
                ("W1 chain of 100", chain(100), lambda: floor(script, 100, 1)),
                (f"W2 fan-out 200 @{args.max_parallel}", fan(200),
                 lambda: floor(script, 202, args.max_parallel)),
                (f"W3 for-each 1000 @{args.max_parallel}", loop(1000, args.max_parallel),
                 lambda: floor(script, 1000, args.max_parallel)),
            ]
            for name, tasks, measure_floor in workloads:
                base = measure_floor()
                run, run_ids[name[:2]] = timed_run(app, workdir, name, tasks)
                count = 1000 if name.startswith("W3") else len(tasks)
                rows.append(report(name, count, run, base))
                if name.startswith("W2") and (row := dask_fan(app, workdir, base)):
                    rows.append(row)
            write_notebooks(workdir)
            print("W4: per-task cost; the floor column is the script task, overhead is the "
                  "notebook's extra set-up")
            rows += notebook_costs(app, workdir)
            base = floor(script, 500, args.max_parallel)
            wall, cpu = many_runs(app, workdir, runs=50, tasks=10)
            row = report(f"W5 50 runs x 10 @{args.max_parallel}", 500, wall, base)
            row["engine_cpu_ms_per_task"] = round(cpu / 500 * 1000, 2)
            print(f"{'':<28} engine CPU {cpu:.2f}s: {row['engine_cpu_ms_per_task']} ms/task")
            rows.append(row)
            base = floor(script, 1000, args.max_parallel)
            run, large = timed_run(app, workdir, "W7 1000 tasks", grid(10, 100))
            rows.append(report(f"W7 1000 tasks @{args.max_parallel}", 1000, run, base))
            small = timed_run(app, workdir, "W7 one task", chain(1))[1]
            print("W7: the run page in Chromium; (xN) is the ratio to the one-task run's page")
            rows += ui_pages(app, {"W7 page of 1 task": (small, "t0"),
                                   "W7 page of 1000 tasks": (large, "l9_99"),
                                   "W7 page of for-each 1000": (run_ids["W3"], "loop")})
        rows.append(what_if_cost())
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
