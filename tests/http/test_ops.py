"""End-to-end tests of the operations built into every service, against
the real components: a real Prometheus (Debian's package) scraping the
served app every second and queried through its HTTP API, promtool on the
exposition, prefork workers killed with SIGKILL, /ready against a real
PostgreSQL stopped and started, W3C trace context, and error reports
received by a Sentry envelope endpoint written here."""

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Server, eq, free_port, in_thread, main, pg_sh, private_cluster, write_app

APP = {
    "resources/ops.lua": """
local soom = require "soom"
local jobs = soom.metrics.counter { name = "jobs_total", help = "Jobs run", labels = { "queue" } }
local depth = soom.metrics.gauge { name = "queue_depth", help = "Jobs waiting" }
local took = soom.metrics.histogram { name = "job_seconds", help = "Job time", buckets = { 0.1, 1 } }
return {
    soom.Resource { route = "/hello", get = function() return { message = "hello" } end },
    soom.Resource {
        route = "/items/{id:int}",
        get = function(_, req) return { id = req.params.id } end,
        post = function(_, req)
            jobs:inc(1, { queue = "mail" })
            depth:set(req.params.id)
            took:observe(0.5)
            return { ok = true }, 201
        end,
    },
    soom.Resource {
        route = "/boom",
        get = function() local t = nil; return t.field end,
        post = function(_, req) error("failed for " .. req.body.name) end,
    },
    soom.Resource {
        route = "/slow",
        get = function(_, req) soom.sleep(tonumber(req.query.s) or 0.3); return { slept = true } end,
    },
    soom.Resource {
        route = "/trace",
        get = function(_, req)
            soom.log("info", "handling", { step = 1 })
            return req.trace
        end,
    },
    soom.Resource {
        route = "/session",
        get = function()
            return soom.db.one("SELECT current_setting('application_name') AS name")
        end,
    },
}
""",
}

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def app(tmp):
    return write_app(tmp, APP)


def metrics(srv, port=None):
    """The exposition, as {series line without value: value}."""
    conn = srv.connection() if port is None else http.client.HTTPConnection("127.0.0.1", port,
                                                                             timeout=10)
    conn.request("GET", "/metrics")
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    eq(resp.status, 200, "/metrics")
    eq(resp.getheader("content-type"), CONTENT_TYPE, "/metrics content type")
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values, text


def settled(srv, key, want, port=None, timeout=5):
    """The scrape once `key` reads `want`: a request is counted when the server
    is done with it, a moment after the client has its response."""
    deadline = time.time() + timeout
    while True:
        values, _ = metrics(srv, port)
        if values.get(key) == want or time.time() > deadline:
            eq(values.get(key), want, key)
            return values
        time.sleep(0.05)


def total(values, prefix):
    return sum(v for k, v in values.items() if k.startswith(prefix))


# ---- Prometheus ---------------------------------------------------------------

class Prometheus:
    def __init__(self, target):
        self.dir = tempfile.mkdtemp(prefix="soom-prom-")
        self.port = free_port()
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: soom\n    scrape_interval: 1s\n"
                    "    scrape_timeout: 1s\n    static_configs:\n"
                    "      - targets: ['%s']\n" % target)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + os.path.join(self.dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def query(self, q):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port, urllib.parse.urlencode({"query": q}))
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.load(r)
        eq(doc["status"], "success", "query " + q)
        return doc["data"]["result"]

    def wait_for(self, q, want, by, timeout=30):
        """Polls `q` until its result, as {labels of `by`: value}, equals want."""
        deadline, got = time.time() + timeout, None
        while time.time() < deadline:
            try:
                got = {tuple(r["metric"].get(k, "") for k in by): float(r["value"][1])
                       for r in self.query(q)}
                if got == want:
                    return got
            except OSError:
                pass  # still starting
            time.sleep(0.5)
        raise AssertionError("%s: expected %r, got %r\n%s" % (q, want, got, self.read_log()))

    def read_log(self):
        self.log.flush()
        with open(os.path.join(self.dir, "log")) as f:
            return f.read()[-3000:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, True)


