--- soom.core.relations: the models an app knows, by name, and the
-- relations between them resolved.
--
-- soom.model registers every model it makes. A model is known by its
-- `name` ("market.category": given in the declaration, or by the loader
-- from its path under models/), by its table, and by "schema.table". A
-- relation names its target lazily (models may refer to each other), so
-- relations are resolved on first use, after the app's models are loaded:
-- a foreign key finds its target and the target's key column (and takes
-- that column's type when the declaration left it out), and the target
-- gains the reverse side; a many-to-many finds the two foreign keys of its
-- through table. Resolution runs again only when new models arrived.
--
-- A resolved relation reads, from its owner's side:
--   name, many (a to-many side), target (the model at the other end),
--   local_column (the owner's column), remote_column (the target's),
--   through = { model, local_column, remote_column } for a many-to-many
--   (the through table's columns pointing to the owner and the target).

local type, ipairs, error, pcall, require, tostring = type, ipairs, error, pcall,
    require, tostring

local _M = {}

local models = {}  -- every registered model, in registration order
local by_key = {}  -- name, table or schema.table -> list of models
local dirty = false

local function index(key, m)
    local list = by_key[key]
    if not list then
        list = {}
        by_key[key] = list
    end
    for _, other in ipairs(list) do
        if other == m then
            return
        end
    end
    list[#list + 1] = m
end

--- Registers a model (soom.model calls this).
function _M.register(m)
    models[#models + 1] = m
    if m.name then
        index(m.name, m)
    end
    index(m.table, m)
    if m.schema then
        index(m.schema .. "." .. m.table, m)
    end
    dirty = true
end

--- Makes a model known by the path of its file under models/ too (the
-- loader: "market.category"); its declared `name`, if any, stays its name.
function _M.name(m, name)
    if m.path_name == nil then
        m.path_name = name
        index(name, m)
        dirty = true
    end
end

--- Says that relations were added to a registered model.
function _M.changed()
    dirty = true
end

--- The short name of a model: the last part of its name, or its table.
function _M.short_name(m)
    return (m.name or m.path_name or m.table):match("([^.]+)$")
end

local function label(m)
    return m.name or m.path_name or m.table
end

local function candidates(ref)
    local list = by_key[ref] or by_key[(ref:gsub("%.", "_"))]
    return list or {}
end

--- The model that `ref` names (a model, a name or a table), loading
-- models/<ref>.lua when no loaded model has that name; raises naming
-- `what` when none or several match.
function _M.lookup(ref, what)
    if type(ref) == "table" then
        return ref
    end
    local list = candidates(ref)
    if #list == 0 then
        pcall(require, "models." .. ref)
        list = candidates(ref)
    end
    if #list == 0 then
        error(("%s: no model is named %s (name it by its `name`, its table, or its path "
            .. "under models/)"):format(what, tostring(ref)), 0)
    end
    if #list > 1 then
        error(("%s: %s names more than one model (tables %s and %s): give them distinct names")
            :format(what, ref, list[1].table, list[2].table), 0)
    end
    return list[1]
end

-- ---- resolution --------------------------------------------------------------

-- A foreign key column's type when left to the target's key: serials are
-- integers on the referencing side.
local KEY_TYPE = { serial = "integer", bigserial = "bigint", smallserial = "smallint" }

local function add_reverse(target, rel, what)
    if rel.related_name == "+" then
        return
    end
    local name = rel.related_name or (_M.short_name(rel.owner) .. "_set")
    local existing = target.relation_by_name[name]
    if existing and existing.reverse_of == rel then
        return
    end
    if target.by_name[name] or existing then
        error(("%s: the reverse side %s clashes with %s of %s: give the relation a "
            .. "related_name"):format(what, name, name, label(target)), 0)
    end
    local reverse = {
        name = name, kind = "reverse", owner = target, target = rel.owner, reverse_of = rel,
    }
    if rel.kind == "foreign_key" then
        reverse.many = not rel.unique
        reverse.local_column, reverse.remote_column = rel.remote_column, rel.local_column
    else
        reverse.many = true
        reverse.local_column, reverse.remote_column = rel.remote_column, rel.local_column
        reverse.through = {
            model = rel.through.model, local_column = rel.through.remote_column,
            remote_column = rel.through.local_column,
        }
    end
    target.relation_by_name[name] = reverse
    target.reverse_relations = target.reverse_relations or {}
    target.reverse_relations[#target.reverse_relations + 1] = reverse
end

local function single_key(m, what)
    if type(m.primary_key) ~= "string" then
        error(("%s: %s has no single-column primary key to refer to"):format(what, label(m)), 0)
    end
    return m.primary_key
end

local function resolve_foreign_key(m, rel, what)
    local target = _M.lookup(rel.to, what)
    local remote = rel.to_field or single_key(target, what)
    local rfield = target:field(remote)
    if not rfield then
        error(("%s: %s has no field %s"):format(what, label(target), remote), 0)
    end
    rel.target, rel.local_column, rel.remote_column = target, rel.on, remote
    local col = m:field(rel.on)
    col.relation = col.relation or rel
    if col.sql_type == nil then
        col.sql_type = KEY_TYPE[rfield.kind] or rfield.sql_type
    end
    add_reverse(target, rel, what)
end

-- The foreign key of `through` pointing to `m`, or the one named in
-- through_fields.
local function through_key(through, m, column, what)
    local found
    for _, r in ipairs(through.relations) do
        if r.kind == "foreign_key" and _M.lookup(r.to, what) == m
            and (column == nil or r.on == column) then
            if found then
                error(("%s: %s has two foreign keys to %s: say which with through_fields")
                    :format(what, label(through), label(m)), 0)
            end
            found = r
        end
    end
    if not found then
        error(("%s: %s has no foreign key to %s"):format(what, label(through), label(m)), 0)
    end
    return found
end

local function resolve_many_to_many(m, rel, what)
    local target = _M.lookup(rel.to, what)
    local through = _M.lookup(rel.through, what)
    local tf = rel.through_fields or {}
    local to_owner = through_key(through, m, tf[1], what)
    local to_target = through_key(through, target, tf[2], what)
    rel.target = target
    rel.local_column, rel.remote_column = single_key(m, what), single_key(target, what)
    rel.through = { model = through, local_column = to_owner.on, remote_column = to_target.on }
    add_reverse(target, rel, what)
end

-- Resolves what it can; a relation that cannot be resolved keeps its
-- error, raised when its model is used (one broken model must not stop
-- the others), and is tried again when more models arrive.
local function resolve_model(m)
    for _, rel in ipairs(m.relations) do
        if not rel.target then
            local what = ("model %s, relation %s"):format(label(m), rel.name)
            local ok, err = pcall(rel.kind == "foreign_key" and resolve_foreign_key
                or resolve_many_to_many, m, rel, what)
            rel.error = not ok and tostring(err) or nil
            if not ok then
                rel.target = nil
            end
        end
    end
end

--- Resolves the relations of every registered model (again only when
-- models arrived since).
function _M.resolve_all()
    while dirty do
        dirty = false
        local i = 1
        while models[i] do -- resolving may load more models
            resolve_model(models[i])
            i = i + 1
        end
    end
end

--- Resolves, then raises the first error of `m`'s relations.
function _M.check(m)
    _M.resolve_all()
    for _, rel in ipairs(m.relations) do
        if rel.error then
            error(rel.error, 0)
        end
    end
end

--- Every registered model, in registration order.
function _M.all()
    _M.resolve_all()
    local list = {}
    for i, m in ipairs(models) do
        list[i] = m
    end
    return list
end

return _M
