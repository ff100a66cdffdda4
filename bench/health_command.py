"""Benchmark (not a test): `opsbot health --sandbox`, the whole command, on a warm seed cache.

Runs the command as a person does (a fresh process: imports, the sandbox's emulators started
from the seed cache, six checks, the report printed, the emulators stopped), `--rounds` times,
and prints each run and min / median / max. There is no peer doing the same work; the target is
absolute: <= 1.5 s. (A running `opsbot sandbox` would be attached to instead: it is not.)

    python -m bench.health_command [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run() -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "opsbot", "health", "--sandbox"],
        cwd=ROOT,
        env={**os.environ, "OPSBOT_SANDBOX_ATTACH": "never"},
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode not in (0, 1, 2):  # OK, DEGRADED, CRITICAL are all reports
        raise RuntimeError(f"opsbot health --sandbox failed ({done.returncode}): {done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    one_run()  # the seed cache (tables, repo) built if missing: "on a warm cache"
    runs = []
    for number in range(1, options.rounds + 1):
        runs.append(one_run())
        print(f"run {number}: {runs[-1]:.2f} s")
    print(
        f"opsbot health --sandbox, min / median / max s: {min(runs):.2f} / "
        f"{statistics.median(runs):.2f} / {max(runs):.2f}   (target <= 1.5)"
    )


if __name__ == "__main__":
    main()
