--- soom.core.generate: a CRUD resource from a list of fields, for
-- `soom generate resource` and the sample resource of `soom createapp`.
--
--   local spec = generate.parse_fields("name:text(100),score:integer,note:text?")
--   local vars = generate.resource_vars("score", spec, { app_dir = dir })
--
-- parse_fields reads the `--fields` syntax: `name:type` pairs separated by
-- commas, a `?` after the type for a nullable, optional field, and a size
-- for text (`text(100)`, a varchar) and numeric (`numeric(10,2)`). Each
-- type knows its model field, its JSON Schema, two sample values and how
-- they come back as JSON, so the generated tests assert real round trips.
-- resource_vars returns the variables of the scaffold/resource templates;
-- its migration is the one `soom makemigrations` would write for the
-- model (soom.core.migrate.initial), so the SQL and the model cannot
-- disagree. Nothing here writes a file.

local files = require "soom.core.files"
local migrate = require "soom.core.migrate"
local scaffold = require "soom.core.scaffold"
local template = require "soom.core.template"

local ipairs, pairs, error, pcall, type, tonumber, tostring = ipairs, pairs, error, pcall, type,
    tonumber, tostring
local format, load = string.format, loadstring or load
local concat, sort = table.concat, table.sort

local _M = {}

-- Lua literal text for the sample values of each type: { one, two } as
-- sent, the same as they come back (`out`), and one of the wrong type.
local TYPES = {
    text = {
        field = "text", schema = "s.string", wrong = "42",
        values = function(name)
            return { format("%q", name .. " one"), format("%q", name .. " two") }
        end,
    },
    integer = { field = "integer", schema = "s.integer", wrong = '"x"', values = { "1", "2" } },
    bigint = { field = "bigint", schema = "s.integer", wrong = '"x"', values = { "1", "2" } },
    smallint = { field = "smallint", schema = "s.integer", wrong = '"x"', values = { "1", "2" } },
    numeric = {
        field = "numeric", schema = "s.number", wrong = '"x"', values = { "1.5", "2.25" },
        -- numeric comes back as an exact string with the column's scale
        out = function(scale)
            local function fixed(v)
                return format("%q", format("%." .. scale .. "f", v))
            end
            return { fixed(1.5), fixed(2.25) }
        end,
    },
    double = { field = "double", schema = "s.number", wrong = '"x"', values = { "1.5", "2.25" } },
    real = { field = "real", schema = "s.number", wrong = '"x"', values = { "1.5", "2.25" } },
    boolean = { field = "boolean", schema = "s.boolean", wrong = '"yes"',
                values = { "true", "false" } },
    date = { field = "date", schema = "s.date", wrong = "42",
             values = { '"2024-01-02"', '"2024-03-04"' } },
    timestamptz = {
        field = "timestamptz", schema = "s.date_time", wrong = "42",
        values = { '"2024-01-02T03:04:05Z"', '"2024-03-04T05:06:07Z"' },
        out = function()
            return { '"2024-01-02T03:04:05+00:00"', '"2024-03-04T05:06:07+00:00"' }
        end,
    },
    uuid = {
        field = "uuid", schema = "s.uuid", wrong = "42",
        values = { '"7d444840-9dc0-11d1-b245-5ffdce74fad2"', '"e902893a-9d22-3c7e-a7b8-d6e313b71d9f"' },
    },
    jsonb = { field = "jsonb", schema = "s.object", wrong = '"x"',
              values = { "{ a = 1 }", '{ b = "two" }' } },
}

-- Types whose values a list can be filtered and ordered by.
local FILTERABLE = {
    text = true, integer = true, bigint = true, smallint = true, numeric = true, boolean = true,
    date = true, timestamptz = true, uuid = true, double = true, real = true,
}

local RESERVED_FIELDS = { id = true, created_at = true }

