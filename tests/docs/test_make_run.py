"""`make run` refuses to start when its alert catcher cannot listen (issue 16): the example's
alerts would otherwise be lost without a word."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_make_run_stops_with_a_clear_message_when_an_alert_port_is_taken(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        makefile = (REPO / "Makefile").read_text()
        assert "18025" in makefile, "the Makefile no longer names port 18025: update this test"
        (tmp_path / "Makefile").write_text(makefile.replace("18025", str(port)))
        (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)

        done = subprocess.run(["make", "-o", ".venv/.installed", "run"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    assert done.returncode != 0
    assert (f"make run: port {port} is in use, so the example's alert catcher cannot start and "
            "its alerts would be lost") in done.stderr
    assert "Run " not in done.stdout  # nothing ran
