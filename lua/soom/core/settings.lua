--- soom.core.settings: the effective settings of the app being served or
-- commanded (defaults, settings.lua, then the environment), set once by the
-- loader or a command. Apps read them as soom.settings; modules of the
-- framework that need a setting (soom.db's database_url) read them here,
-- without requiring "soom".

local _M = {}

local current = {}

function _M.get()
    return current
end

function _M.set(settings)
    current = settings or {}
end

return _M
