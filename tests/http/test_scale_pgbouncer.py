"""Soom behind a real PgBouncer 1.18 in transaction mode
(database.pooler = "pgbouncer-transaction"; docs/SCALING.md).

The cluster is the test's own, with session defaults for the role that
differ from what Soom's converters need (bytea_output, IntervalStyle,
DateStyle, TimeZone), and PgBouncer resets every server session after each
transaction (server_reset_query_always): a client that relied on session
state it set at connect (SET at connect, named prepared statements) sees it
vanish after its first transaction, as it does when other clients share the
server sessions. PgBouncer has 2 server connections per database, fewer
than Soom's pool of 8.

The database suites (test_db_query, test_generics, test_pagination; not
test_pool, whose tests stop the database and terminate backends by pid,
which mean other things through a pooler) run through it, then again after
PgBouncer was restarted; a long-running server keeps answering across a
PgBouncer restart.
"""

import os
import subprocess
import sys
import tempfile

import scalekit
from harness import Database, Server, eq, main, pg_sh, private_cluster, write_app

HERE = os.path.dirname(os.path.abspath(__file__))
SUITES = ["test_db_query.py", "test_generics.py", "test_pagination.py"]
POOLER = {"SOOM_DATABASE__POOLER": "pgbouncer-transaction"}

state = {}


def setup():
    if "bouncer" in state:
        return state["bouncer"]
    state["env"] = env = private_cluster("bouncer")
    url = pg_sh("url", env)
    # what a neighbour's settings, or a role's defaults, leave on a session
    for setting in ("bytea_output = 'escape'", "IntervalStyle = 'postgres'",
                    "DateStyle = 'SQL, DMY'", "TimeZone = 'Asia/Tokyo'", "extra_float_digits = 0"):
        scalekit.psql(url, "ALTER ROLE soom SET " + setting)
    b = scalekit.PgBouncer(int(env["SOOM_TEST_PG_PORT"]), pool_size=2, reset_always=True)
    state["bouncer"] = b
    b.start()
    return b


def run_suites(url, extra):
    env = dict(os.environ, DATABASE_URL=url, **extra)
    env.pop("SOOM_TEST_ONLY", None)
    failed = []
    for s in SUITES:
        p = subprocess.run([sys.executable, os.path.join(HERE, s)], env=env, capture_output=True,
                           text=True, timeout=240)
        if p.returncode != 0:
            failed.append("%s:\n%s" % (s, p.stdout[-3000:]))
    return failed


def test_the_suites_pass_through_pgbouncer_and_after_its_restart():
    b = setup()
    failed = run_suites(b.url(), POOLER)
    assert not failed, "through PgBouncer:\n" + "\n".join(failed)
    b.restart()
    failed = run_suites(b.url(), POOLER)
    assert not failed, "after PgBouncer's restart:\n" + "\n".join(failed)


APP = {
    "resources/db.lua": """
local soom = require "soom"
return {
    soom.Resource {
        route = "/session",
        get = function()
            local row = soom.db.one([[SELECT current_setting('statement_timeout') AS timeout,
                '\\x00ff'::bytea AS raw, interval '1 day 2 hours' AS span,
                '2026-11-29 02:13:31+00'::timestamptz AS at]])
            local hex = row.raw:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end)
            return { timeout = row.timeout, raw = hex, span = row.span, at = row.at }
        end,
    },
    soom.Resource {
        route = "/tx",
        post = function()
            return soom.db.transaction(function(tx)
                local row = tx:one([[SELECT current_setting('statement_timeout') AS timeout,
                    current_setting('IntervalStyle') AS style, txid_current() AS tx]])
                local again = tx:one("SELECT txid_current() AS tx")
                return { timeout = row.timeout, style = row.style, same = row.tx == again.tx }
            end), 200
        end,
    },
}
""",
}


def test_per_request_settings_and_restart():
    """Each statement and transaction carries the settings (statement_timeout
    included) whatever session PgBouncer hands out; a PgBouncer restart under
    a running server costs no request once it is back."""
    b = setup()
    db = Database(b.url())
    tmp = tempfile.mkdtemp()
    srv = Server(write_app(tmp, APP), env=dict(POOLER, DATABASE_URL=db.url,
                                               SOOM_POOL__STATEMENT_TIMEOUT_MS="1234",
                                               SOOM_POOL__MIN="4")).start()
    try:
        want = {"timeout": "1234ms", "raw": "00ff", "span": "P1DT2H",
                "at": "2026-11-29T02:13:31+00:00"}
        for _ in range(20):
            status, _, doc = srv.json("GET", "/session")
            eq(status, 200, "session read")
            eq(doc, want)
            status, _, doc = srv.json("POST", "/tx", {})
            eq((status, doc), (200, {"timeout": "1234ms", "style": "iso_8601", "same": True}))
        b.restart()
        for _ in range(20):
            status, _, doc = srv.json("GET", "/session")
            eq((status, doc), (200, want), "after the restart")
        log = srv.log()
        assert "each transaction sets the session settings" in log, log
    finally:
        srv.stop()
        db.drop()


def test_settings_held_by_the_role_go_without_a_statement():
    """When every session of the role has the settings from its defaults
    (ALTER ROLE ... IN DATABASE ... SET), statements go without them."""
    b = setup()
    db = Database(b.url())
    # set directly, before PgBouncer opens a session to the database: a
    # session takes the role's defaults when it starts
    direct = pg_sh("url", state["env"])
    for setting in ("bytea_output = 'hex'", "IntervalStyle = 'iso_8601'",
                    "DateStyle = 'ISO, YMD'", "TimeZone = 'UTC'", "extra_float_digits = 1",
                    "statement_timeout = 1234"):
        scalekit.psql(direct, 'ALTER ROLE soom IN DATABASE "%s" SET %s' % (db.name, setting))
    tmp = tempfile.mkdtemp()
    srv = Server(write_app(tmp, APP), env=dict(POOLER, DATABASE_URL=db.url,
                                               SOOM_POOL__STATEMENT_TIMEOUT_MS="1234")).start()
    try:
        for _ in range(10):
            eq(srv.json("GET", "/session")[2], {"timeout": "1234ms", "raw": "00ff",
                                                "span": "P1DT2H", "at": "2026-11-29T02:13:31+00:00"})
            eq(srv.json("POST", "/tx", {})[2], {"timeout": "1234ms", "style": "iso_8601",
                                                "same": True})
        assert "the role's defaults hold the session settings" in srv.log(), srv.log()
    finally:
        srv.stop()
        scalekit.psql(direct, 'ALTER ROLE soom IN DATABASE "%s" RESET ALL' % db.name)
        db.drop()


def test_startup_warns_of_incompatible_settings():
    b = setup()
    tmp = tempfile.mkdtemp()
    srv = Server(write_app(tmp, APP), env=dict(POOLER, DATABASE_URL=b.url(),
                                               SOOM_POOL__PREPARED="true")).start()
    try:
        eq(srv.json("GET", "/session")[0], 200)
        lines = [l for l in srv.log_lines() if l.get("level") == "warn"]
        assert any("pool.prepared" in l.get("msg", "") for l in lines), srv.log()
    finally:
        srv.stop()


def teardown():
    if "bouncer" in state:
        state["bouncer"].cleanup()
    if "env" in state:
        pg_sh("stop", state["env"])


if __name__ == "__main__":
    try:
        main(globals())
    finally:
        teardown()
