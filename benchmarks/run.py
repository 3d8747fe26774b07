"""`make bench`: how fast headwater launches tasks, against floors measured in the same run.

Each row is timed beside its floors, `--runs` times (5 by default), and the medians are shown
with the goal of issue 15 and whether it holds:

- W1: a chain of 100 trivial Python tasks (one at a time), the engine's whole run;
- W2: one root, 200 parallel trivial tasks, one join, at `--max-parallel` (default 8);
- W3: a for-each over 1,000 items of the same trivial task, at concurrency `--max-parallel`;
- orchestration: for W1-W3, (run - fork floor) / tasks, what headwater adds to a task;
- where W3's time goes: the CPU and the page faults of the whole machine a task costs (every
  process it needs and the kernel's work for them: `machine.py`), against the fork floor's;
  and of that CPU, the engine's own;
- W4: the per-task cost of a notebook against a script: chains of 20 trivial script tasks,
  20 Databricks-source notebooks and 10 .ipynb notebooks, one at a time;
- W5: one engine (`headwater engine`'s loop) driving 50 runs of a 10-task job at once, at
  `--max-parallel`; besides the ratio, the engine's own CPU time per task;
- CLI: `headwater run` of a one-task job and `headwater --help`, whole processes, served by
  the warm CLI (started by a first command, stopped at the end) and without it;
- W2 on Dask: W2's job on a job cluster, a Dask `LocalCluster` of 2 workers of 4 threads
  started for the run (its start is part of the run), when the `[dask]` extra is installed;
- W6: `headwater simulate --all-failures` of the flagship example (every task failing in
  turn, simulated), a whole command, against `headwater validate` of the same file;
- W7 (once, after the runs): the web UI's run page in headless Chromium, of a 1,000-task run
  (10 layers of 100) and of W3's for-each of 1,000 iterations, against the page of a
  one-task run (benchmarks/ui_pages.py).

Floors: *spawn* starts the same number of `python -u noop.py` processes back to back (W1) or
with the same parallelism (W2, W3); *fork* forks a warm interpreter's child per task that runs
the same script and ends (what a fork server cannot go below); *python* is one
`python -c pass`. headwater's modules are compiled to bytecode first, as an installed package's
are (a checkout under `PYTHONDONTWRITEBYTECODE` would compile them in every process and
measure that). This is a report, not a test: machines are small and noisy, so read the
ratios and the medians.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from machine import use
from ui_pages import ui_pages

import headwater
from headwater.bootstrap import App, application
from headwater.cli.warm import running
from headwater.config import Settings
from headwater.core.spec import JobSettings
from headwater.core.states import ResultState

# The fork floor: a warm interpreter forks `count` children, `parallel` at once, each running
# the script as the fork server's children do (compiled and run as __main__), then `_exit`.
# It prints the seconds, and the machine's CPU seconds and page faults, that took.
FORK_FLOOR = """
import json, os, sys, time
script, count, parallel = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
import headwater.runtime  # what the fork server imports
from machine import use
(cpu, faults), started, live = use(), time.perf_counter(), 0
for _ in range(count):
    while live >= parallel:
        os.wait()
        live -= 1
    if os.fork() == 0:
        with open(script, "rb") as source:
            exec(compile(source.read(), script, "exec"), {"__name__": "__main__"})
        os._exit(0)
    live += 1
while live:
    os.wait()
    live -= 1
