"""`headwater engines list` over real engine processes: an engine is alive while it runs,
gone at once when its process on this host ended, unresponsive when it gives no sign of life
within its lease (stopped with SIGSTOP: a hung process), stopped after a graceful stop; the
command exits 1 when none is alive, so that a probe can call it."""

from __future__ import annotations

import json
import signal

from tests.servers import wait_for

from .engines import LEASE_SECONDS, Cluster


def listed(cluster: Cluster) -> tuple[int, dict[str, str]]:
    result = cluster.cli("engines", "list", "--json", check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, {entry["name"]: entry["state"]
                               for entry in map(json.loads, result.stdout.splitlines())}


def test_engines_are_listed_alive_gone_unresponsive_and_stopped(cluster: Cluster) -> None:
    kept, killed, hung = cluster.start_engine(), cluster.start_engine(), cluster.start_engine()
    wait_for(lambda: listed(cluster) == (0, {kept.name: "alive", killed.name: "alive",
                                             hung.name: "alive"}),
             timeout=30, what="the engines to say they are alive")

    killed.kill()
    killed.process.wait(30)
    assert listed(cluster)[1][killed.name] == "gone"  # at once: its process ended here
    hung.kill(signal.SIGSTOP)
    try:
        wait_for(lambda: listed(cluster)[1].get(hung.name) == "unresponsive",
                 timeout=LEASE_SECONDS * 10, what="the hung engine to be unresponsive")
        assert listed(cluster) == (0, {kept.name: "alive", killed.name: "gone",
                                       hung.name: "unresponsive"})
    finally:
        hung.kill(signal.SIGKILL)
        hung.process.wait(30)

    assert kept.stop() == 0
    assert listed(cluster) == (1, {kept.name: "stopped", killed.name: "gone",
                                   hung.name: "gone"})
    text = cluster.cli("engines", "list", check=False).stdout
    assert f"{kept.name}" in text and "stopped" in text and str(cluster.workdir) in text


def test_an_engine_says_which_configuration_it_reads_or_warns_it_has_none(
        cluster: Cluster) -> None:
    bare = cluster.start_engine()
    config = cluster.workdir / "ops.yml"
    config.write_text("smtp: {host: 127.0.0.1, port: 2525}\n")
    configured = cluster.start_engine(env={"HEADWATER_CONFIG": str(config)})
    wait_for(lambda: "configuration from" in configured.log.read_text()
             and "no configuration file" in bare.log.read_text(),
             timeout=30, what="both engines to say what configuration they read")

    assert f"configuration from {config}" in configured.log.read_text()
    assert "INFO no configuration file: neither HEADWATER_CONFIG nor headwater.yml" \
        in bare.log.read_text()
