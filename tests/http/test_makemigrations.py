"""`soom makemigrations` follows the models (issue 16): an app with two
related models evolved through five changes, each written as the SQL
expected, applied to a real PostgreSQL, `--check` clean after it, and
`soom migrate --to 0` back to an empty schema; `--check` failing on a model
changed without a migration; destructive changes commented out until
`--allow-destructive`; tables in dependency order (a cycle closed by ALTER
TABLE); files of older makemigrations and of the scaffold read as they
are; `soom migrate` on the app's own database, leaving one it did not
start running."""

import os
import re

from harness import Server, eq, main, run_soom, start_failure, write_app
from pgdb import fresh_database, psql, temp_dir

ROOM = """local soom = require "soom"
return soom.model {
    table = "room",
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.text { max_length = 50, unique = true },
%s    },
}
"""

BOOKING = """local soom = require "soom"
return soom.model {
    table = "booking",
    fields = {
        id = soom.f.bigserial(),
        room = soom.f.foreign_key { to = "room", on_delete = "cascade" },
        starts_at = soom.f.timestamptz(),
%s    },
}
"""


def new_app(files, name="booked"):
    root = temp_dir("soom-makemig-")
    files = dict(files)
    files.setdefault("app.lua", 'return { name = "%s" }\n' % name)
    return write_app(root, files)


def soom(app, *args, url=None):
    env = {"DATABASE_URL": url if url is not None else URL}
    return run_soom(*args, app, env=env, timeout=120)


def ok(app, *args, url=None):
    code, out, err = soom(app, *args, url=url)
    assert code == 0, "soom %s failed (%d):\n%s\n%s" % (" ".join(args), code, out, err)
    return out, err


def make(app, *args):
    """Runs makemigrations; returns the new file's name and its text."""
    out, err = ok(app, "makemigrations", *args)
    m = re.match(r"wrote (migrations/\S+)\n", out)
    assert m, out + err
    with open(os.path.join(app, m.group(1))) as f:
        return m.group(1), f.read(), err


def forward(text):
    """The statements of a file above its reverse section, comments out."""
    head = text.split("\n-- soom:reverse", 1)[0]
    return "\n".join(line for line in head.splitlines() if not line.startswith("--"))


def reverse(text):
    return text.split("\n-- soom:reverse", 1)[1].split("\n", 1)[1]


def columns(url, table):
    """name:type:nullable:default of each column of table."""
    out = psql(url, "SELECT string_agg(column_name || ':' || data_type || ':' || is_nullable "
                    "|| ':' || coalesce(column_default, ''), ' ' ORDER BY ordinal_position) "
                    "FROM information_schema.columns WHERE table_name = '%s'" % table)
    return out.strip()


def relations(url):
    """Every table, sequence and index of the public schema but the ledger."""
    return psql(url, "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class c "
                     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'public' "
                     "AND relname NOT LIKE 'soom_migrations%'").strip()


def check_clean(app):
    out, _ = ok(app, "makemigrations", "--check")
    eq(out, "no changes: the migrations match the models\n")


URL = fresh_database("t_makemig")


