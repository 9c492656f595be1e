#!/usr/bin/python3
"""summarize.py results/a.tsv [...] -> markdown tables of the runs of bench/run.sh.

Per peer and endpoint, the median over the passes of requests/s, p99 and the
server's CPU time per request: the server tree's CPU share from the harness
(server%, in % of one core) over requests/s, in microseconds. requests/s alone
rewards a server for using more threads than cores; CPU per request does not.
Then every pass, and the mean CPU split.
"""
import csv
import statistics
import sys
from collections import OrderedDict

ENDPOINTS = ["json", "by_id", "page", "post"]


def load(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            rows += [r for r in csv.DictReader(f, delimiter="\t") if r["rps"] not in ("", "ERR")]
    return rows


def cpu_us(r):
    """Server CPU microseconds per request of one pass, or None."""
    try:
        rps, server = float(r["rps"]), float(r["server%"])
    except (KeyError, ValueError):
        return None
    return server / 100.0 * 1e6 / rps if rps > 0 else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    rows = load(sys.argv[1:])
    tags = list(OrderedDict.fromkeys(r["tag"] for r in rows))
    peers = list(OrderedDict.fromkeys(r["peer"] for r in rows))
    eps = [e for e in ENDPOINTS if any(r["endpoint"] == e for r in rows)]
    eps += [e for e in OrderedDict.fromkeys(r["endpoint"] for r in rows) if e not in eps]
    by = {}
    for r in rows:
        by.setdefault((r["peer"], r["endpoint"]), []).append(r)
    passes = max(len(v) for v in by.values()) if by else 0

    print("Medians of %d pass(es): requests/s (p99 ms) and server CPU us per request\n" % passes)
    print("| peer | " + " | ".join("%s req/s (p99) | %s CPU us/req" % (e, e) for e in eps) + " |")
    print("|---|" + "---:|---:|" * len(eps))
    for p in peers:
        cells = []
        for e in eps:
            rs = by.get((p, e), [])
            if not rs:
                cells += ["", ""]
                continue
            rps = median(float(r["rps"]) for r in rs)
            p99 = median(float(r["p99_ms"]) for r in rs)
            cpu = median(cpu_us(r) for r in rs)
            cells.append("%s (%.1f)" % ("{:,.0f}".format(rps), p99))
            cells.append("%.1f" % cpu if cpu is not None else "")
        print("| %s | %s |" % (p, " | ".join(cells)))

    print("\nEvery pass: requests/s (p99 ms) [server CPU us per request]\n")
    print("| peer | endpoint | " + " | ".join("pass %d" % (i + 1) for i in range(passes)) + " |")
    print("|---|---|" + "---:|" * passes)
    for p in peers:
        for e in eps:
            rs = by.get((p, e), [])
            if not rs:
                continue
            cells = ["{:,.0f} ({:.1f}) [{:.1f}]".format(float(r["rps"]), float(r["p99_ms"]),
                                                        cpu_us(r) or 0) for r in rs]
            print("| %s | %s | %s |" % (p, e, " | ".join(cells + [""] * (passes - len(cells)))))

    print("\nCPU split, mean over passes (% of one core; the box is 200%)\n")
    print("| peer | endpoint | busy | server | postgres | wrk | other | non-2xx | sock err |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for p in peers:
        for e in eps:
            rs = by.get((p, e), [])
            if not rs:
                continue

            def mean(k):
                v = [float(r[k]) for r in rs if r.get(k, "") != ""]
                return "%.0f" % statistics.mean(v) if v else ""

            def total(k):
                return str(sum(int(r[k] or 0) for r in rs))

            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                p, e, mean("busy%"), mean("server%"), mean("pg%"), mean("wrk%"), mean("other%"),
                total("non2xx"), total("sock_err")))


if __name__ == "__main__":
    main()
