"""End-to-end tests of pagination over 10,000 rows in a real PostgreSQL:
cursor and offset walks in both directions under an ordering with many
ties, walks while rows come and go, refused cursors, and count modes."""

import base64
import json
import random
import tempfile
from urllib.parse import urlsplit

from harness import Database, Server, eq, main, write_app

MODEL = """
local soom = require "soom"
return soom.model {
    table = "sample", primary_key = "id",
    fields = {
        id = soom.f.bigserial(), name = soom.f.text(), score = soom.f.integer(),
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
    },
}
"""

RESOURCES = """
local soom = require "soom"
local Sample = require "models.sample"
local function list(route, pagination, extra)
    local def = { route = route, model = Sample, fields = { "id", "score", "created_at" },
                  filter_fields = { "score" }, pagination = pagination }
    for k, v in pairs(extra or {}) do def[k] = v end
    return soom.ListResource(def)
end
return {
    list("/cursor", soom.pagination.cursor { ordering = { "-score", "created_at" }, page_size = 50 },
         { ordering_fields = { "id", "score" } }),
    list("/cursor-score", soom.pagination.cursor { ordering = { "score" }, page_size = 50 }),
    -- the same table and ordering as /cursor-score: another resource all the same
    list("/cursor-score-twin", soom.pagination.cursor { ordering = { "score" }, page_size = 50 }),
    -- ordered by a column it does not expose
    soom.ListResource { route = "/cursor-hidden", model = Sample, fields = { "id" },
                        pagination = soom.pagination.cursor { ordering = { "name" }, page_size = 5 } },
    list("/cursor-name", soom.pagination.cursor { ordering = { "name" }, page_size = 2 }),
    list("/exact", soom.pagination.offset { default_limit = 100, max_limit = 500, count = "exact" }),
    list("/planned", soom.pagination.offset { count = "planned" }),
    list("/nocount", soom.pagination.offset { count = "none" }),
    list("/ordered-offset", soom.pagination.offset { default_limit = 100, count = "exact" },
         { ordering = { "-score", "created_at" } }),
    list("/keyset", soom.pagination.keyset { page_size = 100 }),
    list("/keyset-down", soom.pagination.keyset { field = "-id", param = "before",
                                                   results = "items", next = "cursor" }),
}
"""

SCHEMA = """
CREATE TABLE sample (id bigserial PRIMARY KEY, name text NOT NULL, score integer NOT NULL,
                     created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO sample (name, score, created_at)
  SELECT 'item-' || n, n % 101, timestamptz '2026-01-01 00:00:00+00' + (n % 37) * interval '1 second'
  FROM generate_series(1, 10000) n;
CREATE INDEX ON sample (score DESC, created_at, id);
ANALYZE sample;
"""

ORDER = "ORDER BY score DESC, created_at ASC, id ASC"


class Env:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        app = write_app(self.tmp.name, {"models/sample.lua": MODEL, "resources/lists.lua": RESOURCES})
        self.db = Database()
        self.db.psql([], input=SCHEMA)
        self.srv = Server(app, env={"DATABASE_URL": self.db.url, "SOOM_SECRET_KEY": "k1"}).start()

    def ids(self, sql):
        return [int(r[0]) for r in self.db.sql(sql)]

    def page(self, url):
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        status, _, doc = self.srv.json("GET", path)
        eq(status, 200, path)
        return doc

    def close(self):
        self.srv.stop()
        self.db.drop()
        self.tmp.cleanup()


def walk(env, first, key="next"):
    """Follows `key` links from `first`; returns the ids in walk order and the
    last page."""
    ids, doc, pages = [], env.page(first), 0
    while True:
        pages += 1
        rows = [r["id"] for r in doc["results"]]
        ids.extend(rows if key == "next" else reversed(rows))
        if doc[key] is None:
            return (ids if key == "next" else list(reversed(ids))), doc, pages
        assert pages < 1000, "the walk does not end"
        doc = env.page(doc[key])


def test_cursor_walks_forward_and_backward():
    env = Env()
    try:
        expected = env.ids("SELECT id FROM sample " + ORDER)
        forward, last, pages = walk(env, "/cursor")
        eq(pages, 200)
        eq(len(forward), 10000)
        eq(len(set(forward)), 10000, "no row twice")
        eq(forward, expected, "the same rows in the same order as one ORDER BY")
        eq(last["next"], None)
        backward, first, _ = walk(env, last["previous"], key="previous")
        eq(backward + [r["id"] for r in last["results"]], expected, "walking back gives the same")
        eq(first["previous"], None)
        # a filter composes with the cursor
        only = walk(env, "/cursor?score=7")[0]
        eq(only, env.ids("SELECT id FROM sample WHERE score = 7 " + ORDER))
        # so does the ordering parameter, and page_size
        by_id = walk(env, "/cursor?ordering=-id&page_size=500")[0]
        eq(by_id, env.ids("SELECT id FROM sample ORDER BY id DESC"))
    finally:
        env.close()


