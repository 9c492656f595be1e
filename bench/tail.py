#!/usr/bin/env python3
"""What covered the longest gaps between completed requests (bench/tail.sh).

Reads DIR/server.log (soom's access log), DIR/script.txt (perf script of
sched_switch, sched_wakeup and fdatasync), DIR/tids (soom's threads) and
DIR/clock (monotonic and wall-clock time read together). Prints the WAL
flushes' durations, each soom thread's share of the CPU, and for the
longest gaps: how much of the gap a WAL flush was in progress, and how long
soom's busiest thread, wrk and soom's busiest PostgreSQL backend were
runnable without a core."""
import collections
import datetime
import json
import re
import sys

LINE = re.compile(r"^\s*(.+?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$")


def request_ends(d, offset):
    out = []
    for line in open(d + "/server.log"):
        if '"duration_us"' not in line:
            continue
        t = json.loads(line)["time"]
        wall = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
        out.append(wall.replace(tzinfo=datetime.timezone.utc).timestamp() - offset)
    return sorted(out)


def trace(d, soom):
    flushes, entered, runnable = [], {}, {}
    waits, oncpu, since = collections.defaultdict(list), collections.Counter(), {}
    wrk, backends, span = None, set(), [None, None]
    for line in open(d + "/script.txt"):
        m = LINE.match(line)
        if not m:
            continue
        comm, tid, t, ev, rest = m.group(1), int(m.group(2)), float(m.group(3)), m.group(4), m.group(5)
        span[0] = span[0] or t
        span[1] = t
        if ev.endswith("enter_fdatasync"):
            entered[tid] = t
        elif ev.endswith("exit_fdatasync") and tid in entered:
            flushes.append((entered.pop(tid), t))
        elif ev == "sched:sched_wakeup":
            woken = int(re.search(r" pid=(\d+)", rest).group(1))
            wcomm = re.search(r"comm=(.*?) pid=", rest).group(1)
            if comm == "wrk" and woken in soom:
                wrk = tid
            if tid in soom and wcomm == "postgres":
                backends.add(woken)
            runnable.setdefault(woken, t)
        elif ev == "sched:sched_switch":
            prev = int(re.search(r"prev_pid=(\d+)", rest).group(1))
            nxt = int(re.search(r"next_pid=(\d+)", rest).group(1))
            if re.search(r"prev_state=R", rest):
                runnable[prev] = t
            if prev in since:
                oncpu[prev] += t - since.pop(prev)
            if nxt in soom:
                since[nxt] = t
            if nxt in runnable:
                waits[nxt].append((runnable.pop(nxt), t))
    return flushes, waits, oncpu, wrk, backends, span


def covered(intervals, a, b):
    return 1000 * sum(max(0.0, min(y, b) - max(x, a)) for x, y in intervals)


def main(d, top=12):
    mono, wall = map(float, open(d + "/clock").read().split())
    soom = {int(x) for x in open(d + "/tids").read().split()}
    flushes, waits, oncpu, wrk, backends, (t0, t1) = trace(d, soom)
    ends = [t for t in request_ends(d, wall - mono) if t0 <= t <= t1]
    ms = sorted(1000 * (y - x) for x, y in flushes)
    if ms:
        n = len(ms)
        print("WAL fdatasync: %d, p50 %.2f, p99 %.2f, max %.1f ms; their durations add up to %.0f%% of the run"
              % (n, ms[n // 2], ms[int(n * 0.99)], ms[-1], 100 * sum(ms) / 1000 / (t1 - t0)))
    print("soom threads on a core (ms):", {t: round(1000 * s) for t, s in sorted(oncpu.items())})
    gaps = sorted(((b - a, a, b) for a, b in zip(ends, ends[1:])), reverse=True)
    print("%d requests; longest gaps between two completions:" % len(ends))
    print("gap_ms  wal_flush_ms  soom_runnable_ms  wrk_runnable_ms  backend_runnable_ms")
    for g, a, b in gaps[:top]:
        fl = covered([f for f in flushes if f[0] < b and f[1] > a], a, b)
        sr = max([covered(waits[t], a, b) for t in soom] or [0])
        wr = covered(waits[wrk], a, b) if wrk else 0
        br = max([covered(waits[t], a, b) for t in backends] or [0])
        print("%6.1f  %12.1f  %16.1f  %15.1f  %19.1f" % (1000 * g, fl, sr, wr, br))


if __name__ == "__main__":
    main(sys.argv[1])