def test_five_changes_forward_and_back():
    url = fresh_database("t_makemig_five")
    app = new_app({"models/room.lua": ROOM % ""})
    # 0: the first model
    name, text, _ = make(app)
    eq(name, "migrations/0001_create_room.sql")
    assert 'CREATE TABLE "room" (\n    "id" bigserial NOT NULL,\n    "name" varchar(50) NOT NULL ' \
           'UNIQUE,\n    PRIMARY KEY ("id")\n);' in forward(text), text
    eq(reverse(text).strip(), 'DROP TABLE "room";')
    ok(app, "migrate", url=url)
    check_clean(app)
    # 1: a table with a foreign key
    write_app(app, {"models/booking.lua": BOOKING % '        note = soom.f.text { null = true },\n'})
    name, text, _ = make(app)
    eq(name, "migrations/0002_create_booking.sql")
    assert '"room_id" bigint NOT NULL REFERENCES "room" ("id") ON DELETE CASCADE' in text, text
    eq(reverse(text).strip(), 'DROP TABLE "booking";')
    ok(app, "migrate", url=url)
    check_clean(app)
    psql(url, "INSERT INTO room (name) VALUES ('blue'); "
              "INSERT INTO booking (room_id, starts_at, note) VALUES (1, now(), 'first')")
    # 2: a column
    write_app(app, {"models/room.lua": ROOM % "        capacity = soom.f.integer { default = 4 },\n"})
    name, text, _ = make(app)
    eq(name, "migrations/0003_add_room_capacity.sql")
    eq(forward(text).strip(), 'ALTER TABLE "room" ADD COLUMN "capacity" integer NOT NULL DEFAULT 4;')
    eq(reverse(text).strip(), 'ALTER TABLE "room" DROP COLUMN "capacity";')
    ok(app, "migrate", url=url)
    assert "capacity:integer:NO:4" in columns(url, "room"), columns(url, "room")
    check_clean(app)
    # 3: nullable
    write_app(app, {"models/room.lua": ROOM % "        capacity = soom.f.integer { default = 4, "
                                              "null = true },\n"})
    name, text, _ = make(app)
    eq(name, "migrations/0004_alter_room_capacity.sql")
    eq(forward(text).strip(), 'ALTER TABLE "room" ALTER COLUMN "capacity" DROP NOT NULL;')
    eq(reverse(text).strip(), 'ALTER TABLE "room" ALTER COLUMN "capacity" SET NOT NULL;')
    ok(app, "migrate", url=url)
    assert "capacity:integer:YES:4" in columns(url, "room"), columns(url, "room")
    check_clean(app)
    # 4: a rename, declared on the field: the data stays
    write_app(app, {"models/booking.lua": BOOKING % '        comment = soom.f.text { null = true, '
                                                    'renamed_from = "note" },\n'})
    name, text, _ = make(app)
    eq(name, "migrations/0005_rename_booking_note.sql")
    eq(forward(text).strip(), 'ALTER TABLE "booking" RENAME COLUMN "note" TO "comment";')
    eq(reverse(text).strip(), 'ALTER TABLE "booking" RENAME COLUMN "comment" TO "note";')
    ok(app, "migrate", url=url)
    eq(psql(url, "SELECT comment FROM booking").strip(), "first")
    check_clean(app)
    # 5: a drop, allowed
    write_app(app, {"models/room.lua": ROOM % ""})
    name, text, err = make(app, "--allow-destructive")
    eq(name, "migrations/0006_drop_room_capacity.sql")
    eq(forward(text).strip(), 'ALTER TABLE "room" DROP COLUMN "capacity";')
    eq(reverse(text).strip(), 'ALTER TABLE "room" ADD COLUMN "capacity" integer DEFAULT 4;')
    eq(err, "", "allowed: no warning")
    ok(app, "migrate", url=url)
    eq(columns(url, "room"), "id:bigint:NO:nextval('room_id_seq'::regclass) "
                             "name:character varying:NO:")
    check_clean(app)
    # back to 3, then forward again, then to the start
    out, _ = ok(app, "migrate", "--to", "3", url=url)
    eq(out, "reverted 0006_drop_room_capacity.sql\nreverted 0005_rename_booking_note.sql\n"
            "reverted 0004_alter_room_capacity.sql\n")
    assert "capacity:integer:NO:4" in columns(url, "room"), columns(url, "room")
    eq(psql(url, "SELECT note FROM booking").strip(), "first", "renamed back")
    out, _ = ok(app, "migrate", url=url)
    assert out.endswith("3 migrations applied\n"), out
    out, _ = ok(app, "migrate", "--to", "0", url=url)
    eq(out.count("reverted "), 6, out)
    eq(relations(url), "", "an empty schema")
    eq(psql(url, "SELECT count(*) FROM soom_migrations").strip(), "0")
    out, _ = ok(app, "migrate", "--to", "0", url=url)
    eq(out, "nothing to do: the database is at migration 0\n")


