#!/usr/bin/python3
"""Idle keep-alive connections against a normal client.

    bench/idle.py [--connections 10000] [--server async] [--env KEY=VALUE ...] [--reference]

Starts `soom run bench/app` (idle_timeout raised, so the connections stay),
measures the p99 of a normal client (wrk, 4 connections, GET /json) unloaded,
then opens N connections that each make one request and stay open, idle,
and measures the same client again. Prints both p99s, their ratio, and the
server's resident memory (VmRSS, and its peak VmHWM) before and after.
With --reference, then the same against bare libmicrohttpd (bench/mhd_idle.c,
configured as Soom configures it): the cost of the idle connections to the
library and the kernel on this machine, which Soom cannot go below.
"""
import argparse
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def rss_kb(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def p99_ms(port, seconds):
    out = subprocess.run(["wrk", "-t1", "-c4", "-d%ds" % seconds, "--latency",
                          "http://127.0.0.1:%d/json" % port],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    v, unit = float(m.group(1)), m.group(2)
    return {"us": v / 1000, "ms": v, "s": v * 1000}[unit], float(rps.group(1))


def open_idle(port, n):
    """n connections, each having made one keep-alive request; returns them."""
    sel = selectors.DefaultSelector()
    socks, pending = [], {}
    req = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        pending[s.fileno()] = s
        sel.register(s, selectors.EVENT_WRITE)
        if len(pending) >= 500:  # a few hundred at a time: the backlog is 1024
            drain(sel, pending, req, until=250)
    drain(sel, pending, req, until=0)
    sel.close()
    return socks


def drain(sel, pending, req, until):
    deadline = time.time() + 60
    while len(pending) > until and time.time() < deadline:
        for key, events in sel.select(1.0):
            s = pending.get(key.fd)
            if s is None:
                continue
            if events & selectors.EVENT_WRITE:
                s.send(req)
                sel.modify(s, selectors.EVENT_READ)
            else:
                data = s.recv(65536)
                if b"\r\n\r\n" in data or not data:
                    sel.unregister(s)
                    del pending[key.fd]
    if len(pending) > until:
        raise SystemExit("%d connections never answered" % len(pending))


def measure(cmd, env, port, n, seconds, pause):
    """Starts cmd, measures the normal client without then with n idle
    connections; returns the figures."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run(["wrk", "-t1", "-c4", "-d2s", "http://127.0.0.1:%d/json" % port],
                       capture_output=True)
        f = {}
        f["base"], f["base_rps"] = p99_ms(port, seconds)
        f["rss0"], _ = rss_kb(proc.pid)
        t0 = time.time()
        socks = open_idle(port, n)
        f["opened"] = time.time() - t0
        f["n"] = len(socks)
        time.sleep(1)
        f["rss1"], hwm1 = rss_kb(proc.pid)
        if pause:
            input("%d idle connections open to pid %d: Enter to go on " % (len(socks), proc.pid))
        f["loaded"], f["loaded_rps"] = p99_ms(port, seconds)
        f["rss2"], hwm2 = rss_kb(proc.pid)
        f["hwm"] = max(hwm1, hwm2)
        for s in socks:
            s.close()
        return f
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def report(name, f):
    print("%s, %d idle keep-alive connections (opened in %.1fs)" % (name, f["n"], f["opened"]))
    print("  normal client p99: %.2f ms unloaded (%.0f req/s), %.2f ms with them (%.0f req/s): "
          "%.2fx" % (f["base"], f["base_rps"], f["loaded"], f["loaded_rps"],
                     f["loaded"] / f["base"]))
    print("  RSS: %.1f MB before, %.1f MB with them, %.1f MB after the client (peak %.1f MB)" % (
        f["rss0"] / 1024, f["rss1"] / 1024, f["rss2"] / 1024, f["hwm"] / 1024))
    sys.stdout.flush()


def build_reference():
    """bench/mhd_idle.c, compiled into a temporary directory."""
    out = os.path.join(tempfile.mkdtemp(prefix="soom-idle-"), "mhd_idle")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmicrohttpd"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-o", out, os.path.join(HERE, "mhd_idle.c")] + flags, check=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--server", default="async")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--port", type=int, default=9010)
    ap.add_argument("--reference", action="store_true",
                    help="then the same against bare libmicrohttpd (bench/mhd_idle.c)")
    ap.add_argument("--pause", action="store_true",
                    help="wait for Enter with the connections open (to attach perf)")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    limit = a.connections + 2000
    env = dict(os.environ, SOOM_SERVER=a.server, SOOM_IDLE_TIMEOUT="3600",
               SOOM_MAX_CONNECTIONS=str(limit), SOOM_ACCESS_LOG="false")
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    soom = os.environ.get("SOOM_BIN") or os.path.join(ROOT, "build", "bin", "soom")
    cmd = [soom, "run", os.path.join(HERE, "app"), "--port", str(a.port)]
    report("soom (server %s)" % a.server,
           measure(cmd, env, a.port, a.connections, a.seconds, a.pause))
    if a.reference:
        # the same threads, limit and per-connection memory as Soom's defaults
        memory = env.get("SOOM_MAX_HEADER", "16384")  # Soom's default
        cmd = [build_reference(), str(a.port), str(os.cpu_count() or 1), str(limit), memory]
        report("bare libmicrohttpd (bench/mhd_idle.c, %s-byte pools)" % memory,
               measure(cmd, env, a.port, a.connections, a.seconds, a.pause))


if __name__ == "__main__":
    sys.exit(main())
