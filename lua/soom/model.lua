--- soom.model: tables as Lua declarations, and their fields.
--
--   local soom = require "soom"
--   return soom.model {
--       table = "sample", primary_key = "id", managed = true,
--       fields = {
--           id = soom.f.bigserial(),
--           name = soom.f.text { max_length = 100 },
--           score = soom.f.integer { null = true, choices = { 1, 2, 3 } },
--           created_at = soom.f.timestamptz { default = "now()", read_only = true },
--       },
--   }
--
-- Field order is the order of declaration: every field constructor takes
-- a ticket from a counter (as Django's fields do), so the map form above
-- keeps the order it was written in. `fields` may also be an ordered list
-- of { name, field } pairs. The order is the column order of CREATE TABLE
-- and the default order of output fields.
--
-- Field options: `null` (or `nullable`) = true allows NULL (the default is
-- NOT NULL); `default` is a SQL expression when a string ("now()",
-- "gen_random_uuid()") and a literal when a number, a boolean or a table
-- (JSON for json/jsonb, a list for arrays); soom.f.literal("draft") makes
-- a string literal; `choices` (a list of literals, also a CHECK
-- constraint); `read_only` (not writable through the API); `unique`;
-- `references` ("table" or "table.column": a foreign key) with `on_delete`
-- ("cascade", "restrict", "set null"); `index` = true (an index on the
-- column); `renamed_from` (the column's previous name, for
-- makemigrations); and per type `max_length` (text, varchar),
-- `precision`/`scale` (numeric).
--
-- Relations: soom.f.foreign_key { to = "market.category", on = "category_id" }
-- declares the column (its type from `type`, or the target's primary key)
-- and a to-one relation named after the field; the target gains the
-- reverse, to-many side under `related_name` (default "<model>_set").
-- soom.f.many_to_many { to = "market.tag", through = "market.service_tags" }
-- goes through a table of two foreign keys. Targets are named as models
-- are registered (soom.core.relations): a model's `name` ("market.category",
-- given by inspectdb, or its path under models/), its table, or a model.
--
-- Model options: `managed = false` (a table the app does not own: no
-- migration is ever written for it), `read_only = true` (no resource may
-- write it), `unique_together`, `checks` (SQL CHECK constraints, by name),
-- `indexes` ({ "-created_at", "id", unique = true, name = "..." }),
-- `renamed_from` (the table's previous name, for makemigrations),
-- `schema` (a PostgreSQL schema other than the search path's).
--
-- Identifiers reach SQL text, so they are checked ([a-z_][a-z0-9_]*, at
-- most 63 bytes) and always quoted; values never reach SQL text except as
-- literals written here from the model itself (defaults and choices).

local db = require "soom.db"
local json = require "soom.json"

local type, pairs, ipairs, error, setmetatable, getmetatable, tostring =
    type, pairs, ipairs, error, setmetatable, getmetatable, tostring
local concat, sort = table.concat, table.sort

local _M = {}

local IDENT = "^[a-z_][a-z0-9_]*$"

--- True when `name` may be used as a table or column name.
function _M.valid_identifier(name)
    return type(name) == "string" and #name <= 63 and name:match(IDENT) ~= nil
end

local function check_ident(name, what, level)
    if not _M.valid_identifier(name) then
        error(("%s %s is not a valid name: use lower-case letters, digits and _, starting with a "
            .. "letter or _ (at most 63)"):format(what, type(name) == "string" and ("%q"):format(name)
            or tostring(name)), level + 1)
    end
end

--- The quoted SQL identifier of a checked name.
function _M.quote(name)
    check_ident(name, "identifier", 2)
    return '"' .. name .. '"'
end

-- ---- literals --------------------------------------------------------------

local Literal = {}

--- Marks a value as a literal default (for strings, which are otherwise
-- SQL expressions).
function _M.literal(v)
    return setmetatable({ value = v }, Literal)
end

local function string_literal(s)
    return "'" .. s:gsub("'", "''") .. "'"
end

local function number_literal(v)
    if v ~= v or v == math.huge or v == -math.huge then
        error("a default or choice cannot be NaN or infinite", 4)
    end
    return db.number_text(v)
end

local array_literal = db.array

-- The SQL text of a literal value for a field.
local function literal_sql(field, v)
    if getmetatable(v) == Literal then
        v = v.value
    end
    local t = type(v)
    if t == "number" then
        return number_literal(v)
    elseif t == "boolean" then
        return v and "true" or "false"
    elseif t == "string" then
        return string_literal(v)
    elseif t == "table" and field.kind == "array" then
        return string_literal(array_literal(v))
    elseif t == "table" then
        local text, err = json.encode(v)
        if not text then
            error(err, 4)
        end
        return string_literal(text) .. "::" .. field.sql_type
    end
    error(("a %s cannot be a default or a choice"):format(t), 4)
end

-- ---- fields ------------------------------------------------------------------

local Field = {}
Field.__index = Field

local tickets = 0

local COMMON = {
    null = true, nullable = true, default = true, choices = true, read_only = true,
    unique = true, references = true, on_delete = true, help = true, index = true,
    renamed_from = true,
}

local function field(kind, sql_type, opts, allowed, level)
    if opts ~= nil and type(opts) ~= "table" then
        error(("soom.f.%s takes a table of options"):format(kind), level + 1)
    end
    opts = opts or {}
    for k in pairs(opts) do
        if not COMMON[k] and not (allowed and allowed[k]) then
            error(("soom.f.%s: unknown option %q"):format(kind, tostring(k)), level + 1)
        end
    end
    tickets = tickets + 1
    local f = setmetatable({
        kind = kind,
        sql_type = sql_type,
        nullable = opts.null == true or opts.nullable == true,
        default = opts.default,
        choices = opts.choices,
        read_only = opts.read_only == true,
        unique = opts.unique == true,
        references = opts.references,
        on_delete = opts.on_delete,
        help = opts.help,
        index = opts.index,
        renamed_from = opts.renamed_from,
        order = tickets,
    }, Field)
    if f.choices ~= nil and (type(f.choices) ~= "table" or #f.choices == 0) then
        error(("soom.f.%s: choices must be a non-empty list"):format(kind), level + 1)
    end
    return f
end

local function simple(kind, sql_type)
    return function(opts)
        -- not a tail call: the error level counts this frame
        local fd = field(kind, sql_type, opts, nil, 2)
        return fd
    end
end

local LENGTH = { max_length = true }

-- A text field with an optional max_length; `level` 2 names the caller of
-- the constructor that calls this.
local function sized_field(kind, opts, level)
    local f = field(kind, kind, opts, LENGTH, level + 1)
    local n = opts and opts.max_length
    if n ~= nil then
        if type(n) ~= "number" or n < 1 or n % 1 ~= 0 or n > 10485760 then
            error(("soom.f.%s: max_length must be a positive integer"):format(kind), level + 1)
        end
        f.max_length = n
        f.sql_type = ("varchar(%d)"):format(n)
    end
    return f
end

local function sized(kind)
    return function(opts)
        local fd = sized_field(kind, opts, 2)
        return fd
    end
end

local f = {
    smallserial = simple("smallserial", "smallserial"),
    smallint = simple("smallint", "smallint"),
    integer = simple("integer", "integer"),
    bigint = simple("bigint", "bigint"),
    serial = simple("serial", "serial"),
    bigserial = simple("bigserial", "bigserial"),
    real = simple("real", "real"),
    double = simple("double", "double precision"),
    boolean = simple("boolean", "boolean"),
    text = sized("text"),
    varchar = sized("varchar"),
    uuid = simple("uuid", "uuid"),
    date = simple("date", "date"),
    timestamptz = simple("timestamptz", "timestamptz"),
    timestamp = simple("timestamp", "timestamp"),
    time = simple("time", "time"),
    interval = simple("interval", "interval"),
    inet = simple("inet", "inet"),
    json = simple("json", "json"),
    jsonb = simple("jsonb", "jsonb"),
    bytea = simple("bytea", "bytea"),
    literal = _M.literal,
}

function f.char(opts)
    local fd = sized_field("char", opts, 2)
    fd.sql_type = fd.max_length and ("char(%d)"):format(fd.max_length) or "char(1)"
    return fd
end

local TYPED = { type = true }

-- A SQL type text that may reach CREATE TABLE: a type name, a modifier,
-- array brackets; nothing that could end the statement.
local SQL_TYPE = "^[%a_][%w_ %.]*%(?[%d, ]*%)?[%a_ ]*[%[%]]*$"

--- True when `t` may be written as a column type.
function _M.valid_sql_type(t)
    return type(t) == "string" and t:match(SQL_TYPE) ~= nil
end

--- A column of any other PostgreSQL type: soom.f.column { type = "cidr" }.
-- Its values travel as text; the JSON is PostgreSQL's text form.
function f.column(opts)
    local t = type(opts) == "table" and opts.type
    if type(t) ~= "string" or not t:match(SQL_TYPE) then
        error("soom.f.column needs a type: soom.f.column { type = \"inet\" }", 2)
    end
    local fd = field("column", t:lower(), opts, TYPED, 2) -- not a tail call: see simple()
    return fd
end

local NUMERIC = { precision = true, scale = true }

function f.numeric(opts)
    local fd = field("numeric", "numeric", opts, NUMERIC, 2)
    local p, s = opts and opts.precision, opts and opts.scale
    if s ~= nil and p == nil then
        error("soom.f.numeric: scale needs a precision", 2)
    end
    if p ~= nil then
        if type(p) ~= "number" or p < 1 or p > 1000 or p % 1 ~= 0 then
            error("soom.f.numeric: precision must be an integer from 1 to 1000", 2)
        end
        if s ~= nil and (type(s) ~= "number" or s < 0 or s > p or s % 1 ~= 0) then
            error("soom.f.numeric: scale must be an integer from 0 to the precision", 2)
        end
        fd.precision, fd.scale = p, s
        fd.sql_type = s and ("numeric(%d,%d)"):format(p, s) or ("numeric(%d)"):format(p)
    end
    return fd
end

--- An array of `of` (another field: soom.f.array(soom.f.integer())).
function f.array(of, opts)
    if getmetatable(of) ~= Field then
        error("soom.f.array needs the field of its elements: soom.f.array(soom.f.text())", 2)
    end
    if of.kind == "serial" or of.kind == "bigserial" then
        error("soom.f.array: elements cannot be serial", 2)
    end
    local fd = field("array", of.sql_type .. "[]", opts, nil, 2)
    fd.of = of
    return fd
end

-- ---- relations ----------------------------------------------------------------

local Relation = {}
Relation.__index = Relation

local FOREIGN_KEY = {
    to = true, on = true, type = true, to_field = true, related_name = true, null = true,
    nullable = true, unique = true, on_delete = true, read_only = true, help = true,
    index = true, default = true, renamed_from = true,
}

local function relation_target(kind, opts, level)
    if type(opts) ~= "table" then
        error(("soom.f.%s takes a table of options"):format(kind), level + 1)
    end
    local to = opts.to
    if type(to) ~= "string" and not _M.is_model(to) then
        error(("soom.f.%s needs `to`: the target model (a model, or its name "
            .. "\"market.category\")"):format(kind), level + 1)
    end
end

--- A foreign key: the column `on` (default "<field>_id") and a to-one
-- relation named after the field.
function f.foreign_key(opts)
    relation_target("foreign_key", opts, 2)
    for k in pairs(opts) do
        if not FOREIGN_KEY[k] then
            error(("soom.f.foreign_key: unknown option %q"):format(tostring(k)), 2)
        end
    end
    if opts.type ~= nil and (type(opts.type) ~= "string" or not opts.type:match(SQL_TYPE)) then
        error("soom.f.foreign_key: type must be a SQL type such as \"integer\"", 2)
    end
    if opts.on_delete ~= nil and not ({ cascade = 1, restrict = 1, ["set null"] = 1,
        ["no action"] = 1 })[opts.on_delete] then
        error("soom.f.foreign_key: on_delete must be cascade, restrict, set null or no action", 2)
    end
    tickets = tickets + 1
    return setmetatable({
        kind = "foreign_key", many = false, to = opts.to, on = opts.on, type = opts.type,
        to_field = opts.to_field, related_name = opts.related_name,
        nullable = opts.null == true or opts.nullable == true, unique = opts.unique == true,
        on_delete = opts.on_delete, read_only = opts.read_only == true, help = opts.help,
        index = opts.index, default = opts.default, renamed_from = opts.renamed_from,
        order = tickets,
    }, Relation)
end

--- A many-to-many relation through a table holding a foreign key to each
-- side (Django's ManyToManyField): `through` names its model;
-- `through_fields = { "service_id", "tag_id" }` picks the two columns when
-- the through table has more than one foreign key to a side.
function f.many_to_many(opts)
    relation_target("many_to_many", opts, 2)
    if type(opts.through) ~= "string" and not _M.is_model(opts.through) then
        error("soom.f.many_to_many needs `through`: the model of the table between", 2)
    end
    tickets = tickets + 1
    return setmetatable({
        kind = "many_to_many", many = true, to = opts.to, through = opts.through,
        through_fields = opts.through_fields, related_name = opts.related_name,
        help = opts.help, order = tickets,
    }, Relation)
end

_M.f = f

--- True for a value made by a soom.f constructor.
function _M.is_field(v)
    return getmetatable(v) == Field
end

--- True for a relation made by soom.f.foreign_key or soom.f.many_to_many.
function _M.is_relation(v)
    return getmetatable(v) == Relation
end

-- ---- models ------------------------------------------------------------------

local Model = {}
Model.__index = Model

local ON_DELETE = { cascade = "CASCADE", restrict = "RESTRICT", ["set null"] = "SET NULL",
    ["no action"] = "NO ACTION" }

-- The fields in declaration order, each a copy carrying its name.
local function declared(v)
    local mt = getmetatable(v)
    return mt == Field or mt == Relation
end

-- The column a foreign key declares (its type resolved later when the
-- declaration leaves it to the target's primary key).
local function key_column(rel)
    tickets = tickets + 1
    return setmetatable({
        kind = "foreign_key", sql_type = rel.type, nullable = rel.nullable, unique = rel.unique,
        read_only = rel.read_only, help = rel.help, index = rel.index, default = rel.default,
        on_delete = rel.on_delete, relation = rel, order = rel.order,
        renamed_from = rel.renamed_from,
    }, Field)
end

-- The fields and relations in declaration order, each a copy carrying
-- its name; a foreign key adds its column unless a field already is it.
local function ordered_fields(def)
    local list = {}
    if #def.fields > 0 then
        for i, pair in ipairs(def.fields) do
            if type(pair) ~= "table" or not declared(pair[2]) then
                error(("soom.model: fields[%d] must be { name, soom.f.<type>() }"):format(i), 3)
            end
            list[#list + 1] = { name = pair[1], field = pair[2] }
        end
    else
        for name, fd in pairs(def.fields) do
            if not declared(fd) then
                error(("soom.model: field %s must be made with soom.f.<type>()"):format(tostring(name)), 3)
            end
            list[#list + 1] = { name = name, field = fd }
        end
        sort(list, function(a, b)
            return a.field.order < b.field.order
        end)
    end
    local fields, relations, names = {}, {}, {}
    for _, entry in ipairs(list) do
        names[entry.name] = true
    end
    for _, entry in ipairs(list) do
        check_ident(entry.name, "field", 3)
        local mt = getmetatable(entry.field)
        local copy = setmetatable({}, mt)
        for k, v in pairs(entry.field) do
            copy[k] = v
        end
        copy.name = entry.name
        if mt == Relation then
            relations[#relations + 1] = copy
            if copy.kind == "foreign_key" then
                copy.on = copy.on or (entry.name .. "_id")
                check_ident(copy.on, ("field %s: the column `on`"):format(entry.name), 3)
                if not names[copy.on] then
                    local col = key_column(copy)
                    col.name = copy.on
                    fields[#fields + 1] = col
                    names[copy.on] = true
                end
            end
        else
            fields[#fields + 1] = copy
        end
    end
    return fields, relations
end

local function check_field(m, fd)
    if fd.references ~= nil then
        local t, col = tostring(fd.references):match("^([^.]+)%.?(.*)$")
        check_ident(t, ("field %s: referenced table"):format(fd.name), 3)
        if col ~= "" then
            check_ident(col, ("field %s: referenced column"):format(fd.name), 3)
        end
        fd.references_table, fd.references_column = t, col ~= "" and col or nil
    end
    if fd.on_delete ~= nil and not ON_DELETE[fd.on_delete] then
        error(("soom.model %s: field %s: on_delete must be cascade, restrict, set null or no action")
            :format(m.table, fd.name), 3)
    end
    if (fd.kind == "serial" or fd.kind == "bigserial") and fd.default ~= nil then
        error(("soom.model %s: field %s: a serial field has its own default"):format(m.table, fd.name), 3)
    end
end

local MODEL_KEYS = {
    table = true, primary_key = true, fields = true, managed = true, read_only = true,
    name = true, schema = true, unique_together = true, checks = true, indexes = true,
    help = true, renamed_from = true,
}

-- The indexes of a model: its `indexes` list ({ "-created_at", "id",
-- unique = true, name = "..." }: "-" for descending) and every field with
-- `index = true`, each { name, columns, unique }. The default name is the
-- table and the columns joined by "_" (the scaffold's first migrations
-- named theirs so).
local function model_indexes(m, def)
    local list = {}
    local function add(cols, unique, name, i)
        local plain = {}
        for j, col in ipairs(cols) do
            local bare = type(col) == "string" and col:gsub("^%-", "") or nil
            if not bare or not m.by_name[bare] then
                error(("soom.model %s: indexes[%d] names %s, which is not a field")
                    :format(m.table, i, tostring(col)), 4)
            end
            plain[j] = bare
        end
        name = name or (m.table .. "_" .. concat(plain, "_")):sub(1, 63)
        check_ident(name, ("soom.model %s: index"):format(m.table), 4)
        list[#list + 1] = { name = name, columns = cols, unique = unique == true }
    end
    for i, ix in ipairs(def.indexes or {}) do
        if type(ix) ~= "table" or #ix == 0 then
            error(("soom.model %s: indexes[%d] must be a list of fields"):format(m.table, i), 3)
        end
        local cols = {}
        for j, col in ipairs(ix) do
            cols[j] = col
        end
        add(cols, ix.unique, ix.name, i)
    end
    for _, fd in ipairs(m.fields) do
        if fd.index then
            add({ fd.name }, false, nil, #list + 1)
        end
    end
    return list
end

local function check_together(m, def)
    for i, cols in ipairs(def.unique_together or {}) do
        if type(cols) ~= "table" or #cols == 0 then
            error(("soom.model %s: unique_together[%d] must be a list of fields"):format(m.table, i), 3)
        end
        for _, name in ipairs(cols) do
            if not m.by_name[name] then
                error(("soom.model %s: unique_together names %s, which is not a field")
                    :format(m.table, tostring(name)), 3)
            end
        end
    end
    for name, sql in pairs(def.checks or {}) do
        check_ident(name, ("soom.model %s: check"):format(m.table), 3)
        if type(sql) ~= "string" then
            error(("soom.model %s: check %s must be SQL text"):format(m.table, name), 3)
        end
    end
end

--- Declares a model: { table, primary_key, fields, managed, read_only,
-- name, schema, unique_together, checks, indexes, renamed_from }.
function _M.model(def)
    if type(def) ~= "table" then
        error("soom.model takes a table", 2)
    end
    check_ident(def.table, "table", 2)
    if type(def.fields) ~= "table" then
        error(("soom.model %s: fields must be a table"):format(def.table), 2)
    end
    for k in pairs(def) do
        if not MODEL_KEYS[k] then
            error(("soom.model %s: unknown key %q"):format(def.table, tostring(k)), 2)
        end
    end
    if def.schema ~= nil then
        check_ident(def.schema, "schema", 2)
    end
    if def.name ~= nil and (type(def.name) ~= "string" or not def.name:match("^[%w_]+[%w_.]*$")) then
        error(("soom.model %s: name must be like \"market.category\""):format(def.table), 2)
    end
    local fields, relations = ordered_fields(def)
    local m = setmetatable({
        table = def.table,
        schema = def.schema,
        name = def.name,
        managed = def.managed ~= false,
        read_only = def.read_only == true,
        fields = fields,
        relations = relations,
        relation_by_name = {},
        unique_together = def.unique_together or {},
        checks = def.checks or {},
        by_name = {},
    }, Model)
    m.field_names = {}
    for i, fd in ipairs(m.fields) do
        if m.by_name[fd.name] then
            error(("soom.model %s: field %s is declared twice"):format(m.table, fd.name), 2)
        end
        m.by_name[fd.name] = fd
        m.field_names[i] = fd.name
        check_field(m, fd)
    end
    for _, rel in ipairs(relations) do
        if m.by_name[rel.name] or m.relation_by_name[rel.name] then
            error(("soom.model %s: %s is declared twice"):format(m.table, rel.name), 2)
        end
        rel.owner = m
        m.relation_by_name[rel.name] = rel
    end
    check_together(m, def)
    m.indexes = model_indexes(m, def)
    if def.renamed_from ~= nil then
        check_ident(def.renamed_from, ("soom.model %s: renamed_from"):format(m.table), 2)
        m.renamed_from = def.renamed_from
    end
    local pk = def.primary_key
    if pk == nil and m.by_name.id then
        pk = "id"
    elseif pk == false then
        pk = nil
    end
    if type(pk) == "string" then
        pk = { pk }
    end
    for _, name in ipairs(pk or {}) do
        if not m.by_name[name] then
            error(("soom.model %s: the primary key %s is not a field"):format(m.table, tostring(name)), 2)
        end
        m.by_name[name].primary_key = true
    end
    m.primary_keys = pk or {}
    m.primary_key = pk and #pk == 1 and pk[1] or pk
    require("soom.core.relations").register(m)
    return m
end

--- True for a value made by soom.model.
function _M.is_model(v)
    return getmetatable(v) == Model
end

function Model:field(name)
    return self.by_name[name]
end

--- The relation named `name` (its own, or a reverse side another model
-- declared), or nil.
function Model:relation(name)
    require("soom.core.relations").resolve_all()
    return self.relation_by_name[name]
end

--- "schema"."table", or "table".
function Model:quoted_table()
    if self.schema then
        return _M.quote(self.schema) .. "." .. _M.quote(self.table)
    end
    return _M.quote(self.table)
end

--- The SQL text of a field's default, or nil.
function _M.default_sql(fd)
    local d = fd.default
    if d == nil then
        return nil
    elseif type(d) == "string" then
        return d -- a SQL expression written by the developer
    end
    return literal_sql(fd, d)
end

--- The CHECK expression of a field's choices, or nil.
function _M.choices_sql(fd)
    if not fd.choices then
        return nil
    end
    local lits = {}
    for i, v in ipairs(fd.choices) do
        lits[i] = literal_sql(fd, v)
    end
    return ("%s IN (%s)"):format(_M.quote(fd.name), concat(lits, ", "))
end

-- One column of CREATE TABLE.
local function column_sql(fd)
    local parts = { _M.quote(fd.name), fd.sql_type }
    if not fd.nullable or fd.primary_key then
        parts[#parts + 1] = "NOT NULL"
    end
    if fd.default ~= nil then
        -- literal_sql called from here: its errors name the caller of create_table_sql
        local d = fd.default
        parts[#parts + 1] = "DEFAULT " .. (type(d) == "string" and d or literal_sql(fd, d))
    end
    if fd.unique then
        parts[#parts + 1] = "UNIQUE"
    end
    local rel = fd.relation
    if rel and rel.target then
        local ref = "REFERENCES " .. rel.target:quoted_table() .. " (" .. _M.quote(rel.remote_column) .. ")"
        if fd.on_delete then
            ref = ref .. " ON DELETE " .. ON_DELETE[fd.on_delete]
        end
        parts[#parts + 1] = ref
    elseif fd.references_table then
        local ref = "REFERENCES " .. _M.quote(fd.references_table)
        if fd.references_column then
            ref = ref .. " (" .. _M.quote(fd.references_column) .. ")"
        end
        if fd.on_delete then
            ref = ref .. " ON DELETE " .. ON_DELETE[fd.on_delete]
        end
        parts[#parts + 1] = ref
    end
    if fd.choices then
        local lits = {}
        for i, v in ipairs(fd.choices) do
            lits[i] = literal_sql(fd, v)
        end
        parts[#parts + 1] = ("CHECK (%s IN (%s))"):format(_M.quote(fd.name), concat(lits, ", "))
    end
    return concat(parts, " ")
end

--- The CREATE TABLE statement of the model.
function Model:create_table_sql()
    require("soom.core.relations").check(self)
    local lines = {}
    for i, fd in ipairs(self.fields) do
        lines[i] = "    " .. column_sql(fd)
    end
    if #self.primary_keys > 0 then
        local cols = {}
        for i, name in ipairs(self.primary_keys) do
            cols[i] = _M.quote(name)
        end
        lines[#lines + 1] = "    PRIMARY KEY (" .. concat(cols, ", ") .. ")"
    end
    for _, cols in ipairs(self.unique_together) do
        local q = {}
        for i, name in ipairs(cols) do
            q[i] = _M.quote(name)
        end
        lines[#lines + 1] = "    UNIQUE (" .. concat(q, ", ") .. ")"
    end
    local names = {}
    for name in pairs(self.checks) do
        names[#names + 1] = name
    end
    sort(names)
    for _, name in ipairs(names) do
        lines[#lines + 1] = ("    CONSTRAINT %s CHECK (%s)"):format(_M.quote(name), self.checks[name])
    end
    return ("CREATE TABLE %s (\n%s\n);\n"):format(self:quoted_table(), concat(lines, ",\n"))
end

--- The quoted column list of the model, in order ("id", "name", ...).
function Model:columns_sql()
    local cols = {}
    for i, fd in ipairs(self.fields) do
        cols[i] = _M.quote(fd.name)
    end
    return concat(cols, ", ")
end

return _M
