"""End-to-end tests of the request head's checks (core/src/http/http_head.c)
and of output that stays valid UTF-8 JSON whatever bytes a request holds,
under every server model: raw bytes over a socket, as a smuggler or a fuzzer
would send them."""

import json
import os
import re
import socket
import tempfile
import time

from harness import Server, eq, main, write_app

MODELS = ("async", "threads", "thread-per-connection", "prefork")

APP = {
    "app.lua": 'return { name = "framing" }\n',
    "resources/probe.lua": r'''
local soom = require "soom"

return {
    soom.Resource {
        route = "/items/{id:int}",
        get = function(_, req) return { id = req.params.id, path = req.path } end,
    },
    soom.Resource {
        route = "/echo",
        get = function(_, req)
            return { path = req.path, query = req.query, evil = req:header("x-evil") }
        end,
        post = function(_, req) return { body = req.body, query = req.query } end,
    },
    -- a Lua error whose message holds request bytes: the error log line
    soom.Resource {
        route = "/fail",
        get = function(_, req)
            error("refused " .. (req:header("x-evil") or "") .. (req.query.q or ""))
        end,
    },
    -- a handler's own string that is not UTF-8
    soom.Resource {
        route = "/bytes",
        get = function() return { s = "a\255\254b" } end,
    },
}
''',
}

JSON_HDR = b"Content-Type: application/json\r\n"


def app_dir():
    return write_app(tempfile.mkdtemp(prefix="soom-framing-"), APP)


def start(model, env=None):
    e = {"SOOM_SERVER": model, "SOOM_THREADS": "2", "SOOM_WORKERS": "2", "DATABASE_URL": ""}
    e.update(env or {})
    return Server(app_dir(), env=e).start()


def until_closed(srv, data, timeout=5.0):
    """Sends raw bytes on a new connection and reads until the server closes
    it; returns (bytes, closed): closed is False when `timeout` passed first
    (the server kept the connection, or never answered)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                return b"".join(chunks), False
            except ConnectionResetError:
                return b"".join(chunks), True
            if not c:
                return b"".join(chunks), True
            chunks.append(c)
    finally:
        s.close()


def responses(data):
    """The responses in `data`, each (status, headers with lower-case names,
    body), read by their Content-Length."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, "a response without the end of its head: %r" % data[:300]
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.1 (\d{3}) ", lines[0])
        assert m, "not a status line: %r" % lines[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode()] = value.strip().decode()
        n = int(headers.get("content-length", "0"))
        out.append((int(m.group(1)), headers, rest[:n]))
        data = rest[n:]
    return out


def strict_json(body):
    """The document, which must be strict UTF-8 JSON."""
    return json.loads(body.decode("utf-8", errors="strict"))


def refused(srv, data, status, detail_part=None, close=True):
    """Sends `data`; the server must answer one problem with `status` at once
    (well within its 30 s idle timeout), and close when `close`. Returns the
    problem document."""
    if close:
        reply, closed = until_closed(srv, data)
        assert closed, "the connection was left open (or nothing came): %r" % reply[:300]
    else:
        reply = srv.raw(data)
    got = responses(reply)
    eq(len(got), 1, "responses to %r: %r" % (data[:80], reply[:600]))
    code, headers, body = got[0]
    eq(code, status, "status for %r" % data[:120])
    eq(headers.get("content-type"), "application/problem+json", "content type")
    if close:
        eq(headers.get("connection"), "close", "Connection header")
    doc = strict_json(body)
    eq(doc["status"], status)
    if detail_part is not None:
        assert detail_part in doc["detail"], doc
    return doc


