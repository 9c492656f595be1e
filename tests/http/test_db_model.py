"""soom.model and soom.f: declaration order, every field type, options,
identifier checks, and CREATE TABLE statements that a real PostgreSQL
accepts and enforces (defaults, NOT NULL, choices, unique, references)."""

import json
import subprocess

from harness import eq, main, run_soom, write_app
from pgdb import fresh_database, psql, psql_bin, temp_dir

URL = fresh_database("t_model")

CASES = r'''
local soom = require "soom"
local json = require "soom.json"
local model = require "soom.model"
local f = model.f

local cases = {}

local function err(fn)
    local ok, e = pcall(fn)
    assert(not ok, "expected an error")
    return tostring(e)
end

function cases.order()
    local m = model.model {
        table = "ordered",
        fields = {
            zeta = f.integer(), alpha = f.text(), mid = f.boolean(), id = f.serial(),
            beta = f.date(), omega = f.jsonb(), kappa = f.uuid(), delta = f.real(),
        },
    }
    local l = model.model {
        table = "listed", primary_key = "b",
        fields = { { "b", f.text() }, { "a", f.integer() } },
    }
    return { map = m.field_names, list = l.field_names, pk = m.primary_key, lpk = l.primary_key,
             columns = l:columns_sql() }
end

function cases.everything()
    local parent = model.model {
        table = "parent", fields = { id = f.bigserial(), code = f.varchar { max_length = 8, unique = true } },
    }
    local m = model.model {
        table = "everything", primary_key = "id",
        fields = {
            id = f.bigserial(),
            small = f.smallint { default = 7 },
            int = f.integer { null = true, choices = { 1, 2, 3 } },
            big = f.bigint { default = 9007199254740993 },
            serial_no = f.serial(),
            amount = f.numeric { precision = 10, scale = 2, default = 1.5 },
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
            tags = f.array(f.text(), { default = { "x", 'y "z"' } }),
            grid = f.array(f.array(f.integer()), { null = true }),
            raw = f.bytea { null = true },
            status = f.text { default = f.literal("draft"), choices = { "draft", "live" } },
            parent_id = f.bigint { null = true, references = "parent.id", on_delete = "set null" },
        },
    }
    return { parent = parent:create_table_sql(), sql = m:create_table_sql(),
             read_only = m:field("at").read_only, kinds = { m:field("grid").kind, m:field("grid").of.kind },
             names = m.field_names }
end

function cases.relations()
    local parent = model.model { name = "rel.parent", table = "rel_parent",
        fields = { id = f.serial(), code = f.text() } }
    local child = model.model {
        table = "rel_child",
        fields = {
            id = f.bigserial(),
            parent = f.foreign_key { to = "rel.parent", on_delete = "cascade" },
            other = f.foreign_key { to = parent, on = "other_ref", null = true, related_name = "others" },
        },
    }
    local reverse = parent:relation("rel_child_set")
    return {
        names = child.field_names, sql = child:create_table_sql(),
        parent_type = child:field("parent_id").sql_type,
        reverse = { reverse.many, reverse.local_column, reverse.remote_column },
        others = parent:relation("others").remote_column,
        unknown = err(function()
            local m = model.model { table = "rel_bad", fields = { x = f.foreign_key { to = "nowhere" } } }
            return m:create_table_sql()
        end),
        option = err(function() f.foreign_key { to = "x", bogus = 1 } end),
        no_to = err(function() f.foreign_key { on = "x_id" } end),
    }
end

function cases.relations_sql()
    local parent = model.model { table = "rs_parent", fields = { id = f.serial(), code = f.text() } }
    local child = model.model { table = "rs_child", fields = { id = f.bigserial(),
        parent = f.foreign_key { to = parent } } }
    return { sql = parent:create_table_sql() .. child:create_table_sql() }
end

function cases.errors()
    return {
        table = err(function() model.model { table = "Bad", fields = {} } end),
        quote = err(function() model.model { table = 'x"; DROP TABLE y; --', fields = {} } end),
        field = err(function() model.model { table = "t", fields = { Name = f.text() } } end),
        option = err(function() f.text { max_lenght = 3 } end),
        scale = err(function() f.numeric { scale = 2 } end),
        pk = err(function() model.model { table = "t", primary_key = "nope", fields = { a = f.text() } } end),
        not_field = err(function() model.model { table = "t", fields = { a = "text" } } end),
        array = err(function() f.array("integer") end),
        references = err(function() f.integer { references = "bad table" }; model.model {
            table = "t", fields = { a = f.integer { references = "Bad" } } } end),
        serial_default = err(function() model.model { table = "t", fields = { a = f.serial { default = 1 } } } end),
        length = err(function() f.text { max_length = 0 } end),
        on_delete = err(function() model.model { table = "t",
            fields = { a = f.integer { references = "p", on_delete = "explode" } } } end),
        valid = { model.valid_identifier("ok_1"), model.valid_identifier("1no"),
                  model.valid_identifier(("a"):rep(64)) },
    }
end

return soom.command {
    arguments = { { "case", required = true } },
    run = function(args)
        io.write(assert(json.encode(cases[args.case]())), "\n")
    end,
}
'''

APP = write_app(temp_dir("soom-model-"), {
    "app.lua": 'return { name = "models" }\n',
    "commands/modelcase.lua": CASES,
})


def case(name):
    code, out, err = run_soom("--app", APP, "modelcase", "--case", name)
    assert code == 0, "modelcase %s failed:\n%s\n%s" % (name, out, err)
    return json.loads(out.splitlines()[-1])


