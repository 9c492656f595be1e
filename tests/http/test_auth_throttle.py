"""Throttling: 200 concurrent requests against a limit of 50 let exactly 50
through, in one process (counted in memory) and across two soom processes
sharing PostgreSQL (throttle_backend = "postgres": an unlogged table and
atomic upserts); 429 with Retry-After and the IETF RateLimit-Policy and
RateLimit fields; anonymous requests keyed by address (X-Forwarded-For only
with trust_proxy, the proxy_count-th address from the right), users by
id, scopes from settings.throttle_rates."""

import threading
import time

from authkit import Django, app, metric, serve
from harness import eq, main

DJ = Django()
SEED = DJ.op("seed", users=[{"username": "u1", "password": "p"},
                            {"username": "u2", "password": "p"}])["users"]

RESOURCES = r"""
local soom = require "soom"
local T = soom.throttle
local ok = function() return { ok = true } end
return {
    soom.Resource { route = "/anon", throttles = { T.anon "50/h" }, get = ok },
    soom.Resource { route = "/burst", throttles = { T.anon "3/m" }, get = ok },
    soom.Resource { route = "/burst2", throttles = { T.anon "3/m" }, get = ok },
    -- throttles of one scope count together across resources, as in DRF:
    -- these name scopes of their own
    soom.Resource { route = "/addr", throttles = { T.anon { scope = "addr", rate = "3/m" } },
        get = ok },
    soom.Resource { route = "/user", authentication = { soom.auth.token },
        throttles = { T.user "5/h", T.anon { scope = "anon_user", rate = "2/h" } }, get = ok },
    soom.Resource { route = "/scoped", throttle_scope = "uploads", throttles = { T.scoped },
        get = ok },
    soom.Resource { route = "/two", throttles = { T.anon { scope = "two", rate = "10/m" },
        T.user { scope = "daily",
        rate = "4/d" } }, get = ok },
}
"""
SETTINGS = 'return { throttle_rates = { uploads = "2/10m" } }'


def burst(servers, path, n, headers=None):
    """n requests at once, spread over the servers; their statuses and the
    headers of one 429."""
    barrier = threading.Barrier(n)
    statuses, limited = [None] * n, []

    def one(i):
        srv = servers[i % len(servers)]
        conn = srv.connection(timeout=60)
        conn.connect()
        barrier.wait()
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        statuses[i] = resp.status
        if resp.status == 429 and not limited:
            limited.append({k.lower(): v for k, v in resp.getheaders()})
        conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, limited[0] if limited else None


ROOT = app({"resources/t.lua": RESOURCES}, settings=SETTINGS)
SRV = serve(ROOT, DJ.url, env={"SOOM_THREADS": "16", "SOOM_MAX_CONNECTIONS": "1000"})


def test_exactly_50_of_200_in_one_process():
    statuses, limited = burst([SRV], "/anon", 200)
    eq(statuses.count(200), 50)
    eq(statuses.count(429), 150)
    eq(int(limited["retry-after"]) > 3500, True, limited["retry-after"])
    eq(limited["ratelimit-policy"], '"anon";q=50;w=3600')
    eq(limited["ratelimit"].startswith('"anon";r=0;t='), True, limited["ratelimit"])
    eq(limited["content-type"], "application/problem+json")
    time.sleep(0.3)
    eq(metric(SRV, "soom_throttled_requests_total", {"route": "/anon"}), 150.0)


def test_headers_on_every_answer():
    status, hdrs, _ = SRV.json("GET", "/burst")
    eq(status, 200)
    eq(hdrs["ratelimit-policy"], '"anon";q=3;w=60')
    eq(hdrs["ratelimit"], '"anon";r=2;t=60')
    SRV.json("GET", "/burst")
    SRV.json("GET", "/burst")
    status, hdrs, body = SRV.json("GET", "/burst")
    eq(status, 429)
    eq(body["type"], "urn:soom:problem:throttled")
    eq(body["detail"].startswith("Request was throttled. Expected available in "), True)
    # a scope shared by two resources counts for both, as in DRF
    eq(SRV.json("GET", "/burst2")[0], 429)