def check_smuggling(srv):
    # the tail after the 0 chunk would run as a second request (/fail)
    for order in ((b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n"),
                  (b"Transfer-Encoding: chunked\r\n", b"Content-Length: 5\r\n")):
        data = (b"POST /echo HTTP/1.1\r\nHost: x\r\n" + JSON_HDR + b"".join(order) + b"\r\n"
                b"0\r\n\r\nGET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
        refused(srv, data, 400, "Transfer-Encoding and Content-Length")
    # Content-Length twice, differing: which one frames the body?
    refused(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\n" + JSON_HDR +
            b"Content-Length: 2\r\nContent-Length: 12\r\n\r\n{}GET /fail HTTP/1.1\r\n\r\n", 400,
            "differ")
    # whitespace around a valid value is legal; the same value twice is one value
    for cl in (b"Content-Length:    2\r\n", b"Content-Length: 2\r\ncontent-length: 2\r\n"):
        reply = srv.raw(b"POST /echo HTTP/1.1\r\nHost: x\r\n" + JSON_HDR + cl + b"\r\n{}")
        got = responses(reply)
        eq([g[0] for g in got], [200])
        eq(strict_json(got[0][2])["body"], {})
    # a malformed Content-Length alone: libmicrohttpd refuses it before Soom
    # sees the request (docs/ARCHITECTURE.md, Errors); refused and closed,
    # the tail never served
    for cl in (b"2x", b"-1", b"2, 2", b"2 "):
        reply, closed = until_closed(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\n" + JSON_HDR +
                                     b"Content-Length: " + cl + b"\r\n\r\n{}GET /fail HTTP/1.1\r\n"
                                     b"Host: x\r\n\r\n")
        assert closed and reply.startswith(b"HTTP/1.1 400 ") and b" 500 " not in reply, reply
    # a malformed Content-Length beside a Transfer-Encoding (libmicrohttpd
    # reads only the latter then): ours, as problem+json
    refused(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\n" + JSON_HDR +
            b"Transfer-Encoding: chunked\r\nContent-Length: 2x\r\n\r\n0\r\n\r\n", 400)
    # whitespace before the colon: not a Transfer-Encoding to us, chunked to others
    refused(srv, b"POST /echo HTTP/1.1\r\nHost: x\r\n" + JSON_HDR +
            b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /fail HTTP/1.1\r\nHost: x\r\n\r\n",
            400, "whitespace before the colon")
    refused(srv, b"GET /echo HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n\r\n", 400)


def check_codings(srv):
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\n" + JSON_HDR
    body = b"\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    # these waited for the client to close (a body read to the end of the
    # connection), 30 s here
    refused(srv, head + b"Transfer-Encoding: gzip" + body, 501)
    refused(srv, head + b"Transfer-Encoding: gzip, chunked" + body, 501)
    refused(srv, head + b"Transfer-Encoding: chunked, gzip" + body, 400, "last")
    refused(srv, head + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked" + body, 501)
    refused(srv, head + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked" + body, 400)
    # chunked alone is served
    got = responses(srv.raw(head + b"Transfer-Encoding: chunked" + body))
    eq([(g[0], strict_json(g[2])["body"]) for g in got], [(200, {})])
    # bad chunk sizes: refused at once (by libmicrohttpd's own chunk reader)
    for size in (b"zz", b"-2", b"0x2", b" 2", b""):
        reply, closed = until_closed(srv, head + b"Transfer-Encoding: chunked\r\n\r\n" + size +
                                     b"\r\n{}\r\n0\r\n\r\n")
        assert closed and reply.startswith(b"HTTP/1.1 400 "), (size, reply[:200])


def check_host_and_targets(srv):
    refused(srv, b"GET /echo HTTP/1.1\r\n\r\n", 400, "Host", close=False)
    refused(srv, b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host", close=False)
    # HTTP/1.0 needs no Host
    got = responses(until_closed(srv, b"GET /items/3 HTTP/1.0\r\n\r\n")[0])
    eq((got[0][0], strict_json(got[0][2])["id"]), (200, 3))
    # absolute-form is routed by its path (RFC 9112 3.2.2)
    got = responses(srv.raw(b"GET http://example.com/items/5?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"))
    eq((got[0][0], strict_json(got[0][2])), (200, {"id": 5, "path": "/items/5"}))
    got = responses(srv.raw(b"GET http://example.com/echo?a=%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n"))
    eq(strict_json(got[0][2])["query"], {"a": "\u00e9"})
    # %00 ended the path: /items/5%00abc was /items/5
    doc = refused(srv, b"GET /items/5%00abc HTTP/1.1\r\nHost: x\r\n\r\n", 400, "NUL",
                  close=False)
    eq(doc["instance"], "/items/5%00abc")
    for target in (b"/items/5%FF", b"/items/\xff", b"/items/%C0%AF"):
        refused(srv, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400, "UTF-8",
                close=False)
    refused(srv, b"GET items HTTP/1.1\r\nHost: x\r\n\r\n", 400, close=False)
    # the path is still decoded: %41 is A, and UTF-8 passes
    got = responses(srv.raw(b"GET /echo%41 HTTP/1.1\r\nHost: x\r\n\r\n"))
    eq(got[0][0], 404)
    eq(strict_json(got[0][2])["instance"], "/echoA")


def check_many_parameters(srv):
    # 480 parameters exhausted libmicrohttpd's connection memory: no answer
    # for 30 s; now parsed into the request's arena and served
    query = b"&".join(b"p%d=%d" % (i, i) for i in range(480))
    got = responses(srv.raw(b"GET /echo?" + query + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    eq(got[0][0], 200)
    q = strict_json(got[0][2])["query"]
    eq(len(q), 480)
    eq(q["p479"], "479")


def check_output_is_utf8(srv):
    """Bytes that are not UTF-8, in the path, the query and the headers, come
    back escaped in every response and log line."""
    evil = b"X-Evil: \xff\xfe\xc3\r\n"
    got = responses(srv.raw(b"GET /echo?q=%FF%FEz&r=\xff\xc3 HTTP/1.1\r\nHost: x\r\n" + evil +
                            b"\r\n"))
    eq(got[0][0], 200)
    doc = strict_json(got[0][2])
    eq(doc["query"], {"q": "\\xff\\xfez", "r": "\\xff\\xc3"})
    eq(doc["evil"], "\\xff\\xfe\\xc3")
    doc = strict_json(responses(srv.raw(b"GET /x%FF HTTP/1.1\r\nHost: x\r\n\r\n"))[0][2])
    eq(doc["instance"], "/x%FF")
    doc = strict_json(responses(srv.raw(b"GET /x\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"))[0][2])
    eq(doc["instance"], "/x\\xff\\xfe")
    got = responses(srv.raw(b"GET /fail?q=%FFend HTTP/1.1\r\nHost: x\r\n" + evil + b"\r\n"))
    eq(got[0][0], 500)
    strict_json(got[0][2])
    got = responses(srv.raw(b"GET /bytes HTTP/1.1\r\nHost: x\r\n\r\n"))
    eq(strict_json(got[0][2]), {"s": "a\\xff\\xfeb"})
    # a request method that is not UTF-8 either (404 or 405, logged)
    srv.raw(b"G\xffT /echo HTTP/1.1\r\nHost: x\r\n\r\n", read_timeout=2)


def check_log_is_utf8(srv):
    time.sleep(0.3)  # access lines are written within 100 ms
    srv.stop()
    with open(srv.log_path, "rb") as f:
        raw = f.read()
    lines = [json.loads(line.decode("utf-8", errors="strict"))
             for line in raw.split(b"\n") if line.strip()]
    paths = [line.get("path") for line in lines if line.get("msg") == "request"]
    assert "/x\\xff\\xfe" in paths, paths
    assert any(p and p.startswith("/fail") for p in paths), paths
    errors = [line for line in lines if "refused" in json.dumps(line)]
    assert errors, "no error line for /fail: %r" % lines[-10:]
    assert "refused \\xff\\xfe\\xc3\\xffend" in errors[0]["traceback"], errors[0]


def serve_checks(model):
    srv = start(model)
    try:
        check_smuggling(srv)
        check_codings(srv)
        check_host_and_targets(srv)
        check_many_parameters(srv)
        check_output_is_utf8(srv)
        eq(srv.request("GET", "/items/7")[0], 200, "served after all that")
        check_log_is_utf8(srv)
    finally:
        srv.stop()


def test_async():
    serve_checks("async")


def test_threads():
    serve_checks("threads")


def test_thread_per_connection():
    serve_checks("thread-per-connection")


def test_prefork():
    serve_checks("prefork")


def test_refused_head_keeps_its_request_id():
    """A head refused at a field before its X-Request-Id is answered with
    that id: the checks' pass, which notes the fields the core reads, stops
    at the refused field, and the request's own index finds the id."""
    srv = start("async")
    try:
        data = (b"GET /items/7 HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n"
                b"X-Request-Id: given-id-123\r\n\r\n")
        reply, closed = until_closed(srv, data)
        assert closed, reply[:300]
        got = responses(reply)
        eq(got[0][0], 400)
        eq(got[0][1].get("x-request-id"), "given-id-123", "the id given")
        status, headers, _ = srv.request("GET", "/items/7", headers={"x-REQUEST-id": "other-id-9"})
        eq((status, headers.get("x-request-id")), (200, "other-id-9"), "an accepted head's id")
    finally:
        srv.stop()


def test_forty_thousand_parameters():
    """With max_header sized for it, 40,000 parameters are served (they took
    6.2 s before): parsing is linear."""
    srv = start("async", {"SOOM_MAX_HEADER": str(1 << 20)})
    try:
        query = b"&".join(b"k%d=v" % i for i in range(40000))
        t0 = time.time()
        got = responses(srv.raw(b"GET /echo?" + query + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                                read_timeout=20))
        print("  40,000 parameters: %.3f s" % (time.time() - t0))
        eq(got[0][0], 200)
        eq(len(strict_json(got[0][2])["query"]), 40000)
    finally:
        srv.stop()


main(globals())
