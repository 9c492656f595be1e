"""A wrong token and a wrong token of the right length are answered in
indistinguishable time: every well-formed key costs the same work (its
digest, the cache, the lookup), so timing tells nothing of the shape of
the keys that exist. The same for a missing user and a wrong password
under Basic (a missing user costs a hash all the same).

The check is statistical and bounded, made to hold on a noisy shared
machine: requests of the two kinds alternate on one kept-alive connection,
so drift in the machine's load hits both alike; the median of the paired
differences must stay within a fraction of the median time. Answering the
short key without its lookup (what the feature prevents) shifts that
median by the lookup's whole cost, several times the bound."""

import statistics
import time

from authkit import Django, app, basic, serve
from harness import eq, main

DJ = Django()
SEED = DJ.op("seed", users=[{"username": "ada", "password": "pw", "hasher": "pbkdf2_sha256"}])[
    "users"]
ROOT = app({"resources/me.lua": r"""
local soom = require "soom"
local me = function(self, req) return { id = req.user.id } end
return {
    soom.Resource { route = "/token", authentication = { soom.auth.token }, get = me },
    -- the cost of the check for a missing user is the policy's: Django 3.2's
    soom.Resource { route = "/basic", authentication = { soom.auth.basic { iterations = 260000 } },
        get = me },
}
"""})
SRV = serve(ROOT, DJ.url, env={"SOOM_ACCESS_LOG": "false", "SOOM_LOG_LEVEL": "info"})

PAIRS = 400
BOUND = 0.15  # of the median time


def timed(conn, path, headers):
    t0 = time.perf_counter()
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status, time.perf_counter() - t0


def indistinguishable(path, a, b, pairs=PAIRS, warm=50):
    conn = SRV.connection()
    for _ in range(warm):  # warm up: connection, prepared statements, caches
        timed(conn, path, a)
        timed(conn, path, b)
    diffs, times = [], []
    for i in range(pairs):
        # alternate which goes first, so neither always follows the other
        first, second = (a, b) if i % 2 == 0 else (b, a)
        s1, t1 = timed(conn, path, first)
        s2, t2 = timed(conn, path, second)
        eq((s1, s2), (401, 401))
        ta, tb = (t1, t2) if i % 2 == 0 else (t2, t1)
        diffs.append(ta - tb)
        times += [ta, tb]
    conn.close()
    median = statistics.median(times)
    shift = statistics.median(diffs)
    return abs(shift) / median, shift, median


def test_wrong_token_lengths():
    short = {"Authorization": "Token abc"}
    right_length = {"Authorization": "Token " + "0" * 40}
    eq(len(SEED["ada"]["token"]), 40)
    ratio, shift, median = indistinguishable("/token", short, right_length)
    eq(ratio < BOUND, True, "a short and a right-length wrong key differ by %.1f us of a %.1f us "
                            "median" % (shift * 1e6, median * 1e6))


def test_missing_user_and_wrong_password():
    # Django's default pbkdf2 cost makes each request a fifth of a second:
    # fewer pairs, the same bound
    ratio, shift, median = indistinguishable("/basic", {"Authorization": basic("nobody", "pw")},
                                             {"Authorization": basic("ada", "wrong")}, pairs=30, warm=2)
    eq(ratio < BOUND, True, "a missing user and a wrong password differ by %.1f ms of %.1f ms"
       % (shift * 1e3, median * 1e3))


main(globals())
