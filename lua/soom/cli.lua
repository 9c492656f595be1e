--- soom.cli: the command line.
--
-- `soom [--app DIR] <command> [arguments]`. A command is a Lua file that
-- returns `soom.command{ description, arguments, run }`: the built-in ones
-- live in lua/soom/commands/, an app's own in its commands/ folder, and a
-- command is found by its file name (an app's command may not shadow a
-- built-in one). The app folder is --app DIR, else the current folder when
-- it holds an app.
--
-- Arguments are declared as a list:
--   { "who", default = "world", help = "..." }          --who VALUE
--   { "port", type = "number" }                         --port 8000
--   { "verbose", type = "boolean" }                     --verbose (a flag)
--   { "table", many = true }                            --table a --table b (a list)
--   { "app_dir", positional = true, default = "." }     a positional argument
--   { "keyword", short = "k" }                          -k VALUE as well as --keyword
-- A command that works on an app says `app = true`: it takes the app folder
-- as its first positional argument (default: --app, or the current folder)
-- and finds it resolved in args.app_dir (an absolute path; an error when
-- the folder is not an app).
-- `run(args)` receives the parsed table and returns an exit code (nil: 0).
-- A usage error prints a message and exits with 2.
--
-- An app's own command runs in the app's environment (soom.core.appenv):
-- its effective settings, the app loaded, and soom.db on its database (the
-- embedded one under .soom/ when DATABASE_URL is unset), as `soom run`
-- would serve it.

local files = require "soom.core.files"

local io, ipairs, pairs, type, tonumber, setmetatable, getmetatable = io, ipairs, pairs, type,
    tonumber, setmetatable, getmetatable

local _M = {}

local Command = {}
Command.__index = Command

local USAGE = {} -- marks usage errors raised by the parser

local function usage_error(msg)
    error(setmetatable({ msg = msg }, USAGE), 0)
end

local APP_DIR = {
    "app_dir", positional = true, help = "the app folder (default: --app, or the current folder)",
}

function _M.command(def)
    if type(def) ~= "table" or type(def.run) ~= "function" then
        error("soom.command needs a table with a run function", 2)
    end
    def.arguments = def.arguments or {}
    if def.app then
        table.insert(def.arguments, 1, APP_DIR)
    end
    for i, spec in ipairs(def.arguments) do
        if type(spec) ~= "table" or type(spec[1]) ~= "string" then
            error(("soom.command: argument %d needs a name"):format(i), 2)
        end
        spec.type = spec.type or "string"
    end
    return setmetatable(def, Command)
end

local function convert(spec, value)
    if spec.type == "number" then
        local n = tonumber(value)
        if not n then
            usage_error(("--%s expects a number, not %q"):format(spec[1], value))
        end
        return n
    end
    return value
end

