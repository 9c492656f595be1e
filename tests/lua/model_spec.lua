-- Specs of lua/soom/model.lua: declaration order, every field type and
-- option, the CREATE TABLE text, identifier checks and every declaration
-- error with its message (raised at the declaring line), then the
-- statements applied to the real PostgreSQL of the test suite, in a
-- private schema, and what PostgreSQL then enforces (defaults, NOT NULL,
-- lengths, choices, unique, primary and foreign keys, on_delete). Run by
-- `soom test tests/lua/model_spec.lua`; needs DATABASE_URL (ctest gives it
-- through the `postgres` fixture) and fails without it.
local db = require "soom.db"
local errors = require "soom.errors"
local model = require "soom.model"
local soom = require "soom"
local t = require "soom.test"
local testing = require "soom.core.testing"

local f = model.f

local BASE_URL = os.getenv("DATABASE_URL")
if BASE_URL == nil or BASE_URL == "" then
    error("model_spec.lua needs PostgreSQL: DATABASE_URL is not set (run it with ctest, which "
        .. "starts tests/support/pg.sh, or export DATABASE_URL=$(tests/support/pg.sh url))", 0)
end

-- Runs fn(schema) with soom.db on a fresh schema of its own (first on the
-- search path), dropped afterwards.
local function in_schema(fn)
    local schema = ("model_spec_%d"):format(testing.pid())
    db.use(BASE_URL)
    db.query(('DROP SCHEMA IF EXISTS "%s" CASCADE'):format(schema))
    db.query(('CREATE SCHEMA "%s"'):format(schema))
    db.use(BASE_URL .. (BASE_URL:find("?", 1, true) and "&" or "?")
        .. "options=-csearch_path%3D" .. schema)
    local ok, err = xpcall(fn, debug.traceback, schema)
    db.use(BASE_URL)
    db.query(('DROP SCHEMA IF EXISTS "%s" CASCADE'):format(schema))
    db.close()
    db.use(nil)
    if not ok then
        error(err, 0)
    end
end

-- The problem PostgreSQL's refusal of `sql` raises.
local function refused_by_db(sql, ...)
    local ok, err = pcall(db.query, sql, ...)
    t.ok(not ok, "PostgreSQL should refuse " .. sql)
    t.ok(errors.is_problem(err), "a problem: " .. tostring(err))
    return err
end

local function here()
    return debug.getinfo(2, "l").currentline
end

-- fn() must raise `text` at `line` of this file: the declaration at fault.
local function refused(line, fn, text)
    local err = t.raises(fn, text)
    t.ok(tostring(err):find("model_spec.lua:" .. line .. ":", 1, true),
        "raised at the declaring line " .. line .. ": " .. tostring(err))
end

local function parent_model()
    return model.model {
        table = "parent",
        fields = { id = f.bigserial(), code = f.varchar { max_length = 8, unique = true } },
    }
end

local function everything_model()
    return model.model {
        table = "everything", primary_key = "id",
        fields = {
            id = f.bigserial(),
            small = f.smallint { default = 7 },
            int = f.integer { null = true, choices = { 1, 2, 3 } },
            big = f.bigint { default = 9007199254740993 },
            serial_no = f.serial(),
            amount = f.numeric { precision = 10, scale = 2, default = 1.5 },
            rate = f.numeric { default = 0.1 },
            ratio = f.numeric { precision = 5 },
            any_num = f.numeric(),
            r = f.real { null = true },
            d = f.double { default = 0.25 },
            flag = f.boolean { default = true },
            name = f.text { max_length = 20, unique = true },
            body = f.text { null = true },
            code = f.varchar { max_length = 3, default = f.literal("o'k") },
            free = f.varchar { null = true },
            key = f.uuid { default = "gen_random_uuid()" },
            day = f.date { default = "CURRENT_DATE" },
            at = f.timestamptz { default = "now()", read_only = true },
            doc = f.json { null = true },
            meta = f.jsonb { default = { a = { 1, 2 } } },
            tags = f.array(f.text(), { default = { "x", 'y "z"', "new\nline" } }),
            grid = f.array(f.array(f.integer()), { null = true }),
            raw = f.bytea { null = true },
            status = f.text { default = f.literal("draft"), choices = { "draft", "live" } },
            parent_id = f.bigint { null = true, references = "parent.id", on_delete = "set null" },
        },
    }
end

