#!/usr/bin/env python3
"""Turns `swift package benchmark` text output (stdin) into the micro section of BENCHMARKS.md.

    tools/micro_benchmarks_table.py < output.txt > section.md
"""
import re
import sys
import datetime

rows, name, host = [], None, ""
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("Host "):
        host = line
    if line and not line.startswith(("│", "╒", "╘", "├", "╞", "=")) and "│" not in line:
        name = line.strip()
        continue
    cells = [c.strip() for c in line.split("│")[1:-1]]
    if name and len(cells) == 9 and cells[0].startswith(("Time (wall clock)", "Malloc (total)")):
        unit = re.search(r"\((ns|μs|ms|s)\)", cells[0])
        entry = next((r for r in rows if r["name"] == name), None)
        if entry is None:
            entry = {"name": name}
            rows.append(entry)
        if cells[0].startswith("Time"):
            entry["p50"] = f"{cells[3]} {unit.group(1) if unit else ''}".strip()
            entry["p99"] = f"{cells[6]} {unit.group(1) if unit else ''}".strip()
        else:
            entry["mallocs"] = cells[3]

print("## Micro benchmarks of the hot paths (`Benchmarks/`)")
print()
machine = host.removeprefix("Host ").replace(", running:", "").strip() or "this machine"
print(f"Measured by `tools/bench-micro` on {datetime.date.today().isoformat()} ({machine}), "
      "ordo-one/benchmark in release mode, one thread. Wall-clock time per call and heap allocations per call (p50).")
print()
print("| benchmark | p50 | p99 | allocations (p50) |")
print("|---|---:|---:|---:|")
for r in rows:
    print(f"| {r['name']} | {r.get('p50', '-')} | {r.get('p99', '-')} | {r.get('mallocs', '-')} |")
