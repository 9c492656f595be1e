"""soom.core.pgserver, the app's own PostgreSQL: the cluster is made under
APP_DIR/.soom on the first start and reused by the next, listens on a unix
socket only, gets the app's database migrated, and stops; missing server
binaries are reported with what to install; `soom run` without
DATABASE_URL serves an app from it."""

import json
import os
import stat

from harness import Server, eq, main, run_soom, write_app
from pgdb import temp_dir

CASE = r'''
local soom = require "soom"
local db = require "soom.db"
local json = require "soom.json"
local pgserver = require "soom.core.pgserver"

return soom.command {
    arguments = { { "app", required = true }, { "mode", default = "normal" } },
    run = function(args)
        if args.mode == "missing" then
            local ok, err = pcall(pgserver.start, args.app, { search = { "/nonexistent/bin" }, path = "" })
            io.write(json.encode({ ok = ok, err = tostring(err) }), "\n")
            return
        end
        local url, cl = pgserver.start(args.app, { quiet = true })
        db.use(url)
        db.query("INSERT INTO visit DEFAULT VALUES")
        local out = {
            url = url,
            created = cl.initialised,
            visits = db.one("SELECT count(*) AS n FROM visit").n,
            migrations = db.query("SELECT name FROM soom_migrations ORDER BY name"),
            listen = db.one("SHOW listen_addresses").listen_addresses,
            database = db.one("SELECT current_database() AS d").d,
            running = pgserver.running(),
        }
        db.close()
        db.use(nil)
        pgserver.stop()
        out.running_after = pgserver.running()
        io.write(json.encode(out), "\n")
    end,
}
'''

MIGRATION = "CREATE TABLE visit (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());\n"

RESOURCE = r'''
local soom = require "soom"
local db = require "soom.db"
return soom.Resource {
    route = "/visits",
    get = function()
        return db.one("SELECT count(*) AS n, current_database() AS db FROM visit")
    end,
    post = function()
        return db.one("INSERT INTO visit DEFAULT VALUES RETURNING id"), 201
    end,
}
'''


def new_app(name):
    root = temp_dir("soom-pgserver-")
    return write_app(os.path.join(root, name), {
        "app.lua": 'return { name = "%s" }\n' % name,
        "migrations/0001_visit.sql": MIGRATION,
        "commands/pgcase.lua": CASE,
        "resources/visits.lua": RESOURCE,
    })


def case(app, mode="normal"):
    code, out, err = run_soom("--app", app, "pgcase", "--app", app, "--mode", mode,
                              env={"DATABASE_URL": ""}, timeout=180)
    assert code == 0, "pgcase failed (%d):\n%s\n%s" % (code, out, err)
    lines = [line for line in out.splitlines() if line.startswith("{") and '"time"' not in line]
    return json.loads(lines[-1]), err


def test_start_stop_twice_reuses_the_cluster():
    app = new_app("My-App")
    first, err = case(app)
    eq(first["created"], True)
    eq(first["visits"], 1)
    eq(first["migrations"], [{"name": "0001_visit.sql"}])
    eq(first["listen"], "", "no TCP")
    eq(first["database"], "my_app", "named after the app")
    assert first["url"].startswith("postgresql://soom@/my_app?host=" + app + "/.soom/run"), first
    eq((first["running"], first["running_after"]), (True, False))
    assert os.path.isfile(os.path.join(app, ".soom/pgdata/PG_VERSION"))
    assert not os.path.exists(os.path.join(app, ".soom/run/.s.PGSQL.5432")), "stopped"
    mode = stat.S_IMODE(os.stat(os.path.join(app, ".soom/run")).st_mode)
    eq(mode, 0o700, "only the server's user may reach the socket")
    if os.geteuid() == 0:
        eq(os.stat(os.path.join(app, ".soom/pgdata")).st_uid,
           __import__("pwd").getpwnam("postgres").pw_uid, "as root the server runs as postgres")
        assert "search permission" in err, err  # mkdtemp made a 0700 folder
    second, _ = case(app)
    eq(second["created"], False, "the second start reuses the cluster")
    eq(second["visits"], 2, "and its data")
    eq(second["migrations"], [{"name": "0001_visit.sql"}])
    eq(second["running_after"], False)


def test_missing_binaries_say_what_to_install():
    app = new_app("nobin")
    out, _ = case(app, "missing")
    eq(out["ok"], False)
    assert "apt-get install postgresql" in out["err"], out
    assert "DATABASE_URL" in out["err"], out


def test_soom_run_serves_from_its_own_database():
    app = new_app("served")
    srv = Server(app, env={"DATABASE_URL": ""})
    srv.start(wait=False)
    try:
        srv.wait_ready(timeout=90)
        status, _, body = srv.json("POST", "/visits")
        eq(status, 201)
        status, _, body = srv.json("GET", "/visits")
        eq((status, body), (200, {"n": 1, "db": "served"}))
    finally:
        srv.stop()
    assert not os.path.exists(os.path.join(app, ".soom/run/.s.PGSQL.5432")), \
        "stopped with the server:\n" + srv.log()


if __name__ == "__main__":
    main(globals())
