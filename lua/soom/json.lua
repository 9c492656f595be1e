--- soom.json: JSON encoding and decoding, done in C in one call.
--
-- `soom.null` stands for JSON null (distinct from an absent key); arrays
-- decode to tables marked as arrays, so `[]` and `{}` survive a round trip.
-- Mark a table you build yourself with `soom.array(t)` when it may be empty.
-- Decoded objects keep their key order (a metatable holds it; keys set
-- later come after), so a body or a row sent back comes out as it came in;
-- a table built with a constructor has no order of its own.

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

--- A new empty object that keeps the order its keys are first set in
-- (decoded objects and soom.db rows keep theirs already), so a handler
-- can choose the order of what it sends: local o = soom.json.object();
-- o.id = 1; o.name = "x" --> {"id":1,"name":"x"}.
function _M.object()
    return c.json_object()
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
