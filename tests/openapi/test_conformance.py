"""The live conformance check: Prism (@stoplight/prism-cli) as a validating
proxy in front of the running sample app, and the sample's own test suite
(`soom test apps/sample --port <prism>`) sent through it: every real
response, errors included, must match the document. Then the negative
cases: a document missing a status the app answers, one missing a field
the app sends, one requiring a field the app does not send; each makes
the same check fail."""

import http.client
import json
import os
import re
import subprocess
import tempfile
import time

from tools import document, harness, tool

eq = harness.eq


class Prism:
    def __init__(self, doc, upstream):
        self.port = harness.free_port()
        fd, self.log_path = tempfile.mkstemp(prefix="prism-", suffix=".log")
        self.log_file = os.fdopen(fd, "w")
        self.proc = subprocess.Popen(
            [tool("prism"), "proxy", doc, "http://127.0.0.1:%d" % upstream, "-h", "127.0.0.1",
             "-p", str(self.port), "--errors=false"],
            stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while "Prism is listening" not in self.log():
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("prism did not start:\n" + self.log())
            time.sleep(0.1)

    def log(self):
        self.log_file.flush()
        with open(self.log_path) as f:
            return re.sub(r"\x1b\[[0-9;]*m", "", f.read())

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        time.sleep(0.2)  # prism logs its verdict after answering
        return resp.status

    def forwarded(self):
        return re.findall(r"The upstream call to (\S+) has returned (\d+)", self.log())

    def response_violations(self):
        return [l for l in self.log().splitlines() if "Violation: response" in l]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


def sample_server(db):
    harness.run_soom("migrate", harness.SAMPLE, env={"DATABASE_URL": db.url})
    return harness.Server(harness.SAMPLE, env={"DATABASE_URL": db.url}).start()


def test_the_sample_suite_through_prism():
    db = harness.Database()
    srv = sample_server(db)
    d = tempfile.mkdtemp()
    prism = None
    try:
        doc = document(harness.SAMPLE, os.path.join(d, "openapi.json"),
                       env={"DATABASE_URL": db.url})
        prism = Prism(doc, srv.port)
        code, out, err = harness.run_soom("test", harness.SAMPLE, "--port", str(prism.port),
                                          timeout=300)
        eq(code, 0, "the sample's tests through prism:\n%s%s" % (out, err))
        calls = prism.forwarded()
        statuses = sorted({int(s) for _, s in calls})
        eq(len(calls) >= 30, True, "requests through prism (%d)" % len(calls))
        for status in (200, 201, 204, 400, 404, 422, 500):
            eq(status in statuses, True, "a %d went through (%s)" % (status, statuses))
        eq(prism.response_violations(), [], "responses that do not match the document")
    finally:
        if prism:
            prism.stop()
        srv.stop()
        db.drop()


def broken(doc_path, change):
    with open(doc_path) as f:
        doc = json.load(f)
    change(doc)
    path = doc_path.replace(".json", "-broken.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def test_the_check_fails_on_an_undocumented_response():
    db = harness.Database()
    srv = sample_server(db)
    d = tempfile.mkdtemp()
    try:
        doc = document(harness.SAMPLE, os.path.join(d, "openapi.json"))

        def no_404(doc):
            del doc["paths"]["/items/{id}"]["get"]["responses"]["404"]

        def no_score(doc):
            del doc["components"]["schemas"]["Sample"]["properties"]["score"]
            doc["components"]["schemas"]["Sample"]["required"].remove("score")

        def extra_required(doc):
            s = doc["components"]["schemas"]["HelloResponse"]
            s["properties"]["language"] = {"type": "string"}
            s["required"].append("language")

        cases = [
            (no_404, "GET", "/items/1001", None, "status code"),
            (no_score, "POST", "/samples", {"name": "ada", "score": 3}, "additional propert"),
            (extra_required, "GET", "/hello", None, "required property 'language'"),
        ]
        for change, method, path, body, expected in cases:
            prism = Prism(broken(doc, change), srv.port)
            try:
                status = prism.request(method, path, body)
                eq(status < 600, True, "answered")
                found = prism.response_violations()
                eq(len(found) >= 1 and expected in " ".join(found), True,
                   "%s: %s" % (change.__name__, found or prism.log()))
            finally:
                prism.stop()
        # the same requests against the document as generated: no violation
        prism = Prism(doc, srv.port)
        try:
            for _, method, path, body, _ in cases:
                prism.request(method, path, body)
            eq(prism.response_violations(), [], "the generated document")
        finally:
            prism.stop()
    finally:
        srv.stop()
        db.drop()


harness.main(globals())
