"""Every CPU benchmark in one command: W1 and W2 (bench_fit.py), W3 (bench_bootstrap.py) and W4 with
the float32 check (bench_large.py), one after the other, each in its own process; their markdown
reports are printed in turn, then the target verdicts of all three together.

    python benchmarks/run_all.py            # full run: about 6 minutes on a 2-core CPU
    python benchmarks/run_all.py --quick    # smoke run with small n (about a minute)

On a GPU machine, ``bash benchmarks/gpu_check.sh`` runs the accelerator's benchmark and the tests.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = [("W1, W2", "bench_fit.py", ["--wait-idle", "5"]), ("W3", "bench_bootstrap.py", []),
           ("W4", "bench_large.py", [])]


def verdict_lines(report: str) -> list[str]:
    """The lines of a report that state a target and its PASS/MISS verdict."""
    return [line.strip() for line in report.splitlines() if "PASS" in line or "MISS" in line]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small n, few repeats: a smoke run")
    args = ap.parse_args(argv)
    verdicts, failed = [], []
    for label, script, extra in SCRIPTS:
        cmd = [sys.executable, str(HERE / script), *extra] + (["--quick"] if args.quick else [])
        print(f"<!-- {label}: {' '.join(cmd[1:])} -->\n", flush=True)
        out = subprocess.run(cmd, capture_output=True, text=True)
        print(out.stdout, flush=True)
        if out.returncode != 0:
            failed.append(label)
            print(f"{script} failed:\n{out.stderr[-3000:]}", flush=True)
        verdicts += [f"{label}: {line}" for line in verdict_lines(out.stdout)]
    print("\n# Targets, all workloads\n")
    print("\n".join(f"- {line}" for line in verdicts) if verdicts else "(no verdicts)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
