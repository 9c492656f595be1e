--- soom.queryset: the conditions a generic resource's action gets besides
-- the request's own filters, as get_queryset hooks build them (Django's
-- QuerySet.filter, and where for SQL written by the app):
--
--   function Res:get_queryset(req)
--       return soom.queryset(self):filter { owner_id = req.user.id, score__gte = 50 }
--           :where("score % 2 = $1", 0)
--   end
--
-- Immutable: filter and where return a new queryset. Values always travel
-- as statement parameters; names are the resource's fields, checked.

local db = require "soom.db"
local json = require "soom.json"
local model = require "soom.model"

local type, ipairs, pairs, error, tostring, setmetatable, select, assert =
    type, ipairs, pairs, error, tostring, setmetatable, select, assert
local sort = table.sort

local _M = {}

-- ---- values as statement parameters -----------------------------------------

-- The parameter of a value: its text, or soom.null for NULL (a nil would
-- end the condition's list of parameters early).
local function param_text(v)
    if v == nil or v == json.null then
        return json.null
    end
    if type(v) == "number" then
        return db.number_text(v)
    end
    if type(v) == "boolean" then
        return v and "true" or "false"
    end
    if type(v) == "table" then
        return (assert(json.encode(v)))
    end
    return tostring(v)
end

-- ---- querysets ------------------------------------------------------------------

local Queryset = {}
Queryset.__index = Queryset

local OPS = { gt = ">", gte = ">=", lt = "<", lte = "<=" }

local function column_of(res, name)
    local m = res.model
    local f = m:field(name)
    if f then
        return f.name
    end
    for _, spec in ipairs(res:serializer_fields()) do
        if spec.name == name then
            return spec.column
        end
    end
    error(("%s is not a field of %s"):format(tostring(name), m.table), 3)
end

--- A queryset of generic resource `res`: no conditions yet.
function _M.new(res)
    return setmetatable({ resource = res, conds = {} }, Queryset)
end

function Queryset:_with(cond)
    local conds = {}
    for i, c in ipairs(self.conds) do
        conds[i] = c
    end
    conds[#conds + 1] = cond
    return setmetatable({ resource = self.resource, conds = conds }, Queryset)
end

--- qs:filter{ owner_id = 7, score__gte = 50, deleted_at__isnull = true }
function Queryset:filter(spec)
    local keys = {}
    for k in pairs(spec) do
        keys[#keys + 1] = k
    end
    sort(keys)
    local qs = self
    for _, k in ipairs(keys) do
        local name, op = k:match("^(.-)__(%a+)$")
        name = name or k
        local col = model.quote(column_of(self.resource, name))
        local v = spec[k]
        if op == "isnull" then
            qs = qs:_with({ col .. (v and " IS NULL" or " IS NOT NULL") })
        elseif op == "in" then
            qs = qs:_with({ col .. " = ANY($1)", db.array(v) })
        elseif op == nil or OPS[op] then
            if v == nil or v == json.null then
                qs = qs:_with({ col .. " IS NULL" })
            else
                qs = qs:_with({ col .. " " .. (OPS[op] or "=") .. " $1", param_text(v) })
            end
        else
            error(("unknown filter operator %q"):format(op), 2)
        end
    end
    return qs
end

--- qs:where("score % 2 = $1", 0): SQL written by the app, values as $n.
function Queryset:where(sql, ...)
    if type(sql) ~= "string" then
        error("queryset:where needs SQL text", 2)
    end
    local cond = { sql }
    for i = 1, select("#", ...) do
        cond[i + 1] = param_text((select(i, ...)))
    end
    return self:_with(cond)
end

function Queryset:conditions()
    return self.conds
end

return _M