def test_check_fails_on_a_model_changed_without_migration():
    url = fresh_database("t_makemig_check")
    app = new_app({"models/room.lua": ROOM % ""})
    make(app)
    ok(app, "migrate", url=url)
    check_clean(app)
    write_app(app, {"models/room.lua": ROOM % "        floor = soom.f.smallint { choices = { 0, 1 }, "
                                              "default = 0 },\n"})
    # `soom run` refuses to start on the table without the column, and says what to run
    code, log = start_failure(app, env={"DATABASE_URL": url})
    eq(code, 1, log)
    assert "model room: column floor: declared, not found in the table" in log, log
    assert "for a managed model, `soom makemigrations` writes the migration that follows it" in log, log
    code, out, err = soom(app, "makemigrations", "--check")
    eq(code, 1, out + err)
    assert out.startswith("the models and the migrations disagree (2 changes without a migration"), out
    assert "  - add column room.floor\n" in out, out
    assert "  - add constraint room_floor_check on room\n" in out, out
    eq(sorted(os.listdir(os.path.join(app, "migrations"))), ["0001_create_room.sql"],
       "--check writes nothing")
    # the change written: an added column, its check a named constraint
    _, text, _ = make(app)
    eq(forward(text).strip(), 'ALTER TABLE "room" ADD COLUMN "floor" smallint NOT NULL DEFAULT 0;\n\n'
                              'ALTER TABLE "room" ADD CONSTRAINT "room_floor_check" CHECK ("floor" IN '
                              '(0, 1));')
    check_clean(app)
    # a field made NOT NULL without a default is written with a note
    write_app(app, {"models/booking.lua": BOOKING % "        note = soom.f.text { null = true },\n"})
    make(app)
    write_app(app, {"models/booking.lua": BOOKING % "        note = soom.f.text(),\n"})
    _, text, err = make(app)
    assert "-- Note: booking.note becomes NOT NULL: this fails while a row holds NULL" in text, text
    assert "warning: booking.note becomes NOT NULL" in err, err
    write_app(app, {"models/booking.lua": BOOKING % "        note = soom.f.text(),\n"
                                                    "        guests = soom.f.integer(),\n"})
    _, text, err = make(app)
    assert "-- Note: booking.guests is NOT NULL without a default" in text, text
    assert "warning: booking.guests is NOT NULL without a default" in err, err
    # a model that stops being managed: its table is left alone, not dropped
    write_app(app, {"models/booking.lua": BOOKING.replace('table = "booking",', 'table = "booking", '
                                                          'managed = false,') % ""})
    check_clean(app)