def test_prometheus_scrapes_the_exact_counts():
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app(d)).start()
        prom = Prometheus("127.0.0.1:%d" % srv.port)
        try:
            for _ in range(5):
                eq(srv.request("GET", "/hello")[0], 200)
            for i in range(3):
                eq(srv.request("GET", "/items/%d" % i)[0], 200)
            eq(srv.request("POST", "/items/7", body={})[0], 201)
            eq(srv.request("DELETE", "/items/7")[0], 405)
            for path in ("/nope", "/items/x", "/a/b/c"):  # a scanner's paths: one label
                eq(srv.request("GET", path)[0], 404)
            eq(srv.request("GET", "/boom")[0], 500)
            eq(srv.request("GET", "/boom")[0], 500)
            eq(srv.request("BREW", "/hello")[0], 405)
            want = {("/hello", "200"): 5, ("/items/{id:int}", "200"): 3,
                    ("/items/{id:int}", "201"): 1, ("/items/{id:int}", "405"): 1,
                    ("unmatched", "404"): 3, ("/boom", "500"): 2, ("/hello", "405"): 1}
            prom.wait_for("sum by (route, status) (http_requests_total)", want, ("route", "status"))
            prom.wait_for("sum by (route) (http_request_duration_seconds_count)",
                          {("/hello",): 6, ("/items/{id:int}",): 5, ("unmatched",): 3,
                           ("/boom",): 2}, ("route",))
            prom.wait_for('sum by (method) (http_requests_total{route="/hello"})',
                          {("GET",): 5, ("_OTHER",): 1}, ("method",))
            prom.wait_for("sum by (route) (soom_lua_errors_total)", {("/boom",): 2}, ("route",))
            prom.wait_for('jobs_total{queue="mail"}', {("mail",): 1}, ("queue",))
            prom.wait_for("up", {("soom",): 1}, ("job",))
            # promtool finds nothing to say about the exposition
            _, text = metrics(srv)
            p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=30)
            eq((p.returncode, p.stdout + p.stderr), (0, ""), "promtool check metrics")
            # probes and scrapes are not counted, and leave the access log alone
            eq(srv.request("GET", "/live")[0], 200)
            time.sleep(0.2)
            values, _ = metrics(srv)
            eq(total(values, "http_requests_total"), 16, "requests counted")
            paths = [l.get("path") for l in srv.log_lines() if l.get("msg") == "request"]
            assert "/metrics" not in paths and "/live" not in paths, paths
            eq(values["queue_depth"], 7)
            eq(values['job_seconds_bucket{le="1"}'], 1)
        finally:
            prom.stop()
            srv.stop()


def test_metrics_on_their_own_port_and_off():
    with tempfile.TemporaryDirectory() as d:
        mport = free_port()
        srv = Server(app(d), env={"SOOM_METRICS__PORT": str(mport)}).start()
        try:
            eq(srv.request("GET", "/metrics")[0], 404, "not on the API port")
            eq(srv.request("GET", "/hello")[0], 200)
            settled(srv, 'http_requests_total{method="GET",route="/hello",status="200"}', 1, mport)
            # each is counted once its request is done, which under load may
            # come after the client read the next one's answer
            settled(srv, 'http_requests_total{method="GET",route="unmatched",status="404"}', 1,
                    mport)
        finally:
            srv.stop()
        srv = Server(app(d), env={"SOOM_METRICS__ENABLED": "false"}).start()
        try:
            eq(srv.request("GET", "/metrics")[0], 404, "metrics off")
            eq(srv.request("POST", "/items/3", body={})[0], 201, "app metrics are no-ops")
        finally:
            srv.stop()


# ---- prefork ----------------------------------------------------------------

def worker_pids(srv):
    alive = []
    for l in srv.log_lines():
        if l.get("msg") == "worker started":
            alive.append(l["pid"])
        elif l.get("msg") == "worker died" and l["pid"] in alive:
            alive.remove(l["pid"])
    return alive