local EVERYTHING_SQL = table.concat({
    'CREATE TABLE "everything" (',
    '    "id" bigserial NOT NULL,',
    '    "small" smallint NOT NULL DEFAULT 7,',
    '    "int" integer CHECK ("int" IN (1, 2, 3)),',
    '    "big" bigint NOT NULL DEFAULT 9007199254740992,',
    '    "serial_no" serial NOT NULL,',
    '    "amount" numeric(10,2) NOT NULL DEFAULT 1.5,',
    '    "rate" numeric NOT NULL DEFAULT 0.1,',
    '    "ratio" numeric(5) NOT NULL,',
    '    "any_num" numeric NOT NULL,',
    '    "r" real,',
    '    "d" double precision NOT NULL DEFAULT 0.25,',
    '    "flag" boolean NOT NULL DEFAULT true,',
    '    "name" varchar(20) NOT NULL UNIQUE,',
    '    "body" text,',
    [[    "code" varchar(3) NOT NULL DEFAULT 'o''k',]],
    '    "free" varchar,',
    '    "key" uuid NOT NULL DEFAULT gen_random_uuid(),',
    '    "day" date NOT NULL DEFAULT CURRENT_DATE,',
    '    "at" timestamptz NOT NULL DEFAULT now(),',
    '    "doc" json,',
    [[    "meta" jsonb NOT NULL DEFAULT '{"a":[1,2]}'::jsonb,]],
    [[    "tags" text[] NOT NULL DEFAULT '{"x","y \"z\"","new]] .. "\n" .. [[line"}',]],
    '    "grid" integer[][],',
    '    "raw" bytea,',
    [[    "status" text NOT NULL DEFAULT 'draft' CHECK ("status" IN ('draft', 'live')),]],
    '    "parent_id" bigint REFERENCES "parent" ("id") ON DELETE SET NULL,',
    '    PRIMARY KEY ("id")',
    ');',
    '',
}, "\n")