def test_addresses_and_proxies():
    # without trust_proxy a client cannot pick its own key
    answers = [SRV.json("GET", "/addr", headers={"X-Forwarded-For": "10.0.0.%d" % i})[0]
               for i in range(4)]
    eq(answers, [200, 200, 200, 429])
    proxied = serve(ROOT, DJ.url, env={"SOOM_TRUST_PROXY": "true", "SOOM_PROXY_COUNT": "1"})
    for _ in range(3):
        eq(proxied.json("GET", "/burst", headers={"X-Forwarded-For": "1.1.1.1, 10.9.9.9"})[0], 200)
    eq(proxied.json("GET", "/burst", headers={"X-Forwarded-For": "2.2.2.2, 10.9.9.9"})[0], 429,
       "one proxy: the last address is the client")
    eq(proxied.json("GET", "/burst", headers={"X-Forwarded-For": "1.1.1.1, 10.9.9.8"})[0], 200)
    two = serve(ROOT, DJ.url, env={"SOOM_TRUST_PROXY": "true", "SOOM_PROXY_COUNT": "2"})
    for _ in range(3):
        eq(two.json("GET", "/burst", headers={"X-Forwarded-For": "3.3.3.3, 10.0.0.1"})[0], 200)
    eq(two.json("GET", "/burst", headers={"X-Forwarded-For": "3.3.3.3, 10.0.0.2"})[0], 429,
       "two proxies: the second address from the right is the client")


def test_users_and_scopes():
    t1 = {"Authorization": "Token " + SEED["u1"]["token"]}
    t2 = {"Authorization": "Token " + SEED["u2"]["token"]}
    for _ in range(5):
        eq(SRV.json("GET", "/user", headers=t1)[0], 200)
    status, hdrs, _ = SRV.json("GET", "/user", headers=t1)
    eq(status, 429)
    eq(hdrs["ratelimit-policy"], '"user";q=5;w=3600', "anon throttles leave users alone")
    eq(SRV.json("GET", "/user", headers=t2)[0], 200, "each user counts alone")
    eq([SRV.json("GET", "/user")[0] for _ in range(3)], [200, 200, 429])
    eq([SRV.json("GET", "/scoped")[0] for _ in range(3)], [200, 200, 429])
    status, hdrs, _ = SRV.json("GET", "/scoped")
    eq(hdrs["ratelimit-policy"], '"uploads";q=2;w=600')
    # two throttles: both counted, both in the headers; the tighter one refuses
    answers = [SRV.json("GET", "/two")[0] for _ in range(6)]
    eq(answers, [200] * 4 + [429] * 2)
    status, hdrs, _ = SRV.json("GET", "/two")
    eq(hdrs["ratelimit-policy"], '"two";q=10;w=60, "daily";q=4;w=86400')


def test_exactly_50_of_200_across_two_processes():
    env = {"SOOM_THROTTLE_BACKEND": "postgres", "SOOM_THREADS": "16",
           "SOOM_MAX_CONNECTIONS": "1000", "SOOM_POOL__MAX": "16"}
    a = serve(ROOT, DJ.url, env=env)
    b = serve(ROOT, DJ.url, env=env)
    statuses, limited = burst([a, b], "/anon", 200)
    eq(statuses.count(200), 50, statuses)
    eq(statuses.count(429), 150)
    eq(int(limited["retry-after"]) > 3500, True)
    eq(DJ.scalar("SELECT relpersistence FROM pg_class WHERE relname = 'soom_throttle'"), "u",
       "an unlogged table")
    # the two processes count together from here on
    eq(a.json("GET", "/burst")[0], 200)
    eq(b.json("GET", "/burst")[0], 200)
    eq(a.json("GET", "/burst")[0], 200)
    eq(b.json("GET", "/burst")[0], 429)


main(globals())