def test_offset_walks_and_counts():
    env = Env()
    try:
        expected = env.ids("SELECT id FROM sample ORDER BY id")
        ids, last, pages = walk(env, "/exact?limit=500")
        eq((ids, pages), (expected, 20))
        eq(last["count"], 10000)
        back, first, _ = walk(env, last["previous"], key="previous")
        eq(back + [r["id"] for r in last["results"]], expected)
        eq(walk(env, "/exact?page=1&page_size=250")[0], expected)
        eq(walk(env, "/ordered-offset?limit=400")[0], env.ids("SELECT id FROM sample " + ORDER))
        # exact count with a filter
        doc = env.page("/exact?score=5")
        eq(doc["count"], int(env.db.scalar("SELECT count(*) FROM sample WHERE score = 5")))
        # planned: exactly the planner's estimate
        doc = env.page("/planned?score__gt=50")
        plan = json.loads(env.db.psql(["-c", "EXPLAIN (FORMAT JSON) SELECT 1 FROM sample WHERE score > 50"]))
        eq(doc["count"], plan[0]["Plan"]["Plan Rows"])
        doc = env.page("/planned")
        assert 5000 <= doc["count"] <= 20000, doc["count"]
        eq(env.page("/nocount")["count"], None)
        # limits: capped, and bad values refused
        eq(len(env.page("/exact?limit=100000")["results"]), 500)
        for bad in ("limit=-1", "limit=0", "limit=abc", "offset=-5", "offset=x", "page=0",
                    "page=-1", "page_size=zz"):
            status, headers, doc = env.srv.json("GET", "/exact?" + bad)
            eq(status, 400, bad)
            eq(headers["content-type"], "application/problem+json")
        eq(env.page("/exact?offset=20000")["results"], [])
    finally:
        env.close()


def test_cursor_walk_while_rows_change():
    env = Env()
    try:
        before = set(env.ids("SELECT id FROM sample"))
        rnd = random.Random(5)
        seen, doc, deleted = [], env.page("/cursor"), set()
        pages = 0
        while True:
            seen.extend(r["id"] for r in doc["results"])
            pages += 1
            if pages % 10 == 0:
                # new rows everywhere in the ordering, and deletions ahead and behind
                env.db.sql("INSERT INTO sample (name, score, created_at) SELECT 'new', (random() * 100)::int, "
                           "timestamptz '2026-01-01 00:00:00+00' + (random() * 36)::int * interval '1 second' "
                           "FROM generate_series(1, 20)")
                victims = rnd.sample(sorted(before - deleted), 15)
                env.db.sql("DELETE FROM sample WHERE id IN (%s)" % ",".join(map(str, victims)))
                deleted |= set(victims)
            if doc["next"] is None:
                break
            doc = env.page(doc["next"])
        eq(len(seen), len(set(seen)), "no row was repeated")
        survivors = before - deleted
        missing = survivors - set(seen)
        eq(sorted(missing), [], "no row that existed before the walk and still exists was skipped")
    finally:
        env.close()


def test_keyset_walks():
    env = Env()
    try:
        ids, after, pages = [], None, 0
        while True:
            doc = env.page("/keyset" + ("?after=%s" % after if after else ""))
            ids.extend(r["id"] for r in doc["results"])
            pages += 1
            after = doc["next"]
            if after is None:
                break
            eq(after, str(doc["results"][-1]["id"]), "next is the last row's key")
        eq((ids, pages), (env.ids("SELECT id FROM sample ORDER BY id"), 100))
        down, before = [], None
        while True:
            doc = env.page("/keyset-down?limit=500" + ("&before=%s" % before if before else ""))
            down.extend(r["id"] for r in doc["items"])
            before = doc["cursor"]
            if before is None:
                break
        eq(down, env.ids("SELECT id FROM sample ORDER BY id DESC"))
        eq(env.page("/keyset?score=3&limit=5")["results"],
           env.page("/keyset?score=3&limit=5&after=0")["results"])
        for bad in ("after=abc", "after=1.5", "limit=0", "limit=x"):
            eq(env.srv.request("GET", "/keyset?" + bad)[0], 400, bad)
    finally:
        env.close()