local function parse_one(item)
    local name, kind, args, nullable = item:match("^%s*([%w_]+)%s*:%s*(%a+)%s*(%b())%s*(%??)%s*$")
    if not name then
        name, kind, nullable = item:match("^%s*([%w_]+)%s*:%s*(%a+)%s*(%??)%s*$")
    end
    if not name then
        error(("cannot read the field %q: write name:type, e.g. score:integer"):format(item), 0)
    end
    if not name:match("^[a-z][a-z0-9_]*$") or #name > 63 then
        error(("%q is not a valid field name (lower-case letters, digits, _)"):format(name), 0)
    end
    if RESERVED_FIELDS[name] then
        error(("the field %q is always there (id and created_at are added to every model)")
            :format(name), 0)
    end
    if kind == "varchar" then
        kind = "text"
    end
    local t = TYPES[kind]
    if not t then
        local names = {}
        for k in pairs(TYPES) do
            names[#names + 1] = k
        end
        sort(names)
        error(("the field %s has the unknown type %q (one of: %s)"):format(name, kind,
            concat(names, ", ")), 0)
    end
    local f = { name = name, kind = kind, nullable = nullable == "?" }
    if args then
        local a, b = args:match("^%(%s*(%d+)%s*,?%s*(%d*)%s*%)$")
        if kind == "text" and a and b == "" and tonumber(a) > 0 then
            f.max_length = tonumber(a)
        elseif kind == "numeric" and a and b ~= "" and tonumber(b) <= tonumber(a) then
            f.precision, f.scale = tonumber(a), tonumber(b)
        else
            error(("%s: %s%s is not a size this type takes (text(N), numeric(P,S))")
                :format(name, kind, args), 0)
        end
    end
    if kind == "numeric" and not f.precision then
        f.precision, f.scale = 12, 2
    end
    return f
end

--- Reads a --fields list; raises with a message for the user.
function _M.parse_fields(spec)
    if type(spec) ~= "string" or not spec:match("%S") then
        error("--fields is required: e.g. --fields name:text(100),score:integer,note:text?", 0)
    end
    -- commas inside numeric(P,S) do not separate fields
    local list, seen = {}, {}
    local masked = spec:gsub("%b()", function(p)
        return (p:gsub(",", "\1"))
    end)
    for item in (masked .. ","):gmatch("([^,]*),") do
        if item:match("%S") then
            local f = parse_one((item:gsub("\1", ",")))
            if seen[f.name] then
                error(("the field %q is listed twice"):format(f.name), 0)
            end
            seen[f.name] = true
            list[#list + 1] = f
        end
    end
    if #list == 0 then
        error("--fields lists no field", 0)
    end
    return list
end

-- "soom.f.text { max_length = 100, null = true }"
local function field_expr(f)
    local opts = {}
    if f.max_length then
        opts[#opts + 1] = "max_length = " .. f.max_length
    end
    if f.precision then
        opts[#opts + 1] = ("precision = %d, scale = %d"):format(f.precision, f.scale)
    end
    if f.nullable then
        opts[#opts + 1] = "null = true"
    end
    local ctor = "soom.f." .. TYPES[f.kind].field
    if #opts == 0 then
        return ctor .. "()"
    end
    return ("%s { %s }"):format(ctor, concat(opts, ", "))
end

-- "s.string { min = 1, max = 100 }", nullable ones optional and null-able
local function schema_expr(f)
    local t, opts = TYPES[f.kind], {}
    if f.kind == "text" then
        opts[#opts + 1] = "min = 1"
        if f.max_length then
            opts[#opts + 1] = "max = " .. f.max_length
        end
    end
    if f.nullable then
        opts[#opts + 1] = "optional = true"
    end
    local expr
    if f.kind == "jsonb" then
        expr = ("s.object({}, { additional = true%s })"):format(f.nullable and ", optional = true" or "")
    elseif #opts == 0 then
        expr = t.schema .. "()"
    else
        expr = ("%s { %s }"):format(t.schema, concat(opts, ", "))
    end
    if f.nullable then
        expr = ("s.nullable(%s)"):format(expr)
    end
    return expr
end

local function values(f)
    local t = TYPES[f.kind]
    local sent = type(t.values) == "function" and t.values(f.name) or t.values
    local back = t.out and t.out(f.scale) or sent
    return sent, back
end

-- Lines "name = value," for the sample bodies, and the matching checks.
local function body_lines(fields, which)
    local body, checks = {}, {}
    for _, f in ipairs(fields) do
        local sent, back = values(f)
        body[#body + 1] = ("%s = %s,"):format(f.name, sent[which])
        checks[#checks + 1] = ("t.eq(obj.%s, %s, %q)"):format(f.name, back[which], f.name)
    end
    return concat(body, "\n"), concat(checks, "\n")
end

local function quoted_list(names)
    local q = {}
    for i, n in ipairs(names) do
        q[i] = format("%q", n)
    end
    return concat(q, ", ")
end

--- The plural of a name, for its route and resource file (items,
-- categories, boxes); --plural overrides it.
function _M.plural(name)
    if name:match("[^aeiou]y$") then
        return name:sub(1, -2) .. "ies"
    elseif name:match("s$") or name:match("x$") or name:match("z$") or name:match("[cs]h$") then
        return name .. "es"
    end
    return name .. "s"
end

-- The model's first migration, as makemigrations writes it, from the
-- rendered model template.
local function create_table(model_text, where)
    local chunk, err = load(model_text, "=" .. where)
    if not chunk then
        error(err, 0)
    end
    local ok, m = pcall(chunk)
    if not ok then
        error(("%s: %s"):format(where, tostring(m)), 0)
    end
    return migrate.initial(m)
end

--- The next migration number of the app in `dir` (1 without migrations).
function _M.next_migration(dir)
    local list = dir and migrate.files(dir) or {}
    return #list > 0 and list[#list].number + 1 or 1
end

--- The variables of the scaffold/resource templates for the model `name`
-- with `fields` (from parse_fields). `opts`: plural, migration number.
function _M.resource_vars(name, fields, opts)
    opts = opts or {}
    local plural = opts.plural or _M.plural(name)
    local model_lines, schema_lines, filter, ordering = {}, {}, {}, { "id", "created_at" }
    for _, f in ipairs(fields) do
        model_lines[#model_lines + 1] = ("%s = %s,"):format(f.name, field_expr(f))
        schema_lines[#schema_lines + 1] = ("%s = %s,"):format(f.name, schema_expr(f))
        if FILTERABLE[f.kind] then
            filter[#filter + 1] = f.name
            -- a cursor orders by NOT NULL columns only
            if not f.nullable then
                ordering[#ordering + 1] = f.name
            end
        end
    end
    local output = { "id" }
    for _, f in ipairs(fields) do
        output[#output + 1] = f.name
    end
    output[#output + 1] = "created_at"
    local body_one, check_one = body_lines(fields, 1)
    local body_two, check_two = body_lines(fields, 2)
    local first = fields[1]
    local sent = values(first)
    local _, back = values(first)
    return {
        model = name,
        table = name,
        plural = plural,
        route = "/" .. plural,
        migration = ("%04d_create_%s"):format(opts.migration or 1, name),
        model_fields = concat(model_lines, "\n"),
        schema_properties = concat(schema_lines, "\n"),
        output_fields = quoted_list(output),
        filter_fields = quoted_list(filter),
        ordering_fields = quoted_list(ordering),
        body_one = body_one, body_two = body_two,
        check_one = check_one, check_two = check_two,
        patch_field = first.name,
        patch_value = sent[2],
        patch_expected = back[2],
        wrong_value = TYPES[first.kind].wrong,
        fields_spec = opts.spec or "",
    }
end

--- Renders the resource templates of `src` with `vars`: the model first,
-- whose first migration becomes the migration's text (vars.create_table).
function _M.plan(src, vars)
    local rel = "models/@model@.lua"
    local model_text = template.render(files.read(src .. "/" .. rel), vars, rel)
    vars.create_table = create_table(model_text, "models/" .. vars.model .. ".lua"):gsub("\n$", "")
    return scaffold.plan(src, vars)
end

--- Raises when a model of the app, or one of its migrations, already has
-- the table `name`.
function _M.check_table_free(dir, name)
    local pattern = '^create%s+table%s+"?' .. name .. '"?[%s%(]'
    for _, f in ipairs(migrate.files(dir)) do
        local text = files.read(f.path):lower():gsub("%-%-[^\n]*", "")
        for stmt in (";" .. text):gmatch(";%s*([^;]*)") do
            if stmt:find(pattern) or stmt:find('^create%s+table%s+if%s+not%s+exists%s+"?' .. name
                .. '"?[%s%(]') then
                error(("nothing written: %s already creates the table %q"):format(f.name, name), 0)
            end
        end
    end
    for _, entry in ipairs(require("soom.core.loader").models(dir)) do
        if entry.model.table == name then
            error(("nothing written: %s already declares the table %q"):format(entry.file, name), 0)
        end
    end
end

return _M
