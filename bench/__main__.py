"""`make bench`: run every benchmark in turn. Each prints its own figures, as ratios against a
baseline measured in the same run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "democluster_bench.py",
    "sync_bench.py",
    "ingest_bench.py",
    "browse_bench.py",
    "browse_vs_kubectl.py",
    "live_bench.py",
    "live_rows_bench.py",
    "logs_bench.py",
    "realcluster_sync_bench.py",
]


def main() -> int:
    failed = 0
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n=== {name}", flush=True)
        failed += subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