def test_destructive_changes_are_commented_out():
    url = fresh_database("t_makemig_destroy")
    app = new_app({"models/room.lua": ROOM % "        floor = soom.f.integer { null = true },\n",
                   "models/booking.lua": BOOKING % ""})
    make(app)
    ok(app, "migrate", url=url)
    psql(url, "INSERT INTO room (name, floor) VALUES ('blue', 3)")
    # a dropped column and a dropped table, a narrower type, a wider one
    os.remove(os.path.join(app, "models/booking.lua"))
    write_app(app, {"models/room.lua": ROOM.replace("max_length = 50", "max_length = 20") % ""})
    name, text, err = make(app)
    eq(name, "migrations/0002_alter_room_name_and_more.sql")
    eq(forward(text).strip(), "")
    for stmt in ('-- ALTER TABLE "room" ALTER COLUMN "name" TYPE varchar(20) USING "name"::varchar(20);',
                 '-- ALTER TABLE "room" DROP COLUMN "floor";', '-- DROP TABLE "booking";'):
        assert "\n" + stmt + "\n" in text, text
    assert "-- WARNING: destructive: drops the column room.floor and its data." in text, text
    assert "-- WARNING: destructive: drops the table booking and its rows." in text, text
    assert "\n-- CREATE TABLE \"booking\" (\n" in "\n" + reverse(text), "the reverse is commented too"
    for what in ("drops the column room.floor", "drops the table booking",
                 "changes the type of room.name from varchar(50) to varchar(20)"):
        assert "warning: destructive, left commented out: " + what in err, err
    ok(app, "migrate", url=url)
    eq(psql(url, "SELECT floor FROM room").strip(), "3", "nothing was dropped")
    assert "booking" in relations(url)
    check_clean(app)
    # the column dropped later, by hand, in a file --empty writes
    custom, text, _ = make(app, "--empty", "--name", "drop_floor")
    eq(custom, "migrations/0003_drop_floor.sql")
    assert text.endswith("\n-- soom:reverse: what follows undoes this file (soom migrate --to N)\n"), text
    write_app(app, {custom: text.replace("\n\n\n-- soom:reverse", '\nALTER TABLE room DROP COLUMN floor;\n'
                                         '-- soom:reverse') + "ALTER TABLE room ADD COLUMN floor integer;\n"})
    ok(app, "migrate", url=url)
    assert "floor" not in columns(url, "room"), columns(url, "room")
    check_clean(app)
    ok(app, "migrate", "--to", "1", url=url)
    assert "floor:integer:YES:" in columns(url, "room"), "back by the reverse written by hand"
    os.remove(os.path.join(app, custom))
    # a wider type is no loss: written as is
    write_app(app, {"models/room.lua": ROOM.replace("max_length = 50", "max_length = 80") % ""})
    os.remove(os.path.join(app, "migrations", name[len("migrations/"):]))
    _, text, err = make(app)
    assert '\nALTER TABLE "room" ALTER COLUMN "name" TYPE varchar(80) USING "name"::varchar(80);\n' \
           in text, text
    assert "varchar(80)" not in err, err
    os.remove(os.path.join(app, "migrations", "0002_alter_room_name_and_more.sql"))
    # allowed: the statements run
    write_app(app, {"models/room.lua": ROOM.replace("max_length = 50", "max_length = 20") % ""})
    _, text, err = make(app, "--allow-destructive")
    assert '\n-- destructive: drops the table booking and its rows.\nDROP TABLE "booking";\n' in text, text
    eq(err, "")
    ok(app, "migrate", url=url)
    eq(relations(url), "room,room_id_seq,room_name_key,room_pkey")
    eq(columns(url, "room"), "id:bigint:NO:nextval('room_id_seq'::regclass) "
                             "name:character varying:NO:")
    ok(app, "migrate", "--to", "0", url=url)
    eq(relations(url), "")


SHELF = """local soom = require "soom"
return soom.model {
    table = "shelf",
    fields = {
        id = soom.f.serial(),
        code = soom.f.text { %s },
        floor = soom.f.integer { %s },
    },
%s}
"""


def test_indexes_unique_and_check_constraints_defaults():
    url = fresh_database("t_makemig_constraints")
    app = new_app({"models/shelf.lua": SHELF % ("", "", "")})
    make(app)
    ok(app, "migrate", url=url)
    steps = [
        # (code options, floor options, model options), the statements expected
        (("index = true", "default = 1", '    unique_together = { { "code", "floor" } },\n'
          '    checks = { low = "floor < 100" },\n'),
         ['ALTER TABLE "shelf" ALTER COLUMN "floor" SET DEFAULT 1;',
          'ALTER TABLE "shelf" ADD CONSTRAINT "shelf_code_floor_key" UNIQUE ("code", "floor");',
          'ALTER TABLE "shelf" ADD CONSTRAINT "low" CHECK (floor < 100);',
          'CREATE INDEX "shelf_code" ON "shelf" ("code");']),
        (("unique = true", "default = 2", '    checks = { low = "floor < 50" },\n'
          '    indexes = { { "-floor", "code", unique = true, name = "shelf_by_floor" } },\n'),
         ['ALTER TABLE "shelf" DROP CONSTRAINT "shelf_code_floor_key";',
          'ALTER TABLE "shelf" DROP CONSTRAINT "low";',
          'DROP INDEX "shelf_code";',
          'ALTER TABLE "shelf" ALTER COLUMN "floor" SET DEFAULT 2;',
          'ALTER TABLE "shelf" ADD CONSTRAINT "shelf_code_key" UNIQUE ("code");',
          'ALTER TABLE "shelf" ADD CONSTRAINT "low" CHECK (floor < 50);',
          'CREATE UNIQUE INDEX "shelf_by_floor" ON "shelf" ("floor" DESC, "code");']),
        (("", "", ""),
         ['ALTER TABLE "shelf" DROP CONSTRAINT "shelf_code_key";',
          'ALTER TABLE "shelf" DROP CONSTRAINT "low";',
          'DROP INDEX "shelf_by_floor";',
          'ALTER TABLE "shelf" ALTER COLUMN "floor" DROP DEFAULT;']),
    ]
    for opts, expected in steps:
        write_app(app, {"models/shelf.lua": SHELF % opts})
        _, text, _ = make(app)
        eq(forward(text).strip().split("\n\n"), expected)
        ok(app, "migrate", url=url)
        check_clean(app)
    eq(relations(url), "shelf,shelf_id_seq,shelf_pkey")
    ok(app, "migrate", "--to", "2", url=url)
    eq(relations(url), "shelf,shelf_code,shelf_code_floor_key,shelf_id_seq,shelf_pkey", "back at 2")
    eq(psql(url, "SELECT conname FROM pg_constraint WHERE conname = 'low'").strip(), "low")
    ok(app, "migrate", "--to", "0", url=url)
    eq(relations(url), "")


