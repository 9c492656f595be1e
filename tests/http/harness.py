"""End-to-end test harness: runs the built soom on a free loopback port and
speaks real HTTP to it.

A test file defines functions named test_*, each taking a Server (or not),
and calls harness.main(globals()) at the bottom. main() runs the tests in
order, prints one line per test and ends with "N passed, N failed"; the exit
code is non-zero when anything failed.

    srv = Server("apps/sample", env={"SOOM_SERVER": "prefork"}).start()
    status, headers, body = srv.request("GET", "/hello")
    srv.stop()
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SOOM = os.environ.get("SOOM_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin", "soom")
SOURCE = os.environ.get("SOOM_SOURCE") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(SOURCE, "apps", "sample")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PG_SH = os.path.join(SOURCE, "tests", "support", "pg.sh")


def pg_sh(cmd, env):
    """tests/support/pg.sh `cmd` (start, stop, url) for the cluster `env` names."""
    p = subprocess.run(["bash", PG_SH, cmd], env=env, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("pg.sh %s: %s %s" % (cmd, p.stdout, p.stderr))
    return p.stdout.strip()


def private_cluster(name):
    """Starts a PostgreSQL cluster of the test's own, so stopping it disturbs
    no other test, on a port free a moment ago (another test may take it
    first: then another). Returns the environment that names it for pg_sh."""
    for attempt in range(3):
        env = dict(os.environ, SOOM_TEST_PG_DIR="/tmp/soom-test-pg-%s-%d" % (name, os.getpid()),
                   SOOM_TEST_PG_PORT=str(free_port()))
        try:
            pg_sh("start", env)
            return env
        except AssertionError:
            if attempt == 2:
                raise


def _complete(data):
    """True when `data` holds a whole response with a Content-Length body."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


class Server:
    """A soom process serving an app on 127.0.0.1:<free port>."""

    def __init__(self, app=SAMPLE, env=None, args=(), command="run"):
        self.app = app
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.setdefault("SOOM_IDLE_TIMEOUT", "30")
        self.env.update(env or {})
        self.args = list(args)
        self.command = command
        self.proc = None
        self.log_path = None
        self._log = None

    def start(self, wait=True):
        fd, self.log_path = tempfile.mkstemp(prefix="soom-test-", suffix=".log")
        self._log = os.fdopen(fd, "w")
        cmd = [SOOM, self.command, self.app, "--port", str(self.port)] + self.args
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("soom exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("soom did not start listening:\n" + self.log())

    def log(self):
        if self._log:
            self._log.flush()
        with open(self.log_path) as f:
            return f.read()

    def log_lines(self):
        """The log as parsed JSON lines (non-JSON lines are an error)."""
        lines = []
        for line in self.log().splitlines():
            if line.strip():
                lines.append(json.loads(line))
        return lines

    def connection(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """One request; returns (status, headers dict with lower-case names, body bytes)."""
        own = conn is None
        conn = conn or self.connection()
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        result = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        if own:
            conn.close()
        return result

    def json(self, method, path, body=None, headers=None, conn=None):
        status, hdrs, data = self.request(method, path, body, headers, conn)
        return status, hdrs, (json.loads(data) if data else None)

    def raw(self, data, read_timeout=5.0):
        """Sends raw bytes on a new connection; returns everything read until close/timeout."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout)
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before we finished sending; read what came back
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except socket.timeout:
                    break
                except ConnectionResetError:
                    # the server answered and closed with our data unread
                    break
                if not c:
                    break
                chunks.append(c)
                if _complete(b"".join(chunks)):
                    break
            return b"".join(chunks)
        finally:
            s.close()

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None


def run_soom(*args, cwd=None, env=None, timeout=60):
    """Runs `soom args...`; returns (exit code, stdout, stderr)."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([SOOM] + list(args), cwd=cwd, env=e, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def write_app(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    return root


def start_failure(app, env=None):
    srv = Server(app, env=env)
    srv.start(wait=False)
    try:
        code = srv.wait(30)  # a server that started after all is stopped below
        log = srv.log()
    finally:
        srv.stop()
    return code, log


class Database:
    """A fresh database on the PostgreSQL server of $DATABASE_URL (the test
    suite's, started by tests/run.sh), dropped by drop(). A test that needs
    PostgreSQL fails, never skips, when there is none."""

    counter = 0

    def __init__(self, base_url=None):
        base = base_url or os.environ.get("DATABASE_URL")
        if not base:
            raise AssertionError("DATABASE_URL is not set: start the test database "
                                 "(tests/support/pg.sh start) or run tests/run.sh")
        Database.counter += 1
        self.name = "soom_t_%d_%d" % (os.getpid(), Database.counter)
        head, _, _ = base.rpartition("/")
        self.admin = head + "/postgres"
        self.url = head + "/" + self.name
        self.psql(["-c", 'DROP DATABASE IF EXISTS "%s"' % self.name,
                   "-c", 'CREATE DATABASE "%s"' % self.name], url=self.admin)

    def psql(self, args, url=None, input=None):
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                            url or self.url] + list(args),
                           capture_output=True, text=True, input=input, timeout=120)
        if p.returncode != 0:
            raise AssertionError("psql failed: %s" % p.stderr)
        return p.stdout

    def sql(self, text):
        """Runs SQL; returns the rows as lists of strings."""
        out = self.psql(["-F", "\t", "-c", text])
        return [line.split("\t") for line in out.splitlines() if line]

    def scalar(self, text):
        rows = self.sql(text)
        return rows[0][0] if rows else None

    def drop(self):
        # FORCE cannot end a session of another role (an autovacuum worker
        # that just started on the new database): retry a moment later
        for attempt in range(20):
            try:
                self.psql(["-c", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name],
                          url=self.admin)
                return
            except AssertionError:
                time.sleep(0.25)
        print("note: database %s was left behind" % self.name)


def in_thread(fn, *args):
    """Runs fn(*args) in a thread; returns a function that joins it and returns its result."""
    box = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # reported by the joiner
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()

    def join(timeout=30):
        t.join(timeout)
        if t.is_alive():
            raise AssertionError("thread did not finish")
        if "error" in box:
            raise box["error"]
        return box.get("value")
    return join


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what or "value", expected, actual))


def main(namespace, prefix="test_"):
    tests = [(n, f) for n, f in namespace.items() if n.startswith(prefix) and callable(f)]
    passed = failed = 0
    only = os.environ.get("SOOM_TEST_ONLY")
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.time() - t0), flush=True)
        except BaseException:  # a failing test must not stop the others
            failed += 1
            print("FAIL %s (%.2fs)" % (name, time.time() - t0), flush=True)
            traceback.print_exc(file=sys.stdout)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)
