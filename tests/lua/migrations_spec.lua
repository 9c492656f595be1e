-- Specs of lua/soom/migrations/: the state read back from the files Soom
-- writes and from the ones it did not, constraint names as PostgreSQL
-- gives them, and which type changes narrow. (The SQL applied to a real
-- PostgreSQL: tests/http/test_makemigrations.py.)
local autodetect = require "soom.migrations.autodetect"
local soom = require "soom"
local state = require "soom.migrations.state"
local t = require "soom.test"

local f = soom.f

-- The state the files { name = text } build, in name order.
local function of_texts(texts)
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    local list = {}
    for i, text in ipairs(texts) do
        local path = ("%s/%04d_m.sql"):format(dir, i)
        local fh = assert(io.open(path, "w"))
        fh:write(text)
        fh:close()
        list[i] = { name = ("%04d_m.sql"):format(i), path = path }
    end
    local s = state.of_files(list)
    os.execute("rm -rf " .. dir)
    return s
end

return {
    t.case("a model's state comes back from its soom:table line as it was", function()
        local m = soom.model {
            table = "spec_sheet",
            fields = {
                id = f.bigserial(),
                code = f.varchar { max_length = 12, unique = true, index = true },
                kind = f.text { choices = { "a", "b" }, default = f.literal("a") },
                meta = f.jsonb { null = true, default = { x = 1 } },
            },
            unique_together = { { "kind", "meta" } },
            checks = { short = "length(code) < 10" },
        }
        local st = state.of_model(m)
        local back = of_texts({ state.table_line(st) .. "\nSELECT 1;\n" })
        t.eq(back.spec_sheet, {
            name = "spec_sheet", primary_key = { "id" },
            columns = {
                { name = "id", type = "bigserial" },
                { name = "code", type = "varchar(12)", unique = true, unique_name = "spec_sheet_code_key" },
                { name = "kind", type = "text", default = "'a'", check = [["kind" IN ('a', 'b')]],
                    check_name = "spec_sheet_kind_check" },
                { name = "meta", type = "jsonb", null = true, default = [['{"x":1}'::jsonb]] },
            },
            unique = { { columns = { "kind", "meta" }, name = "spec_sheet_kind_meta_key" } },
            checks = { { name = "short", sql = "length(code) < 10" } },
            indexes = { { name = "spec_sheet_code", columns = { "code" } } },
        })
        t.eq(autodetect.diff(back, { spec_sheet = st }), {}, "nothing changed")
    end),

    t.case("files Soom did not write are read for the statements it knows", function()
        local s = of_texts({
            [[-- by hand
CREATE TABLE IF NOT EXISTS shelf (id int PRIMARY KEY, label text DEFAULT 'x, y', n int);
create table "book" (
    "id" serial NOT NULL,
    "shelf_id" integer REFERENCES "shelf" ("id") ON DELETE SET NULL,
    "title" varchar(80) NOT NULL,
    "at" timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY ("id"),
    UNIQUE ("shelf_id", "title")
);
CREATE UNIQUE INDEX "book_title" ON "book" ("title" DESC);
CREATE TABLE gone (id int);]],
            [[ALTER TABLE shelf ADD COLUMN IF NOT EXISTS "floor" smallint NOT NULL DEFAULT 0;
ALTER TABLE shelf DROP COLUMN n;
DROP TABLE IF EXISTS gone;
UPDATE shelf SET label = 'x;DROP TABLE book;';
CREATE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; DROP TABLE shelf; END $body$ LANGUAGE plpgsql;]],
        })
        t.eq(s.gone, nil)
        t.eq(s.shelf.columns, {
            { name = "id", type = "int" },
            { name = "label", type = "text", null = true, default = "'x, y'" },
            { name = "floor", type = "smallint", default = "0" },
        })
        t.eq(s.shelf.primary_key, { "id" })
        t.eq(s.shelf.untracked, true)
        t.eq(s.book.columns[2], { name = "shelf_id", type = "integer", null = true,
            fk = { table = "shelf", column = "id", on_delete = "SET NULL", name = "book_shelf_id_fkey" } })
        t.eq(s.book.columns[4], { name = "at", type = "timestamp with time zone", default = "now()" })
        t.eq(s.book.unique, { { columns = { "shelf_id", "title" }, name = "book_shelf_id_title_key" } })
        t.eq(s.book.indexes, { { name = "book_title", columns = { "-title" }, unique = true,
            untracked = true } })
    end),

    t.case("a file's forward part and its reverse section", function()
        t.eq({ state.split("A;\n-- soom:reverse: undoes\nB;\n") }, { "A;\n", "B;\n" })
        t.eq({ state.split("-- soom:reverse\nB;") }, { "", "B;" })
        t.eq({ state.split("A;\n-- soom:reverse") }, { "A;\n", "" }, "the marker on the last line")
        t.eq({ state.split("A;\n-- soom:reversed is not the marker\n") },
            { "A;\n-- soom:reversed is not the marker\n", nil })
        t.eq({ state.split("A; -- soom:reverse\n") }, { "A; -- soom:reverse\n" }, "at a line's start only")
    end),

    t.case("constraint names as PostgreSQL makes them, long names trimmed", function()
        t.eq(state.constraint_name("booking", { "room_id" }, "fkey"), "booking_room_id_fkey")
        local long = state.constraint_name(("t"):rep(60), { ("c"):rep(40) }, "key")
        t.eq(#long, 63)
        -- what PostgreSQL 15 named CREATE TABLE t*60 (c*40 int UNIQUE)'s constraint
        t.eq(long, ("t"):rep(29) .. "_" .. ("c"):rep(29) .. "_key")
        t.eq(state.constraint_name(("t"):rep(60), { "d" }, "check"), ("t"):rep(55) .. "_d_check")
    end),

    t.case("type changes that narrow", function()
        local narrows = {
            { "bigint", "integer" }, { "integer", "smallint" }, { "text", "varchar(20)" },
            { "varchar(50)", "varchar(20)" }, { "numeric(10,2)", "numeric(8,2)" },
            { "numeric(10,2)", "numeric(10,1)" }, { "double precision", "real" },
            { "text", "integer" }, { "jsonb", "json" }, { "integer", "numeric(5,0)" },
        }
        local widens = {
            { "integer", "bigint" }, { "smallint", "integer" }, { "varchar(20)", "varchar(50)" },
            { "varchar(20)", "text" }, { "integer", "text" }, { "real", "double" },
            { "numeric(8,2)", "numeric(10,2)" }, { "numeric(8,2)", "numeric" },
            { "integer", "numeric(12,0)" }, { "timestamp", "timestamptz" }, { "char(3)", "varchar(3)" },
        }
        for _, c in ipairs(narrows) do
            t.eq(autodetect.narrows(c[1], c[2]), true, c[1] .. " -> " .. c[2])
        end
        for _, c in ipairs(widens) do
            t.eq(autodetect.narrows(c[1], c[2]), false, c[1] .. " -> " .. c[2])
        end
    end),
}