def test_prefork_counts_the_whole_service_and_survive_sigkill():
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app(d), env={"SOOM_SERVER": "prefork", "SOOM_WORKERS": "3",
                                  "SOOM_THREADS": "1"}).start()
        try:
            deadline = time.time() + 20
            while len(worker_pids(srv)) < 3 and time.time() < deadline:
                time.sleep(0.1)
            pids = worker_pids(srv)
            eq(len(pids), 3, "workers")
            # one thread per worker and slow requests: six at once spread over workers
            joins = [in_thread(srv.request, "GET", "/slow?s=0.4") for _ in range(6)]
            eq([j(30)[0] for j in joins], [200] * 6)
            key = 'http_requests_total{method="GET",route="/slow",status="200"}'
            settled(srv, key, 6)
            for _ in range(6):  # any worker's scrape reports all six
                eq(metrics(srv)[0][key], 6, "one scrape sums every worker")
            os.kill(pids[0], signal.SIGKILL)
            deadline = time.time() + 20
            while time.time() < deadline and (pids[0] in worker_pids(srv) or
                                              len(worker_pids(srv)) < 3):
                time.sleep(0.1)
            eq(len(worker_pids(srv)), 3, "a replacement started")
            for _ in range(6):
                eq(metrics(srv)[0][key], 6, "no count lost with the killed worker")
            joins = [in_thread(srv.request, "GET", "/slow?s=0.2") for _ in range(3)]
            eq([j(30)[0] for j in joins], [200] * 3)
            settled(srv, key, 9)
            # only the scrape itself, once the scrapes before it are done (a
            # request leaves flight a moment after its client has the answer)
            settled(srv, "http_requests_in_flight", 1)
        finally:
            srv.stop()


# ---- /ready and /live --------------------------------------------------------------

pg = pg_sh


def test_ready_follows_the_database_and_the_drain():
    env = private_cluster("ready")
    url = pg("url", env)
    mport = free_port()
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app(d), env={"DATABASE_URL": url, "SOOM_METRICS__PORT": str(mport),
                                  "SOOM_DRAIN_TIMEOUT": "10"}).start()

        def probe(path, port=None):
            conn = http.client.HTTPConnection("127.0.0.1", port or srv.port, timeout=10)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            conn.close()
            return r.status, r.getheader("content-type"), body

        try:
            eq(probe("/ready")[0], 200, "ready")
            eq(probe("/ready", mport)[0], 200, "ready on the metrics port")
            pg("stop", env)
            t0 = time.time()
            status, ctype, body = probe("/ready")
            eq(status, 503, "database stopped")
            eq(ctype, "application/problem+json")
            eq(json.loads(body)["status"], 503)
            assert time.time() - t0 < 3, "/ready took %.1fs" % (time.time() - t0)
            eq(probe("/live")[0], 200, "/live never looks at the database")
            pg("start", env)
            deadline = time.time() + 20
            while time.time() < deadline and probe("/ready")[0] != 200:
                time.sleep(0.2)
            eq(probe("/ready")[0], 200, "ready again, same process")
            eq(srv.proc.poll(), None)
            slow = in_thread(srv.request, "GET", "/slow?s=2")
            time.sleep(0.3)
            srv.signal(signal.SIGTERM)
            time.sleep(0.2)
            eq(probe("/ready", mport)[0], 503, "draining: not ready at once")
            eq(probe("/live", mport)[0], 200, "draining: still alive")
            eq(slow(30)[0], 200, "the in-flight request finished")
            eq(srv.wait(30), 0)
        finally:
            srv.stop()
            pg("stop", env)


# ---- trace context -------------------------------------------------------------------

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def test_trace_context_continued_or_replaced():
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app(d)).start()
        try:
            hdrs = {"traceparent": "00-%s-%s-01" % (TRACE, PARENT), "tracestate": "rojo=1,congo=2"}
            status, h, doc = srv.json("GET", "/trace", headers=hdrs)
            eq(status, 200)
            eq(doc["trace_id"], TRACE)
            eq(doc["parent_id"], PARENT)
            eq(doc["tracestate"], "rojo=1,congo=2")
            eq(doc["sampled"], True)
            span = doc["span_id"]
            assert span != PARENT and len(span) == 16, span
            eq(h["traceparent"], "00-%s-%s-01" % (TRACE, span), "response traceparent")
            eq(doc["traceparent"], h["traceparent"])
            eq(h["tracestate"], "rojo=1,congo=2")
            rid = h["x-request-id"]
            bad = ["ff-%s-%s-01" % (TRACE, PARENT), "00-%s-%s-01" % ("0" * 32, PARENT),
                   "00-%s-%s-01" % (TRACE, "0" * 16), "00-%s-%s-01" % (TRACE[:-1], PARENT),
                   "00-%s-%s-01" % (TRACE.upper(), PARENT), "garbage"]
            seen = set()
            for tp in bad:
                status, h, doc = srv.json("GET", "/trace", headers={"traceparent": tp,
                                                                      "tracestate": "rojo=1"})
                assert doc["trace_id"] != TRACE.lower() and len(doc["trace_id"]) == 32, tp
                assert "parent_id" not in doc and "tracestate" not in doc, (tp, doc)
                assert "tracestate" not in h, tp
                eq(h["traceparent"], "00-%s-%s-01" % (doc["trace_id"], doc["span_id"]), tp)
                seen.add(doc["trace_id"])
            eq(len(seen), len(bad), "each malformed header starts its own trace")
            time.sleep(0.3)  # access lines are batched for up to 0.1 s
            lines = srv.log_lines()
            access = [l for l in lines if l.get("msg") == "request" and l["request_id"] == rid]
            eq(len(access), 1)
            eq((access[0]["trace_id"], access[0]["span_id"]), (TRACE, span), "access line")
            mine = [l for l in lines if l.get("msg") == "handling" and l["request_id"] == rid]
            eq(len(mine), 1, "soom.log line about the request")
            eq((mine[0]["trace_id"], mine[0]["span_id"], mine[0]["step"]), (TRACE, span, 1))
        finally:
            srv.stop()


