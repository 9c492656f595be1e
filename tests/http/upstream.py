"""A small HTTP/1.1 upstream for the end-to-end tests of soom.http, on
asyncio in a process of its own (so that it does not share the test
client's interpreter lock): keep-alive connections, answers after a delay,
and the failures a real service shows (a reset in the middle of a body,
invalid JSON, error statuses, a flaky endpoint), over plain TCP or TLS with
a certificate of its own. GET /_stats tells what it saw.

    up = Upstream().start()           # up.url("/echo"), up.stats()
    up = Upstream(tls=True).start()   # up.ca_file: the CA that signed it
"""

import asyncio
import json
import os
import selectors
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


def make_certificate(folder):
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert, key)."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class _Server:
    """The upstream's state; each connection is a _Conn protocol (asyncio's
    protocols cost far less per request than its streams)."""

    def __init__(self, tls=False):
        self.tls = tls
        self.port = None
        self.ca_file = None
        self.connections = 0  # accepted so far
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.counters = {}

    def run(self, folder):
        loop = asyncio.new_event_loop()
        ctx = None
        if self.tls:
            cert, key = make_certificate(folder)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.ca_file = cert
        server = loop.run_until_complete(
            loop.create_server(lambda: _Conn(self), "127.0.0.1", 0, ssl=ctx, backlog=4096))
        self.port = server.sockets[0].getsockname()[1]
        print(json.dumps({"port": self.port, "ca_file": self.ca_file}), flush=True)
        loop.run_forever()

    def answer(self, method, target, headers, body):
        """(status, content type, payload) for a request, or None for a reset."""
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path == "/_stats":
            return 200, "application/json", json.dumps({
                "connections": self.connections - 1, "requests": self.requests - 1,
                "max_in_flight": self.max_in_flight, "counters": self.counters}).encode()
        if path == "/reset":
            return None
        if path == "/badjson":
            return 200, "application/json", b'{"unfinished": [1, 2'
        if path == "/status":
            code = int(query.get("code", "500"))
            return code, "application/json", json.dumps({"status": code}).encode()
        if path == "/text":
            return 200, "text/plain", b"plain words"
        status = 200
        if path == "/flaky":
            # fails `fail` times per key with 503, then answers
            key = query.get("key", "")
            n = self.counters.get(key, 0)
            self.counters[key] = n + 1
            if n < int(query.get("fail", "1")):
                status = 503
        return status, "application/json", json.dumps({
            "method": method, "path": path, "query": query, "headers": headers,
            "body": body.decode("utf-8", "replace")}).encode()


REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


class _Conn(asyncio.Protocol):
    def __init__(self, server):
        self.server = server
        self.buf = b""
        self.transport = None
        self.busy = False  # a request is being answered (no pipelining here)

    def connection_made(self, transport):
        self.transport = transport
        self.server.connections += 1

    def data_received(self, data):
        self.buf += data
        self.next_request()

    def next_request(self):
        if self.busy or b"\r\n\r\n" not in self.buf:
            return
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if len(rest) < n:
            return
        body, self.buf = rest[:n], rest[n:]
        srv = self.server
        srv.requests += 1
        srv.in_flight += 1
        srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        self.busy = True
        delay = float(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))
                      .get("ms", "0")) / 1000
        asyncio.get_running_loop().call_later(delay, self.respond, method, target, headers, body)

    def respond(self, method, target, headers, body):
        self.server.in_flight -= 1
        self.busy = False
        if self.transport.is_closing():
            return
        answer = self.server.answer(method, target, headers, body)
        if answer is None:
            # headers and half the body, then a reset (SO_LINGER 0)
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 1000\r\n\r\n{\"partial\": ")
            sock = self.transport.get_extra_info("socket")
            asyncio.get_running_loop().call_later(0.05, self.reset, sock)
            return
        status, ctype, payload = answer
        self.transport.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                              % (status, REASONS.get(status, "Status"), ctype, len(payload))
                              ).encode() + payload)
        if headers.get("connection", "").lower() == "close" or target.startswith("/_stats"):
            self.transport.close()
        else:
            self.next_request()

    def reset(self, sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class Upstream:
    """The upstream, run as `python3 upstream.py [tls]` in its own process."""

    def __init__(self, tls=False):
        self.tls = tls
        self.proc = None
        self.port = None
        self.ca_file = None
        self._folder = tempfile.mkdtemp(prefix="soom-upstream-")

    def start(self):
        cmd = [sys.executable, os.path.abspath(__file__), self._folder] + (["tls"] if self.tls else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the upstream did not start")
        info = json.loads(line)
        self.port, self.ca_file = info["port"], info["ca_file"]
        return self

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % ("https" if self.tls else "http", self.port, path)

    def stats(self):
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(self.url("/_stats"), timeout=10, context=ctx) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def many(port, paths, timeout=30):
    """Sends one GET per path, all at once, each on its own connection;
    returns [(status, body bytes)] in order. A loop over non-blocking
    sockets (selectors, epoll), lighter than asyncio's streams, so that a
    thousand requests cost the client little."""
    sel = selectors.DefaultSelector()
    out = [None] * len(paths)
    todo = {}
    for i, path in enumerate(paths):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        msg = ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode()
        todo[s.fileno()] = [s, i, msg, []]
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.time() + timeout
    while todo:
        if time.time() > deadline:
            raise AssertionError("%d of %d requests unanswered" % (len(todo), len(paths)))
        for key, events in sel.select(1.0):
            entry = todo[key.fd]
            s = entry[0]
            if events & selectors.EVENT_WRITE:
                sent = s.send(entry[2])
                entry[2] = entry[2][sent:]
                if not entry[2]:
                    sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                chunk = s.recv(65536)
            except ConnectionError:
                chunk = b""
            if chunk:
                entry[3].append(chunk)
                continue
            sel.unregister(s)
            s.close()
            del todo[key.fd]
            head, _, body = b"".join(entry[3]).partition(b"\r\n\r\n")
            out[entry[1]] = (int(head.split(b" ", 2)[1]) if head else 0, body)
    sel.close()
    return out


if __name__ == "__main__":
    _Server(tls=len(sys.argv) > 2 and sys.argv[2] == "tls").run(sys.argv[1])
