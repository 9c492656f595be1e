--- soom.core.users: what soom createuser, changepassword and token share:
-- the app's database (from its settings), Django's user and token tables
-- (auth_user, DRF's authtoken_token; other names by option), passwords read
-- without echo, and hashes made as Django makes them.

local auth = require "soom.auth"
local cli = require "soom.cli"
local db = require "soom.db"
local loader = require "soom.core.loader"
local settings_of = require "soom.core.settings"

local io, os, error, tostring, type = io, os, error, tostring, type

local _M = {}

--- Options every command takes: the tables' names.
_M.TABLE_OPTIONS = {
    { "user_table", default = "auth_user", help = "the user table (Django's shape)" },
}

--- Connects to the database of the app in --app (or the current folder).
function _M.open()
    local dir = loader.resolve(cli.app_dir or ".")
    local settings = loader.settings(dir)
    settings_of.set(settings)
    if settings.database_url == "" then
        error("no database: set DATABASE_URL (or database_url in settings.lua)", 0)
    end
    db.use(settings.database_url)
    return settings
end

local function ident(name, what)
    if type(name) ~= "string" or not name:match("^[a-z_][a-z0-9_]*$") or #name > 63 then
        error(("--%s must be a table or column name, not %s"):format(what, tostring(name)), 0)
    end
    return '"' .. name .. '"'
end
_M.ident = ident

--- The user named `username` ({ id, ... }) or nil.
function _M.find(table_name, username)
    return db.one(("SELECT id FROM %s WHERE username = $1"):format(ident(table_name,
        "user-table")), username)
end

local function is_tty()
    local r = os.execute("test -t 0")
    return r == 0 or r == true
end

local function read_line(prompt, hidden)
    if prompt then
        io.stderr:write(prompt)
        io.stderr:flush()
    end
    if hidden then
        os.execute("stty -echo 2>/dev/null")
    end
    local line = io.read("*l")
    if hidden then
        os.execute("stty echo 2>/dev/null")
        io.stderr:write("\n")
    end
    return line
end

--- A password: from standard input (one line) when it is not a terminal or
-- with --password-stdin, else asked twice without echo.
function _M.password(from_stdin)
    if from_stdin or not is_tty() then
        local pw = read_line(nil, false)
        if pw == nil or pw == "" then
            error("no password on standard input", 0)
        end
        return pw
    end
    local pw = read_line("Password: ", true)
    local again = read_line("Password (again): ", true)
    if pw ~= again then
        error("the passwords do not match", 0)
    end
    if pw == nil or pw == "" then
        error("the password is empty", 0)
    end
    return pw
end

--- Django's hash of `password` (pbkdf2_sha256 at `iterations`, Django's
-- current count by default).
function _M.hash(password, iterations)
    local h, err = auth.hash_password(password, "pbkdf2_sha256",
        iterations and { iterations = iterations } or nil)
    if not h then
        error(err, 0)
    end
    return h
end

--- An unusable password, as Django's set_unusable_password writes it.
function _M.unusable()
    return "!" .. auth.make_token_key()
end

return _M
