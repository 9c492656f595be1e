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
PgBouncer restart. With the settings held by the role's defaults they run
once more through a PgBouncer that keeps its server sessions as they are,
where statements outside of a transaction are prepared under a name of
their text (database.shared_statements) and found by every client.
"""

import os
import subprocess
import sys
import tempfile
import threading

import scalekit
from harness import Database, Server, eq, write_app

HERE = os.path.dirname(os.path.abspath(__file__))
SUITES = ["test_db_query.py", "test_generics.py", "test_pagination.py"]
POOLER = {"SOOM_DATABASE__POOLER": "pgbouncer-transaction"}


def pooled_server(source, url, **env):
    """soom serving the app.lua `source` behind the pooler at `url`."""
    return Server(write_app(tempfile.mkdtemp(), source),
                  env=dict(POOLER, DATABASE_URL=url, **env)).start()
# what Soom needs, and what a role's defaults can hold (docs/SCALING.md)
HELD = ("bytea_output = 'hex'", "IntervalStyle = 'iso_8601'", "DateStyle = 'ISO, YMD'",
        "TimeZone = 'UTC'", "extra_float_digits = 1", "statement_timeout = 30000")
ODD = ("bytea_output = 'escape'", "IntervalStyle = 'postgres'", "DateStyle = 'SQL, DMY'",
       "TimeZone = 'Asia/Tokyo'", "extra_float_digits = 0")


def build(cluster):
    url = cluster.url()
    # what a neighbour's settings, or a role's defaults, leave on a session
    for setting in ODD:
        scalekit.psql(url, "ALTER ROLE soom SET " + setting)
    b = scalekit.PgBouncer(int(cluster.env["SOOM_TEST_PG_PORT"]), pool_size=2, reset_always=True)
    cluster.on_teardown(b.cleanup)
    b.start()
    return b


CLUSTER = scalekit.Cluster("bouncer", build)


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
    b = CLUSTER.get()
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
    b = CLUSTER.get()
    db = Database(b.url())
    srv = pooled_server(APP, db.url, SOOM_POOL__STATEMENT_TIMEOUT_MS="1234", SOOM_POOL__MIN="4")
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
    b = CLUSTER.get()
    db = Database(b.url())
    # set directly, before PgBouncer opens a session to the database: a
    # session takes the role's defaults when it starts
    direct = CLUSTER.url()
    for setting in ("bytea_output = 'hex'", "IntervalStyle = 'iso_8601'",
                    "DateStyle = 'ISO, YMD'", "TimeZone = 'UTC'", "extra_float_digits = 1",
                    "statement_timeout = 1234"):
        scalekit.psql(direct, 'ALTER ROLE soom IN DATABASE "%s" SET %s' % (db.name, setting))
    srv = pooled_server(APP, db.url, SOOM_POOL__STATEMENT_TIMEOUT_MS="1234")
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


SHARED_APP = {
    "resources/shared.lua": """
