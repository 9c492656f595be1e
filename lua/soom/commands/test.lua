--- soom test: run an app's tests against the app served for real, or Lua
-- spec files.
--
-- `soom test [APP_DIR]` runs every file of the app's tests/ folder;
-- `soom test APP/tests/test_x.lua` runs that file (the app is found above
-- its tests/ folder, or given with --app) and `-k TEXT` only the cases
-- whose name contains TEXT. A file outside an app's tests/ folder is a
-- Lua spec file, run without a server.
--
-- Isolation: the app is served from a fresh database made for the run
-- (on DATABASE_URL's server, else in the app's embedded cluster, which is
-- left running when another process, a `soom run`, uses it), migrated,
-- and dropped at the end. Before each case every table but the migration
-- ledger is truncated (RESTART IDENTITY), so each case starts from empty
-- tables, whatever the cases before it wrote. A rollback around each case
-- cannot work here: the server under test answers each request in its
-- own transaction on its own pooled connections, in another process,
-- like Django's TransactionTestCase, for which it truncates too.
--
-- `--junit FILE` also writes the results as JUnit XML for CI.
local soom = require "soom"
local c = require "soom.core.c"
local files = require "soom.core.files"
local loader = require "soom.core.loader"
local cli = require "soom.cli"
local t = require "soom.test"

-- ---- running cases --------------------------------------------------------

local function load_cases(path)
    return files.load_table(path, "a list of t.case(...)")
end