elapsed, (cpu_after, faults_after) = time.perf_counter() - started, use()
print(json.dumps([elapsed, cpu_after - cpu, faults_after - faults]))
"""


WARM_CLI = f"bench-{os.getpid()}"  # this run's own warm CLI, stopped at its end

@dataclass
class Row:
    """One line of the report: the medians of its measures over the runs."""

    name: str
    tasks: int
    unit: str  # "s" or "ms/task"
    goal: float | None
    measures: dict[str, list[float]] = field(default_factory=dict)  # run, floors...

    def add(self, **values: float) -> None:
        for key, value in values.items():
            self.measures.setdefault(key, []).append(value)

    def median(self, key: str) -> float:
        return statistics.median(self.measures[key])

    def line(self) -> str:
        value = self.median("run")
        floors = "  ".join(f"{key} {self.median(key):7.3f}" for key in self.measures
                           if key != "run")
        ratios = "  ".join(f"x{value / self.median(key):5.2f} {key}" for key in self.measures
                           if key != "run")
        verdict = "" if self.goal is None else \
            f"goal < {self.goal:g} {self.unit}: {'met' if value < self.goal else 'NOT met'}"
        return (f"{self.name:<34} {value:8.3f} {self.unit:<8} {floors:<42} {ratios:<28} "
                f"{verdict}")

    def json(self) -> dict[str, object]:
        return {"row": self.name, "tasks": self.tasks, "unit": self.unit, "goal": self.goal,
                **{key: round(self.median(key), 4) for key in self.measures},
                "all": self.measures}


def trivial(key: str, *deps: str) -> dict[str, object]:
    return {"task_key": key, "depends_on": [{"task_key": d} for d in deps],
            "spark_python_task": {"python_file": "noop.py"}}


def chain(n: int) -> list[dict[str, object]]:
    return [trivial(f"t{i}", *([f"t{i - 1}"] if i else [])) for i in range(n)]


def fan(n: int) -> list[dict[str, object]]:
    middle = [trivial(f"t{i}", "root") for i in range(n)]
    return [trivial("root"), *middle, trivial("join", *(f"t{i}" for i in range(n)))]


def loop(n: int, concurrency: int) -> list[dict[str, object]]:
    nested = {"task_key": "item", "spark_python_task": {"python_file": "noop.py",
                                                          "parameters": ["{{input}}"]}}
    return [{"task_key": "loop", "for_each_task": {
        "inputs": json.dumps(list(range(n))), "concurrency": concurrency, "task": nested}}]


def on_cluster(tasks: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{**task, "job_cluster_key": "bench"} for task in tasks]


BENCH_CLUSTER = [{"job_cluster_key": "bench", "new_cluster": {"num_workers": 2}}]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples/lf_job_etl_pipeline/databricks.yml"


def grid(layers: int, width: int) -> list[dict[str, object]]:
    """`layers` x `width` tasks, each after the task in its column of the layer before."""
    return [trivial(f"l{layer}_{i}", *([f"l{layer - 1}_{i}"] if layer else []))
            for layer in range(layers) for i in range(width)]


def notebook_chain(n: int, path: str) -> list[dict[str, object]]:
    return [{"task_key": f"t{i}", "depends_on": [{"task_key": f"t{i - 1}"}] if i else [],
             "notebook_task": {"notebook_path": path}} for i in range(n)]


def write_files(workdir: Path) -> None:
    (workdir / "noop.py").write_text("pass\n")
    (workdir / "noop_notebook.py").write_text(
        "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\ny = x + 1\n")
    cells: list[dict[str, object]] = [{"cell_type": "code", "metadata": {}, "source": "x = 1",
                                       "outputs": [], "execution_count": None}]
    (workdir / "noop.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}}}))
    (workdir / "one.yml").write_text(
        "resources:\n  jobs:\n    one:\n      name: one\n      tasks:\n        - task_key: t\n"
        "          spark_python_task: {python_file: noop.py}\n")


def spawn_floor(script: Path, count: int, parallel: int) -> float:
    """Seconds to spawn and reap `count` processes of the script, `parallel` at once."""
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


def fork_floor(script: Path, count: int, parallel: int) -> tuple[float, float, int]:
    """Seconds for a warm interpreter to fork `count` children that run the script, and the
    machine's CPU seconds and page faults for it."""
    done = subprocess.run([sys.executable, "-u", "-c", FORK_FLOOR, str(script), str(count),
                           str(parallel), str(Path(__file__).parent)],
                          capture_output=True, text=True, check=True)
    seconds, cpu, faults = json.loads(done.stdout)
    return float(seconds), float(cpu), int(faults)