def test_long_positions_make_cursors_that_work():
    # a position holds whole values: ordered by a long text, a page's next
    # link is a long cursor, which the server must take back (found by
    # fuzz_cursor: beyond 4,096 characters it was refused as too long)
    env = Env()
    try:
        env.db.sql("UPDATE sample SET name = 'a' || n || repeat('x', 3500) FROM "
                   "(VALUES (1), (2), (3), (4)) v(n) WHERE id = n")
        doc = env.page("/cursor-name")
        eq([r["id"] for r in doc["results"]], [1, 2])
        assert len(doc["next"]) > 4096, len(doc["next"])
        doc = env.page(doc["next"])
        eq([r["id"] for r in doc["results"]], [3, 4])
    finally:
        env.close()


def test_invalid_cursors_are_refused():
    env = Env()
    try:
        doc = env.page("/cursor")
        good = urlsplit(doc["next"]).query.split("cursor=")[1]
        foreign = urlsplit(env.page("/cursor-score")["next"]).query.split("cursor=")[1]
        flipped = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
        for bad in ("garbage", "", good[:-4], good[:12], flipped, foreign, good + "AA", "%00",
                    "A" * 5000):
            status, headers, body = env.srv.request("GET", "/cursor?cursor=" + bad)
            eq(status, 400, "cursor %r" % bad[:30])
            eq(headers["content-type"], "application/problem+json")
            assert "cursor" in json.loads(body)["detail"]
        # a cursor made under another ordering of the same resource is refused too
        status, _, _ = env.srv.request("GET", "/cursor?ordering=id&cursor=" + good)
        eq(status, 400)
        # another secret key: cursors of the old one are refused
        env.srv.stop()
        env.srv = Server(env.srv.app, env={"DATABASE_URL": env.db.url, "SOOM_SECRET_KEY": "k2"}).start()
        eq(env.srv.request("GET", "/cursor?cursor=" + good)[0], 400)
    finally:
        env.close()


def cursor_of(url):
    return urlsplit(url).query.split("cursor=")[1]


def test_cursors_are_bound_to_their_resource():
    env = Env()
    try:
        twin = cursor_of(env.page("/cursor-score-twin")["next"])
        own = cursor_of(env.page("/cursor-score")["next"])
        eq(len(env.page("/cursor-score-twin?cursor=" + twin)["results"]), 50)
        for path, cursor in (("/cursor-score", twin), ("/cursor-score-twin", own)):
            status, headers, body = env.srv.request("GET", path + "?cursor=" + cursor)
            eq(status, 400, "a cursor of another resource on " + path)
            eq(headers["content-type"], "application/problem+json")
            doc = json.loads(body)
            eq([(e["pointer"], e["source"]) for e in doc["errors"]], [("/cursor", "query")],
               "the problem names the cursor parameter")
    finally:
        env.close()


def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_cursors_are_opaque():
    env = Env()
    try:
        doc = env.page("/cursor-hidden")
        eq(list(doc["results"][0]), ["id"])
        last = env.db.scalar("SELECT name FROM sample ORDER BY name, id LIMIT 1 OFFSET 4")
        raw = b64(cursor_of(doc["next"]))
        assert last.encode() not in raw, "the cursor shows the hidden name %r" % last
        assert str(doc["results"][-1]["id"]).encode() not in raw, "the cursor shows the id"
        # the next page is right all the same, and two cursors of one position differ
        ids = env.ids("SELECT id FROM sample ORDER BY name, id LIMIT 5 OFFSET 5")
        eq([r["id"] for r in env.page(doc["next"])["results"]], ids)
        assert cursor_of(env.page("/cursor-hidden")["next"]) != cursor_of(doc["next"])
        eq(len(raw) <= 64, True, "a cursor of one text value and an id stays short: %d" % len(raw))
    finally:
        env.close()


def test_secret_key_rotation_with_fallbacks():
    env = Env()
    try:
        old = cursor_of(env.page("/cursor")["next"])
        env.srv.stop()
        # k2 signs new cursors; k1's still read, as Django's SECRET_KEY_FALLBACKS
        env.srv = Server(env.srv.app, env={"DATABASE_URL": env.db.url, "SOOM_SECRET_KEY": "k2",
                                           "SOOM_SECRET_KEY_FALLBACKS": "k0 k1"}).start()
        eq(len(env.page("/cursor?cursor=" + old)["results"]), 50)
        new = cursor_of(env.page("/cursor")["next"])
        env.srv.stop()
        # once k1 leaves the fallbacks its cursors are refused; k2's are read
        # (settings.lua gives the fallbacks as a list)
        write_app(env.srv.app, {"settings.lua": 'return { secret_key_fallbacks = { "k2" } }'})
        env.srv = Server(env.srv.app, env={"DATABASE_URL": env.db.url,
                                           "SOOM_SECRET_KEY": "k3"}).start()
        eq(env.srv.request("GET", "/cursor?cursor=" + old)[0], 400)
        eq(len(env.page("/cursor?cursor=" + new)["results"]), 50)
    finally:
        env.close()


main(globals())