def test_the_database_sees_the_trace_id_on_demand():
    hdrs = {"traceparent": "00-%s-%s-01" % (TRACE, PARENT)}
    with tempfile.TemporaryDirectory() as d:
        for on in (True, False):
            srv = Server(app(d), env={"SOOM_POOL__TRACE": "true" if on else "false",
                                      "SOOM_POOL__MAX": "1"}).start()
            try:
                for _ in range(2):  # the same pooled session, request after request
                    status, _, doc = srv.json("GET", "/session", headers=hdrs)
                    eq(status, 200)
                    if on:
                        eq(doc["name"], "soom/" + TRACE, "application_name names the trace")
                    else:
                        assert TRACE not in doc["name"], doc
                status, _, doc = srv.json("GET", "/session")
                if on:
                    assert doc["name"].startswith("soom/") and TRACE not in doc["name"], doc
            finally:
                srv.stop()


# ---- error reports ----------------------------------------------------------------------

class Receiver:
    """A Sentry envelope endpoint on loopback: parses each envelope by the
    documented format (a header line, then items of a header line and a
    payload of the given length) and keeps the events."""

    def __init__(self, delay=0):
        self.events, self.auth, self.delay = [], [], delay
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                if outer.delay:
                    time.sleep(outer.delay)
                data = self.rfile.read(int(self.headers["Content-Length"]))
                outer.auth.append((self.path, self.headers.get("X-Sentry-Auth"),
                                   self.headers.get("Content-Type")))
                outer.events.extend(parse_envelope(data))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id":"x"}')

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def parse_envelope(data):
    head, _, rest = data.partition(b"\n")
    header = json.loads(head)
    assert len(header["event_id"]) == 32, header
    events = []
    while rest.strip():
        item_head, _, rest = rest.partition(b"\n")
        item = json.loads(item_head)
        payload, rest = rest[:item["length"]], rest[item["length"]:]
        if rest.startswith(b"\n"):
            rest = rest[1:]
        if item["type"] == "event":
            ev = json.loads(payload)
            eq(ev["event_id"], header["event_id"], "event id in the envelope header")
            events.append(ev)
    return events


def reporting_env(port, **extra):
    env = {"SENTRY_DSN": "http://publickey@127.0.0.1:%d/42" % port,
           "SOOM_ERROR_REPORTING__RELEASE": "ops-test@1.0",
           "SOOM_ERROR_REPORTING__ENVIRONMENT": "ci",
           "SOOM_ERROR_REPORTING__SERVER_NAME": "node-1"}
    env.update(extra)
    return env