local soom = require "soom"
return {
    soom.Resource {
        route = "/prepared",
        get = function()
            local rows = soom.db.query([[SELECT name, statement FROM pg_prepared_statements
                WHERE name LIKE 'soom_s%' ORDER BY name]])
            return { statements = rows }
        end,
    },
    soom.Resource {
        route = "/div/{by:int}",
        get = function(_, req)
            return soom.db.one("SELECT 840 / $1::int AS n", req.params.by)
        end,
    },
}
""",
}
PREPARED_SQL = """SELECT name, statement FROM pg_prepared_statements
                WHERE name LIKE 'soom_s%' ORDER BY name"""


def held_database(bouncer):
    """A fresh database through `bouncer` whose role defaults hold the
    settings (set directly, before PgBouncer opens a session to it)."""
    db = Database(bouncer.url())
    direct = CLUSTER.url()
    for setting in HELD:
        scalekit.psql(direct, 'ALTER ROLE soom IN DATABASE "%s" SET %s' % (db.name, setting))
    return db


def drop_held(db):
    direct = CLUSTER.url()
    scalekit.psql(direct, 'ALTER ROLE soom IN DATABASE "%s" RESET ALL' % db.name)
    db.drop()


def test_shared_statements_are_found_on_every_server_session():
    """Outside of a transaction a statement is a named prepared statement
    whose name comes from its text: the server session that runs it has it
    (prepared by this client or another one), in every request; many
    clients over 2 server sessions, concurrently, all get their answers,
    and a statement's own error is reported as such."""
    CLUSTER.get()
    b = scalekit.PgBouncer(int(CLUSTER.env["SOOM_TEST_PG_PORT"]), pool_size=2).start()
    db = held_database(b)
    srv = pooled_server(SHARED_APP, db.url, SOOM_POOL__MAX="8")
    try:
        for _ in range(20):
            status, _, doc = srv.json("GET", "/prepared")
            eq(status, 200, "pg_prepared_statements read")
            mine = [r for r in doc["statements"] if r["statement"] == PREPARED_SQL]
            eq(len(mine), 1, "the statement is prepared on the session that ran it: %r" % doc)
            assert mine[0]["name"].startswith("soom_s"), mine
        answers, errors = [], []

        def client(k):
            try:
                for i in range(1, 21):
                    by = (k * 20 + i) % 7 + 1
                    st, _, d = srv.json("GET", "/div/%d" % by)
                    answers.append((st, d, {"n": 840 // by}))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eq(errors, [])
        eq(len(answers), 160)
        for st, d, want in answers:
            eq((st, d), (200, want))
        status, _, _ = srv.json("GET", "/div/0")
        eq(status, 422, "division by zero is the statement's own error (a data exception)")
        eq(srv.json("GET", "/div/2")[:3:2], (200, {"n": 420}))
        assert "keep losing" not in srv.log(), srv.log()
    finally:
        srv.stop()
        drop_held(db)
        b.cleanup()


def test_shared_statements_pause_where_sessions_are_reset():
    """A PgBouncer that resets every server session after each transaction
    (server_reset_query_always) keeps no statement: after a window of
    misses the connection sends its statements unnamed, and says so."""
    b = CLUSTER.get()
    db = held_database(b)
    srv = pooled_server(SHARED_APP, db.url, SOOM_POOL__MAX="1")
    try:
        for i in range(64):
            status, _, doc = srv.json("GET", "/prepared")
            eq(status, 200)
            eq(len(doc["statements"]), 1, "prepared again in request %d: %r" % (i, doc))
        assert "keep losing their prepared statements" in srv.log(), srv.log()
        for _ in range(5):
            status, _, doc = srv.json("GET", "/prepared")
            eq((status, doc), (200, {"statements": []}), "unnamed once paused")
    finally:
        srv.stop()
        drop_held(db)


STALE_APP = {
    "resources/stale.lua": """
local soom = require "soom"
return {
    soom.Resource {
        route = "/things",
        get = function()
            local rows = soom.db.query("SELECT * FROM thing ORDER BY id")
            local p = soom.db.one([[SELECT prepare_time::text AS at FROM pg_prepared_statements
                WHERE statement = 'SELECT * FROM thing ORDER BY id']])
            return { rows = rows, prepared_at = p and p.at }
        end,
    },
}
""",
}


def test_a_stale_shared_statement_is_replaced_on_its_session():
    """A shared statement whose result type changed (ALTER TABLE) is
    replaced on the server session that held it: the next read there finds
    the new one, instead of failing on the old one at every run."""
    CLUSTER.get()
    b = scalekit.PgBouncer(int(CLUSTER.env["SOOM_TEST_PG_PORT"]), pool_size=1).start()
    db = held_database(b)
    direct = db.url.replace("127.0.0.1:%d" % b.port,
                            "127.0.0.1:%s" % CLUSTER.env["SOOM_TEST_PG_PORT"])
    scalekit.psql(direct, "CREATE TABLE thing (id int, v int); INSERT INTO thing VALUES (1, 2)")
    srv = pooled_server(STALE_APP, db.url)
    try:
        status, _, first = srv.json("GET", "/things")
        eq((status, first["rows"]), (200, [{"id": 1, "v": 2}]))
        assert first["prepared_at"], first
        eq(srv.json("GET", "/things")[2]["prepared_at"], first["prepared_at"], "found again")
        scalekit.psql(direct, "ALTER TABLE thing ALTER COLUMN v TYPE text")
        status, _, after = srv.json("GET", "/things")
        eq((status, after["rows"]), (200, [{"id": 1, "v": "2"}]), "after the change")
        assert after["prepared_at"] != first["prepared_at"], "replaced: %r" % after
        eq(srv.json("GET", "/things")[2]["prepared_at"], after["prepared_at"], "the new one found")
    finally:
        srv.stop()
        drop_held(db)
        b.cleanup()


def test_shared_statements_can_be_turned_off():
    """database.shared_statements = false: statements behind the pooler go
    unnamed, as they did before (Parse/Bind/Execute every time)."""
    CLUSTER.get()
    b = scalekit.PgBouncer(int(CLUSTER.env["SOOM_TEST_PG_PORT"]), pool_size=2).start()
    db = held_database(b)
    srv = pooled_server(SHARED_APP, db.url, SOOM_DATABASE__SHARED_STATEMENTS="false")
    try:
        for _ in range(5):
            eq(srv.json("GET", "/prepared")[::2], (200, {"statements": []}))
    finally:
        srv.stop()
        drop_held(db)
        b.cleanup()


def test_the_suites_pass_with_shared_statements():
    """The database suites through a PgBouncer that keeps its server
    sessions, with every session of the role holding the settings: every
    statement outside of a transaction goes as a shared statement."""
    CLUSTER.get()
    direct = CLUSTER.url()
    for setting in HELD:
        scalekit.psql(direct, "ALTER ROLE soom SET " + setting)
    b = scalekit.PgBouncer(int(CLUSTER.env["SOOM_TEST_PG_PORT"]), pool_size=2).start()
    try:
        # the suites' fresh databases hold the settings as this one does
        db = Database(b.url())
        srv = pooled_server(SHARED_APP, db.url)
        try:
            doc = srv.json("GET", "/prepared")[2]
            eq([r["statement"] for r in doc["statements"]], [PREPARED_SQL], "shared")
        finally:
            srv.stop()
            db.drop()
        failed = run_suites(b.url(), POOLER)
        assert not failed, "with shared statements:\n" + "\n".join(failed)
    finally:
        b.cleanup()
        scalekit.psql(direct, "ALTER ROLE soom RESET ALL")
        for setting in ODD:
            scalekit.psql(direct, "ALTER ROLE soom SET " + setting)


def test_startup_warns_of_incompatible_settings():
    b = CLUSTER.get()
    srv = pooled_server(APP, b.url(), SOOM_POOL__PREPARED="true")
    try:
        eq(srv.json("GET", "/session")[0], 200)
        lines = [l for l in srv.log_lines() if l.get("level") == "warn"]
        assert any("pool.prepared" in l.get("msg", "") for l in lines), srv.log()
    finally:
        srv.stop()


if __name__ == "__main__":
    scalekit.main(globals(), CLUSTER)
