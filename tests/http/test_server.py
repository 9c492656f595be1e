"""End-to-end tests of the core server: `soom run apps/sample` on loopback,
under each server model, spoken to over real HTTP."""

import json
import os
import re
import signal
import socket
import time

from harness import SAMPLE, Server, eq, in_thread, main, run_soom

MODELS = ("threads", "thread-per-connection", "prefork", "async")


def is_problem(status, headers, body, expected):
    eq(status, expected, "status")
    eq(headers.get("content-type"), "application/problem+json", "content type")
    doc = json.loads(body)
    eq(doc["status"], expected, "problem status")
    for key in ("type", "title", "status", "detail", "instance"):
        assert key in doc, "problem document lacks %r: %r" % (key, doc)
    return doc


def check_basics(srv):
    # 200 with the exact body
    status, headers, body = srv.request("GET", "/hello")
    eq(status, 200)
    eq(headers["content-type"], "application/json")
    eq(json.loads(body), {"message": "Hello, World!"})

    # POST: the parsed body comes back; null, [] and {} survive the round trip
    sent = {"a": [1, 2.5, {"b": None}], "empty_list": [], "empty_obj": {}, "big": 9007199254740992,
            "s": "caf\u00e9 \U0001F600"}
    status, _, doc = srv.json("POST", "/echo?x=1", body=sent)
    eq(status, 200)
    eq(doc["echo"], sent)
    eq(doc["query"], {"x": "1"})
    status, _, raw = srv.request("POST", "/echo", body=sent)
    assert b'"empty_list":[]' in raw and b'"empty_obj":{}' in raw and b"9007199254740992" in raw

    # 201 with a Location header from a subclassed resource
    status, headers, doc = srv.json("POST", "/greetings", body={"name": "ada"})
    eq(status, 201)
    eq(headers.get("location"), "/greetings/ada")
    eq(doc, {"greeting": "Hello, ada!"})
    status, _, doc = srv.json("GET", "/greetings/ada")
    eq(doc, {"greeting": "Welcome back, ada!"})

    # a typed path parameter arrives as a number; a non-matching one is a 404
    status, _, doc = srv.json("GET", "/items/42")
    eq((status, doc["id"], doc["kind"], doc["tags"]), (200, 42, "number", []))
    is_problem(*srv.request("GET", "/items/abc"), 404)

    # a problem returned by the resource
    doc = is_problem(*srv.request("GET", "/items/5000"), 404)
    eq(doc["detail"], "no item 5000")
    doc = is_problem(*srv.request("POST", "/greetings", body={"name": ""}), 422)
    eq(doc["errors"][0]["pointer"], "/name")

    # 400: malformed JSON, too deep, invalid UTF-8; 422: a NUL in a string
    json_hdr = {"Content-Type": "application/json"}
    is_problem(*srv.request("POST", "/echo", body=b'{"a": ', headers=json_hdr), 400)
    is_problem(*srv.request("POST", "/echo", body=b"[" * 65 + b"]" * 65, headers=json_hdr), 400)
    status, _, _ = srv.request("POST", "/echo", body=b"[" * 64 + b"]" * 64, headers=json_hdr)
    eq(status, 200, "64 levels are allowed")
    is_problem(*srv.request("POST", "/echo", body=b'{"a": "\xff"}', headers=json_hdr), 400)
    doc = is_problem(*srv.request("POST", "/echo", body=b'{"a": "x\\u0000y"}', headers=json_hdr),
                     422)
    eq(doc["errors"][0]["pointer"], "/a")

    # 404 and 405 with Allow
    doc = is_problem(*srv.request("GET", "/no/such/path"), 404)
    eq(doc["instance"], "/no/such/path")
    status, headers, body = srv.request("DELETE", "/hello")
    is_problem(status, headers, body, 405)
    eq(headers.get("allow"), "GET, HEAD")
    status, headers, _ = srv.request("OPTIONS", "/greetings")
    eq(status, 204)
    eq(headers.get("allow"), "POST, OPTIONS")
    status, headers, body = srv.request("HEAD", "/hello")
    eq((status, body), (200, b""))

    # 415: a body that is not JSON
    is_problem(*srv.request("POST", "/echo", body=b"a=1",
                            headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    is_problem(*srv.request("POST", "/echo", body=b"{}"), 415)  # no Content-Type at all
    status, _, _ = srv.request("POST", "/echo", body=b"{}",
                               headers={"Content-Type": "application/merge-patch+json"})
    eq(status, 200, "+json media types are JSON")

    # 500 as problem+json, generic, and the next request is served normally
    doc = is_problem(*srv.request("GET", "/boom"), 500)
    assert "deliberate" not in json.dumps(doc), "the error text must stay in the log"
    status, _, _ = srv.request("GET", "/hello")
    eq(status, 200, "served after a Lua error")


def check_limits(srv):
    # 413 from Content-Length, answered without reading the body
    head = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000000\r\n\r\n")
    t0 = time.time()
    reply = srv.raw(head + b"[1,2,3", read_timeout=5)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert time.time() - t0 < 4, "413 must not wait for the rest of the body"
    # 413 for a chunked body that grows past the limit
    chunk = b"[" + b"1," * 600000 + b"1]"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
    reply = srv.raw(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    # a body just under the limit is fine
    small = b"[" + b"1," * 100000 + b"1]"
    status, _, _ = srv.request("POST", "/echo", body=small, headers={"Content-Type": "application/json"})
    eq(status, 200)
    # headers larger than max_header are refused, and the server lives on
    reply = srv.raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431"), reply[:100]
    eq(srv.request("GET", "/hello")[0], 200)
    # garbage instead of HTTP
    # garbage instead of HTTP: libmicrohttpd hangs up at once, answering nothing
    # (a request line with NUL bytes is instead held until idle_timeout:
    # test_idle_connection_closed)
    t0 = time.time()
    reply = srv.raw(b"GARBAGE\r\n\r\n", read_timeout=3)
    eq(reply, b"")
    assert time.time() - t0 < 2, "the connection must be closed, not left waiting"
    eq(srv.request("GET", "/hello")[0], 200)


def check_keepalive_and_ids(srv):
    conn = srv.connection()
    conn.connect()
    sock = conn.sock
    ids = set()
    for _ in range(5):
        status, headers, _ = srv.request("GET", "/hello", conn=conn)
        eq(status, 200)
        ids.add(headers["x-request-id"])
        assert conn.sock is sock, "the connection was not kept alive"
    # an error response keeps the connection too
    srv.request("GET", "/nope", conn=conn)
    srv.request("GET", "/hello", conn=conn)
    assert conn.sock is sock, "a 404 closed the connection"
    conn.close()
    eq(len(ids), 5, "request ids are unique")
    for rid in ids:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", rid), rid
    # a well-formed X-Request-Id is honoured and echoed, a bad one replaced
    status, headers, doc = srv.json("POST", "/echo", body={}, headers={"X-Request-Id": "abc-123.x"})
    eq(headers["x-request-id"], "abc-123.x")
    eq(doc["request_id"], "abc-123.x")
    status, headers, _ = srv.request("GET", "/hello", headers={"X-Request-Id": "bad id\twith spaces"})
    assert headers["x-request-id"] != "bad id\twith spaces"
    status, headers, _ = srv.request("GET", "/hello", headers={"X-Request-Id": "x" * 129})
    eq(len(headers["x-request-id"]), 36)


def check_access_log(srv):
    srv.request("GET", "/hello?x=1", headers={"X-Request-Id": "log-check-1"})
    srv.request("GET", "/boom", headers={"X-Request-Id": "log-check-2"})
    deadline = time.time() + 5
    while time.time() < deadline:
        lines = srv.log_lines()
        hits = [l for l in lines if l.get("request_id") == "log-check-1" and l.get("msg") == "request"]
        if hits:
            break
        time.sleep(0.05)
    eq(len(hits), 1, "one access line per request")
    line = hits[0]
    for key in ("time", "request_id", "method", "path", "route", "status", "bytes", "duration_us"):
        assert key in line, "access line lacks %r: %r" % (key, line)
    eq((line["method"], line["path"], line["route"], line["status"], line["bytes"]),
       ("GET", "/hello", "/hello", 200, 27))
    assert isinstance(line["duration_us"], int) and line["duration_us"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line["time"]), line["time"]
    errors = [l for l in srv.log_lines() if l.get("request_id") == "log-check-2" and l["level"] == "error"]
    eq(len(errors), 1, "the Lua error is logged with the request id")
    assert "deliberate failure" in errors[0]["traceback"] and "boom.lua" in errors[0]["traceback"]
    starts = [l for l in srv.log_lines() if l.get("msg") == "listening"]
    eq(len(starts), 1)
    for key in ("address", "server", "routes"):
        assert key in starts[0], starts[0]
    code, out, _ = run_soom("routes", SAMPLE)
    eq(starts[0]["routes"], len(out.strip().splitlines()) - 1, "the route count of `soom routes`")


def check_graceful_sigterm(model):
    srv = Server(env={"SOOM_SERVER": model, "SOOM_WORKERS": "2"}).start()
    try:
        join = in_thread(srv.json, "GET", "/slow?seconds=1.5")
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        status, _, doc = join(20)
        eq((status, doc), (200, {"slept": 1.5}), "the in-flight request completes")
        eq(srv.wait(20), 0, "exit code after SIGTERM")
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
            raise AssertionError("still accepting connections after shutdown")
        except OSError:
            pass
    finally:
        srv.stop()


def make_model_test(model):
    def test():
        srv = Server(env={"SOOM_SERVER": model, "SOOM_WORKERS": "2", "SOOM_THREADS": "2"}).start()
        try:
            check_basics(srv)
            check_limits(srv)
            check_keepalive_and_ids(srv)
            check_access_log(srv)
            starts = [l for l in srv.log_lines() if l.get("msg") == "listening"]
            eq(starts[0]["server"], model)
        finally:
            srv.stop()
        eq(srv.proc.returncode, 0)
    return test


def make_sigterm_test(model):
    return lambda: check_graceful_sigterm(model)


for _m in MODELS:
    _name = _m.replace("-", "_")
    globals()["test_%s_suite" % _name] = make_model_test(_m)
    globals()["test_%s_sigterm_drains" % _name] = make_sigterm_test(_m)


def test_prefork_worker_replaced():
    srv = Server(env={"SOOM_SERVER": "prefork", "SOOM_WORKERS": "2"}).start()
    try:
        def workers():
            return [l["pid"] for l in srv.log_lines() if l.get("msg") == "worker started"]
        deadline = time.time() + 10
        while len(workers()) < 2 and time.time() < deadline:
            time.sleep(0.05)
        first = workers()
        eq(len(first), 2, "two workers started")
        for _ in range(20):
            eq(srv.request("GET", "/hello")[0], 200)
        os.kill(first[0], signal.SIGKILL)
        deadline = time.time() + 10
        while len(workers()) < 3 and time.time() < deadline:
            time.sleep(0.05)
        eq(len(workers()), 3, "a replacement worker started")
        died = [l for l in srv.log_lines() if l.get("msg") == "worker died"]
        eq(died[0]["pid"], first[0])
        eq(died[0]["signal"], 9)
        for _ in range(50):
            eq(srv.request("GET", "/hello")[0], 200)
        srv.signal(signal.SIGTERM)
        eq(srv.wait(20), 0)
    finally:
        srv.stop()


def test_idle_connection_closed():
    for model in MODELS:
        srv = Server(env={"SOOM_SERVER": model, "SOOM_IDLE_TIMEOUT": "1", "SOOM_WORKERS": "1"}).start()
        try:
            # a client that sends nothing
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            t0 = time.time()
            eq(s.recv(100), b"", "the server closes a silent connection")
            took = time.time() - t0
            assert 0.8 <= took < 4, "closed after %.2fs" % took
            s.close()
            # a client that trickles its headers one byte at a time
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.settimeout(0.3)
            t0 = time.time()
            closed = False
            for b in b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 100:
                try:
                    s.send(bytes([b]))
                    if s.recv(100) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                    break
                if time.time() - t0 > 8:
                    break
            s.close()
            assert closed, "%s: a trickling client was never dropped" % model
            assert time.time() - t0 < 5
            # binary garbage that libmicrohttpd waits on is dropped the same way
            t0 = time.time()
            eq(srv.raw(b"\x00\x01\x02 nonsense\r\n\r\n", read_timeout=8), b"")
            took = time.time() - t0
            assert 0.8 <= took < 4, "%s: garbage held for %.2fs" % (model, took)
            # an idle keep-alive connection after a request is closed as well
            conn = srv.connection()
            eq(srv.request("GET", "/hello", conn=conn)[0], 200)
            time.sleep(2.5)
            eq(conn.sock.recv(10), b"", "idle keep-alive connection closed")
            conn.close()
            eq(srv.request("GET", "/hello")[0], 200)
        finally:
            srv.stop()


def test_drain_timeout_bounds_shutdown():
    for model in ("threads", "async"):
        check_drain_timeout(model)


def check_drain_timeout(model):
    srv = Server(env={"SOOM_DRAIN_TIMEOUT": "1", "SOOM_SERVER": model}).start()
    try:
        join = in_thread(lambda: srv.request("GET", "/slow?seconds=20"))
        time.sleep(0.5)
        t0 = time.time()
        srv.signal(signal.SIGINT)
        eq(srv.wait(15), 0, "exit code after SIGINT")
        took = time.time() - t0
        assert took < 5, "shutdown waited %.1fs despite drain_timeout = 1" % took
        try:
            join(20)
        except Exception:
            pass  # the cut request may fail on the client side; that is the point
        warned = [l for l in srv.log_lines() if "drain timeout" in l.get("msg", "")]
        eq(len(warned), 1, "the cut requests are logged")
    finally:
        srv.stop()


def check_max_connections(model):
    srv = Server(env={"SOOM_MAX_CONNECTIONS": "2", "SOOM_THREADS": "1", "SOOM_SERVER": model,
                      "SOOM_WORKERS": "1"}).start()
    try:
        # two clients still sending their requests (an idle keep-alive
        # connection would make room: test_hardening_conns.py)
        a = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        b = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        for c in (a, b):
            c.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        # a third connection waits, unserved, while two are open...
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=1)
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            early = s.recv(100)
        except socket.timeout:
            early = None
        eq(early, None, "%s: no answer over the limit" % model)
        # ...and is served once a slot frees up
        a.close()
        s.settimeout(5)
        assert s.recv(100).startswith(b"HTTP/1.1 200"), "%s: served once a slot is free" % model
        s.close()
        b.close()
    finally:
        srv.stop()


def test_max_connections():
    # (a thread per connection refuses the connection over the limit instead)
    for model in ("threads", "prefork", "async"):
        check_max_connections(model)


def test_many_concurrent_connections():
    for model in ("threads", "async"):
        srv = Server(env={"SOOM_THREADS": "2", "SOOM_SERVER": model}).start()
        try:
            joins = [in_thread(lambda: [srv.request("GET", "/hello")[0] for _ in range(20)])
                     for _ in range(16)]
            for j in joins:
                eq(set(j(60)), {200})
        finally:
            srv.stop()


main(globals())
