--- soom.core.pgserver: a private PostgreSQL for `soom run` without DATABASE_URL.
--
--   local url = pgserver.start(app_dir)   -- initdb once, start, migrate
--   ...                                   -- serve with settings.database_url = url
--   pgserver.stop()
--
-- The cluster lives in APP_DIR/.soom/pgdata and listens only on a unix
-- socket in APP_DIR/.soom/run (no TCP, socket readable by its owner only,
-- so the trust authentication of a local cluster admits nobody else). The
-- database is named after the app. start() initialises the cluster on the
-- first run and reuses it afterwards, starts the server unless it already
-- runs (left over from a run that was killed), creates the database, and
-- applies the app's migrations. The server log is .soom/run/postgres.log.
--
-- Several soom processes may use the cluster at once (`soom run` and
-- `soom test`, an app command, `soom shell`): each registers its pid in
-- .soom/run/users/, and stop() stops the server only when no other live
-- process is registered, so a process never stops a cluster another one
-- still serves from. A cluster left running by a killed process (its pid
-- dead) is stopped by the next user's stop().
--
-- initdb refuses to run as root, so as root the server runs as the
-- `postgres` system user (the postgresql package creates it): its folders
-- are given to that user, and folders above the app that it cannot enter
-- get the search (x) permission for others, with a note saying so.

local c = require "soom.core.c"
local db = require "soom.db"
local migrate = require "soom.core.migrate"

local io, os, ipairs, error, tonumber, type = io, os, ipairs, error, tonumber, type

local _M = {}

local SERVER_USER = "postgres"
local PORT = 5432

local current -- the running cluster: { bin, data, run, log, root }

local function quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs a shell command; true when it exits with 0. (LuaJIT's os.execute
-- returns the status as a number, or true with 5.2 compatibility.)
local function run(cmd)
    local r = os.execute(cmd)
    return r == 0 or r == true
end

local function capture(cmd)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    return out
end

local function has_binaries(dir)
    return c.filetype(dir .. "/pg_ctl") == "file" and c.filetype(dir .. "/initdb") == "file"
        and c.filetype(dir .. "/postgres") == "file"
end

--- The folder of the server binaries: the newest of `search` (default
-- /usr/lib/postgresql/*/bin), else PATH. Raises saying what to install.
function _M.find_binaries(search, path)
    local best, best_version
    if search == nil then
        search = {}
        for _, v in ipairs(c.listdir("/usr/lib/postgresql") or {}) do
            search[#search + 1] = "/usr/lib/postgresql/" .. v .. "/bin"
        end
    end
    for _, dir in ipairs(search) do
        local version = tonumber(dir:match("/(%d+)/bin$")) or 0
        if has_binaries(dir) and (best == nil or version > best_version) then
            best, best_version = dir, version
        end
    end
    if best then
        return best
    end
    for dir in (path or os.getenv("PATH") or ""):gmatch("[^:]+") do
        if has_binaries(dir) then
            return dir
        end
    end
    error("no DATABASE_URL, and the PostgreSQL server is not installed to start one for the app "
        .. "(looked in /usr/lib/postgresql/*/bin and PATH): install it with `apt-get install "
        .. "postgresql` (Debian, Ubuntu), or set DATABASE_URL to a server of yours", 0)
end

local function is_root()
    return tonumber(capture("id -u")) == 0
end

-- A command run as the cluster's owner.
local function as_owner(cl, cmd)
    if cl.root then
        return "runuser -u " .. SERVER_USER .. " -- " .. cmd
    end
    return cmd
end

-- As root, lets the server's user reach `dir`: folders it cannot enter
-- get o+x (search only: it still cannot list them).
local function open_path_for_server(dir)
    if run(("runuser -u %s -- test -x %s"):format(SERVER_USER, quote(dir))) then
        return
    end
    local path = ""
    for part in dir:gmatch("[^/]+") do
        path = path .. "/" .. part
        if not run(("runuser -u %s -- test -x %s"):format(SERVER_USER, quote(path))) then
            run("chmod o+x " .. quote(path))
            io.stderr:write(("soom: gave %s the search permission (o+x) so that the database "
                .. "server, run as the %s user, can reach the app's .soom folder\n")
                :format(path, SERVER_USER))
        end
    end
