"""Accept one job that runs until the process dies, as an app process would, and print its id once it runs.

    python tests/job_runner.py JOBS_FILE

The records go where the app's would (``JOBS_FILE``, or ``RERANKLENS_DATABASE_URL``). Tests kill this process
with SIGKILL to leave a job whose process is gone: it must then show as lost, not as running forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from reranklens.access.jobs import JobQueue


def main(argv: list[str]) -> int:
    queue = JobQueue(max_running=1, path=Path(argv[0]))
    job = queue.submit("train", "forever", "ann", lambda cancel, report: threading.Event().wait())
    while queue.get(job).state != "running":
        time.sleep(0.01)  # polling interval
    print(job, flush=True)
    threading.Event().wait()
    return 0


def killed_runner(path: Path) -> int:
    """The id of a running job whose process (``job_runner.py``) was then killed by SIGKILL."""
    runner = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        assert runner.stdout is not None
        job = int(runner.stdout.readline())
        assert JobQueue(max_running=1, path=path).get(job).state == "running"
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    return job


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
