"""Taking over a Django monolith's tables (docs/LEGACY.md), against Django
itself: the schema is made by `manage.py migrate` of the project in
tests/data/django_legacy and the rows by its ORM; `soom inspectdb` writes
the models, Soom serves every table, and what it serves is compared with
what the ORM reads. Also: the drift check (each kind of mismatch, and none),
relations embedded in one SQL statement (counted by pg_stat_statements),
writes by foreign key, unmanaged and read-only models, and the models of
soom.contrib.django.

The tests run on a PostgreSQL cluster of their own (tests/support/pg.sh
with pg_stat_statements preloaded), so counting statements sees nothing
but this file's."""

import atexit
import datetime
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import SOURCE, Server, eq, free_port, main, run_soom, start_failure, write_app

PG_SH = os.path.join(SOURCE, "tests", "support", "pg.sh")
DJANGO = os.path.join(SOURCE, "tests", "data", "django_legacy")
# Debian's python3-django lives with the system's interpreter
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

TMP = tempfile.mkdtemp(prefix="soom-legacy-")
# beside, not inside, TMP: the server's user must be able to reach it
PG_DIR = "/tmp/soom-test-pg-legacy-%d" % os.getpid()
PG_ENV = None


def pg(cmd):
    p = subprocess.run(["bash", PG_SH, cmd], env=PG_ENV, capture_output=True, text=True,
                       timeout=180)
    if p.returncode != 0:
        raise AssertionError("pg.sh %s: %s %s" % (cmd, p.stdout, p.stderr))
    return p.stdout.strip()


def start_cluster():
    global PG_ENV
    for attempt in range(3):  # a port free a moment ago may be taken meanwhile
        PG_ENV = dict(os.environ, SOOM_TEST_PG_DIR=PG_DIR,
                      SOOM_TEST_PG_PORT=str(free_port()),
                      SOOM_TEST_PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements")
        try:
            pg("start")
            return pg("url")
        except AssertionError:
            if attempt == 2:
                raise


def cleanup():
    if PG_ENV is not None:
        subprocess.run(["bash", PG_SH, "stop"], env=PG_ENV, capture_output=True, timeout=120)
    shutil.rmtree(TMP, True)
    shutil.rmtree(PG_DIR, True)
    if os.path.exists(PG_DIR + ".lock"):
        os.remove(PG_DIR + ".lock")


atexit.register(cleanup)
BASE = start_cluster()


def admin(sql, db="postgres"):
    """psql as the cluster's superuser (pg_stat_statements needs one)."""
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", os.path.join(PG_DIR, "run"),
           "-p", PG_ENV["SOOM_TEST_PG_PORT"], "-U", "postgres", "-d", db, "-c", sql]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")
    if p.returncode != 0:
        raise AssertionError("psql failed: %s\n%s" % (sql, p.stderr))
    return p.stdout.strip()


def url_of(name):
    return BASE.rsplit("/", 1)[0] + "/" + name


