-- The greeting, shared by resources/hello.lua and commands/greet.lua: the
-- app's own modules are required by their path in the app folder.
local _M = {}

function _M.text(who)
    return ("Hello, %s!"):format(who or "world")
end

return _M