def timed_run(app: App, workdir: Path, name: str, tasks: list[dict[str, object]],
              **fields: object) -> tuple[float, int]:
    """Seconds to run a job of `tasks` (and other job `fields`) to its end with an engine in
    this process; the run."""
    settings = JobSettings.model_validate({"name": name, "tasks": tasks, **fields})
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


def whole_process(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


class Bench:
    """The rows, measured once per `measure_all` call."""

    def __init__(self, workdir: Path, parallel: int) -> None:
        self.workdir, self.parallel = workdir, parallel
        self.script = workdir / "noop.py"
        n = parallel
        self.graphs: list[tuple[Row, list[dict[str, object]], int, int]] = [
            (Row("W1 chain of 100", 100, "s", 1.0), chain(100), 100, 1),
            (Row(f"W2 fan-out 200 @{n}", 202, "s", 1.0), fan(200), 202, n),
            (Row(f"W3 for-each 1000 @{n}", 1000, "s", 3.0), loop(1000, n), 1000, n),
        ]
        self.overheads = [Row(f"orchestration {row.name[:2]} (over fork)", row.tasks,
                              "ms/task", 1.0) for row, *_ in self.graphs]
        # Where W3's time goes: the CPU and page faults of every process a task needs, of
        # the machine's, against the fork floor's; and of it, the engine's own CPU.
        self.costs = [Row("W3 machine CPU a task", 1000, "ms/task", None),
                      Row("W3 page faults a task", 1000, "faults/t", None),
                      Row("W3 engine CPU a task", 1000, "ms/task", None)]
        self.notebooks = [Row("W4 source notebook over script", 1, "ms/task", None),
                          Row("W4 .ipynb over script", 1, "ms/task", 100.0)]
        self.w5 = Row(f"W5 50 runs x 10 @{n}", 500, "s", None)
        self.w5_cpu = Row("W5 engine CPU", 500, "ms/task", None)
        self.cli = [Row("headwater run, one task", 1, "s", 0.3),
                    Row("headwater --help", 1, "s", 0.15),
                    Row("headwater run, no warm CLI", 1, "s", None),
                    Row("headwater --help, no warm CLI", 1, "s", None)]
        self.dask = Row("W2 fan-out 200 on Dask 2x4", 202, "s", None)
        self.what_if = Row("W6 what-if --all-failures", 1, "s", None)
        self.run_ids: dict[str, int] = {}  # W3's run, for W7

    def rows(self) -> list[Row]:
        return [*(row for row, *_ in self.graphs), self.dask, *self.overheads, *self.costs,
                *self.notebooks, self.w5, self.w5_cpu, *self.cli, self.what_if]

    def measure_all(self, app: App) -> None:
        for (row, tasks, count, parallel), overhead in zip(self.graphs, self.overheads,
                                                            strict=True):
            spawn = spawn_floor(self.script, count, parallel)
            fork, fork_cpu, fork_faults = fork_floor(self.script, count, parallel)
            (cpu, faults), engine_cpu = use(), time.process_time()
            run, self.run_ids[row.name[:2]] = timed_run(app, self.workdir, row.name, tasks)
            engine_cpu, (cpu_after, faults_after) = time.process_time() - engine_cpu, use()
            row.add(run=run, spawn=spawn, fork=fork)
            overhead.add(run=(run - fork) / count * 1000)
            if row.name.startswith("W2"):
                self.measure_dask(app, spawn)
            if row.name.startswith("W3"):
                machine_cpu, page_faults, engine = self.costs
                machine_cpu.add(run=(cpu_after - cpu) / count * 1000,
                                fork=fork_cpu / count * 1000)
                page_faults.add(run=(faults_after - faults) / count, fork=fork_faults / count)
                engine.add(run=engine_cpu / count * 1000)
        self.measure_notebooks(app)
        wall, cpu = many_runs(app, self.workdir, runs=50, tasks=10)
        self.w5.add(run=wall, spawn=spawn_floor(self.script, 500, self.parallel))
        self.w5_cpu.add(run=cpu / 500 * 1000)
        self.measure_cli()
        self.measure_what_if()

    def measure_dask(self, app: App, spawn: float) -> None:
        try:
            import distributed  # noqa: F401  (the `[dask]` extra)
        except ImportError:
            return
        run = timed_run(app, self.workdir, "W2 on Dask", on_cluster(fan(200)),
                        job_clusters=BENCH_CLUSTER)[0]
        self.dask.add(run=run, spawn=spawn)

    def measure_what_if(self) -> None:
        validate = whole_process([sys.executable, "-m", "headwater", "validate", str(EXAMPLE)],
                                 self.workdir, dict(os.environ))
        simulate = whole_process([sys.executable, "-m", "headwater", "simulate",
                                  "--all-failures", str(EXAMPLE)], self.workdir,
                                 dict(os.environ))
        self.what_if.add(run=simulate, validate=validate)

    def measure_pages(self, app: App) -> list[dict[str, object]]:
        """W7, once: the run pages of a 1,000-task run and W3's for-each, against one task."""
        large = timed_run(app, self.workdir, "W7 1000 tasks", grid(10, 100))[1]
        small = timed_run(app, self.workdir, "W7 one task", chain(1))[1]
        print("W7: the run page in Chromium; (xN) is the ratio to the one-task run's page")
        return ui_pages(app, {"W7 page of 1 task": (small, "t0"),
                              "W7 page of 1000 tasks": (large, "l9_99"),
                              "W7 page of for-each 1000": (self.run_ids["W3"], "loop")})

    def measure_notebooks(self, app: App) -> None:
        script = timed_run(app, self.workdir, "W4 script x20", chain(20))[0] / 20
        source = timed_run(app, self.workdir, "W4 notebook x20",
                           notebook_chain(20, "noop_notebook.py"))[0] / 20
        self.notebooks[0].add(run=(source - script) * 1000)
        try:
            import nbclient  # noqa: F401 - only to know whether .ipynb notebooks can run
        except ImportError:
            return
        ipynb = timed_run(app, self.workdir, "W4 ipynb x10",
                          notebook_chain(10, "noop.ipynb"))[0]
        self.notebooks[1].add(run=(ipynb / 10 - script) * 1000)

    def measure_cli(self) -> None:
        headwater = str(Path(sys.executable).with_name("headwater"))
        env = {**os.environ, "HEADWATER_HOME": str(self.workdir / ".cli"),
               "HEADWATER_WARM_CLI": WARM_CLI}
        if not running(WARM_CLI):  # the first command starts it; give it time to warm up
            whole_process([headwater, "--version"], self.workdir, env)
            time.sleep(3)
        cold = {**env, "HEADWATER_WARM_CLI": "0"}
        python = whole_process([sys.executable, "-c", "pass"], self.workdir, env)
        for row, argv, where in zip(self.cli, [["run", "one.yml"], ["--help"]] * 2,
                                    [env, env, cold, cold], strict=True):
            row.add(run=whole_process([headwater, *argv], self.workdir, where), python=python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-parallel", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5, help="repetitions; medians are shown")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    launch = os.environ.get("HEADWATER_LAUNCH", "fork")
    compileall.compile_dir(Path(headwater.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as tmp:
        workdir = Path(tmp)
        write_files(workdir)
        bench = Bench(workdir, args.max_parallel)
        settings = Settings.from_env({**os.environ, "HEADWATER_HOME": str(workdir / ".hw")},
                                     workdir, db=f"sqlite:///{workdir / 'bench.db'}",
                                     max_parallel=args.max_parallel)
        with application(settings) as app:
            for index in range(args.runs):
                bench.measure_all(app)
                print(f"run {index + 1} of {args.runs} done", file=sys.stderr)
            pages = bench.measure_pages(app)
    for pid in running(WARM_CLI):
        os.kill(pid, signal.SIGTERM)
    print(f"medians of {args.runs} runs, launch={launch}, {os.cpu_count()} cores")
    report(bench.rows())
    if args.json:
        args.json.write_text(json.dumps([*(row.json() for row in bench.rows()), *pages],
                                        indent=2))


def report(rows: list[Row]) -> None:
    for row in rows:
        if row.measures:
            print(row.line())


if __name__ == "__main__":
    main()
