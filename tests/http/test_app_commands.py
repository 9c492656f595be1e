"""An app's own commands and `soom shell` run in the app's environment, as
`soom run` would serve it: its effective settings and soom.db on its
database (the embedded one under .soom/ when DATABASE_URL is unset, or the
server of DATABASE_URL); and the Lua search path: the app's folder, Soom's
Lua layer, then LUA_PATH or the system's Lua 5.1 folders, where Debian's
lua-* packages are (lua-socket, lua-inspect: .ci/setup installs them)."""

import os

from harness import Database, Server, eq, main, run_soom, write_app
from pgdb import temp_dir
from test_testrunner import stop_cluster

MIGRATION = "CREATE TABLE booking (id serial PRIMARY KEY, note text NOT NULL);\n"

EXPIRE = r'''
local soom = require "soom"
local db = require "soom.db"
return soom.command {
    description = "Adds a row and counts them",
    arguments = { { "note", default = "expired" } },
    run = function(args)
        db.query("INSERT INTO booking (note) VALUES ($1)", args.note)
        local row = db.one("SELECT count(*)::int AS n, current_database() AS db FROM booking")
        print(("%d rows in %s, port setting %s"):format(row.n, row.db, soom.settings.port))
    end,
}
'''

HELLO = r'''
local soom = require "soom"
return soom.command { run = function() print("hello without a database") end }
'''

RESOURCE = r'''
local soom = require "soom"
local db = require "soom.db"
return soom.Resource {
    route = "/ping",
    get = function() return { rows = db.one("SELECT count(*)::int AS n FROM booking").n } end,
}
'''


def new_app(name):
    root = temp_dir("soom-appcmd-")
    return write_app(os.path.join(root, name), {
        "app.lua": 'return { name = "%s" }\n' % name,
        "settings.lua": "return { port = 8123 }\n",
        "migrations/0001_booking.sql": MIGRATION,
        "commands/expire.lua": EXPIRE,
        "commands/hello.lua": HELLO,
        "resources/ping.lua": RESOURCE,
    })


def soom(*args, env=None, input=None):
    import subprocess
    from harness import SOOM
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([SOOM] + list(args), env=e, capture_output=True, text=True, input=input,
                       timeout=180)
    out = "\n".join(l for l in p.stdout.splitlines() if not l.startswith('{"time"'))
    return p.returncode, out, p.stderr


def test_a_command_on_the_embedded_database():
    app = new_app("desk")
    try:
        code, out, err = soom("--app", app, "hello", env={"DATABASE_URL": ""})
        eq((code, out), (0, "hello without a database"), err)
        assert not os.path.exists(os.path.join(app, ".soom")), \
            "a command that never queries starts no database"
        code, out, err = soom("--app", app, "expire", env={"DATABASE_URL": ""})
        eq((code, out), (0, "1 rows in desk, port setting 8123"), err)
        code, out, err = soom("--app", app, "expire", "--note", "again", env={"DATABASE_URL": ""})
        eq((code, out), (0, "2 rows in desk, port setting 8123"), "the same database, migrated")
        assert not os.path.exists(os.path.join(app, ".soom/run/.s.PGSQL.5432")), "stopped after"
        # beside a dev server on the same cluster: the command leaves it running
        srv = Server(app, env={"DATABASE_URL": ""})
        srv.start(wait=False)
        try:
            srv.wait_ready(timeout=90)
            code, out, err = soom("--app", app, "expire", env={"DATABASE_URL": ""})
            eq((code, out), (0, "3 rows in desk, port setting 8123"), err)
            status, _, body = srv.json("GET", "/ping")
            eq((status, body), (200, {"rows": 3}), "the server's cluster still runs")
        finally:
            srv.stop()
    finally:
        stop_cluster(app)


def test_a_command_on_database_url():
    db = Database()
    db.psql(["-c", MIGRATION])
    app = new_app("given")
    code, out, err = soom("--app", app, "expire", env={"DATABASE_URL": db.url, "SOOM_PORT": "9001"})
    eq((code, out), (0, "1 rows in %s, port setting 9001" % db.name), err)
    eq(db.psql(["-c", "SELECT note FROM booking"]).strip(), "expired")
    assert not os.path.exists(os.path.join(app, ".soom")), "no embedded database"


SESSION = '''db.query("INSERT INTO booking (note) VALUES ('from the shell')")
db.one("SELECT note FROM booking")
function twice(x)
    return x * 2
end
twice(21)
function half(x) return x / 2 end
half(8)
settings.port, #app.routes
this is not Lua
require("resources.ping").route
'''


def test_shell_reads_stdin_in_the_app():
    db = Database()
    db.psql(["-c", MIGRATION])
    app = new_app("shelled")
    code, out, err = soom("shell", app, env={"DATABASE_URL": db.url}, input=SESSION)
    eq(out.splitlines(), ["[]\t1", '{"note":"from the shell"}', "42", "4", "8123\t1", "/ping"], err)
    eq(code, 1, "a line failed")
    assert "'=' expected near 'is'" in err, err
    code, out, err = soom("shell", app, "--command", "db.one('SELECT count(*)::int AS n FROM booking').n",
                          env={"DATABASE_URL": db.url})
    eq((code, out), (0, "1"), err)
    # the embedded database too
    try:
        code, out, err = soom("shell", app, env={"DATABASE_URL": ""},
                              input="db.one('SELECT current_database() AS d').d\n")
        eq((code, out), (0, "shelled"), err)
    finally:
        stop_cluster(app)


LUA_PATH_RESOURCE = r'''
local soom = require "soom"
return soom.Resource {
    route = "/libs",
    get = function()
        local http = require "socket.http"     -- Debian's lua-socket (with its C part)
        local inspect = require "inspect"      -- Debian's lua-inspect
        local mine = require "mylib"           -- the app's own folder
        local extra = require "extra_mod"      -- LUA_PATH
        return {
            http = type(http.request), inspect = inspect({ 1 }), mine = mine, extra = extra,
        }
    end,
}
'''


def test_lua_search_path():
    root = temp_dir("soom-luapath-")
    extra = os.path.join(root, "extra")
    os.makedirs(extra)
    with open(os.path.join(extra, "extra_mod.lua"), "w") as f:
        f.write('return "from LUA_PATH"\n')
    app = write_app(os.path.join(root, "libs"), {
        "app.lua": 'return { name = "libs" }\n',
        "resources/libs.lua": LUA_PATH_RESOURCE,
        "mylib.lua": 'return "from the app"\n',
    })
    srv = Server(app, env={"LUA_PATH": extra + "/?.lua;;"}).start()
    try:
        status, _, body = srv.json("GET", "/libs")
        eq((status, body), (200, {"http": "function", "inspect": "{ 1 }", "mine": "from the app",
                                  "extra": "from LUA_PATH"}), srv.log())
    finally:
        srv.stop()
    code, out, err = soom("shell", app, "--command", "package.path", env={"LUA_PATH": extra + "/?.lua;;"})
    eq(code, 0, err)
    parts = out.split(";")
    order = [parts.index(p) for p in (app + "/?.lua", extra + "/?.lua", "/usr/share/lua/5.1/?.lua")]
    eq(order, sorted(order), "the app, then LUA_PATH, then the system's folders: " + out)
    assert any(p.endswith("/lua/?.lua") and "soom" in p for p in parts[:order[1]]), out


if __name__ == "__main__":
    main(globals())