CYCLE_A = """local soom = require "soom"
return soom.model { table = "author", fields = {
    id = soom.f.serial(),
    favourite = soom.f.foreign_key { to = "book", null = true, related_name = "fans" },
} }
"""
CYCLE_B = """local soom = require "soom"
return soom.model { table = "book", fields = {
    id = soom.f.serial(),
    writer = soom.f.foreign_key { to = "author" },
    sequel = soom.f.foreign_key { to = "book", null = true, related_name = "prequels" },
} }
"""


def test_dependency_order():
    url = fresh_database("t_makemig_order")
    # booking sorts before room, and refers to it: room is created first
    app = new_app({"models/booking.lua": BOOKING % "", "models/room.lua": ROOM % ""})
    name, text, _ = make(app)
    eq(name, "migrations/0001_create_room_booking.sql")
    body = forward(text)
    assert body.index('CREATE TABLE "room"') < body.index('CREATE TABLE "booking"'), text
    rev = reverse(text)
    assert rev.index('DROP TABLE "booking"') < rev.index('DROP TABLE "room"'), text
    ok(app, "migrate", url=url)
    # a cycle (and a table that refers to itself): the foreign key that
    # closes the cycle comes after both tables
    url = fresh_database("t_makemig_cycle")
    app = new_app({"models/author.lua": CYCLE_A, "models/book.lua": CYCLE_B})
    name, text, _ = make(app)
    body = forward(text)
    assert '"favourite_id" integer,\n' in body, text
    assert '"sequel_id" integer REFERENCES "book" ("id")' in body, text
    assert body.index('CREATE TABLE "author"') < body.index('CREATE TABLE "book"') < body.index(
        'ALTER TABLE "author" ADD CONSTRAINT "author_favourite_id_fkey" FOREIGN KEY ("favourite_id") '
        'REFERENCES "book" ("id");'), text
    ok(app, "migrate", url=url)
    check_clean(app)
    # dropped together: the table that refers first
    os.remove(os.path.join(app, "models/author.lua"))
    os.remove(os.path.join(app, "models/book.lua"))
    write_app(app, {"models/other.lua": ROOM.replace('"room"', '"other"') % ""})
    _, text, _ = make(app, "--allow-destructive")
    body = forward(text)
    assert body.index('ALTER TABLE "book" DROP CONSTRAINT "book_writer_id_fkey"') < body.index(
        'DROP TABLE "author"') < body.index('DROP TABLE "book"'), text
    ok(app, "migrate", url=url)
    eq(relations(url), "other,other_id_seq,other_name_key,other_pkey")
    # back over the drop: the cycle made again, then every table gone
    ok(app, "migrate", "--to", "1", url=url)
    assert "author,author_id_seq,author_pkey,book," in relations(url), relations(url)
    ok(app, "migrate", "--to", "0", url=url)
    eq(relations(url), "")


