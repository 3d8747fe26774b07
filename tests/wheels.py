"""A tiny real wheel, zipped by hand (no `wheel` package is needed) and installed by pip into
a directory of its own (`pip install --target`), to be found through PYTHONPATH."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ENTRY_POINTS = """\
[console_scripts]
tiny-report = hw_tiny:report

[headwater.tasks]
fail = hw_tiny:fail
"""

MODULE = """
import json, sys

def report():
    print("ARGV=" + json.dumps(sys.argv[1:]))
    return 0

def fail():
    raise ValueError("no data for " + sys.argv[1])

def direct():
    print("direct call")
    return 3
"""


def write_wheel(dist: Path, name: str, modules: dict[str, str], entry_points: str = "",
                version: str = "0.1") -> Path:
    """A pure-Python wheel of `modules` (file name -> text) zipped by hand into `dist`."""
    dist.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}"
    wheel = dist / f"{stem}-py3-none-any.whl"
    info = f"{stem}.dist-info"
    files = {
        **modules,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
        **({f"{info}/entry_points.txt": entry_points} if entry_points else {}),
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{n},," + "\n" for n in [*files, f"{info}/RECORD"]))
    return wheel


def build_tiny_wheel(dist: Path, target: Path) -> Path:
    """Install the `hw-tiny` distribution into `target`; return `target`."""
    wheel = write_wheel(dist, "hw-tiny", {"hw_tiny.py": MODULE}, ENTRY_POINTS)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    return target
