"""Peak resident memory of the running process, for benchmarks that measure it in a child process."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own peak resident memory in MiB.

    Linux keeps ``ru_maxrss`` across ``exec``: a child started by a 2.5 GB parent reports 2.5 GB
    before it has done anything. ``VmHWM`` belongs to the new address space, so it is the child's own.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
