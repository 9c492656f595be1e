"""`soom test`: its own database, never stopping a cluster another process
uses (a `soom run` beside it on the embedded database keeps answering),
every case starting from empty tables, one file or one case (-k) run alone,
failures that show the expected and actual values and the request behind
them, and --junit XML."""

import os
import subprocess
import xml.etree.ElementTree as ET

from harness import Database, Server, eq, main, run_soom, write_app
from pgdb import temp_dir

MIGRATION = "CREATE TABLE booking (id serial PRIMARY KEY, note text NOT NULL);\n"

RESOURCE = r'''
local soom = require "soom"
local db = require "soom.db"
return soom.Resource {
    route = "/bookings",
    get = function()
        return { n = db.one("SELECT count(*)::int AS n FROM booking").n }
    end,
    post = function(self, req)
        return db.one("INSERT INTO booking (note) VALUES ($1) RETURNING id", req.body.note), 201
    end,
}
'''

# Each case inserts one row and expects the table empty before: the second
# passes only when the runner emptied the table between the cases.
BOOKINGS = r'''
local t = require "soom.test"
local function inserts(name)
    return t.case(name, function(client)
        t.eq(client:get("/bookings").json, { n = 0 }, "rows at the start")
        local res = client:post("/bookings", { note = name })
        t.eq(res.status, 201)
        t.eq(res.json, { id = 1 }, "the sequence starts again")
        t.eq(client:get("/bookings").json, { n = 1 })
    end)
end
return { inserts("first inserts a row"), inserts("second inserts a row") }
'''

OTHER = r'''
local t = require "soom.test"
return {
    t.case("other answers", function(client)
        t.eq(client:get("/bookings").status, 200)
    end),
}
'''

FAILING = r'''
local t = require "soom.test"
return {
    t.case("expects a teapot", function(client)
        local res = client:post("/bookings", { note = "tea" })
        t.eq(res.status, 418, "status")
    end),
    t.case("passes", function(client)
        t.eq(client:get("/bookings").json, { n = 0 })
    end),
}
'''


def new_app(name, tests):
    root = temp_dir("soom-testrunner-")
    files = {
        "app.lua": 'return { name = "%s" }\n' % name,
        "migrations/0001_booking.sql": MIGRATION,
        "resources/bookings.lua": RESOURCE,
    }
    for fname, text in tests.items():
        files["tests/" + fname] = text
    return write_app(os.path.join(root, name), files)


def soom_test(*args, env=None):
    code, out, err = run_soom("test", *args, env=env, timeout=180)
    return code, "\n".join(l for l in out.splitlines() if not l.startswith('{"time"')), err


def stop_cluster(app):
    """The cluster under app/.soom, stopped whatever the test did."""
    data = os.path.join(app, ".soom", "pgdata")
    if not os.path.isdir(data):
        return
    pg_ctl = [os.path.join(d, "pg_ctl") for d in
              sorted(("/usr/lib/postgresql/%s/bin" % v for v in os.listdir("/usr/lib/postgresql")),
                     reverse=True)][0]
    cmd = [pg_ctl, "stop", "-D", data, "-m", "immediate"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, capture_output=True, timeout=60)


def test_beside_a_running_server_on_the_embedded_database():
    app = new_app("desk", {"test_bookings.lua": BOOKINGS})
    srv = Server(app, env={"DATABASE_URL": ""})
    srv.start(wait=False)
    try:
        srv.wait_ready(timeout=90)
        status, _, body = srv.json("POST", "/bookings", {"note": "kept"})
        eq(status, 201, "the dev server writes")
        code, out, err = soom_test(app, env={"DATABASE_URL": ""})
        eq(code, 0, "soom test passes:\n%s\n%s" % (out, err))
        assert "ok   test_bookings.lua: first inserts a row" in out, out
        assert "ok   test_bookings.lua: second inserts a row" in out, out
        assert "2 passed, 0 failed" in out, out
        status, _, body = srv.json("GET", "/bookings")
        eq((status, body), (200, {"n": 1}), "the dev server still answers, from its own database")
    finally:
        srv.stop()
        stop_cluster(app)
    assert not os.path.exists(os.path.join(app, ".soom/run/.s.PGSQL.5432")), \
        "the cluster stopped with the last process using it:\n" + srv.log()


def test_each_case_starts_from_empty_tables():
    app = new_app("empty", {"test_bookings.lua": BOOKINGS})
    code, out, err = soom_test(app)
    eq(code, 0, "%s\n%s" % (out, err))
    assert "2 passed, 0 failed" in out, out


def test_one_file_and_one_case():
    app = new_app("alone", {"test_bookings.lua": BOOKINGS, "test_other.lua": OTHER})
    code, out, err = soom_test(os.path.join(app, "tests", "test_other.lua"))
    eq(code, 0, "%s\n%s" % (out, err))
    eq(out.splitlines(), ["ok   test_other.lua: other answers", "1 passed, 0 failed"])
    code, out, err = soom_test(os.path.join(app, "tests", "test_bookings.lua"), "-k", "second")
    eq(code, 0, "%s\n%s" % (out, err))
    eq(out.splitlines(), ["ok   test_bookings.lua: second inserts a row", "1 passed, 0 failed"])
    code, out, _ = soom_test(app, "--keyword", "answers")
    eq(out.splitlines(), ["ok   test_other.lua: other answers", "1 passed, 0 failed"])
    code, out, _ = soom_test(app, "-k", "nothing like this")
    eq(code, 1, "no case matched: a failure, not a silent pass")
    assert 'no case matches "nothing like this"' in out, out


def test_a_failure_shows_values_and_the_request():
    app = new_app("fails", {"test_fail.lua": FAILING})
    junit = os.path.join(os.path.dirname(app), "results.xml")
    code, out, err = soom_test(app, "--junit", junit)
    eq(code, 1, "%s\n%s" % (out, err))
    assert "FAIL test_fail.lua: expects a teapot" in out, out
    assert "status: expected 418, got 201" in out, out
    assert 'request: POST /bookings {"note":"tea"}' in out, out
    assert '-> 201 {"id":1}' in out, out
    assert "soom/test.lua" not in out, "the runner's own frames are left out:\n" + out
    assert "1 passed, 1 failed" in out, out
    suites = ET.parse(junit).getroot()
    eq((suites.tag, suites.get("tests"), suites.get("failures")), ("testsuites", "2", "1"))
    suite = suites.find("testsuite")
    eq((suite.get("name"), suite.get("tests"), suite.get("failures")), ("test_fail", "2", "1"))
    cases = suite.findall("testcase")
    eq([c.get("name") for c in cases], ["expects a teapot", "passes"])
    failure = cases[0].find("failure")
    assert "expected 418, got 201" in failure.get("message"), failure.get("message")
    assert "request: POST /bookings" in failure.text, failure.text
    eq(cases[1].find("failure"), None)


def test_on_the_server_of_database_url():
    db = Database()
    app = new_app("given", {"test_bookings.lua": BOOKINGS})
    code, out, err = soom_test(app, env={"DATABASE_URL": db.url})
    eq(code, 0, "%s\n%s" % (out, err))
    eq(db.psql(["-c", "SELECT count(*) FROM pg_database WHERE datname LIKE 'soom_test_given_%'"]).strip(),
       "0", "the test database is dropped")
    eq(db.psql(["-c", "SELECT count(*) FROM pg_tables WHERE tablename = 'booking'"]).strip(), "0",
       "the database of DATABASE_URL is left alone")


if __name__ == "__main__":
    main(globals())