return {
    -- ---- declarations -------------------------------------------------------

    t.case("fields keep their declaration order, in a map or a list", function()
        local m = model.model {
            table = "ordered",
            fields = {
                zeta = f.integer(), alpha = f.text(), mid = f.boolean(), id = f.serial(),
                beta = f.date(), omega = f.jsonb(), kappa = f.uuid(), delta = f.real(),
            },
        }
        t.eq(m.field_names, { "zeta", "alpha", "mid", "id", "beta", "omega", "kappa", "delta" })
        for i, fd in ipairs(m.fields) do
            t.eq(fd.name, m.field_names[i])
        end
        t.eq(m.primary_key, "id", "id is the primary key by default")
        t.eq(m.primary_keys, { "id" })
        local l = model.model {
            table = "listed", primary_key = "b",
            fields = { { "b", f.text() }, { "a", f.integer() } },
        }
        t.eq(l.field_names, { "b", "a" })
        t.eq(l.primary_key, "b")
        t.eq(l:columns_sql(), '"b", "a"')
        t.eq(m:columns_sql(), '"zeta", "alpha", "mid", "id", "beta", "omega", "kappa", "delta"')
    end),

    t.case("every field type: its kind and SQL type", function()
        local types = {
            { f.smallint(), "smallint", "smallint" },
            { f.integer(), "integer", "integer" },
            { f.bigint(), "bigint", "bigint" },
            { f.serial(), "serial", "serial" },
            { f.bigserial(), "bigserial", "bigserial" },
            { f.real(), "real", "real" },
            { f.double(), "double", "double precision" },
            { f.boolean(), "boolean", "boolean" },
            { f.text(), "text", "text" },
            { f.text { max_length = 40 }, "text", "varchar(40)" },
            { f.varchar(), "varchar", "varchar" },
            { f.varchar { max_length = 10485760 }, "varchar", "varchar(10485760)" },
            { f.uuid(), "uuid", "uuid" },
            { f.date(), "date", "date" },
            { f.timestamptz(), "timestamptz", "timestamptz" },
            { f.json(), "json", "json" },
            { f.jsonb(), "jsonb", "jsonb" },
            { f.bytea(), "bytea", "bytea" },
            { f.numeric(), "numeric", "numeric" },
            { f.numeric { precision = 8 }, "numeric", "numeric(8)" },
            { f.numeric { precision = 8, scale = 0 }, "numeric", "numeric(8,0)" },
            { f.numeric { precision = 8, scale = 8 }, "numeric", "numeric(8,8)" },
            { f.smallserial(), "smallserial", "smallserial" },
            { f.timestamp(), "timestamp", "timestamp" },
            { f.time(), "time", "time" },
            { f.interval(), "interval", "interval" },
            { f.inet(), "inet", "inet" },
            { f.char(), "char", "char(1)" },
            { f.char { max_length = 3 }, "char", "char(3)" },
            { f.column { type = "CIDR" }, "column", "cidr" },
            { f.column { type = "numeric(4, 2)[]" }, "column", "numeric(4, 2)[]" },
            { f.column { type = "character varying(10)" }, "column", "character varying(10)" },
            { f.array(f.text()), "array", "text[]" },
            { f.array(f.array(f.numeric { precision = 4, scale = 1 })), "array", "numeric(4,1)[][]" },
        }
        for i, case in ipairs(types) do
            t.ok(model.is_field(case[1]), "a field: " .. i)
            t.eq({ case[1].kind, case[1].sql_type }, { case[2], case[3] }, "type " .. i)
        end
        local a = f.array(f.integer())
        t.eq(a.of.kind, "integer")
        t.eq(f.array(a).of.of.kind, "integer")
        t.eq(f.text { max_length = 40 }.max_length, 40)
        local n = f.numeric { precision = 10, scale = 2 }
        t.eq({ n.precision, n.scale }, { 10, 2 })
        t.ok(not model.is_field({ kind = "text" }), "a look-alike table is not a field")
        t.eq(soom.f, f)
        t.eq(soom.model, model.model)
    end),

    t.case("every option as the field keeps it", function()
        local fd = f.integer {
            null = true, default = 3, choices = { 1, 3 }, read_only = true, unique = true,
            references = "owner.id", on_delete = "cascade", help = "the owner's number",
        }
        t.eq({
            nullable = fd.nullable, default = fd.default, choices = fd.choices,
            read_only = fd.read_only, unique = fd.unique, references = fd.references,
            on_delete = fd.on_delete, help = fd.help,
        }, {
            nullable = true, default = 3, choices = { 1, 3 }, read_only = true, unique = true,
            references = "owner.id", on_delete = "cascade", help = "the owner's number",
        })
        t.eq(f.text { nullable = true }.nullable, true, "nullable is null's other name")
        local plain = f.text()
        t.eq({ plain.nullable, plain.read_only, plain.unique }, { false, false, false },
            "NOT NULL, writable, not unique by default")
        local m = model.model {
            table = "child",
            fields = {
                id = f.serial(),
                a = f.integer { references = "owner.id", on_delete = "restrict" },
                b = f.integer { references = "owner" },
            },
        }
        t.eq({ m:field("a").references_table, m:field("a").references_column }, { "owner", "id" })
        t.eq({ m:field("b").references_table, m:field("b").references_column }, { "owner", nil })
        t.eq(m:field("nope"), nil)
        t.eq(m:field("id").primary_key, true)
        t.eq(m:field("a").primary_key, nil)
    end),

    t.case("a model's own options: managed, composite and absent primary keys", function()
        local m = model.model { table = "m", fields = { id = f.serial() } }
        t.ok(model.is_model(m), "is_model")
        t.ok(not model.is_model({ table = "m" }), "a look-alike table")
        t.eq(m.managed, true, "managed by default")
        t.eq(model.model { table = "m", managed = false, fields = { id = f.serial() } }.managed, false)
        local pair = model.model {
            table = "pair", primary_key = { "a", "b" },
            fields = { a = f.integer { null = true }, b = f.text(), c = f.text() },
        }
        t.eq(pair.primary_keys, { "a", "b" })
        t.eq(pair.primary_key, { "a", "b" })
        t.eq(pair:create_table_sql(), table.concat({
            'CREATE TABLE "pair" (',
            '    "a" integer NOT NULL,',
            '    "b" text NOT NULL,',
            '    "c" text NOT NULL,',
            '    PRIMARY KEY ("a", "b")',
            ');', '',
        }, "\n"), "a nullable key column is NOT NULL")
        local keyless = model.model { table = "keyless", fields = { a = f.integer() } }
        t.eq(keyless.primary_keys, {})
        t.eq(keyless.primary_key, nil)
        t.eq(keyless:create_table_sql(), 'CREATE TABLE "keyless" (\n    "a" integer NOT NULL\n);\n')
    end),

    t.case("the CREATE TABLE statement, column by column", function()
        local m = everything_model()
        t.eq(m:create_table_sql(), EVERYTHING_SQL)
        t.eq(parent_model():create_table_sql(), table.concat({
            'CREATE TABLE "parent" (',
            '    "id" bigserial NOT NULL,',
            '    "code" varchar(8) NOT NULL UNIQUE,',
            '    PRIMARY KEY ("id")',
            ');', '',
        }, "\n"))
        t.eq(m:field("at").read_only, true)
        t.eq({ m:field("grid").kind, m:field("grid").of.kind, m:field("grid").of.of.kind },
            { "array", "array", "integer" })
        t.eq(m.field_names[1], "id")
        t.eq(m.field_names[#m.field_names], "parent_id")
    end),

    t.case("references, on_delete and choices in SQL", function()
        local m = model.model {
            table = "refs",
            fields = {
                a = f.bigint { references = "owner", on_delete = "cascade" },
                b = f.bigint { references = "owner.key", on_delete = "restrict" },
                c = f.bigint { references = "owner", on_delete = "no action" },
                d = f.real { choices = { 0.5, 0.1, -2 } },
                e = f.boolean { choices = { true }, default = false },
                g = f.jsonb { null = true, default = { 1, "two" } },
            },
        }
        t.eq(m:create_table_sql(), table.concat({
            'CREATE TABLE "refs" (',
            '    "a" bigint NOT NULL REFERENCES "owner" ON DELETE CASCADE,',
            '    "b" bigint NOT NULL REFERENCES "owner" ("key") ON DELETE RESTRICT,',
            '    "c" bigint NOT NULL REFERENCES "owner" ON DELETE NO ACTION,',
            '    "d" real NOT NULL CHECK ("d" IN (0.5, 0.1, -2)),',
            '    "e" boolean NOT NULL DEFAULT false CHECK ("e" IN (true)),',
            [[    "g" jsonb DEFAULT '[1,"two"]'::jsonb]],
            ');', '',
        }, "\n"))
    end),

    t.case("identifiers: checked, then quoted", function()
        t.ok(model.valid_identifier("ok_1"), "ok_1")
        t.ok(model.valid_identifier("_x"), "_x")
        t.ok(model.valid_identifier(("a"):rep(63)), "63 bytes")
        for _, bad in ipairs({ "1no", "Upper", "with space", "dash-ed", "dot.ted", 'q"uote', "",
            ("a"):rep(64), "caf\195\169" }) do
            t.ok(not model.valid_identifier(bad), ("%q is not an identifier"):format(bad))
        end
        t.ok(not model.valid_identifier(5), "a number")
        t.ok(not model.valid_identifier(nil), "nil")
        t.eq(model.quote("sample"), '"sample"')
        refused(here(), function() model.quote('x"; DROP TABLE y; --') end,
            'identifier "x\\"; DROP TABLE y; --" is not a valid name: use lower-case letters, digits '
            .. "and _, starting with a letter or _ (at most 63)")
        refused(here(), function() model.quote(7) end, "identifier 7 is not a valid name")
    end),

    t.case("every declaration error, with its message, at the declaring line", function()
        refused(here(), function() model.model "sample" end, "soom.model takes a table")
        refused(here(), function() model.model { table = "Bad", fields = {} } end,
            'table "Bad" is not a valid name')
        refused(here(), function() model.model { table = 'x"; DROP TABLE y; --', fields = {} } end,
            'table "x\\"; DROP TABLE y; --" is not a valid name')
        refused(here(), function() model.model { fields = {} } end, "table nil is not a valid name")
        refused(here(), function() model.model { table = "t" } end, "soom.model t: fields must be a table")
        refused(here(), function() model.model { table = "t", fields = { Name = f.text() } } end,
            'field "Name" is not a valid name')
        refused(here(), function() model.model { table = "t", fields = { a = "text" } } end,
            "soom.model: field a must be made with soom.f.<type>()")
        refused(here(), function() model.model { table = "t", fields = { { "a", "text" } } } end,
            "soom.model: fields[1] must be { name, soom.f.<type>() }")
        refused(here(), function() model.model { table = "t", fields = { { "a", f.text() },
            { "a", f.integer() } } } end, "soom.model t: field a is declared twice")
        local function one(fd, pk) -- the definition of a model with one field
            return { table = "t", primary_key = pk, fields = { a = fd } }
        end
        refused(here(), function() model.model(one(f.text(), "nope")) end,
            "soom.model t: the primary key nope is not a field")
        refused(here(), function() model.model(one(f.integer { references = "Bad" })) end,
            'field a: referenced table "Bad" is not a valid name')
        refused(here(), function() model.model(one(f.integer { references = "p.Col" })) end,
            'field a: referenced column "Col" is not a valid name')
        refused(here(), function() model.model { table = "t", fields = { a = f.serial { default = 1 } } } end,
            "soom.model t: field a: a serial field has its own default")
        refused(here(), function() model.model { table = "t",
            fields = { a = f.integer { references = "p", on_delete = "explode" } } } end,
            "soom.model t: field a: on_delete must be cascade, restrict, set null or no action")
    end),

    t.case("every field error, with its message, at the declaring line", function()
        refused(here(), function() f.text "x" end, "soom.f.text takes a table of options")
        refused(here(), function() f.text { max_lenght = 3 } end, 'soom.f.text: unknown option "max_lenght"')
        refused(here(), function() f.integer { max_length = 3 } end,
            'soom.f.integer: unknown option "max_length"')
        refused(here(), function() f.text { precision = 3 } end, 'soom.f.text: unknown option "precision"')
        for _, bad in ipairs({ 0, -1, 2.5, "20", 10485761 }) do
            refused(here(), function() f.varchar { max_length = bad } end,
                "soom.f.varchar: max_length must be a positive integer")
        end
        refused(here(), function() f.text { choices = {} } end,
            "soom.f.text: choices must be a non-empty list")
        refused(here(), function() f.text { choices = "a" } end,
            "soom.f.text: choices must be a non-empty list")
        refused(here(), function() f.numeric { scale = 2 } end, "soom.f.numeric: scale needs a precision")
        for _, bad in ipairs({ 0, 1001, 2.5, "8" }) do
            refused(here(), function() f.numeric { precision = bad } end,
                "soom.f.numeric: precision must be an integer from 1 to 1000")
        end
        for _, bad in ipairs({ -1, 6, 0.5 }) do
            refused(here(), function() f.numeric { precision = 5, scale = bad } end,
                "soom.f.numeric: scale must be an integer from 0 to the precision")
        end
        refused(here(), function() f.array("integer") end,
            "soom.f.array needs the field of its elements: soom.f.array(soom.f.text())")
        refused(here(), function() f.array(f.serial()) end, "soom.f.array: elements cannot be serial")
        refused(here(), function() f.array(f.text(), { max_length = 2 }) end,
            'soom.f.array: unknown option "max_length"')
        refused(here(), function() f.char { max_length = 0 } end,
            "soom.f.char: max_length must be a positive integer")
        refused(here(), function() f.char { precision = 1 } end, 'soom.f.char: unknown option "precision"')
        refused(here(), function() f.column {} end,
            'soom.f.column needs a type: soom.f.column { type = "inet" }')
        refused(here(), function() f.column { type = "int); DROP TABLE x; --" } end,
            "soom.f.column needs a type")
        refused(here(), function() f.column { type = "inet", max_length = 3 } end,
            'soom.f.column: unknown option "max_length"')
    end),

    t.case("valid_sql_type takes type names, modifiers and brackets, nothing else", function()
        for _, ok in ipairs({ "integer", "double precision", "numeric(10,2)", "numeric(4, 2)[]",
            "character varying(10)", "text[][]", "timestamp with time zone", "public.citext" }) do
            t.ok(model.valid_sql_type(ok), ok)
        end
        for _, bad in ipairs({ "", "int; DROP TABLE x", "text) --", "text'", '"text"', "1int",
            "a/*b*/" }) do
            t.ok(not model.valid_sql_type(bad), bad)
        end
        t.ok(not model.valid_sql_type(5), "a number")
    end),

    t.case("model options: name, schema, read_only, unique_together, checks", function()
        local m = model.model {
            table = "thing", name = "shop.thing", schema = "s1", read_only = true, help = "things",
            primary_key = "id",
            fields = { id = f.serial(), a = f.integer(), b = f.text() },
            unique_together = { { "a", "b" } },
            checks = { b_short = "length(b) < 5", a_positive = "a > 0" },
        }
        t.eq({ m.name, m.schema, m.read_only, m.managed }, { "shop.thing", "s1", true, true })
        t.eq(m:quoted_table(), '"s1"."thing"')
        t.eq(m:create_table_sql(), table.concat({
            'CREATE TABLE "s1"."thing" (',
            '    "id" serial NOT NULL,',
            '    "a" integer NOT NULL,',
            '    "b" text NOT NULL,',
            '    PRIMARY KEY ("id"),',
            '    UNIQUE ("a", "b"),',
            '    CONSTRAINT "a_positive" CHECK (a > 0),',
            '    CONSTRAINT "b_short" CHECK (length(b) < 5)',
            ');', '',
        }, "\n"), "checks in name order")
        t.eq(model.model { table = "plain", fields = { id = f.serial() } }:quoted_table(), '"plain"')
        local keyless = model.model {
            table = "keyless_id", primary_key = false, fields = { id = f.integer() },
        }
        t.eq({ keyless.primary_key, keyless.primary_keys }, { nil, {} }, "primary_key = false: none")
    end),

    t.case("errors of the model options, at the declaring line", function()
        local function def(extra) -- a valid definition with `extra` keys
            local d = { table = "opt", fields = { id = f.serial(), a = f.integer() } }
            for k, v in pairs(extra) do
                d[k] = v
            end
            return d
        end
        refused(here(), function() model.model(def { tabel = "x" }) end,
            'soom.model opt: unknown key "tabel"')
        refused(here(), function() model.model(def { schema = "Bad" }) end,
            'schema "Bad" is not a valid name')
        refused(here(), function() model.model(def { name = "no spaces" }) end,
            'soom.model opt: name must be like "market.category"')
        refused(here(), function() model.model(def { name = 5 }) end,
            'soom.model opt: name must be like "market.category"')
        refused(here(), function() model.model(def { unique_together = { "a" } }) end,
            "soom.model opt: unique_together[1] must be a list of fields")
        refused(here(), function() model.model(def { unique_together = { {} } }) end,
            "soom.model opt: unique_together[1] must be a list of fields")
        refused(here(), function() model.model(def { unique_together = { { "a", "zz" } } }) end,
            "soom.model opt: unique_together names zz, which is not a field")
        refused(here(), function() model.model(def { checks = { Bad = "a > 0" } }) end,
            'soom.model opt: check "Bad" is not a valid name')
        refused(here(), function() model.model(def { checks = { c = 5 } }) end,
            "soom.model opt: check c must be SQL text")
    end),

    -- ---- relations -------------------------------------------------------------

    t.case("a foreign key: its column, its type from the target, both sides of the relation", function()
        local parent = model.model {
            name = "rel.parent", table = "rel_parent", fields = { id = f.serial(), code = f.text() },
        }
        local child = model.model {
            table = "rel_child",
            fields = {
                id = f.bigserial(),
                parent = f.foreign_key { to = "rel.parent", on_delete = "cascade" },
                other = f.foreign_key { to = parent, on = "other_ref", null = true, related_name = "others" },
                big = f.foreign_key { to = "rel_big", to_field = "code", related_name = "+" },
            },
        }
        model.model {
            table = "rel_big", fields = { id = f.bigserial(), code = f.varchar { max_length = 4 } },
        }
        t.eq(child.field_names, { "id", "parent_id", "other_ref", "big_id" })
        t.ok(model.is_relation(child.relations[1]), "a relation")
        t.ok(not model.is_relation(child:field("parent_id")), "its column is a field")
        t.eq(child:create_table_sql(), table.concat({
            'CREATE TABLE "rel_child" (',
            '    "id" bigserial NOT NULL,',
            '    "parent_id" integer NOT NULL REFERENCES "rel_parent" ("id") ON DELETE CASCADE,',
            '    "other_ref" integer REFERENCES "rel_parent" ("id"),',
            '    "big_id" varchar(4) NOT NULL REFERENCES "rel_big" ("code"),',
            '    PRIMARY KEY ("id")',
            ');', '',
        }, "\n"), "a serial key is an integer on the referring side; to_field's type is its own")
        t.eq(child:field("parent_id").sql_type, "integer")
        local rel = child:relation("parent")
        t.eq({ rel.many, rel.target, rel.local_column, rel.remote_column },
            { false, parent, "parent_id", "id" })
        local reverse = parent:relation("rel_child_set")
        t.eq({ reverse.many, reverse.target, reverse.local_column, reverse.remote_column },
            { true, child, "id", "parent_id" })
        t.eq(parent:relation("others").remote_column, "other_ref")
        t.eq(parent:relation("nope"), nil)
        t.eq(model.model { table = "rel_big2", fields = { id = f.serial() } }:relation("rel_child_set"), nil)
    end),

    t.case("a many-to-many goes through a table of two foreign keys", function()
        local tag = model.model { name = "m2m.tag", table = "m2m_tag", fields = { id = f.serial() } }
        local post = model.model {
            name = "m2m.post", table = "m2m_post",
            fields = {
                id = f.bigserial(),
                tags = f.many_to_many { to = "m2m.tag", through = "m2m.post_tags", related_name = "posts" },
            },
        }
        model.model {
            name = "m2m.post_tags", table = "m2m_post_tags", primary_key = { "post_id", "tag_id" },
            fields = { post = f.foreign_key { to = "m2m.post" }, tag = f.foreign_key { to = "m2m.tag" } },
        }
        t.eq(post.field_names, { "id" }, "no column of its own")
        local rel = post:relation("tags")
        t.eq({ rel.many, rel.target, rel.local_column, rel.remote_column }, { true, tag, "id", "id" })
        t.eq({ rel.through.local_column, rel.through.remote_column }, { "post_id", "tag_id" })
        local back = tag:relation("posts")
        t.eq({ back.many, back.target }, { true, post })
    end),

    t.case("relation errors: in the declaration, or where the model is used", function()
        refused(here(), function() f.foreign_key { on = "x_id" } end,
            'soom.f.foreign_key needs `to`: the target model (a model, or its name "market.category")')
        refused(here(), function() f.foreign_key "x" end, "soom.f.foreign_key takes a table of options")
        refused(here(), function() f.foreign_key { to = "x", bogus = 1 } end,
            'soom.f.foreign_key: unknown option "bogus"')
        refused(here(), function() f.foreign_key { to = "x", type = "int; DROP" } end,
            'soom.f.foreign_key: type must be a SQL type such as "integer"')
        refused(here(), function() f.foreign_key { to = "x", on_delete = "explode" } end,
            "soom.f.foreign_key: on_delete must be cascade, restrict, set null or no action")
        refused(here(), function() f.many_to_many { to = "x" } end,
            "soom.f.many_to_many needs `through`: the model of the table between")
        refused(here(), function() model.model { table = "bad_on",
            fields = { p = f.foreign_key { to = "x", on = "Bad" } } } end,
            'field p: the column `on` "Bad" is not a valid name')
        refused(here(), function() model.model { table = "twice", fields = {
            { "p", f.integer() }, { "p", f.foreign_key { to = "x", on = "q" } } } } end,
            "soom.model twice: p is declared twice")
        local function at_use(fd, text)
            local m = model.model { table = "use_" .. tostring(fd.order), fields = { x = fd } }
            t.raises(function() m:create_table_sql() end, text)
        end
        at_use(f.foreign_key { to = "nowhere" }, "model use_")
        at_use(f.foreign_key { to = "nowhere" }, ", relation x: no model is named nowhere (name it by its "
            .. "`name`, its table, or its path under models/)")
        model.model { table = "no_key", primary_key = false, fields = { a = f.integer() } }
        at_use(f.foreign_key { to = "no_key" }, "no_key has no single-column primary key to refer to")
        at_use(f.foreign_key { to = "rel_parent", to_field = "nope" }, "rel.parent has no field nope")
        model.model { table = "dup_target", fields = { id = f.serial() } }
        model.model { table = "dup_target", fields = { id = f.serial() } }
        at_use(f.foreign_key { to = "dup_target" },
            "dup_target names more than one model (tables dup_target and dup_target)")
    end),


    t.case("defaults that cannot be written are refused where the SQL is asked for", function()
        local function model_of(fd)
            return model.model { table = "t", fields = { a = fd } }
        end
        local nan = model_of(f.double { default = 0 / 0 })
        local inf = model_of(f.double { choices = { math.huge } })
        local fn = model_of(f.text { default = f.literal(print) })
        local elem = model_of(f.array(f.real(), { default = { 0 / 0 } }))
        local bad_number = "a default or choice cannot be NaN or infinite"
        refused(here(), function() nan:create_table_sql() end, bad_number)
        refused(here(), function() inf:create_table_sql() end, bad_number)
        refused(here(), function() fn:create_table_sql() end, "a function cannot be a default or a choice")
        t.raises(function() elem:create_table_sql() end,
            "soom.db.array: NaN and infinities cannot be array elements")
    end),

    -- ---- what PostgreSQL takes and enforces ------------------------------------

    t.case("PostgreSQL takes the statements and fills the defaults", function()
        in_schema(function()
            db.query(parent_model():create_table_sql())
            db.query(everything_model():create_table_sql())
            db.query("INSERT INTO parent (code) VALUES ('p1')")
            local _, n = db.query("INSERT INTO everything (ratio, any_num, name, parent_id) "
                .. "VALUES (1, 2, 'a', 1)")
            t.eq(n, 1)
            local row = db.one("SELECT small, big, amount, rate, rate = 0.1 AS rate_exact, d, flag, "
                .. "code, meta, tags, tags::text AS tags_text, status, serial_no, "
                .. "key IS NOT NULL AS has_key, at IS NOT NULL AS has_at, day = CURRENT_DATE AS today, "
                .. "int, r, body, doc, grid, raw FROM everything")
            t.eq(row, {
                small = 7, big = 9007199254740992, amount = "1.50", rate = "0.1", rate_exact = true,
                d = 0.25, flag = true, code = "o'k", meta = { a = { 1, 2 } },
                tags = { "x", 'y "z"', "new\nline" }, tags_text = '{x,"y \\"z\\"","new\nline"}',
                status = "draft", serial_no = 1, has_key = true, has_at = true, today = true,
                int = soom.null, r = soom.null, body = soom.null, doc = soom.null, grid = soom.null,
                raw = soom.null,
            })
            db.query("INSERT INTO everything (ratio, any_num, name) VALUES (1, 2, 'b')")
            t.eq(db.one("SELECT serial_no FROM everything WHERE name = 'b'").serial_no, 2,
                "serial counts")
            local cols = db.query("SELECT column_name FROM information_schema.columns "
                .. "WHERE table_name = 'everything' ORDER BY ordinal_position")
            local names = {}
            for i, c in ipairs(cols) do
                names[i] = c.column_name
            end
            t.eq(names, everything_model().field_names, "the columns in declaration order")
        end)
    end),

    t.case("PostgreSQL enforces NOT NULL, lengths, choices, unique and foreign keys", function()
        in_schema(function()
            db.query(parent_model():create_table_sql())
            db.query(everything_model():create_table_sql())
            db.query("INSERT INTO parent (code) VALUES ('p1')")
            db.query("INSERT INTO everything (ratio, any_num, name, parent_id) VALUES (1, 2, 'a', 1)")
            local err = refused_by_db("INSERT INTO everything (ratio, any_num, name, status) "
                .. "VALUES (1, 2, 'b', 'gone')")
            t.eq({ err.status, err.errors[1].code }, { 422, "check" })
            t.ok(err.detail:find('violates check constraint "everything_status_check"', 1, true), err.detail)
            err = refused_by_db("INSERT INTO everything (ratio, any_num, name, int) VALUES (1, 2, 'c', 9)")
            t.eq({ err.status, err.errors[1].code }, { 422, "check" })
            t.ok(err.detail:find('violates check constraint "everything_int_check"', 1, true), err.detail)
            err = refused_by_db("INSERT INTO everything (ratio, any_num) VALUES (1, 2)")
            t.eq({ err.status, err.errors[1].code, err.errors[1].pointer }, { 422, "required", "/name" })
            t.ok(err.detail:find('null value in column "name"', 1, true), err.detail)
            err = refused_by_db("INSERT INTO everything (ratio, any_num, name, code) "
                .. "VALUES (1, 2, 'd', 'four')")
            t.eq({ err.status, err.errors[1].code }, { 422, "invalid" })
            t.ok(err.detail:find("value too long for type character varying(3)", 1, true), err.detail)
            err = refused_by_db("INSERT INTO everything (ratio, any_num, name) VALUES (123456, 2, 'e')")
            t.eq({ err.status, err.errors[1].code }, { 422, "invalid" }, "numeric(5) holds 5 digits")
            err = refused_by_db("INSERT INTO everything (ratio, any_num, name) VALUES (1, 2, 'a')")
            t.eq({ err.status, err.errors[1].code, err.errors[1].pointer }, { 409, "unique", "/name" })
            t.ok(err.detail:find("duplicate key value violates unique constraint", 1, true), err.detail)
            err = refused_by_db("INSERT INTO everything (ratio, any_num, name, parent_id) "
                .. "VALUES (1, 2, 'f', 99)")
            t.eq({ err.status, err.errors[1].code }, { 422, "foreign_key" }, "a value naming no row")
            t.ok(err.detail:find('violates foreign key constraint "everything_parent_id_fkey"', 1, true),
                err.detail)
            err = refused_by_db("INSERT INTO everything (id, ratio, any_num, name) VALUES (1, 1, 2, 'g')")
            t.eq({ err.status, err.errors[1].code }, { 409, "unique" }, "the primary key")
            t.eq(db.one("SELECT count(*) AS n FROM everything").n, 1, "nothing refused was written")
            db.query("DELETE FROM parent")
            t.eq(db.one("SELECT parent_id FROM everything").parent_id, soom.null, "ON DELETE SET NULL")
        end)
    end),

    t.case("PostgreSQL enforces on_delete cascade and restrict, and composite keys", function()
        in_schema(function()
            db.query(parent_model():create_table_sql())
            local kids = model.model {
                table = "kids",
                fields = {
                    id = f.serial(),
                    owned = f.bigint { references = "parent.id", on_delete = "cascade" },
                    kept = f.bigint { null = true, references = "parent", on_delete = "restrict" },
                },
            }
            db.query(kids:create_table_sql())
            db.query("INSERT INTO parent (code) VALUES ('a'), ('b')")
            db.query("INSERT INTO kids (owned, kept) VALUES (1, NULL), (2, 1)")
            local err = refused_by_db("DELETE FROM parent WHERE id = 1")
            t.eq({ err.status, err.errors[1].code }, { 409, "foreign_key" }, "restrict")
            t.ok(err.detail:find('violates foreign key constraint "kids_kept_fkey"', 1, true), err.detail)
            db.query("UPDATE kids SET kept = NULL")
            local _, n = db.query("DELETE FROM parent WHERE id = 1")
            t.eq(n, 1)
            t.eq(db.query("SELECT owned FROM kids"), { { owned = 2 } }, "cascade took the owned row")
            local pair = model.model {
                table = "pair", primary_key = { "a", "b" }, fields = { a = f.integer(), b = f.text() },
            }
            db.query(pair:create_table_sql())
            db.query("INSERT INTO pair VALUES (1, 'x'), (1, 'y'), (2, 'x')")
            err = refused_by_db("INSERT INTO pair VALUES (1, 'x')")
            t.eq({ err.status, err.errors[1].code }, { 409, "unique" })
            t.eq(err.errors[1].pointer, "", "two columns: no single field to point at")
        end)
    end),

    t.case("PostgreSQL enforces unique_together and checks, in the model's schema", function()
        in_schema(function(schema)
            local m = model.model {
                table = "opt_db", schema = schema,
                fields = { id = f.serial(), a = f.integer(), b = f.text() },
                unique_together = { { "a", "b" } }, checks = { a_positive = "a > 0" },
            }
            db.query(m:create_table_sql())
            db.query("INSERT INTO opt_db (a, b) VALUES (1, 'x'), (1, 'y'), (2, 'x')")
            local err = refused_by_db("INSERT INTO opt_db (a, b) VALUES (1, 'x')")
            t.eq({ err.status, err.errors[1].code }, { 409, "unique" })
            err = refused_by_db("INSERT INTO opt_db (a, b) VALUES (0, 'z')")
            t.eq({ err.status, err.errors[1].code, err.errors[1].detail },
                { 422, "check", "a value fails the check a_positive" })
            t.eq(db.one("SELECT count(*)::int AS n FROM " .. m:quoted_table()).n, 3)
        end)
    end),

    t.case("PostgreSQL takes relations' tables and enforces them", function()
        in_schema(function()
            local owner = model.model { table = "fk_owner", fields = { id = f.serial(), code = f.text() } }
            local pet = model.model {
                table = "fk_pet",
                fields = {
                    id = f.bigserial(),
                    owner = f.foreign_key { to = owner, on_delete = "cascade" },
                    vet = f.foreign_key { to = "fk_owner", null = true, on_delete = "set null",
                        related_name = "patients" },
                },
            }
            db.query(owner:create_table_sql())
            db.query(pet:create_table_sql())
            db.query("INSERT INTO fk_owner (code) VALUES ('a'), ('b')")
            db.query("INSERT INTO fk_pet (owner_id, vet_id) VALUES (1, 2), (2, 2)")
            local err = refused_by_db("INSERT INTO fk_pet (owner_id) VALUES (9)")
            t.eq({ err.status, err.errors[1].code, err.errors[1].pointer },
                { 422, "foreign_key", "/owner_id" })
            db.query("DELETE FROM fk_owner WHERE id = 2")
            t.eq(db.query("SELECT owner_id, vet_id FROM fk_pet"), { { owner_id = 1, vet_id = soom.null } },
                "cascade took one pet, set null cleared the other's vet")
        end)
    end),
}
