--- soom.core.appenv: the app as a command sees it.
--
--   local env = appenv.open(dir)   -- settings, database, the app loaded
--   ...                            -- soom.settings, soom.db, the models work
--   appenv.close(env)
--
-- An app's own commands (commands/*.lua) and `soom shell` run with what
-- `soom run` would serve with: the effective settings (defaults,
-- settings.lua, the environment), the app loaded (its models, relations,
-- resources and native modules), and soom.db on the app's database: the
-- server of DATABASE_URL, or, when it is unset and the app has models or
-- migrations, the app's own cluster under .soom/, started (and migrated)
-- on the first query, so a command that never queries starts no server,
-- and stopped at close() unless another process still uses it (a running
-- `soom run`).

local loader = require "soom.core.loader"
local db = require "soom.db"

local _M = {}

--- Opens the app in `dir` (absolute); returns the environment:
-- { dir, settings, app }.
function _M.open(dir)
    local settings = loader.settings(dir)
    local env = { dir = dir, settings = settings }
    if settings.database_url == "" and loader.wants_database(dir) then
        db.on_demand(function()
            env.pgserver = require "soom.core.pgserver"
            return (env.pgserver.start(dir, { quiet = true }))
        end)
    end
    local ok, app = pcall(loader.load, dir, settings)
    if not ok then
        _M.close(env)
        error(app, 0)
    end
    env.app = app
    return env
end

--- Closes the database connection, and the embedded cluster when the
-- environment started it.
function _M.close(env)
    if env == nil then
        return
    end
    db.on_demand(nil)
    db.close()
    if env.pgserver then
        env.pgserver.stop()
        env.pgserver = nil
    end
end

return _M
