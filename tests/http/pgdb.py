"""PostgreSQL for the Python tests of the database layer: a fresh database
per test file on the cluster of tests/support/pg.sh (started here if ctest
did not already), dropped at exit. A missing server is a failure, never a
skip."""

import atexit
import os
import shutil
import subprocess
import tempfile

SOURCE = os.environ.get("SOOM_SOURCE") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
PG_SH = os.environ.get("SOOM_TEST_PG_SH") or os.path.join(SOURCE, "tests", "support", "pg.sh")


def pg_sh(*args, check=True):
    p = subprocess.run([PG_SH] + list(args), capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("tests/support/pg.sh %s failed (%d):\n%s%s"
                             % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def psql_bin():
    root = "/usr/lib/postgresql"
    dirs = ["%s/15/bin" % root] + sorted("%s/%s/bin" % (root, v) for v in
                                        (os.listdir(root) if os.path.isdir(root) else []))
    for d in dirs:
        if os.path.exists(os.path.join(d, "psql")):
            return os.path.join(d, "psql")
    return "psql"


def psql(url, sql):
    """Runs sql on the database at url; returns psql's unaligned output."""
    p = subprocess.run([psql_bin(), "-v", "ON_ERROR_STOP=1", "-qAtX", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql failed: %s\n%s" % (sql, p.stderr))
    return p.stdout


def fresh_database(prefix):
    """Creates an empty database; returns its URL. It is dropped at exit."""
    pg_sh("start")
    base = pg_sh("url").strip()
    name = "%s_%d" % (prefix, os.getpid())
    psql(base, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    psql(base, 'CREATE DATABASE "%s"' % name)
    atexit.register(lambda: subprocess.run(
        [psql_bin(), "-qAtX", "-d", base, "-c", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name],
        capture_output=True, timeout=60))
    return base.rsplit("/", 1)[0] + "/" + name


def temp_dir(prefix):
    """A temporary folder removed at exit (clusters under it included)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path