def django(*args, db="monolith"):
    env = dict(os.environ, DATABASE_URL=url_of(db), PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([PYTHON, "manage.py"] + list(args), cwd=DJANGO, env=env,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("manage.py %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


# ---- the monolith's database, as Django makes it -----------------------------------------

admin('CREATE DATABASE monolith OWNER soom')
admin("CREATE EXTENSION pg_stat_statements", db="monolith")
django("migrate", "-v0")
django("seed", "--orders", "1000")
ORM = json.loads(django("ormdump"))
# a table Django did not make, without a primary key
admin("CREATE TABLE legacy_log (at timestamptz NOT NULL DEFAULT now(), line text); "
      "ALTER TABLE legacy_log OWNER TO soom", db="monolith")
URL = url_of("monolith")
ENV = {"DATABASE_URL": URL}

APP = write_app(os.path.join(TMP, "app"), {"app.lua": 'return { name = "legacy" }\n'})


def inspectdb(app, *extra):
    code, out, err = run_soom("inspectdb", app, *extra, env=ENV)
    assert code == 0, "inspectdb failed:\n%s%s" % (out, err)
    return out


WROTE = re.findall(r"^wrote (models/\S+\.lua)", inspectdb(APP), re.M)


def module_of(path):
    return path[:-4].replace("/", ".")


def generated():
    """(module, table) of every model written, with its text."""
    out = []
    for path in WROTE:
        with open(os.path.join(APP, path)) as f:
            text = f.read()
        table = re.search(r'^    table = "([a-z0-9_]+)",', text, re.M).group(1)
        out.append((module_of(path), table, text))
    return out


def resources():
    lines = ['local soom = require "soom"', "return {"]
    for module, table, text in generated():
        if "primary_key = false" in text:
            continue
        lines.append('    soom.ListResource { route = "/t/%s", model = require "%s" },' % (table, module))
        lines.append('    soom.RetrieveResource { route = "/t/%s/{pk}", model = require "%s", '
                     'lookup_param = "pk" },' % (table, module))
    lines.append('''    soom.ListResource {
        route = "/orders", model = require "models.orders.order",
        fields = { "id", "number", "total", { "customer", fields = { "id", "name" } },
                   { "lines", source = "line_set", many = true, fields = { "id", "qty", "price" } } },
        filter_fields = { "customer__name", "line_set__qty" },
        ordering_fields = { "id", "customer__name" },
    },
    soom.ListResource {
        route = "/orders/expandable", model = require "models.orders.order",
        fields = { "id", { "customer", fields = { "id", "name" }, expand = true } },
        pagination = soom.pagination.offset { page_size = 3, count = "none" },
    },
    soom.ListCreateResource {
        route = "/services", model = require "models.market.service",
        fields = { "id", "name", "price", "category", "details", "starts_at", "active" },
    },''')
    lines.append("}")
    return "\n".join(lines) + "\n"


write_app(APP, {"resources/tables.lua": resources()})


def norm(v):
    """Timestamps as datetimes (Soom drops trailing zeros of fractions,
    Python's isoformat writes six digits); everything else as it is."""
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", v):
        return datetime.datetime.fromisoformat(v)
    return v


def serve(env=None):
    e = dict(ENV, SOOM_POOL__MIN="1", SOOM_POOL__MAX="1", SOOM_POOL__IDLE_CHECK_MS="600000")
    e.update(env or {})
    return Server(APP, env=e).start()


# ---- inspectdb --------------------------------------------------------------------------

def test_inspectdb_writes_every_table_in_djangos_naming():
    tables = {t for _, t, _ in generated()}
    for name in ORM["tables"]:
        assert name in tables, "no model for %s" % name
    assert "models/market/service.lua" in WROTE, WROTE
    assert "models/authtoken/token.lua" in WROTE, WROTE
    text = dict((m, t) for m, _, t in generated())["models.market.service"]
    for piece in ('local MarketService = soom.model {', 'name = "market.service"',
                  'managed = false', 'name = f.varchar { max_length = 100 }',
                  'price = f.numeric { precision = 10, scale = 2 }', 'details = f.jsonb()',
                  'starts_at = f.timestamptz()', 'note = f.text { null = true }',
                  'category = f.foreign_key { to = "market.category", on = "category_id", '
                  'type = "integer", related_name = "service_set" }',
                  'tags = f.many_to_many { to = "market.tag", through = "market.service_tags"',
                  '{ "category_id", "name" }', "-- check market_service_price_gte_0: CHECK",
                  "-- index market_service_category_id_"):
        assert piece in text, "missing %r in:\n%s" % (piece, text)
    token = dict((m, t) for m, _, t in generated())["models.authtoken.token"]
    assert 'primary_key = "key"' in token and "unique = true" in token, token
    nopk = dict((m, t) for m, _, t in generated())["models.legacy.log"]
    assert "primary_key = false" in nopk and "has no primary key" in nopk, nopk


def test_inspectdb_output_is_deterministic_and_passes_luacheck():
    again = write_app(os.path.join(TMP, "again"), {"app.lua": 'return { name = "again" }\n'})
    inspectdb(again)
    cmp = filecmp.dircmp(os.path.join(APP, "models"), os.path.join(again, "models"))

    def same(d):
        assert not d.diff_files and not d.left_only and not d.right_only, (
            d.diff_files, d.left_only, d.right_only)
        for sub in d.subdirs.values():
            same(sub)
    same(cmp)
    p = subprocess.run(["luacheck", "--config", os.path.join(SOURCE, ".luacheckrc"), "-q",
                        os.path.join(APP, "models")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    # --table picks tables; a file written by hand is kept
    one = write_app(os.path.join(TMP, "one"), {"app.lua": "return {}\n",
                                                 "models/market/tag.lua": "return 1\n"})
    out = inspectdb(one, "--table", "market_category", "--table", "market_tag")
    assert "wrote models/market/category.lua" in out, out
    assert "kept" in out and "market/tag.lua" in out, out
    eq(sorted(os.listdir(os.path.join(one, "models", "market"))), ["category.lua", "tag.lua"])


def test_unmanaged_models_get_no_migrations():
    code, out, err = run_soom("makemigrations", APP, env=ENV)
    assert code == 0, out + err
    assert "no changes" in out, out
    assert not os.path.exists(os.path.join(APP, "migrations")), "makemigrations wrote a file"


# ---- every table, as the ORM reads it ----------------------------------------------------

def test_every_table_served_as_the_orm_reads_it():
    srv = serve()
    try:
        code, out, err = run_soom("check", APP, env=ENV)
        eq(code, 0, "soom check without drift:\n%s%s" % (out, err))
        assert "match the database" in out, out
        served = 0
        for table, rows in sorted(ORM["tables"].items()):
            assert rows, "the seed leaves %s empty" % table
            status, _, body = srv.json("GET", "/t/" + table)
            eq(status, 200, table)
            eq(norm(body), norm(rows), "rows of %s" % table)
            pk = "key" if table == "authtoken_token" else "id"
            status, _, one = srv.json("GET", "/t/%s/%s" % (table, rows[0][pk]))
            eq(status, 200, table + " retrieve")
            eq(norm(one), norm(rows[0]), "%s/%s" % (table, rows[0][pk]))
            served += 1
        assert served >= 14, served
        # numeric as strings, timestamps in RFC 3339
        status, _, body = srv.json("GET", "/t/market_service/2")
        eq(body["price"], "7.01")
        assert re.match(r"^2024-03-02T08:30:15\.124456\+00:00$", body["starts_at"]), body
        eq(body["details"], {"level": 1, "tags": ["a"], "nested": {"x": 0.25}})
        eq(srv.json("GET", "/t/market_service/999999")[0], 404)
    finally:
        srv.stop()
    lua = [line["lua"] for line in srv.log_lines() if line.get("msg") == "request"]
    assert lua and not any(lua), "generic resources ran Lua"


# ---- relations in one statement -------------------------------------------------------------

def statements():
    return int(admin("SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
                     "JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid "
                     "WHERE r.rolname = 'soom' AND d.datname = 'monolith'", db="monolith"))


def counted(srv, path):
    admin("SELECT pg_stat_statements_reset()", db="monolith")
    status, _, body = srv.json("GET", path)
    eq(status, 200, path)
    return body, statements()


def test_embeds_are_one_statement_and_equal_select_related():
    srv = serve()
    try:
        srv.json("GET", "/orders")  # the statement prepared once
        body, n = counted(srv, "/orders")
        eq(len(body), 1000)
        eq(body, ORM["orders"], "select_related('customer').prefetch_related('lines')")
        eq(n, 1, "SQL statements for 1,000 rows with a to-one and a to-many embed")
        some, n_some = counted(srv, "/orders?customer__name=customer%203")
        eq(len(some), 100)
        eq(n_some, 1, "the same for 100 rows")
        eq(some, [o for o in ORM["orders"] if o["customer"]["name"] == "customer 3"])
        # filters and ordering across relations
        big, _ = counted(srv, "/orders?line_set__qty=3")
        eq([o["id"] for o in big], [o["id"] for o in ORM["orders"]
                                      if any(l["qty"] == 3 for l in o["lines"])])
        ordered, _ = counted(srv, "/orders?ordering=-customer__name,id")
        eq([o["id"] for o in ordered], [o["id"] for o in sorted(
            ORM["orders"], key=lambda o: (-int(o["customer"]["name"].split()[1]), o["id"]))])
        # ?expand=: the key without it, the object with it
        status, _, page = srv.json("GET", "/orders/expandable")
        eq(page["results"][0], {"id": 1, "customer": 1})
        status, _, page = srv.json("GET", "/orders/expandable?expand=customer")
        eq(page["results"][0], {"id": 1, "customer": {"id": 1, "name": "customer 0"}})
        eq(srv.json("GET", "/orders/expandable?expand=nothing")[0], 400)
        # the OpenAPI document describes the embeds as they are sent
        doc = srv.json("GET", "/openapi.json")[2]
        embedded = [s for s in doc["components"]["schemas"].values()
                    if "lines" in s.get("properties", {})]
        assert embedded, "no schema with the embedded lines"
        props = embedded[0]["properties"]
        eq(props["lines"]["type"], "array")
        eq(sorted(props["lines"]["items"]["properties"]), ["id", "price", "qty"])
        eq(sorted(props["customer"]["properties"]), ["id", "name"])
    finally:
        srv.stop()
    lines = [l for l in srv.log_lines() if l.get("msg") == "request"
             and l["path"].startswith("/orders")]
    assert len(lines) >= 8 and not any(l["lua"] for l in lines), "embeds ran Lua: %s" % lines


# ---- writes through relations ----------------------------------------------------------------

def count(table):
    return int(admin("SELECT count(*) FROM %s" % table, db="monolith"))


def test_a_missing_referenced_row_is_a_422_naming_the_field():
    srv = serve()
    before = count("market_service")
    row = {"name": "new one", "price": "3.50", "details": {"a": 1},
           "starts_at": "2024-05-01T10:00:00Z", "active": True}
    try:
        for key in ("category", "category_id"):
            status, _, body = srv.json("POST", "/services", dict(row, **{key: 999999}))
            eq(status, 422, "a bad foreign key under %s" % key)
            eq(body["errors"][0]["pointer"], "/category")
            eq(body["errors"][0]["code"], "foreign_key")
        eq(count("market_service"), before, "nothing was written")
        status, _, body = srv.json("POST", "/services", dict(row, category=2))
        eq(status, 201, body)
        eq((body["category"], body["price"]), (2, "3.50"))
        status, _, body = srv.json("POST", "/services", dict(row, name="other", category_id=3))
        eq((status, body["category"]), (201, 3))
        eq(count("market_service"), before + 2)
    finally:
        srv.stop()
        admin("DELETE FROM market_service WHERE name IN ('new one', 'other')", db="monolith")


def test_a_read_only_model_refuses_write_resources():
    app = write_app(os.path.join(TMP, "ro"), {
        "app.lua": "return {}\n",
        "models/category.lua": 'local soom = require "soom"\nreturn soom.model { table = '
                               '"market_category", managed = false, read_only = true, fields = { '
                               'id = soom.f.serial(), name = soom.f.varchar { max_length = 50 } } }\n',
        "resources/c.lua": 'local soom = require "soom"\nreturn soom.ListCreateResource { route = '
                           '"/c", model = require "models.category" }\n',
    })
    code, out, err = run_soom("check", app, env=ENV)
    assert code != 0, out
    assert "read_only" in err and "cannot create" in err, err
    with open(os.path.join(app, "resources", "c.lua"), "w") as f:
        f.write('local soom = require "soom"\nreturn soom.ListResource { route = "/c", '
                'model = require "models.category" }\n')
    code, out, err = run_soom("check", app, env=ENV)
    eq(code, 0, out + err)


# ---- drift ------------------------------------------------------------------------------------

DRIFTS = [
    ("column dropped", "ALTER TABLE market_service DROP COLUMN note",
     "model market.service (table market_service): column note: declared, not found in the table"),
    ("type changed", "ALTER TABLE market_service ALTER COLUMN name TYPE varchar(200)",
     "model market.service (table market_service): column name: declared character varying(100), "
     "found character varying(200)"),
    ("nullability changed", "ALTER TABLE orders_order ALTER COLUMN total DROP NOT NULL",
     "model orders.order (table orders_order): column total: declared NOT NULL, found nullable"),
    ("table renamed", "ALTER TABLE market_tag RENAME TO market_label",
     "model market.tag (table market_tag): the table market_tag does not exist"),
    ("primary key changed", "ALTER TABLE market_category DROP CONSTRAINT market_category_pkey "
     "CASCADE; ALTER TABLE market_category ADD PRIMARY KEY (name)",
     "model market.category (table market_category): primary key: declared (id), found (name)"),
]


def copy_of_monolith(name):
    admin('DROP DATABASE IF EXISTS "%s"' % name)
    admin('CREATE DATABASE "%s" TEMPLATE monolith OWNER soom' % name)
    return url_of(name)


def test_each_kind_of_drift_is_named():
    for i, (what, sql, message) in enumerate(DRIFTS):
        name = "drift_%d" % i
        url = copy_of_monolith(name)
        admin(sql, db=name)
        code, out, err = run_soom("check", APP, env={"DATABASE_URL": url})
        eq(code, 1, "%s: soom check exits 1" % what)
        assert message in out, "%s: %r not in:\n%s%s" % (what, message, out, err)
        drift_lines = [l for l in out.splitlines() if l.startswith("drift:")]
        eq(len(drift_lines), 1, "%s: exactly one mismatch reported: %s" % (what, drift_lines))
        if i == 0:
            code, log = start_failure(APP, env={"DATABASE_URL": url})
            eq(code, 1, "start-up refused on drift")
            assert message in log, log
            srv = Server(APP, env={"DATABASE_URL": url, "SOOM_CHECK__DRIFT": "warn"}).start()
            try:
                eq(srv.request("GET", "/t/market_category")[0], 200)
            finally:
                srv.stop()
            warned = [l for l in srv.log_lines() if l.get("msg") == "model drift"]
            eq([l["drift"] for l in warned], [message])
        admin('DROP DATABASE "%s" WITH (FORCE)' % name)


def test_soom_test_creates_the_unmanaged_tables():
    app = os.path.join(TMP, "tested")
    shutil.copytree(os.path.join(APP, "models"), os.path.join(app, "models"))
    write_app(app, {
        "app.lua": 'return { name = "tested" }\n',
        "resources/categories.lua": 'local soom = require "soom"\nreturn soom.ListCreateResource { '
                                    'route = "/categories", model = require "models.market.category" }\n',
        "tests/test_categories.lua": r'''
local t = require "soom.test"
return {
    t.case("a fresh database with the legacy tables", function(client)
        t.eq(#client:get("/categories").json, 0)
        local res = client:post("/categories", { name = "Catering", rate = "1.25" })
        t.eq(res.status, 201)
        t.eq(client:get("/categories").json, { { id = 1, name = "Catering", rate = "1.25" } })
    end),
}
''',
    })
    code, out, err = run_soom("test", app, env=ENV, timeout=120)
    eq(code, 0, "soom test:\n%s%s" % (out, err))
    assert "1 passed, 0 failed" in out, out


# ---- soom.contrib.django ------------------------------------------------------------------------

CONTRIB = r'''
local soom = require "soom"
local django = require "soom.contrib.django"
return {
    soom.ListResource { route = "/users", model = django.User,
        fields = { "id", "username", { "groups", many = true, fields = { "id", "name" } } } },
    soom.RetrieveResource { route = "/tokens/{key}", model = django.Token, lookup_param = "key",
        fields = { "key", { "user", fields = { "id", "username" } } } },
    soom.ListResource { route = "/permissions", model = django.Permission,
        fields = { "id", "codename" }, filter_fields = { "content_type__app_label" } },
}
'''


def test_contrib_django_models_read_the_auth_tables():
    app = write_app(os.path.join(TMP, "contrib"), {"app.lua": "return {}\n",
                                                     "resources/auth.lua": CONTRIB})
    code, out, err = run_soom("check", app, env=ENV)
    eq(code, 0, out + err)
    srv = Server(app, env=ENV).start()
    try:
        eq(srv.json("GET", "/users")[2], ORM["users"])
        for token in ORM["tokens"]:
            eq(srv.json("GET", "/tokens/" + token["key"])[2], token)
        perms = srv.json("GET", "/permissions?content_type__app_label=market")[2]
        eq(sorted(p["codename"] for p in perms),
           sorted(r["codename"] for r in ORM["tables"]["auth_permission"]
                  if r["content_type_id"] in {c["id"] for c in ORM["tables"]["django_content_type"]
                                               if c["app_label"] == "market"}))
    finally:
        srv.stop()


main(globals())