def wait(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline and not pred():
        time.sleep(0.05)
    return pred()


def test_error_reports_reach_a_sentry_receiver():
    rx = Receiver()
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app(d), env=reporting_env(rx.port)).start()
        try:
            hdrs = {"Authorization": "Token s3cr3t", "Cookie": "session=abc",
                    "traceparent": "00-%s-%s-01" % (TRACE, PARENT)}
            status, h, _ = srv.request("POST", "/boom?x=1",
                                       body={"name": "ann", "password": "hunter2"}, headers=hdrs)
            eq(status, 500)
            assert wait(lambda: len(rx.events) == 1), "no event received"
            ev = rx.events[0]
            path, auth, ctype = rx.auth[0]
            eq(path, "/api/42/envelope/")
            assert auth.startswith("Sentry sentry_version=7, sentry_key=publickey"), auth
            eq(ctype, "application/x-sentry-envelope")
            exc = ev["exception"]["values"][0]
            eq(exc["type"], "LuaError")
            assert "failed for ann" in exc["value"], exc["value"]
            frames = exc["stacktrace"]["frames"]
            last = frames[-1] if frames[-1]["filename"] != "[C]" else frames[-2]
            assert last["abs_path"].endswith("resources/ops.lua"), frames
            line = APP["resources/ops.lua"].split("\n").index(
                '        post = function(_, req) error("failed for " .. req.body.name) end,') + 1
            eq(last["lineno"], line, "the line that raised")
            eq(last["in_app"], True)
            eq((ev["request"]["method"], ev["request"]["query_string"]), ("POST", "x=1"))
            assert ev["request"]["url"].endswith("/boom"), ev["request"]["url"]
            hs = ev["request"]["headers"]
            eq((hs["authorization"], hs["cookie"]), ("[Filtered]", "[Filtered]"))
            assert "s3cr3t" not in json.dumps(ev) and "hunter2" not in json.dumps(ev)
            eq(ev["request"]["data"], {"name": "ann", "password": "[Filtered]"})
            eq(ev["tags"]["request_id"], h["x-request-id"])
            eq(ev["tags"]["route"], "/boom")
            eq(ev["tags"]["trace_id"], TRACE)
            eq(ev["contexts"]["trace"]["trace_id"], TRACE)
            eq(ev["contexts"]["trace"]["parent_span_id"], PARENT)
            eq((ev["release"], ev["environment"], ev["server_name"]),
               ("ops-test@1.0", "ci", "node-1"))
            eq(ev["level"], "error")
            # a nil index: the handler's own frame
            eq(srv.request("GET", "/boom")[0], 500)
            assert wait(lambda: len(rx.events) == 2)
            assert "attempt to index" in rx.events[1]["exception"]["values"][0]["value"]
            assert wait(lambda: metrics(srv)[0]["soom_error_reports_sent_total"] == 2)
        finally:
            srv.stop()
            rx.stop()


def median_latency(srv, n=20):
    times = []
    conn = srv.connection()
    for _ in range(n):
        t0 = time.time()
        eq(srv.request("GET", "/hello", conn=conn)[0], 200)
        times.append(time.time() - t0)
    conn.close()
    return sorted(times)[n // 2]


def test_a_receiver_down_or_slow_costs_only_dropped_reports():
    with tempfile.TemporaryDirectory() as d:
        down = free_port()  # nothing listens there
        srv = Server(app(d), env=reporting_env(down, SOOM_ERROR_REPORTING__TIMEOUT_MS="500",
                                               SOOM_ERROR_REPORTING__QUEUE="2")).start()
        try:
            base = median_latency(srv)
            t0 = time.time()
            for _ in range(5):
                eq(srv.request("GET", "/boom")[0], 500)
            assert time.time() - t0 < 2, "errors waited for the receiver"
            during = median_latency(srv)
            assert during < base + 0.005, (base, during)
            assert wait(lambda: total(metrics(srv)[0], "soom_error_reports_dropped_total") == 5)
            eq(metrics(srv)[0]["soom_error_reports_sent_total"], 0)
            time.sleep(0.3)
            assert any(l.get("msg") == "error reports dropped" for l in srv.log_lines())
        finally:
            srv.stop()
        rx = Receiver(delay=5)
        srv = Server(app(d), env=reporting_env(rx.port, SOOM_ERROR_REPORTING__TIMEOUT_MS="1000",
                                               SOOM_ERROR_REPORTING__QUEUE="2")).start()
        try:
            base = median_latency(srv)
            t0 = time.time()
            for _ in range(6):
                eq(srv.request("GET", "/boom")[0], 500)
            assert time.time() - t0 < 2, "errors waited for a slow receiver"
            during = median_latency(srv)
            assert during < base + 0.005, (base, during)
            values = metrics(srv)[0]
            assert values['soom_error_reports_dropped_total{reason="queue_full"}'] >= 3, values
            assert wait(lambda: total(metrics(srv)[0], "soom_error_reports_dropped_total") == 6,
                        timeout=15)
        finally:
            srv.stop()
            rx.stop()


main(globals())
