"""`soom migrate` and `soom makemigrations` against a real PostgreSQL:
files applied in order, each in its own transaction, recorded with their
sha256; --list; a changed file refused by name; a failing file rolled back;
CREATE TABLE migrations written for new managed models only (the rest of
makemigrations: test_makemigrations.py)."""

import hashlib
import os

from harness import eq, main, run_soom, write_app
from pgdb import fresh_database, psql, temp_dir

MODEL = """local model = require "soom.model"
local f = model.f
return model.model {
    table = "%s", primary_key = "id", managed = %s,
    fields = {
        id = f.bigserial(),
        name = f.text { max_length = 40, unique = true },
        score = f.integer { null = true, choices = { 1, 2, 3 } },
        created_at = f.timestamptz { default = "now()", read_only = true },
    },
}
"""


def new_app(files):
    root = temp_dir("soom-migrate-")
    files = dict(files)
    files.setdefault("app.lua", 'return { name = "migrated" }\n')
    return write_app(root, files)


def soom(app, *args, url=None):
    return run_soom(*args, app, env={"DATABASE_URL": url if url is not None else URL})


def tables(url):
    return psql(url, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                     "WHERE schemaname = 'public'").strip()


URL = fresh_database("t_migrate")


def test_apply_in_order_and_record():
    app = new_app({
        "migrations/0001_first.sql": "CREATE TABLE a (id int PRIMARY KEY);\n"
                                     "INSERT INTO a VALUES (1);\n",
        "migrations/0002_second.sql": "ALTER TABLE a ADD COLUMN name text;\n"
                                      "CREATE TABLE b (id int);\n",
        "migrations/README": "not a migration\n",
    })
    code, out, err = soom(app, "migrate", "--list")
    eq(code, 0, err)
    assert "pending  0001_first.sql" in out and "pending  0002_second.sql" in out, out
    code, out, err = soom(app, "migrate")
    eq(code, 0, err)
    assert "applied 0001_first.sql\napplied 0002_second.sql\n2 migrations applied" in out, out
    eq(tables(URL), "a,b,soom_migrations")
    rows = psql(URL, "SELECT name, checksum FROM soom_migrations ORDER BY name").split()
    with open(os.path.join(app, "migrations/0001_first.sql"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    eq(rows[0], "0001_first.sql|" + digest)
    code, out, err = soom(app, "migrate")
    eq((code, out.strip()), (0, "nothing to apply: the database is up to date"))
    code, out, err = soom(app, "migrate", "--list")
    assert "applied  0001_first.sql" in out and "applied  0002_second.sql" in out, out
    # a new file: only it is applied
    write_app(app, {"migrations/0003_third.sql": "INSERT INTO a (id, name) VALUES (2, 'x');"})
    code, out, err = soom(app, "migrate")
    eq((code, out), (0, "applied 0003_third.sql\n1 migration applied\n"))
    eq(psql(URL, "SELECT count(*) FROM a").strip(), "2")


def test_changed_file_is_refused():
    url = fresh_database("t_migrate_changed")
    app = new_app({"migrations/0001_t.sql": "CREATE TABLE t (id int);\n"})
    eq(soom(app, "migrate", url=url)[0], 0)
    write_app(app, {"migrations/0001_t.sql": "CREATE TABLE t (id bigint);\n",
                    "migrations/0002_u.sql": "CREATE TABLE u (id int);\n"})
    code, out, err = soom(app, "migrate", url=url)
    eq(code, 1)
    assert "migrations/0001_t.sql was changed after it was applied" in err, err
    eq(tables(url), "soom_migrations,t", "nothing applied after the refusal")
    code, out, err = soom(app, "migrate", "--list", url=url)
    eq(code, 1)
    assert "CHANGED  0001_t.sql" in out, out


def test_failing_migration_is_rolled_back():
    url = fresh_database("t_migrate_fail")
    app = new_app({
        "migrations/0001_ok.sql": "CREATE TABLE ok (id int);\n",
        "migrations/0002_bad.sql": "CREATE TABLE half (id int);\nSELECT * FROM missing_table;\n",
        "migrations/0003_later.sql": "CREATE TABLE later (id int);\n",
    })
    code, out, err = soom(app, "migrate", url=url)
    eq(code, 1)
    assert "migrations/0002_bad.sql failed" in err and "missing_table" in err, err
    eq(tables(url), "ok,soom_migrations", "0002 rolled back, 0003 not run")
    eq(psql(url, "SELECT string_agg(name, ',') FROM soom_migrations").strip(), "0001_ok.sql")
    write_app(app, {"migrations/0002_bad.sql": "CREATE TABLE half (id int);\n"})
    eq(soom(app, "migrate", url=url)[0], 0)
    eq(tables(url), "half,later,ok,soom_migrations")


def test_bad_names_and_missing_url():
    app = new_app({"migrations/01_short.sql": "SELECT 1;\n"})
    code, out, err = soom(app, "migrate")
    eq(code, 1)
    assert "migrations/01_short.sql: a migration is named NNNN_name.sql" in err, err
    app = new_app({"migrations/0001_a.sql": "SELECT 1;\n", "migrations/0001_b.sql": "SELECT 1;\n"})
    code, out, err = soom(app, "migrate")
    assert code == 1 and "have the same number" in err, err
    # no DATABASE_URL and nothing that needs a database (no models/ nor
    # migrations/): no database of its own is started either
    app = new_app({})
    code, out, err = soom(app, "migrate", url="")
    eq(code, 1)
    assert "no database: set DATABASE_URL" in err, err
    app = new_app({"migrations/0001_a.sql": "SELECT 1;\n"})
    code, out, err = soom(app, "migrate", url="postgresql://soom:soom@127.0.0.1:1/none")
    eq(code, 1)
    assert "127.0.0.1" in err, err


def test_makemigrations():
    url = fresh_database("t_makemig")
    app = new_app({
        "models/sample.lua": MODEL % ("sample", "true"),
        "models/legacy.lua": MODEL % ("legacy", "false"),
        "models/helper.lua": "return { not_a_model = true }\n",
        "migrations/0001_other.sql": 'CREATE TABLE IF NOT EXISTS "other" (id int);\n',
    })
    code, out, err = soom(app, "makemigrations", url=url)
    eq((code, out), (0, "wrote migrations/0002_create_sample.sql\n  - create table sample\n"), err)
    with open(os.path.join(app, "migrations/0002_create_sample.sql")) as f:
        text = f.read()
    assert 'CREATE TABLE "sample" (' in text and '"id" bigserial NOT NULL' in text, text
    assert text.index('"name"') < text.index('"score"') < text.index('"created_at"'), text
    # nothing new: nothing written
    code, out, err = soom(app, "makemigrations", url=url)
    eq((code, out.strip()), (0, "no changes: the migrations match the models"))
    # a second model gets the next number
    write_app(app, {"models/zeta.lua": MODEL % ("zeta", "true")})
    code, out, err = soom(app, "makemigrations", url=url)
    eq(out, "wrote migrations/0003_create_zeta.sql\n  - create table zeta\n")
    eq(soom(app, "migrate", url=url)[0], 0)
    eq(tables(url), "other,sample,soom_migrations,zeta")
    psql(url, "INSERT INTO sample (name, score) VALUES ('a', 2)")
    out = psql(url, "SELECT id, name, score, created_at IS NOT NULL FROM sample")
    eq(out.strip(), "1|a|2|t")


def test_makemigrations_reports_model_errors():
    app = new_app({"models/bad.lua": 'local model = require "soom.model"\n'
                                     'return model.model { table = "Bad-Name", fields = {} }\n'})
    code, out, err = soom(app, "makemigrations")
    eq(code, 1)
    assert "models/bad.lua" in err and "Bad-Name" in err and "not a valid name" in err, err


if __name__ == "__main__":
    main(globals())
