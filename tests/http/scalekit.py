"""Real scale-out components for the tests, on loopback: PgBouncer in
transaction mode, a streaming replica made with pg_basebackup -R, and
HAProxy in front of several soom processes; and Cluster, the private
PostgreSQL cluster a test file builds them on, with their teardown.

Each runs from a folder of its own under /tmp and is stopped by stop().
As root, PgBouncer and the replica's server run as the `postgres` system
user (both refuse root), as tests/support/pg.sh does for the primary.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness

PG_BIN = "/usr/lib/postgresql/15/bin"


def _is_root():
    return os.getuid() == 0


def _as_owner(cmd):
    return ["runuser", "-u", "postgres", "--"] + cmd if _is_root() else cmd


def _own(path):
    if _is_root():
        shutil.chown(path, "postgres", "postgres")


def _wait_port(port, timeout=20.0, proc=None, what="server"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("%s did not listen on %d" % (what, port))


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql %s: %s" % (url, p.stderr))
    return p.stdout.strip()


class Cluster:
    """A test file's private cluster (harness.private_cluster) and what
    `build(cluster)` makes on it (a PgBouncer, a replica, a database),
    made at the first get() and kept for the file's tests, which get()
    returns to each. teardown() runs the cleanups build() registered with
    on_teardown(), in their order, then stops the cluster; main() runs it
    after the tests."""

    def __init__(self, name, build):
        self.name = name
        self.env = None
        self._build = build
        self._made = None
        self._cleanups = []

    def get(self):
        if self._made is None:
            if self.env is None:
                self.env = harness.private_cluster(self.name)
            self._made = self._build(self)
        return self._made

    def url(self):
        """The cluster's own URL (not through what build() put in front of it)."""
        return harness.pg_sh("url", self.env)

    def on_teardown(self, fn):
        self._cleanups.append(fn)

    def teardown(self):
        for fn in self._cleanups:
            fn()
        if self.env is not None:
            harness.pg_sh("stop", self.env)


def main(namespace, cluster):
    """harness.main for a test file, then the cluster's teardown, whatever
    the tests did."""
    try:
        harness.main(namespace)
    finally:
        cluster.teardown()


class PgBouncer:
    """PgBouncer 1.18 in transaction mode in front of the server at
    `host:port`, every database through it (a wildcard entry), at most
    `pool_size` server connections per database and user."""

    def __init__(self, port, pool_size=2, host="127.0.0.1", reset_always=False):
        self.reset_always = reset_always
        self.server_port = port
        self.server_host = host
        self.pool_size = pool_size
        self.port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="soom-pgbouncer-")
        os.chmod(self.dir, 0o755)
        self.proc = None

    def url(self, db="soom"):
        return "postgresql://soom:soom@127.0.0.1:%d/%s" % (self.port, db)

    def _write_config(self):
        ini = os.path.join(self.dir, "pgbouncer.ini")
        users = os.path.join(self.dir, "users.txt")
        with open(users, "w") as f:
            f.write('"soom" "soom"\n')
        with open(ini, "w") as f:
            f.write("""[databases]
* = host=%s port=%d
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = plain
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
server_reset_query = %s
server_reset_query_always = %d
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile = %s
""" % (self.server_host, self.server_port, self.port, users, self.pool_size,
                "DISCARD ALL" if self.reset_always else "", 1 if self.reset_always else 0,
                os.path.join(self.dir, "pgbouncer.log"), os.path.join(self.dir, "pgbouncer.pid")))
        for p in (ini, users):
            _own(p)
        _own(self.dir)
        return ini

    def start(self):
        ini = self._write_config()
        self.proc = subprocess.Popen(_as_owner(["pgbouncer", ini]), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_port(self.port, proc=self.proc, what="pgbouncer")
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # immediate shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def log(self):
        try:
            with open(os.path.join(self.dir, "pgbouncer.log")) as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Replica:
    """A streaming replica of the cluster `primary_env` names (a
    harness.private_cluster), made with pg_basebackup -R, on a port of its
    own, logging every statement (so a test can see what it served)."""

    def __init__(self, primary_env):
        self.primary_port = int(primary_env["SOOM_TEST_PG_PORT"])
        primary_socket = os.path.join(primary_env["SOOM_TEST_PG_DIR"], "run")
        self.port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="soom-replica-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "postgres.log")
        _own(self.dir)
        p = subprocess.run(_as_owner([os.path.join(PG_BIN, "pg_basebackup"), "-h", primary_socket,
                                      "-p", str(self.primary_port), "-U", "postgres", "-D",
                                      self.data, "-R", "-X", "stream", "-c", "fast"]),
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PGPASSWORD="soom"))
        if p.returncode != 0:
            raise AssertionError("pg_basebackup: %s" % p.stderr)

    def url(self, db="soom"):
        return "postgresql://soom:soom@127.0.0.1:%d/%s" % (self.port, db)

    def start(self):
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c log_statement=all "
                "-c hot_standby_feedback=on" % (self.port, self.dir))
        p = subprocess.run(_as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l",
                                      self.logfile, "-o", opts, "-w", "start"]),
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("replica start: %s %s" % (p.stdout, self.log()))
        return self

    def stop(self):
        subprocess.run(_as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast",
                                  "-w", "stop"]), capture_output=True, timeout=60)

    def sql(self, text, db="soom"):
        return psql(self.url(db), text)

    def admin_sql(self, text):
        """As the superuser, over the replica's unix socket."""
        return psql("postgresql://postgres@/postgres?host=%s&port=%d" % (self.dir, self.port),
                    text)

    def wait_replayed(self, primary_url, timeout=20):
        """Waits until the replica has replayed what the primary wrote so far."""
        target = psql(primary_url, "SELECT pg_current_wal_insert_lsn()")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.admin_sql("SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn" % target) == "t":
                return
            time.sleep(0.05)
        raise AssertionError("the replica did not replay up to %s" % target)

    def log(self):
        try:
            with open(self.logfile) as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class HAProxy:
    """HAProxy on a free loopback port, balancing HTTP requests round robin
    over `ports` (one request per connection to the backends, so each
    request picks the next backend)."""

    def __init__(self, ports):
        self.ports = ports
        self.port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="soom-haproxy-")
        self.proc = None

    def start(self):
        servers = "".join("    server s%d 127.0.0.1:%d\n" % (i, p)
                          for i, p in enumerate(self.ports))
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("""global
    maxconn 256
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-server-close
    option forwardfor
frontend api
    bind 127.0.0.1:%d
    default_backend soom
backend soom
    balance roundrobin
    http-response set-header X-Served-By %%[srv_name]
%s""" % (self.port, servers))
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_port(self.port, proc=self.proc, what="haproxy")
        return self

    # requests through the balancer, as to a soom server
    connection = harness.Server.connection
    request = harness.Server.request
    json = harness.Server.json

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
