"""Import time of one module under several interpreters (e.g. venvs holding different LiteLLM
versions), interleaved in one run so every interpreter sees the same load.

    .venv/bin/python bench/import_versions.py litellm new=.venv/bin/python old=/tmp/v180/bin/python [--repeats 7]

Each sample is a fresh interpreter: `import <module>` timed inside it, and `python -c pass` beside it
as the start-up baseline. Prints the median seconds, the version found and the ratio to the first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess

_PROBE = """
import time, importlib, importlib.metadata as md, sys
t = time.perf_counter(); importlib.import_module(sys.argv[1]); t = time.perf_counter() - t
try: version = md.version(sys.argv[2])
except md.PackageNotFoundError: version = "?"
print(t, version)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module")
    parser.add_argument("pythons", nargs="+", help="name=path/to/python")
    parser.add_argument("--distribution", help="package whose version to report (default: the module)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    pythons = dict(p.split("=", 1) for p in args.pythons)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONDONTWRITEBYTECODE": ""}
    times: dict[str, list[float]] = {name: [] for name in pythons}
    versions: dict[str, str] = {}
    for _ in range(args.repeats):
        for name, python in pythons.items():
            out = subprocess.run([python, "-c", _PROBE, args.module, args.distribution or args.module],
                                 capture_output=True, text=True, env=env, check=True).stdout.split()
            times[name].append(float(out[0]))
            versions[name] = out[1]
    first = statistics.median(times[next(iter(pythons))])
    print(f"\nimport {args.module}, median of {args.repeats} (interleaved), load {os.getloadavg()[0]:.1f}\n")
    print("| interpreter | version | import | ratio |\n|---|---|---:|---:|")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"| {name} | {versions[name]} | {median:.2f} s | {median / first:.2f}× |")
    print(json.dumps({name: sorted(samples) for name, samples in times.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
