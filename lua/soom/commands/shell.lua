--- soom shell: a Lua prompt in the app's environment.
--
-- The app is loaded with its effective settings and soom.db on its
-- database, as `soom run` would serve it (soom.core.appenv): the prompt
-- has `soom`, `db` (soom.db), `json` (soom.json), `settings` and `app`
-- (the loaded app: its routes and models) at hand, and `require` finds the
-- app's own modules. Each line is run as it is entered; a line that is an
-- expression prints its values (tables as JSON), and a statement left
-- open (an unfinished function, a missing `end`) is continued on the next
-- line, as the `lua` prompt does. Lines come from standard input, so a
-- script can be piped in (`soom shell < fix.lua`); `--command CODE` runs
-- one chunk instead. The prompt is shown only when standard input is a
-- terminal. An error prints its message and the prompt goes on; the exit
-- code is 1 when any line failed. As at the `lua` prompt, a `local` lasts
-- for its own chunk; globals stay for the session.

local soom = require "soom"
local appenv = require "soom.core.appenv"
local json = require "soom.json"

local io, select, tostring, type, setmetatable, loadstring, setfenv, xpcall =
    io, select, tostring, type, setmetatable, loadstring, setfenv, xpcall

local function show(v)
    if type(v) == "table" then
        local text = json.encode(v)
        if text then
            return text
        end
    elseif type(v) == "string" then
        return v
    end
    return tostring(v)
end

local function error_text(err)
    if type(err) == "table" then
        return tostring(rawget(err, "detail") or rawget(err, "msg") or err)
    end
    return tostring(err)
end

-- Compiles `text` in `scope`: as an expression first (its values are
-- printed), else as statements. Returns the function, or nil and the
-- message, with `open` true when the chunk only lacks its end.
local function compile(text, scope)
    local fn = loadstring("return " .. text, "=shell")
    if not fn then
        local err
        fn, err = loadstring(text, "=shell")
        if not fn then
            return nil, err, err:find("<eof>", 1, true) ~= nil
        end
    end
    setfenv(fn, scope)
    return fn
end

-- The error and the frames of the line itself, not the shell's.
local function traceback(err)
    if type(err) ~= "string" then
        return err
    end
    local text = debug.traceback(err, 2)
    return (text:gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
end

local function run_chunk(fn)
    local results = { xpcall(fn, traceback) }
    if not results[1] then
        io.stderr:write(error_text(results[2]), "\n")
        return false
    end
    local out = {}
    for i = 2, select("#", unpack(results)) do
        out[#out + 1] = show(results[i])
    end
    if #out > 0 then
        io.write(table.concat(out, "\t"), "\n")
    end
    return true
end

local function is_terminal()
    return os.execute("test -t 0") == 0
end

local function repl(scope)
    local interactive = is_terminal()
    local failed = false
    local pending = nil
    while true do
        if interactive then
            io.write(pending and ">> " or "> ")
            io.flush()
        end
        local line = io.read("*l")
        if line == nil then
            break
        end
        local text = pending and pending .. "\n" .. line or line
        local fn, err, open = compile(text, scope)
        if fn then
            pending = nil
            if not run_chunk(fn) then
                failed = true
            end
        elseif open then
            pending = text
        else
            pending = nil
            failed = true
            io.stderr:write(err, "\n")
        end
        io.flush()
    end
    if pending then
        local _, err = compile(pending, scope)
        io.stderr:write(tostring(err), "\n")
        failed = true
    end
    return failed and 1 or 0
end

return soom.command {
    description = "A Lua prompt with the app, its settings and soom.db loaded (reads standard input)",
    app = true,
    arguments = {
        { "command", help = "run this Lua chunk instead of reading standard input" },
    },
    run = function(args)
        local env = appenv.open(args.app_dir)
        local scope = setmetatable({
            soom = soom, db = require "soom.db", json = json, settings = env.settings,
            app = env.app,
        }, { __index = _G })
        local ok, code = pcall(function()
            if args.command then
                local fn, err = compile(args.command, scope)
                if not fn then
                    io.stderr:write(err, "\n")
                    return 1
                end
                return run_chunk(fn) and 0 or 1
            end
            return repl(scope)
        end)
        appenv.close(env)
        if not ok then
            error(code, 0)
        end
        return code
    end,
}
