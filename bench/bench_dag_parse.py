"""DAG parse time: how long the DAG processor spends on each file in dags/.

Run from the project root: ``python -m bench.bench_dag_parse [--runs 5]``.

Each measurement is a fresh Python process that imports Airflow first (the DAG
processor has it loaded already) and then times ``DagBag`` parsing one file:
our own imports (``include`` modules, the providers' operators) are cold, as
they are after a deployment. Prints the median and the worst run per file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from sandbox.process import PROJECT_ROOT

PROBE = """
import json, sys, time
import airflow.sdk  # loaded in the DAG processor before any file
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
assert not bag.import_errors, bag.import_errors
print(json.dumps({"seconds": elapsed, "dags": sorted(bag.dags)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    print(f"| DAG file | DAGs | median parse | worst of {args.runs} |")
    print("|---|---|---|---|")
    for path in sorted((PROJECT_ROOT / "dags").glob("*.py")):
        times, dags = [], []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, "-c", PROBE, str(path)], env=env, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(out.stderr[-2000:])
            result = json.loads(out.stdout.strip().splitlines()[-1])
            times.append(result["seconds"])
            dags = result["dags"]
        print(
            f"| `{path.name}` | {', '.join(dags)} | {statistics.median(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
