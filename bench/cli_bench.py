"""Benchmark: the whole command a consultant types, side by side with R (issue 13; targets: the
command ≤ 1.5 s, the analysis inside it ≤ 1 s).

On the file of ``bench/analyze_bench.py`` (40,000 rows × 10 outcomes × 3 coaching models, written
rounded to 2 decimals, 2.6 MB, into a temporary folder) it times, in rounds with the order rotated:

1. ``python -m analysis FILE --group model --outcome outcome_0 … --format json``: start-up, reading,
   every test, the verdict and the JSON, as a consultant runs it (wall and CPU time of the process);
2. ``Rscript bench/cli_bench.R FILE``: reading and aov, oneway.test, kruskal.test, TukeyHSD and
   Games–Howell (rstatix, or base R where rstatix is not installed) on the same outcomes, with the
   tests' own time as R reports it; skipped, with a message, when Rscript is absent;
3. inside a fresh Python process, after the imports: reading the file, and ``compare_models`` on it
   (the analysis alone, cold caches: the target of ``bench/analyze_bench.py``).

It prints the median (and range) of each over the rounds, and the machine's load average before and
after, since other work on the machine moves every figure. Run from the repository root:
``python -m bench.cli_bench [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = [f"outcome_{i}" for i in range(10)]
COMMAND_TARGET, ANALYSIS_TARGET = 1.5, 1.0

INSIDE = """
import json, sys, time
from analysis.cli import read_data_file
from analysis.comparison import compare_models
start = time.perf_counter()
frame = read_data_file(sys.argv[1])
read = time.perf_counter() - start
start = time.perf_counter()
compare_models(frame, [f"outcome_{i}" for i in range(10)], "model")
print(json.dumps({"read": read, "analysis": time.perf_counter() - start}))
"""


def write_file(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from bench.analyze_bench import frame
    path = folder / "bench_40k.csv"
    frame(seed=1).round(2).to_csv(path, index=False)
    return path


def timed(args: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of a child process, and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} … failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rscript = shutil.which("Rscript")
    load_before = os.getloadavg()
    results: dict[str, list[float]] = {key: [] for key in ("wall", "cpu", "read", "analysis", "r_wall", "r_tests")}
    r_note = ""
    with tempfile.TemporaryDirectory() as folder:
        path = write_file(Path(folder))
        command = [sys.executable, "-m", "analysis", str(path), "--group", "model",
                   *[part for outcome in OUTCOMES for part in ("--outcome", outcome)], "--format", "json",
                   "-o", os.devnull]
        timed(command)  # once untimed, so that every round finds the same warm file cache

        def coachlab():
            wall, cpu, _ = timed(command)
            results["wall"].append(wall)
            results["cpu"].append(cpu)

        def inside():
            _, _, out = timed([sys.executable, "-c", INSIDE, str(path)])
            figures = json.loads(out)
            results["read"].append(figures["read"])
            results["analysis"].append(figures["analysis"])

        def r():
            nonlocal r_note
            wall, _, out = timed([rscript, str(ROOT / "bench" / "cli_bench.R"), str(path)])
            lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
            results["r_wall"].append(wall)
            results["r_tests"].append(float(lines["tests"]))
            r_note = lines.get("games_howell", "")

        tools = [coachlab, inside] + ([r] if rscript else [])
        for round_ in range(args.rounds):
            shift = round_ % len(tools)
            for tool in tools[shift:] + tools[:shift]:
                tool()
    load_after = os.getloadavg()
    print(f"40,000 rows x 10 outcomes x 3 models, {args.rounds} rounds (order rotated); "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} cores")
    met = statistics.median(results["wall"]) <= COMMAND_TARGET
    print(f"python -m analysis FILE … --format json (whole command, wall): {summary(results['wall'])}"
          f" — target <= {COMMAND_TARGET} s -> {'met' if met else 'MISSED'}")
    print(f"  CPU time of that process: {summary(results['cpu'])}")
    met = statistics.median(results["analysis"]) <= ANALYSIS_TARGET
    print(f"  inside a fresh process: reading {summary(results['read'])}; compare_models (the analysis alone) "
          f"{summary(results['analysis'])} — target <= {ANALYSIS_TARGET} s -> {'met' if met else 'MISSED'}")
    if not rscript:
        print("Rscript not found: the R side is skipped (apt-get install r-base-core r-cran-rstatix)")
        return
    print(f"Rscript bench/cli_bench.R FILE (whole command, wall): {summary(results['r_wall'])}; "
          f"the tests alone: {summary(results['r_tests'])} (Games–Howell: {r_note})")
    whole = statistics.median(results["r_wall"]) / statistics.median(results["wall"])
    tests = statistics.median(results["r_tests"]) / statistics.median(results["analysis"])
    print(f"R / CoachLab: whole command {whole:.1f}x, tests {tests:.1f}x")


if __name__ == "__main__":
    main()