def psql_fails(sql):
    p = subprocess.run([psql_bin(), "-v", "ON_ERROR_STOP=1", "-qAtX", "-d", URL, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0, "expected %s to fail" % sql
    return p.stderr


def test_declaration_order():
    out = case("order")
    eq(out["map"], ["zeta", "alpha", "mid", "id", "beta", "omega", "kappa", "delta"])
    eq(out["list"], ["b", "a"])
    eq(out["pk"], "id", "id is the primary key by default")
    eq(out["lpk"], "b")
    eq(out["columns"], '"b", "a"')


def test_create_table_statements():
    out = case("everything")
    sql = out["sql"]
    for piece in ('CREATE TABLE "everything" (',
                  '"id" bigserial NOT NULL',
                  '"small" smallint NOT NULL DEFAULT 7',
                  '"int" integer CHECK ("int" IN (1, 2, 3))',
                  '"big" bigint NOT NULL DEFAULT 9007199254740992',
                  '"serial_no" serial NOT NULL',
                  '"amount" numeric(10,2) NOT NULL DEFAULT 1.5',
                  '"ratio" numeric(5) NOT NULL',
                  '"any_num" numeric NOT NULL',
                  '"r" real,',
                  '"d" double precision NOT NULL DEFAULT 0.25',
                  '"flag" boolean NOT NULL DEFAULT true',
                  '"name" varchar(20) NOT NULL UNIQUE',
                  '"body" text,',
                  '"code" varchar(3) NOT NULL DEFAULT \'o\'\'k\'',
                  '"free" varchar,',
                  '"key" uuid NOT NULL DEFAULT gen_random_uuid()',
                  '"at" timestamptz NOT NULL DEFAULT now()',
                  '"doc" json,',
                  '"meta" jsonb NOT NULL DEFAULT \'{"a":[1,2]}\'::jsonb',
                  '"tags" text[] NOT NULL DEFAULT \'{"x","y \\"z\\""}\'',
                  '"grid" integer[][],',
                  '"raw" bytea,',
                  '"status" text NOT NULL DEFAULT \'draft\' CHECK ("status" IN (\'draft\', \'live\'))',
                  '"parent_id" bigint REFERENCES "parent" ("id") ON DELETE SET NULL',
                  'PRIMARY KEY ("id")'):
        assert piece in sql, "missing %r in:\n%s" % (piece, sql)
    eq(out["read_only"], True)
    eq(out["kinds"], ["array", "array"])
    eq(out["names"][0], "id")
    eq(out["names"][-1], "parent_id")
    # PostgreSQL takes them, and enforces what they say
    psql(URL, out["parent"] + out["sql"])
    psql(URL, "INSERT INTO parent (code) VALUES ('p1')")
    psql(URL, "INSERT INTO everything (ratio, any_num, name, parent_id) VALUES (1, 2, 'a', 1)")
    row = psql(URL, "SELECT small, big, amount, d, flag, code, meta, tags, status, "
                    "key IS NOT NULL, at IS NOT NULL FROM everything").strip()
    eq(row, '7|9007199254740992|1.50|0.25|t|o\'k|{"a": [1, 2]}|{x,"y \\"z\\""}|draft|t|t')
    err = psql_fails("INSERT INTO everything (ratio, any_num, name, status) VALUES (1, 2, 'b', 'gone')")
    assert "check constraint" in err, err
    err = psql_fails("INSERT INTO everything (ratio, any_num, name, int) VALUES (1, 2, 'c', 9)")
    assert "check constraint" in err, err
    err = psql_fails("INSERT INTO everything (ratio, any_num) VALUES (1, 2)")
    assert "null value" in err, err
    err = psql_fails("INSERT INTO everything (ratio, any_num, name) VALUES (1, 2, 'a')")
    assert "duplicate key" in err, err
    err = psql_fails("INSERT INTO everything (ratio, any_num, name, parent_id) VALUES (1, 2, 'd', 99)")
    assert "foreign key" in err, err
    psql(URL, "DELETE FROM parent")
    eq(psql(URL, "SELECT parent_id IS NULL FROM everything").strip(), "t", "ON DELETE SET NULL")


def test_relations():
    out = case("relations")
    eq(out["names"], ["id", "parent_id", "other_ref"])
    eq(out["parent_type"], "integer", "a foreign key takes its target's key type (serial: integer)")
    assert '"parent_id" integer NOT NULL REFERENCES "rel_parent" ("id") ON DELETE CASCADE' in out["sql"], out["sql"]
    assert '"other_ref" integer REFERENCES "rel_parent" ("id")' in out["sql"], out["sql"]
    eq(out["reverse"], [True, "id", "parent_id"])
    eq(out["others"], "other_ref")
    assert "no model is named nowhere" in out["unknown"], out["unknown"]
    assert 'unknown option "bogus"' in out["option"], out["option"]
    assert "needs `to`" in out["no_to"], out["no_to"]
    psql(URL, case("relations_sql")["sql"])


def test_declaration_errors():
    out = case("errors")
    assert 'table "Bad" is not a valid name' in out["table"], out["table"]
    assert "is not a valid name" in out["quote"], out["quote"]
    assert 'field "Name" is not a valid name' in out["field"], out["field"]
    assert 'soom.f.text: unknown option "max_lenght"' in out["option"], out["option"]
    assert "scale needs a precision" in out["scale"], out["scale"]
    assert "the primary key nope is not a field" in out["pk"], out["pk"]
    assert "must be made with soom.f" in out["not_field"], out["not_field"]
    assert "soom.f.array needs the field of its elements" in out["array"], out["array"]
    assert "referenced table" in out["references"], out["references"]
    assert "serial field has its own default" in out["serial_default"], out["serial_default"]
    assert "max_length must be a positive integer" in out["length"], out["length"]
    assert "on_delete must be" in out["on_delete"], out["on_delete"]
    eq(out["valid"], [True, False, False])


if __name__ == "__main__":
    main(globals())