def test_table_rename_keeps_rows_and_constraint_names():
    url = fresh_database("t_makemig_rename")
    app = new_app({"models/room.lua": ROOM % "", "models/booking.lua": BOOKING % ""})
    make(app)
    ok(app, "migrate", url=url)
    psql(url, "INSERT INTO room (name) VALUES ('blue')")
    hall = ROOM.replace('table = "room",', 'table = "hall", renamed_from = "room",')
    write_app(app, {"models/room.lua": hall % "",
                    "models/booking.lua": BOOKING.replace('to = "room"', 'to = "hall"') % ""})
    name, text, _ = make(app)
    eq(name, "migrations/0002_rename_hall.sql")
    eq(forward(text).strip(), 'ALTER TABLE "room" RENAME TO "hall";')
    eq(reverse(text).strip(), 'ALTER TABLE "hall" RENAME TO "room";')
    assert '-- soom:drop "room"\n' in text, text
    ok(app, "migrate", url=url)
    eq(psql(url, "SELECT name FROM hall").strip(), "blue")
    check_clean(app)
    # the constraints keep the names the table had: a later change finds them
    write_app(app, {"models/room.lua": hall.replace(", unique = true", "") % "",
                    "models/booking.lua": BOOKING.replace('to = "room", on_delete = "cascade"',
                                                         'to = "hall"') % ""})
    _, text, _ = make(app)
    eq(forward(text).strip(), 'ALTER TABLE "booking" DROP CONSTRAINT "booking_room_id_fkey";\n\n'
                              'ALTER TABLE "hall" DROP CONSTRAINT "room_name_key";\n\n'
                              'ALTER TABLE "booking" ADD CONSTRAINT "booking_room_id_fkey" FOREIGN KEY '
                              '("room_id") REFERENCES "hall" ("id");')
    ok(app, "migrate", url=url)
    check_clean(app)
    ok(app, "migrate", "--to", "0", url=url)
    eq(relations(url), "")


OLD_MAKEMIGRATIONS = """-- Written by `soom makemigrations` from models/room.lua.
CREATE TABLE "room" (
    "id" bigserial NOT NULL,
    "name" varchar(50) NOT NULL UNIQUE,
    PRIMARY KEY ("id")
);
"""
OLD_SCAFFOLD = """-- The "item" table of models/item.lua.
CREATE TABLE "item" (
    "id" bigserial NOT NULL,
    "name" varchar(100) NOT NULL,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY ("id")
);
-- the list pages newest first: (created_at DESC, id) is its cursor's order
CREATE INDEX "item_created_at_id" ON "item" ("created_at" DESC, "id");
"""
ITEM = """local soom = require "soom"
return soom.model {
    table = "item",
    primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.text { max_length = 100 },
%s        created_at = soom.f.timestamptz { default = "now()", read_only = true },
    },
%s}
"""


def test_older_files_are_read():
    url = fresh_database("t_makemig_old")
    app = new_app({
        "models/room.lua": ROOM % "", "models/item.lua": ITEM % ("", ""),
        "migrations/0001_create_room.sql": OLD_MAKEMIGRATIONS,
        "migrations/0002_create_item.sql": OLD_SCAFFOLD,
        "migrations/0003_queue.sql": "CREATE TABLE queue (id int PRIMARY KEY, body text);\n"
                                     "ALTER TABLE room ADD COLUMN floor integer;\n",
    })
    ok(app, "migrate", url=url)
    # a hand-written table no model declares is left alone; the scaffold's
    # index the model does not declare is kept; the column added by hand
    # is seen, and its model is now told of it
    out, _ = soom(app, "makemigrations", "--check")[1:]
    eq(re.findall(r"^  . (.*)$", out, re.M), ["drop column room.floor"], out)
    write_app(app, {"models/room.lua": ROOM % "        floor = soom.f.integer { null = true },\n"})
    check_clean(app)
    # the index declared (as the scaffold's models now do): nothing to do
    write_app(app, {"models/item.lua": ITEM % ("", '    indexes = { { "-created_at", "id" } },\n')})
    check_clean(app)
    # a field added to a model whose table an older file created
    write_app(app, {"models/item.lua": ITEM % ('        quantity = soom.f.integer { default = 1 },\n',
                                               '    indexes = { { "-created_at", "id" } },\n')})
    name, text, _ = make(app)
    eq(forward(text).strip(), 'ALTER TABLE "item" ADD COLUMN "quantity" integer NOT NULL DEFAULT 1;')
    ok(app, "migrate", url=url)
    check_clean(app)
    # older files have no reverse section: going back past them says so
    ok(app, "migrate", "--to", "3", url=url)
    code, _, err = soom(app, "migrate", "--to", "0", url=url)
    eq(code, 1)
    assert "migrations/0003_queue.sql has no reverse section" in err, err


