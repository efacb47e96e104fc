"""Write COUNT chunk judgements into one golden set, one ``judge`` call (one transaction) each.

    python tests/golden_writer.py DB SET START COUNT [GO_FILE]

Target ids are ``chunk-<n>`` for n in START..START+COUNT-1, grade ``n % 4``, all for the query
``QUERY`` (added if missing). Prints ``ready`` once the store is open; with GO_FILE it then waits
until that file exists, so a test can release several writers at the same moment, and after its first write
it waits until another writer's judgement is in the set too: on a loaded machine the scheduler could
otherwise run the writers one after the other, and the test would check nothing concurrent.
Used by ``test_golden_store.py`` to check that concurrent processes lose no judgement.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from reranklens.golden.store import GoldenStore

QUERY = "concurrent writers"
GO_TIMEOUT_S = 60


def target_id(number: int) -> str:
    return f"chunk-{number:06d}"


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    db, name, start, count = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    store = GoldenStore(db)
    query_id = store.add_query(name, QUERY)
    print("ready", flush=True)
    if len(argv) == 5:
        deadline = time.monotonic() + GO_TIMEOUT_S
        while not Path(argv[4]).exists():
            if time.monotonic() > deadline:
                print(f"no go file {argv[4]} after {GO_TIMEOUT_S} s", file=sys.stderr)
                return 3
            time.sleep(0.005)
    who = f"writer-{start}"
    for number in range(start, start + count):
        store.judge(name, query_id, "chunk", target_id(number), number % 4, who=who)
        if len(argv) == 5 and number == start and not _wait_for_another_writer(store, name, who):
            print(f"no other writer in {name} after {GO_TIMEOUT_S} s", file=sys.stderr)
            return 3
    return 0


def _wait_for_another_writer(store: GoldenStore, name: str, who: str) -> bool:
    deadline = time.monotonic() + GO_TIMEOUT_S
    while not any(j.who != who for j in store.judgements(name)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
