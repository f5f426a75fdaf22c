#!/usr/bin/env python3
"""Old build beside new: alternating `mi-diag analyze` runs on one file, medians per build.

usage: compare.py FILE json|text N BINARY...

Each run is fork + exec + wait4 with stdout to /dev/null: wall time from fork to exit, CPU time
(user + system) and peak RSS from the child's rusage. The order of the builds flips every round,
so a burst of load on this shared machine falls on both. Not a timed test.
"""
import os
import statistics
import sys
import time


def main():
    if len(sys.argv) < 5 or sys.argv[2] not in ("json", "text"):
        sys.exit(__doc__)
    path, mode, rounds, builds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    runs = {b: [] for b in builds}
    devnull = os.open(os.devnull, os.O_WRONLY)
    for i in range(rounds):
        for b in builds if i % 2 == 0 else list(reversed(builds)):
            args = [b, "analyze", path] + (["--json"] if mode == "json" else [])
            start = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                os.dup2(devnull, 1)
                os.execv(b, args)
            _, status, usage = os.wait4(pid, 0)
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) not in (0, 1):
                sys.exit(f"{b} exited with {os.waitstatus_to_exitcode(status)}")
            runs[b].append((wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024))
    print(f"{path} {mode} N={rounds} load={os.getloadavg()}")
    for b in builds:
        wall = [r[0] for r in runs[b]]
        cpu = [r[1] for r in runs[b]]
        print(f"{b}: wall median {statistics.median(wall):.3f} s (min {min(wall):.3f}) | "
              f"CPU median {statistics.median(cpu):.3f} s (min {min(cpu):.3f}) | "
              f"peak RSS {max(r[2] for r in runs[b]):.1f} MiB")


if __name__ == "__main__":
    main()