end

local function prepare_folders(cl, base)
    if not run("mkdir -p " .. quote(base) .. " " .. quote(cl.run)) then
        error("cannot create " .. base, 0)
    end
    if cl.root then
        if not run("getent passwd " .. SERVER_USER .. " >/dev/null") then
            error("soom runs as root, so its database server must run as the 'postgres' user, "
                .. "which does not exist: install PostgreSQL with `apt-get install postgresql` "
                .. "(it creates the user), run soom as an ordinary user, or set DATABASE_URL", 0)
        end
        run("mkdir -p " .. quote(cl.data))
        run(("chown %s: %s %s"):format(SERVER_USER, quote(cl.data), quote(cl.run)))
        open_path_for_server(base)
    end
    run("chmod 700 " .. quote(cl.run))
end

local function init_cluster(cl)
    if c.filetype(cl.data .. "/PG_VERSION") == "file" then
        return false
    end
    local cmd = as_owner(cl, ("%s -D %s -U soom -E UTF8 --locale=C --auth=trust >%s 2>&1")
        :format(quote(cl.bin .. "/initdb"), quote(cl.data), quote(cl.run .. "/initdb.log")))
    if not run(cmd) then
        error(("initdb failed; see %s/initdb.log"):format(cl.run), 0)
    end
    local conf = io.open(cl.data .. "/postgresql.conf", "a")
    conf:write("\n# soom: the socket folder is set at each start (soom.conf)\n",
        "include_if_exists = 'soom.conf'\n")
    conf:close()
    return true
end

-- The settings that depend on where the app is now (it may have moved).
local function write_conf(cl)
    local path = cl.data .. "/soom.conf"
    local fh = io.open(path, "w")
    if not fh then
        error("cannot write " .. path, 0)
    end
    fh:write("listen_addresses = ''\n",
        ("unix_socket_directories = '%s'\n"):format(cl.run:gsub("'", "''")),
        "unix_socket_permissions = 0700\n",
        ("port = %d\n"):format(PORT))
    fh:close()
    if cl.root then
        run(("chown %s: %s"):format(SERVER_USER, quote(path)))
    end
end

local function running(cl)
    return run(as_owner(cl, ("%s status -D %s >/dev/null 2>&1")
        :format(quote(cl.bin .. "/pg_ctl"), quote(cl.data))))
end

local function start_server(cl)
    if running(cl) then
        return false
    end
    local cmd = as_owner(cl, ("%s start -D %s -l %s -w -t 60 >/dev/null 2>&1")
        :format(quote(cl.bin .. "/pg_ctl"), quote(cl.data), quote(cl.log)))
    if not run(cmd) then
        error(("the database server did not start; see %s"):format(cl.log), 0)
    end
    return true
end

-- ---- the processes using the cluster --------------------------------------

local function users_dir(cl)
    return cl.run .. "/users"
end

local function my_pid()
    return tostring(require("soom.core.testing").pid())
end

local function register(cl)
    run("mkdir -p " .. quote(users_dir(cl)))
    local fh = io.open(users_dir(cl) .. "/" .. my_pid(), "w")
    if fh then
        fh:close()
    end
end

-- Unregisters this process; true when another live process still uses
-- the cluster (the files of dead ones are removed on the way).
local function others_remain(cl)
    local dir = users_dir(cl)
    os.remove(dir .. "/" .. my_pid())
    local others = false
    for _, pid in ipairs(c.listdir(dir) or {}) do
        if pid:match("^%d+$") and c.filetype("/proc/" .. pid) == "directory" then
            others = true
        else
            os.remove(dir .. "/" .. pid)
        end
    end
    return others