def test_scaffold_migrations_match_their_models():
    root = temp_dir("soom-makemig-scaffold-")
    code, out, err = run_soom("createapp", "shop", cwd=root)
    eq(code, 0, out + err)
    app = os.path.join(root, "shop")
    with open(os.path.join(app, "migrations/0001_create_item.sql")) as f:
        text = f.read()
    assert "\n-- soom:table {" in text and "\n-- soom:reverse" in text, text
    assert 'CREATE INDEX "item_created_at_id" ON "item" ("created_at" DESC, "id");' in text, text
    check_clean(app)
    with open(os.path.join(app, ".github/workflows/ci.yml")) as f:
        assert "run: soom makemigrations --check .\n" in f.read(), "a CI step"
    code, out, err = run_soom("generate", "resource", "order_line", "--fields",
                              "title:text(200),due:date?", cwd=app)
    eq(code, 0, out + err)
    check_clean(app)
    url = fresh_database("t_makemig_scaffold")
    ok(app, "migrate", url=url)
    ok(app, "migrate", "--to", "0", url=url)
    eq(relations(url), "")


def test_migrate_list_prints_no_count():
    url = fresh_database("t_makemig_list")
    app = new_app({"migrations/0001_a.sql": "CREATE TABLE a (id int);\n",
                   "migrations/0002_bb.sql": "CREATE TABLE b (id int);\n"})
    ok(app, "migrate", "--to", "1", url=url)
    out, _ = ok(app, "migrate", "--list", url=url)
    lines = out.splitlines()
    eq(len(lines), 2, out)
    assert re.match(r"^applied  0001_a\.sql    \d{4}-\d\d-\d\d", lines[0]), out
    eq(lines[1], "pending  0002_bb.sql")


def test_migrate_on_the_embedded_database():
    app = new_app({"models/room.lua": ROOM % "", "resources/rooms.lua": """
local soom = require "soom"
return soom.ListCreateResource { route = "/rooms", model = require "models.room",
    fields = { "id", "name" } }
"""}, name="embedded")
    make(app)
    socket = os.path.join(app, ".soom/run/.s.PGSQL.5432")
    out, _ = ok(app, "migrate", url="")
    eq(out, "applied 0001_create_room.sql\n1 migration applied\n")
    assert not os.path.exists(socket), "the database it started is stopped"
    out, _ = ok(app, "migrate", "--list", url="")
    assert out.startswith("applied  0001_create_room.sql"), out
    # beside a running `soom run`: its database is left running
    srv = Server(app, env={"DATABASE_URL": ""})
    srv.start(wait=False)
    try:
        srv.wait_ready(timeout=90)
        eq(srv.json("POST", "/rooms", {"name": "blue"})[0], 201)
        write_app(app, {"models/room.lua": ROOM % "        floor = soom.f.integer { default = 0 },\n"})
        make(app)
        out, _ = ok(app, "migrate", url="")
        eq(out, "applied 0002_add_room_floor.sql\n1 migration applied\n")
        status, _, body = srv.json("GET", "/rooms")
        eq(status, 200, "the dev server still answers: %r" % (body,))
        eq([r["name"] for r in body], ["blue"])
        out, _ = ok(app, "migrate", "--to", "0", url="")
        eq(out, "reverted 0002_add_room_floor.sql\nreverted 0001_create_room.sql\n")
        eq(srv.json("GET", "/rooms")[0], 500, "the table is gone, the server is still up")
    finally:
        srv.stop()
    assert not os.path.exists(socket), "stopped with the server:\n" + srv.log()


if __name__ == "__main__":
    main(globals())
