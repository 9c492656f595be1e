--- soom test: run an app's tests against the app served for real, or Lua
-- spec files.
local soom = require "soom"
local c = require "soom.core.c"
local files = require "soom.core.files"
local loader = require "soom.core.loader"
local cli = require "soom.cli"
local t = require "soom.test"

local function load_cases(path)
    return files.load_table(path, "a list of t.case(...)")
end

local function run_file(path, client, counts)
    local ok, cases = pcall(load_cases, path)
    if not ok then
        counts.failed = counts.failed + 1
        print(("FAIL %s\n     %s"):format(path, tostring(cases)))
        return
    end
    local short = path:match("([^/]+)$")
    for _, case in ipairs(cases) do
        local passed, err = xpcall(case.fn, debug.traceback, client)
        if passed then
            counts.passed = counts.passed + 1
            print(("ok   %s: %s"):format(short, case.name))
        else
            counts.failed = counts.failed + 1
            print(("FAIL %s: %s\n     %s"):format(short, case.name, tostring(err):gsub("\n", "\n     ")))
        end
    end
end

local function lua_files(dir)
    local paths = {}
    for i, name in ipairs(files.lua_names(dir)) do
        paths[i] = dir .. "/" .. name .. ".lua"
    end
    return paths
end

-- ---- the test database ----------------------------------------------------

-- The URL with its database name replaced.
local function with_database(url, name)
    local head, rest = url:match("^([^:]+://[^/]*)/?([^?]*)")
    local query = url:match("(%?.*)$") or ""
    if not head then
        error("cannot read the database URL " .. url, 0)
    end
    local _ = rest
    return head .. "/" .. name .. query
end

--- A fresh, migrated database for the app's tests, as Django's test runner
-- makes one: on the server of DATABASE_URL when it is set, else in the
-- app's own cluster under .soom/. Returns its URL and a function that
-- drops it.
local function test_database(dir)
    local db = require "soom.db"
    local migrate = require "soom.core.migrate"
    local pgserver = require "soom.core.pgserver"
    local base = loader.settings(dir).database_url
    local embedded = base == ""
    if embedded then
        base = pgserver.start(dir, { quiet = true })
    end
    local name = ("soom_test_%s_%d"):format(pgserver.database_name(dir:match("([^/]+)/*$")),
        require("soom.core.testing").pid())
    local admin = with_database(base, "postgres")
    db.use(admin)
    db.query(('DROP DATABASE IF EXISTS "%s"'):format(name)) -- a checked [a-z0-9_] name
    db.query(('CREATE DATABASE "%s"'):format(name))
    db.close()
    local url = with_database(base, name)
    migrate.apply(dir, url)
    migrate.create_unmanaged(dir, url)
    db.use(nil)
    return url, function()
        db.use(admin)
        pcall(db.query, ('DROP DATABASE IF EXISTS "%s" WITH (FORCE)'):format(name))
        db.close()
        db.use(nil)
        if embedded then
            pgserver.stop()
        end
    end
end

--- Starts `soom run dir` on a free port; returns the client and a stop function.
local function serve(dir, env)
    local testing = require "soom.core.testing"
    local port = testing.free_port()
    local log = os.tmpname()
    local pid = testing.spawn({ testing.exe(), "run", dir, "--port", tostring(port) }, log, env)
    local deadline = c.now() + 30
    while not testing.listening(port) do
        if testing.wait(pid, 0) ~= nil or c.now() > deadline then
            local f = io.open(log)
            local text = f and f:read("*a") or ""
            if f then
                f:close()
            end
            error("the app did not start:\n" .. text, 0)
        end
        c.sleep(0.05)
    end
    return t.client(port), function()
        testing.kill(pid, "TERM")
        local code = testing.wait(pid, 30)
        if code == nil then
            testing.kill(pid, "KILL")
            testing.wait(pid, 5)
        end
        os.remove(log)
        return code
    end
end

return soom.command {
    description = "Run an app's tests (tests/*.lua) against the app served on loopback, or Lua spec files",
    arguments = {
        {
            "path", positional = true,
            help = "an app folder (default: --app, or the current folder), or a spec file",
        },
        {
            "port", type = "number",
            help = "test a server already listening on 127.0.0.1:PORT (through a proxy, say) "
                .. "instead of starting the app; no test database is made",
        },
    },
    run = function(args)
        local path = args.path or cli.app_dir or "."
        local counts = { passed = 0, failed = 0 }
        if files.is_file(path) then
            run_file(path, nil, counts)
        else
            local dir = loader.resolve(path)
            -- tests may require the app's own modules, as its resources do
            files.add_to_path(dir)
            local specs = lua_files(dir .. "/tests")
            if #specs == 0 then
                error(("no tests in %s/tests"):format(dir), 0)
            end
            local env, drop = {}, nil
            if loader.wants_database(dir) and not args.port then
                env.DATABASE_URL, drop = test_database(dir)
            end
            local client, stop
            if args.port then
                client, stop = t.client(args.port), function() return 0 end
            else
                client, stop = serve(dir, env)
            end
            for _, file in ipairs(specs) do
                run_file(file, client, counts)
            end
            local code = stop()
            if drop then
                drop()
            end
            if code ~= 0 then
                counts.failed = counts.failed + 1
                print(("FAIL the app exited with %s after SIGTERM"):format(tostring(code)))
            end
        end
        print(("%d passed, %d failed"):format(counts.passed, counts.failed))
        return counts.failed == 0 and 0 or 1
    end,
}
