"""Validate every bundle under a folder, for every target, and print what headwater says.

    .venv/bin/python scripts/compat_report.py ~/src/bundle-examples

One line per bundle and target: `ok` with the jobs found, or `refused` with the first located
problem. Used to check headwater against a local clone of public bundles that cannot be copied
into the repository (see tests/compat/README.md). Reads nothing from the network.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


def targets(root_file: Path) -> list[str | None]:
    try:
        data = yaml.safe_load(root_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return [None]
    return list(data.get("targets") or {}) or [None]


def validate(root_file: Path, target: str | None) -> tuple[bool, str]:
    chosen = ["--target", target] if target else []
    done = subprocess.run([sys.executable, "-m", "headwater", "validate", root_file.name,
                           *chosen], cwd=root_file.parent, capture_output=True, text=True,
                          timeout=300, check=False)
    output = done.stdout + done.stderr  # problems go to stderr
    lines = [line for line in output.splitlines() if line and not line.startswith("Warn")]
    if done.returncode == 0:
        return True, f"{sum(line.startswith('ok: ') for line in lines)} job file(s)"
    problems = [line for line in lines if ": " in line and not line.endswith("found:")]
    problems = problems or lines or ["(no output)"]
    return False, problems[0][:200]


def main(folder: str) -> int:
    accepted = refused = 0
    for root_file in sorted(Path(folder).rglob("databricks.yml")):
        if any(part.startswith(".") for part in root_file.parts):
            continue
        for target in targets(root_file):
            ok, what = validate(root_file, target)
            accepted, refused = accepted + ok, refused + (not ok)
            name = root_file.parent.relative_to(folder)
            print(f"{'ok     ' if ok else 'refused'} {name} [{target or '-'}]: {what}")
    print(f"{accepted} accepted, {refused} refused")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
