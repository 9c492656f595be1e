--- soom.resource: resources as Lua tables, in the manner of Django's
-- class-based views.
--
-- A resource is a table of fields and methods. `soom.Resource{...}` makes
-- one; `Base:extend{...}` (or simply `Base{...}`) makes a subclass that
-- inherits every field and method of `Base` and may override any of them.
-- A resource with a `route` is served: its `get`, `post`, `put`, `patch`
-- and `delete` methods answer those HTTP methods (HEAD is answered by
-- `get`). OPTIONS is answered by the core with `Allow` (204), unless the
-- resource defines `options`: then OPTIONS requests reach it as any other
-- method, through authentication and permissions (OPTIONS counts as a
-- safe method), and its answer gets `Allow` unless it set one. A handler receives `(self, req)` and returns
-- `body[, status[, headers]]`, where body is a table (sent as JSON), a
-- string (sent as is) or nil.
--
-- Each request gets its own instance, a table whose fields fall back to the
-- resource: `self.request` is the request, and anything a handler stores
-- on `self` lasts only for that request.

local setmetatable, type, error = setmetatable, type, error

local _M = {}

_M.HTTP_METHODS = { "get", "post", "put", "patch", "delete" }

-- HEAD is answered by the GET handler; the server drops the body.
local HANDLER_OF = {
    GET = "get", HEAD = "get", POST = "post", PUT = "put", PATCH = "patch", DELETE = "delete",
    OPTIONS = "options",
}

local function extend(parent, def)
    if def == nil then
        def = {}
    end
    if type(def) ~= "table" then
        error("a resource is declared with a table", 3)
    end
    def.super = parent
    return setmetatable(def, { __index = parent, __call = extend })
end

local Resource = {
    --- Take the body as bytes (req.raw_body) instead of parsing JSON.
    raw_body = false,
    --- Honour Idempotency-Key on POST and PATCH (docs/DATABASE.md): nil
    -- (settings.idempotency.enabled decides), true, false or "required".
    idempotency = nil,
}
setmetatable(Resource, { __call = extend })

function Resource:extend(def)
    return extend(self, def)
end

--- The HTTP methods this resource answers, upper-case.
function Resource:methods()
    local list = {}
    for _, m in ipairs(_M.HTTP_METHODS) do
        if type(self[m]) == "function" then
            list[#list + 1] = m:upper()
        end
    end
    if #list > 0 and type(self.options) == "function" then
        list[#list + 1] = "OPTIONS"
    end
    return list
end

--- Raises the 401 or 403 Django REST framework answers when the
-- resource's permissions do not allow the request at `obj` (their
-- has_object_permission). Generic resources call it on the object of
-- retrieve, update and destroy; a handler written by hand calls it on the
-- objects it serves.
function Resource:check_object_permissions(req, obj)
    require("soom.core.chain").check_object_permissions(self, req, obj)
end

--- Runs the handler for the request's method. Override to wrap every
-- method of a resource (timing, a common check, ...).
function Resource:dispatch(req)
    return self[HANDLER_OF[req.method]](self, req)
end

_M.Resource = Resource

return _M
