--- soom.json: JSON encoding and decoding, done in C in one call.
--
-- `soom.null` stands for JSON null (distinct from an absent key); arrays
-- decode to tables marked as arrays, so `[]` and `{}` survive a round trip.
-- Mark a table you build yourself with `soom.array(t)` when it may be empty.

local c = require "soom.core.c"

local setmetatable = setmetatable

local _M = {
    null = c.null,
}

--- The JSON text of a value, or nil and a message.
function _M.encode(value)
    return c.json_encode(value)
end

--- The value of a JSON text, or nil and a message.
function _M.decode(text)
    return c.json_decode(text)
end

--- Marks `t` (default: a new table) as an array, so it encodes as `[]`
-- even when empty. Returns `t`.
function _M.array(t)
    return setmetatable(t or {}, c.array_mt)
end

function _M.is_array(t)
    return getmetatable(t) == c.array_mt
end

return _M
