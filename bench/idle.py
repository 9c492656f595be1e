#!/usr/bin/python3
"""Idle keep-alive connections against a normal client.

    bench/idle.py [--connections 10000] [--server async] [--env KEY=VALUE ...]

Starts `soom run bench/app` (idle_timeout raised, so the connections stay),
measures the p99 of a normal client (wrk, 4 connections, GET /json) unloaded,
then opens N connections that each make one request and stay open, idle,
and measures the same client again. Prints both p99s, their ratio, and the
server's resident memory (VmRSS, and its peak VmHWM) before and after.
"""
import argparse
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--server", default="async")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--env", action="append", default=[])
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = 9010
    env = dict(os.environ, SOOM_SERVER=a.server, SOOM_IDLE_TIMEOUT="3600",
               SOOM_MAX_CONNECTIONS=str(a.connections + 2000), SOOM_ACCESS_LOG="false")
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    soom = os.environ.get("SOOM_BIN") or os.path.join(ROOT, "build", "bin", "soom")
    proc = subprocess.Popen([soom, "run", os.path.join(HERE, "app"), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run(["wrk", "-t1", "-c4", "-d2s", "http://127.0.0.1:%d/json" % port],
                       capture_output=True)
        base, base_rps = p99_ms(port, a.seconds)
        rss0, _ = rss_kb(proc.pid)
        t0 = time.time()
        socks = open_idle(port, a.connections)
        opened = time.time() - t0
        time.sleep(1)
        rss1, hwm1 = rss_kb(proc.pid)
        loaded, loaded_rps = p99_ms(port, a.seconds)
        rss2, hwm2 = rss_kb(proc.pid)
        print("server %s, %d idle keep-alive connections (opened in %.1fs)" % (
            a.server, len(socks), opened))
        print("normal client p99: %.2f ms unloaded (%.0f req/s), %.2f ms with them (%.0f req/s): "
              "%.2fx" % (base, base_rps, loaded, loaded_rps, loaded / base))
        print("server RSS: %.1f MB before, %.1f MB with them, %.1f MB after the client "
              "(peak %.1f MB)" % (rss0 / 1024, rss1 / 1024, rss2 / 1024, max(hwm1, hwm2) / 1024))
        for s in socks:
            s.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