end

local function url_encode(s)
    return (s:gsub("[^%w%-%._~/]", function(ch)
        return ("%%%02X"):format(ch:byte())
    end))
end

local function url_for(cl, dbname)
    return ("postgresql://soom@/%s?host=%s&port=%d"):format(dbname, url_encode(cl.run), PORT)
end

--- The database name for an app: its name, reduced to [a-z0-9_].
function _M.database_name(name)
    local n = tostring(name or "app"):lower():gsub("[^a-z0-9_]", "_")
    if not n:match("^[a-z_]") then
        n = "app_" .. n
    end
    return n:sub(1, 63)
end

local function create_database(cl, dbname)
    db.use(url_for(cl, "postgres"))
    local ok, err = pcall(function()
        if not db.one("SELECT 1 AS found FROM pg_database WHERE datname = $1", dbname) then
            db.query(('CREATE DATABASE "%s"'):format(dbname)) -- checked [a-z0-9_] name
        end
    end)
    db.close()
    db.use(nil)
    if not ok then
        error("cannot create the app's database: " .. tostring(type(err) == "table" and err.detail or err), 0)
    end
end

local function app_name(app_dir)
    local fh = io.open(app_dir .. "/app.lua")
    if fh then
        fh:close()
        local ok, meta = pcall(dofile, app_dir .. "/app.lua")
        if ok and type(meta) == "table" and type(meta.name) == "string" then
            return meta.name
        end
    end
    return app_dir:match("([^/]+)/*$")
end

--- Starts (initialising on first use) the app's own cluster and returns
-- the database_url of the app's database, migrated. `opts`: `name` (the
-- database), `search`/`path` (where to look for the binaries), `quiet`,
-- `migrate = false` (leave the migrations to the caller: `soom migrate`).
function _M.start(app_dir, opts)
    opts = opts or {}
    if current then
        return current.url, current
    end
    local dir = c.realpath(app_dir)
    if not dir then
        error(("%s is not a folder"):format(tostring(app_dir)), 0)
    end
    local base = dir .. "/.soom"
    local cl = {
        bin = _M.find_binaries(opts.search, opts.path),
        data = base .. "/pgdata",
        run = base .. "/run",
        root = is_root(),
    }
    cl.log = cl.run .. "/postgres.log"
    if #cl.run + #"/.s.PGSQL.5432" > 107 then
        error(("the app's path is too long for the database server's unix socket (%s): move the "
            .. "app to a shorter path, or set DATABASE_URL"):format(cl.run), 0)
    end
    prepare_folders(cl, base)
    cl.initialised = init_cluster(cl)
    write_conf(cl)
    cl.started = start_server(cl)
    register(cl)
    current = cl
    local ok, err = pcall(function()
        local dbname = _M.database_name(opts.name or app_name(dir))
        create_database(cl, dbname)
        cl.url = url_for(cl, dbname)
        if opts.migrate ~= false then
            migrate.apply(dir, cl.url, function(name)
                c.log("info", "migration applied", { migration = name })
            end)
        end
    end)
    if not ok then
        _M.stop()
        error(err, 0)
    end
    if not opts.quiet then
        c.log("info", "database started", { data = cl.data, database = cl.url,
            created = cl.initialised })
    end
    return cl.url, cl
end

--- Stops the server start() started (or found running), unless another
-- live process uses it too (a `soom run` beside a `soom migrate` or a
-- `soom test`). Safe to call when nothing runs.
function _M.stop()
    local cl = current
    if not cl then
        return
    end
    current = nil
    db.close()
    if others_remain(cl) then
        return
    end
    run(as_owner(cl, ("%s stop -D %s -m fast -w -t 60 >/dev/null 2>&1")
        :format(quote(cl.bin .. "/pg_ctl"), quote(cl.data))))
end

--- True while a cluster started by start() runs.
function _M.running()
    return current ~= nil and running(current)
end

return _M
