"""What the whole machine has spent so far (Linux): CPU seconds busy and page faults.

Read before and after a workload, the difference is what it cost every process together,
the kernel's work for them included (forks, copy-on-write faults, exits, fsyncs): a launch
is spread over the engine, the fork server, an attempt parent and the task, so no one
process's own figures add up to it. Page faults are counted, not timed, and so are nearly
free of the noise of a shared machine.
"""

from __future__ import annotations

import os

_TICKS = os.sysconf("SC_CLK_TCK")
_IDLE = (3, 4)  # idle and iowait, of the `cpu` line's fields after its name


def use() -> tuple[float, int]:
    """(CPU seconds spent busy, page faults) of the whole machine since it started."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:8]]
    busy = sum(value for index, value in enumerate(fields) if index not in _IDLE)
    with open("/proc/vmstat", encoding="ascii") as vmstat:
        faults = next(int(line.split()[1]) for line in vmstat if line.startswith("pgfault "))
    return busy / _TICKS, faults
