"""Two soom processes behind a real HAProxy on loopback (docs/SCALING.md:
what is safe behind a load balancer). HAProxy sends each request to the
next process (round robin, one request per backend connection) and says
which one answered (X-Served-By).

A cursor walk alternating between the processes returns every row once:
its cursors are signed with the shared secret_key, not a key of one
process. A throttle with the postgres backend counts exactly across both.
"""

import tempfile

import scalekit
from harness import Database, Server, eq, main, write_app

APP = {
    "models/row.lua": """
local soom = require "soom"
return soom.model {
    table = "lb_row", primary_key = "id",
    fields = { id = soom.f.bigserial(), score = soom.f.integer() },
}
""",
    "resources/rows.lua": """
local soom = require "soom"
local Row = require "models.row"
return {
    soom.ListResource { route = "/rows", model = Row, fields = { "id", "score" },
        pagination = soom.pagination.cursor { ordering = { "-score" }, page_size = 7 } },
    soom.Resource { route = "/limited", throttles = { soom.throttle.anon "10/m" },
        get = function() return { ok = true } end },
}
""",
}

N_ROWS = 100


def cluster(extra):
    db = Database()
    db.sql("CREATE TABLE lb_row (id bigserial PRIMARY KEY, score integer NOT NULL); "
           "INSERT INTO lb_row (score) SELECT n %% 13 FROM generate_series(1, %d) n" % N_ROWS)
    app = write_app(tempfile.mkdtemp(), APP)
    env = {"DATABASE_URL": db.url, "SOOM_TRUST_PROXY": "true"}
    env.update(extra)
    servers = [Server(app, env=env) for _ in range(2)]
    lb = scalekit.HAProxy([s.port for s in servers])
    try:
        for s in servers:
            s.start()
        lb.start()
    except BaseException:
        teardown(db, servers, lb)
        raise
    return db, servers, lb


def teardown(db, servers, lb):
    lb.stop()
    for s in servers:
        s.stop()
    db.drop()


def walk(lb):
    """Follows `next` links through the balancer; returns the ids and who served each page."""
    ids, served = [], []
    path = "/rows"
    for _ in range(N_ROWS):
        status, hdrs, doc = lb.json("GET", path)
        eq(status, 200, "page %d (%s)" % (len(served), path))
        served.append(hdrs.get("x-served-by"))
        ids += [r["id"] for r in doc["results"]]
        if not doc.get("next"):
            return ids, served
        path = doc["next"][doc["next"].index("/rows"):]
    raise AssertionError("the walk does not end")


def test_a_cursor_walk_across_processes():
    db, servers, lb = cluster({"SOOM_SECRET_KEY": "one key for every replica of the service"})
    try:
        ids, served = walk(lb)
        eq(sorted(ids), list(range(1, N_ROWS + 1)), "every row once")
        eq(len(ids), N_ROWS)
        eq(set(served), {"s0", "s1"}, "both processes served pages")
        assert all(a != b for a, b in zip(served, served[1:])), "pages alternate: %r" % served
    finally:
        teardown(db, servers, lb)


def test_a_postgres_throttle_is_exact_across_processes():
    db, servers, lb = cluster({"SOOM_THROTTLE_BACKEND": "postgres"})
    try:
        statuses, served = [], set()
        for _ in range(16):
            status, hdrs, _ = lb.json("GET", "/limited")
            statuses.append(status)
            served.add(hdrs.get("x-served-by"))
        eq(served, {"s0", "s1"})
        eq(statuses, [200] * 10 + [429] * 6, "10 a minute for the whole service")
    finally:
        teardown(db, servers, lb)


if __name__ == "__main__":
    main(globals())