--- Parses `argv` (a list of strings) by the command's declared arguments.
function Command:parse(argv)
    local args, by_name, positionals, by_short = {}, {}, {}, {}
    for _, spec in ipairs(self.arguments) do
        by_name[spec[1]] = spec
        if spec.short then
            by_short[spec.short] = spec
        end
        if spec.positional then
            positionals[#positionals + 1] = spec
        end
        args[spec[1]] = spec.default
        if spec.type == "boolean" and spec.default == nil then
            args[spec[1]] = false
        end
    end
    local i, npos = 1, 0
    while i <= #argv do
        local a = argv[i]
        local name, inline = a:match("^%-%-([%w_%-]+)=(.*)$")
        name = name or a:match("^%-%-([%w_%-]+)$")
        local short = a:match("^%-(%a)$")
        if short and by_short[short] then
            name = by_short[short][1]
        end
        if name then
            local spec = by_name[name] or by_name[name:gsub("%-", "_")]
            if not spec or spec.positional then
                usage_error(("unknown option --%s"):format(name))
            end
            if spec.type == "boolean" then
                args[spec[1]] = true
            else
                local value = inline
                if value == nil then
                    i = i + 1
                    value = argv[i]
                    if value == nil then
                        usage_error(("--%s needs a value"):format(name))
                    end
                end
                if spec.many then -- repeatable: every value, in order
                    local list = args[spec[1]] or {}
                    list[#list + 1] = convert(spec, value)
                    args[spec[1]] = list
                else
                    args[spec[1]] = convert(spec, value)
                end
            end
        else
            npos = npos + 1
            local spec = positionals[npos]
            if not spec then
                usage_error(("unexpected argument %q"):format(a))
            end
            args[spec[1]] = convert(spec, a)
        end
        i = i + 1
    end
    for _, spec in ipairs(self.arguments) do
        if spec.required and args[spec[1]] == nil then
            usage_error(("missing argument %s"):format(spec[1]))
        end
    end
    return args
end

--- One line of usage: "run [APP_DIR] [--port N] [--host X]".
function Command:usage(name)
    local parts = { name }
    for _, spec in ipairs(self.arguments) do
        local n = spec[1]
        if spec.positional then
            parts[#parts + 1] = spec.required and n:upper() or "[" .. n:upper() .. "]"
        elseif spec.type == "boolean" then
            parts[#parts + 1] = "[--" .. n .. "]"
        else
            parts[#parts + 1] = ("[%s--%s %s]%s"):format(spec.short and "-" .. spec.short .. "|" or "",
                n, spec.type == "number" and "N" or "VALUE", spec.many and "..." or "")
        end
    end
    return table.concat(parts, " ")
end

-- ---- finding commands ----------------------------------------------------

local function builtin_dir()
    return _M.home .. "/lua/soom/commands"
end

local command_files = files.lua_names

local function load_command(path)
    local cmd = files.load_table(path, "soom.command{...}")
    if getmetatable(cmd) ~= Command then
        error(("%s must return soom.command{...}"):format(path), 0)
    end
    return cmd
end

--- Every command: { name = { path = ..., origin = "built-in" | "app" } }.
function _M.commands()
    local all = {}
    for _, n in ipairs(command_files(builtin_dir())) do
        all[n] = { path = builtin_dir() .. "/" .. n .. ".lua", origin = "built-in" }
    end
    if _M.app_dir then
        local dir = _M.app_dir .. "/commands"
        for _, n in ipairs(command_files(dir)) do
            if not all[n] then
                all[n] = { path = dir .. "/" .. n .. ".lua", origin = "app" }
            end
        end
    end
    return all
end

function _M.find(name)
    local entry = _M.commands()[name]
    if not entry then
        return nil
    end
    return load_command(entry.path), entry
end

function _M.sorted_names()
    local names = {}
    for n in pairs(_M.commands()) do
        names[#names + 1] = n
    end
    table.sort(names)
    return names
end

-- ---- main ----------------------------------------------------------------

local function detect_app(dir)
    if dir then
        return files.realpath(dir)
    end
    if files.is_file("app.lua") then
        return files.realpath(".")
    end
    return nil
end

-- Runs the command on its parsed arguments, resolving the app folder of a
-- command that works on an app.
local function run_command(cmd, args, entry)
    if cmd.app then
        args.app_dir = require("soom.core.loader").resolve(args.app_dir or _M.app_dir or ".")
    end
    if entry.origin ~= "app" then
        return cmd.run(args)
    end
    local appenv = require "soom.core.appenv"
    local env = appenv.open(_M.app_dir)
    local ok, code = pcall(cmd.run, args)
    appenv.close(env)
    if not ok then
        error(code, 0)
    end
    return code
end

--- Runs the command line; returns the exit code.
function _M.main(home, argv)
    _M.home = home
    _M.argv = argv -- the whole command line, for `soom run --reload`'s restart
    local rest = {}
    local app_dir
    local i = 1
    while argv[i] and argv[i]:match("^%-%-app") do
        local inline = argv[i]:match("^%-%-app=(.*)$")
        if inline then
            app_dir = inline
        else
            i = i + 1
            app_dir = argv[i]
        end
        i = i + 1
    end
    for j = i, #argv do
        rest[#rest + 1] = argv[j]
    end
    if app_dir and not files.is_dir(app_dir) then
        io.stderr:write(("soom: --app %s is not a folder\n"):format(app_dir))
        return 2
    end
    _M.app_dir = detect_app(app_dir)
    if _M.app_dir then
        files.add_to_path(_M.app_dir) -- an app's commands may require its own modules
    end

    local name = table.remove(rest, 1) or "help"
    if name == "--help" or name == "-h" then
        name = "help"
    elseif name == "--version" then
        name = "version"
    end
    local cmd, entry = _M.find(name)
    if not cmd then
        io.stderr:write(("soom: unknown command %q; `soom help` lists them\n"):format(name))
        return 2
    end
    local ok, args = pcall(cmd.parse, cmd, rest)
    if not ok then
        if getmetatable(args) == USAGE then
            io.stderr:write(("soom %s: %s\nusage: soom %s\n"):format(name, args.msg, cmd:usage(name)))
            return 2
        end
        error(args, 0)
    end
    local ran, code = pcall(run_command, cmd, args, entry)
    if not ran then
        -- commands and the app loader raise plain messages for the user
        io.stderr:write(("soom %s: %s\n"):format(name, tostring(code)))
        return 1
    end
    if type(code) ~= "number" then
        code = 0
    end
    return code
end

return _M