-- A failed case's message and the frames of the test's own code: the
-- frames of soom.test's assertions and of this runner say nothing.
local function case_traceback(err)
    if type(err) ~= "string" then
        return err
    end
    local lines = {}
    for line in debug.traceback(err, 2):gmatch("[^\n]+") do
        if line:find("in function 'xpcall'", 1, true) then
            break
        end
        -- the message (first) is kept whatever raised it
        if #lines == 0 or not line:find("soom/test.lua:", 1, true)
            and not line:find("[C]: in function 'error'", 1, true) then
            lines[#lines + 1] = line
        end
    end
    return table.concat(lines, "\n")
end

-- The last requests of a failed case, as lines for its report.
local function requests_text(client)
    local lines = {}
    for _, q in ipairs(client and client.requests or {}) do
        local body = q.body and (" " .. q.body) or ""
        local answer = q.response or ""
        if #answer > 2000 then
            answer = answer:sub(1, 2000) .. "..."
        end
        lines[#lines + 1] = ("request: %s %s%s\n-> %s %s"):format(q.method, q.path, body,
            tostring(q.status), answer)
    end
    return table.concat(lines, "\n")
end

local function report(result)
    local short = result.file:match("([^/]+)$")
    if result.ok then
        print(("ok   %s: %s"):format(short, result.name))
    else
        print(("FAIL %s: %s\n     %s"):format(short, result.name,
            (result.message:gsub("\n", "\n     "))))
    end
end

-- Runs the cases of `path` whose name contains `keyword` (plain text;
-- nil: all), each after `before` (the truncation), appending a result per
-- case to `results`.
local function run_file(path, client, keyword, before, results)
    local ok, cases = pcall(load_cases, path)
    if not ok then
        local r = { file = path, name = "(loading the file)", ok = false,
            message = tostring(cases), time = 0 }
        results[#results + 1] = r
        report(r)
        return
    end
    for _, case in ipairs(cases) do
        if keyword == nil or case.name:find(keyword, 1, true) then
            local started = c.now()
            if client then
                client.requests = {}
            end
            local passed, err = true, nil
            if before then
                passed, err = pcall(before)
                err = passed and nil or "before the case: " .. tostring(err)
            end
            if passed then
                passed, err = xpcall(case.fn, case_traceback, client)
            end
            local message
            if not passed then
                message = tostring(type(err) == "table" and (err.detail or err.msg) or err)
                local seen = requests_text(client)
                if seen ~= "" then
                    message = message .. "\n" .. seen
                end
            end
            local r = { file = path, name = case.name, ok = passed, message = message,
                time = c.now() - started }
            results[#results + 1] = r
            report(r)
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
        db.close()
        db.use(admin)
        pcall(db.query, ('DROP DATABASE IF EXISTS "%s" WITH (FORCE)'):format(name))
        db.close()
        db.use(nil)
        if embedded then
            pgserver.stop()
        end
    end
end

-- Empties every table of the test database but the migration ledger, in
-- one statement (CASCADE: references among them do not matter), with its
-- sequences back at their start.
local TABLES = [[
SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND tablename <> 'soom_migrations'
ORDER BY 1]]

local function truncator(url)
    local db = require "soom.db"
    local statement
    return function()
        db.use(url)
        if statement == nil then
            local names = {}
            for i, row in ipairs(db.query(TABLES)) do
                names[i] = row.name
            end
            statement = #names > 0 and "TRUNCATE " .. table.concat(names, ", ")
                .. " RESTART IDENTITY CASCADE" or false
        end
        if statement then
            db.query(statement)
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

-- ---- JUnit XML -------------------------------------------------------------

local function xml(text)
    return (tostring(text):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
        ['"'] = "&quot;" }):gsub("[%z\1-\8\11\12\14-\31]", ""))
end

-- One <testsuite> per file, in the order the files ran.
local function write_junit(path, results)
    local suites, order = {}, {}
    for _, r in ipairs(results) do
        local s = suites[r.file]
        if not s then
            s = { cases = {}, failures = 0, time = 0 }
            suites[r.file] = s
            order[#order + 1] = r.file
        end
        s.cases[#s.cases + 1] = r
        s.failures = s.failures + (r.ok and 0 or 1)
        s.time = s.time + r.time
    end
    local out = { '<?xml version="1.0" encoding="UTF-8"?>\n' }
    local total, failed = 0, 0
    for _, file in ipairs(order) do
        total, failed = total + #suites[file].cases, failed + suites[file].failures
    end
    out[#out + 1] = ('<testsuites name="soom test" tests="%d" failures="%d">\n'):format(total, failed)
    for _, file in ipairs(order) do
        local s = suites[file]
        local name = file:match("([^/]+)%.lua$") or file
        out[#out + 1] = ('  <testsuite name="%s" tests="%d" failures="%d" errors="0" time="%.3f">\n')
            :format(xml(name), #s.cases, s.failures, s.time)
        for _, r in ipairs(s.cases) do
            out[#out + 1] = ('    <testcase classname="%s" name="%s" time="%.3f"'):format(xml(name),
                xml(r.name), r.time)
            if r.ok then
                out[#out + 1] = "/>\n"
            else
                local first = r.message:match("^[^\n]*")
                out[#out + 1] = ('>\n      <failure message="%s">%s</failure>\n    </testcase>\n')
                    :format(xml(first), xml(r.message))
            end
        end
        out[#out + 1] = "  </testsuite>\n"
    end
    out[#out + 1] = "</testsuites>\n"
    local fh, err = io.open(path, "w")
    if not fh then
        error("--junit: " .. tostring(err), 0)
    end
    fh:write(table.concat(out))
    fh:close()
end

-- ---- what to run ---------------------------------------------------------------

-- The app a test file belongs to: the folder above its tests/ folder, or
-- --app; nil for a spec file outside any app.
local function app_of_file(path)
    local abs = files.realpath(path)
    local tests_dir = abs:match("^(.*)/[^/]+$")
    local above = tests_dir and tests_dir:match("^(.*)/tests$")
    if above and pcall(loader.resolve, above) then
        return above
    end
    if cli.app_dir and abs:sub(1, #cli.app_dir + 1) == cli.app_dir .. "/" then
        return cli.app_dir
    end
    return nil
end

-- Runs `specs` (test files of the app in `dir`) against the app served
-- for real, or against the server at `port`.
local function run_app(dir, specs, args, results)
    -- tests may require the app's own modules, as its resources do
    files.add_to_path(dir)
    local env, drop, before = {}, nil, nil
    if loader.wants_database(dir) and not args.port then
        env.DATABASE_URL, drop = test_database(dir)
        before = truncator(env.DATABASE_URL)
    end
    local client, stop
    local ok, err = pcall(function()
        if args.port then
            client, stop = t.client(args.port), function() return 0 end
        else
            client, stop = serve(dir, env)
        end
    end)
    if not ok then
        if drop then
            drop()
        end
        error(err, 0)
    end
    for _, file in ipairs(specs) do
        run_file(file, client, args.keyword, before, results)
    end
    local code = stop()
    if drop then
        drop()
    end
    if code ~= 0 then
        local r = { file = dir .. "/tests", name = "the app's exit", ok = false, time = 0,
            message = ("the app exited with %s after SIGTERM"):format(tostring(code)) }
        results[#results + 1] = r
        report(r)
    end
end

return soom.command {
    description = "Run an app's tests (tests/*.lua) against the app served on loopback, or Lua spec files",
    arguments = {
        {
            "path", positional = true,
            help = "an app folder (default: --app, or the current folder), one of its test files, "
                .. "or a spec file",
        },
        { "keyword", short = "k", help = "run only the cases whose name contains this text" },
        { "junit", help = "also write the results to this file as JUnit XML" },
        {
            "port", type = "number",
            help = "test a server already listening on 127.0.0.1:PORT (through a proxy, say) "
                .. "instead of starting the app; no test database is made",
        },
    },
    run = function(args)
        local path = args.path or cli.app_dir or "."
        local results = {}
        if files.is_file(path) then
            local dir = app_of_file(path)
            if dir then
                run_app(dir, { files.realpath(path) }, args, results)
            else
                run_file(path, nil, args.keyword, nil, results)
            end
        else
            local dir = loader.resolve(path)
            local specs = lua_files(dir .. "/tests")
            if #specs == 0 then
                error(("no tests in %s/tests"):format(dir), 0)
            end
            run_app(dir, specs, args, results)
        end
        local passed, failed = 0, 0
        for _, r in ipairs(results) do
            if r.ok then
                passed = passed + 1
            else
                failed = failed + 1
            end
        end
        if args.junit then
            write_junit(args.junit, results)
        end
        if args.keyword and #results == 0 then
            print(("no case matches %q"):format(args.keyword))
            failed = 1
        end
        print(("%d passed, %d failed"):format(passed, failed))
        return failed == 0 and 0 or 1
    end,
}
