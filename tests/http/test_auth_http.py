"""Authentication over HTTP against Django's own artefacts: users made by
Django's hashers (and a Django 4 scrypt hash), DRF tokens, simplejwt token
pairs, all made by Django over a database Django migrated
(tests/data/django_auth), and accepted by a Soom app serving that
database; every JWT refusal; simplejwt's views (obtain, refresh with
rotation and the blacklist, verify, blacklist) with Soom's tokens checked
by simplejwt and simplejwt's by Soom; keys kept as SHA-256 digests; API
keys; req.user and req.auth; and a declarative resource behind tokens or
JWTs that never enters Lua."""

import base64
import hashlib
import json
import secrets
import string
import time

from authkit import Django, app, basic, metric, rsa_keys, serve
from harness import eq, in_thread, main

PRIVATE, PUBLIC, JWKS = rsa_keys()
DJ = Django()

USERS = [
    {"username": "ada", "password": "correct horse battery staple", "hasher": "pbkdf2_sha256"},
    {"username": "sha1", "password": "pässwörd ✓", "hasher": "pbkdf2_sha1"},
    {"username": "argon", "password": "argon two", "hasher": "argon2"},
    {"username": "bcsha", "password": "bcrypt and sha", "hasher": "bcrypt_sha256"},
    {"username": "bc", "password": "plain bcrypt", "hasher": "bcrypt"},
    {"username": "gone", "password": "still right", "hasher": "fast", "is_active": False},
    {"username": "staff", "password": "staff", "hasher": "fast", "is_staff": True},
]
SEED = DJ.op("seed", users=USERS, orders=[{"owner": "ada", "title": "first"}])["users"]
ORDER = DJ.scalar("SELECT id FROM shop_order")


def django4_scrypt(password):
    """Django 4.0's ScryptPasswordHasher.encode (Debian's Django 3.2 has none)."""
    salt = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))
    h = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2 ** 14, r=8, p=1, maxmem=0,
                       dklen=64)
    return "scrypt$16384$%s$8$1$%s" % (salt, base64.b64encode(h).decode())


DJ.sql("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
       "is_staff, is_active, date_joined) VALUES ('%s', false, 'scrypt', '', '', '', false, true, "
       "now())" % django4_scrypt("scrypt pass"))
DJ.sql("CREATE TABLE soom_token (digest char(64) PRIMARY KEY, user_id integer NOT NULL "
       "REFERENCES auth_user (id))")
DJ.sql("INSERT INTO soom_token VALUES ('%s', %d)"
       % (hashlib.sha256(b"hashed-key-of-ada").hexdigest(), SEED["ada"]["id"]))
DJ.sql("CREATE TABLE service_key (key text PRIMARY KEY, name text NOT NULL)")
DJ.sql("INSERT INTO service_key VALUES ('query-key-1', 'billing')")

# a hash that takes Soom about half a second to check: long enough to see
# whether a check holds the loop it was asked on
SLOW_SALT = "slowsaltslowsalt"
SLOW_HASH = "pbkdf2_sha256$2000000$%s$%s" % (SLOW_SALT, base64.b64encode(hashlib.pbkdf2_hmac(
    "sha256", b"slow but right", SLOW_SALT.encode(), 2000000)).decode())
DJ.sql("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
       "is_staff, is_active, date_joined) VALUES ('%s', false, 'slow', '', '', '', false, true, "
       "now())" % SLOW_HASH)

RESOURCES = r"""
local soom = require "soom"
local keys = require "lib.keys"
local Order = soom.model { table = "shop_order", managed = false, primary_key = "id", fields = {
    { "id", soom.f.serial() }, { "title", soom.f.varchar { max_length = 100 } },
    { "owner_id", soom.f.integer() } } }

local jwt = soom.auth.jwt { blacklist = true }
local Me = soom.Resource {
    permissions = { soom.perm.is_authenticated },
    get = function(self, req) return { user = req.user, auth = req.auth or soom.null } end,
}
local function me(route, class)
    return Me { route = route, authentication = { class } }
end
return {
    me("/me/token", soom.auth.token),
    me("/me/basic", soom.auth.basic),
    me("/me/basic32", soom.auth.basic { iterations = 260000 }),
    me("/me/jwt", jwt),
    me("/me/jwt_aud", soom.auth.jwt { name = "jwtAud", audience = "soom-api", issuer = "soom-tests" }),
    me("/me/jwt_rs", soom.auth.jwt { name = "jwtRs", public_key = keys.public }),
    me("/me/jwt_kid", soom.auth.jwt { name = "jwtKid", jwks = "keys/jwks.json" }),
    me("/me/jwt_claims", soom.auth.jwt { name = "jwtClaims", user_from = "claims" }),
    me("/me/hashed", soom.auth.token { name = "hashedToken", hashed = true, table = "soom_token",
        key_column = "digest", user_column = "user_id" }),
    me("/me/listed", soom.auth.api_key { keys = { ci = "ci-key-123" } }),
    me("/me/query", soom.auth.api_key { name = "apiKeyQuery", query = "api_key",
        table = "service_key", name_column = "name" }),
    soom.RetrieveResource { route = "/orders/{id:int}", model = Order,
        authentication = { soom.auth.token, jwt }, permissions = { soom.perm.is_authenticated } },
    soom.Resource { route = "/hello", get = function() return { hello = true } end },
    soom.Resource { route = "/check", post = function(_, req)
        local ok, must_update = soom.auth.check_password(req.body.password, req.body.hash)
        local made = soom.auth.hash_password(req.body.password, "pbkdf2_sha256",
                                             { iterations = 1000 })
        return { ok = ok, must_update = must_update, made = made }
    end },
    jwt:views { obtain = "/api/token", refresh = "/api/token/refresh",
                verify = "/api/token/verify", blacklist = "/api/token/blacklist" },
}
"""

ROOT = app({"resources/auth.lua": RESOURCES,
            "lib/keys.lua": "return { public = [[%s]] }\n" % PUBLIC,
            "keys/jwks.json": JWKS})
SRV = serve(ROOT, DJ.url, env={"SOOM_JWT__ROTATE_REFRESH_TOKENS": "true",
                               "SOOM_JWT__BLACKLIST_AFTER_ROTATION": "true"})


def get(path, auth=None, headers=None):
    h = dict(headers or {})
    if auth is not None:
        h["Authorization"] = auth
    return SRV.json("GET", path, headers=h)


def post(path, body):
    return SRV.json("POST", path, body)


def refused(status, hdrs, body, www, type_="authentication-failed"):
    eq(status, 401 if www else 403)
    eq(hdrs.get("www-authenticate"), www)
    eq(hdrs.get("content-type"), "application/problem+json")
    eq(body["type"], "urn:soom:problem:" + type_)


def answer(resp):
    """What a refusal says, without what every response carries of its own
    (request id, trace, date)."""
    status, hdrs, body = resp
    return status, hdrs.get("www-authenticate"), hdrs.get("content-type"), body


def reasons(labels):
    return {r: metric(SRV, "soom_auth_failures_total", {"reason": r}) for r in labels}


# ---- Django's users, through HTTP Basic ---------------------------------------------------

def hellos_while(srv, call):
    """Starts call() and asks /hello five times while it runs: the slowest
    /hello's seconds, and whether call() was still running after them."""
    done = {}

    def timed():
        out = call()
        done["at"] = time.time()
        return out

    join = in_thread(timed)
    time.sleep(0.1)
    slowest = 0.0
    for _ in range(5):
        t0 = time.time()
        eq(srv.json("GET", "/hello")[0], 200)
        slowest = max(slowest, time.time() - t0)
    after = time.time()
    result = join()
    return slowest, done["at"] > after, result


def test_password_hashes_leave_the_loop_free():
    # one loop thread: a check computed on it would hold every other
    # request for its half second; on a helper thread, /hello goes on
    srv = serve(ROOT, DJ.url, env={"SOOM_SERVER": "async", "SOOM_THREADS": "1"})
    try:
        slowest, longer, (status, _, body) = hellos_while(
            srv, lambda: srv.json("GET", "/me/basic",
                                  headers={"Authorization": basic("slow", "slow but right")}))
        eq(status, 200)
        eq(body["user"]["username"], "slow")
        eq(longer, True, "the check ended before the hellos: nothing was measured")
        assert slowest < 0.2, "a /hello waited %.3fs behind a Basic check" % slowest
        slowest, longer, (status, _, body) = hellos_while(
            srv, lambda: srv.json("POST", "/check", {"password": "slow but right",
                                                     "hash": SLOW_HASH}))
        eq((status, body["ok"]), (200, True))
        eq(body["made"].startswith("pbkdf2_sha256$1000$"), True)
        eq(longer, True, "the check ended before the hellos: nothing was measured")
        assert slowest < 0.2, "a /hello waited %.3fs behind soom.auth.check_password" % slowest
    finally:
        srv.stop()


def test_django_hashes_authenticate():
    for u in USERS + [{"username": "scrypt", "password": "scrypt pass"}]:
        if u.get("is_active") is False:
            continue
        status, _, body = get("/me/basic", basic(u["username"], u["password"]))
        eq(status, 200, u["username"])
        eq(body["user"]["username"], u["username"])
        eq(body["user"]["is_authenticated"], True)
        eq("password" in body["user"], False, "the hash never reaches req.user")


def test_basic_refusals_tell_nothing():
    wrong = get("/me/basic", basic("ada", "wrong"))
    refused(*wrong, 'Basic realm="api"')
    for creds in (basic("gone", "still right"), basic("nobody", "x"), basic("ada", "")):
        eq(answer(get("/me/basic", creds)), answer(wrong), creds)
    refused(*get("/me/basic", "Basic not*base64"), 'Basic realm="api"')
    refused(*get("/me/basic", "Basic a b"), 'Basic realm="api"')


def test_basic_reports_must_update_and_writes_nothing():
    before = DJ.scalar("SELECT password FROM auth_user WHERE username = 'ada'")
    # Django 3.2 made the hash at 260,000 iterations; the default policy asks 1,000,000
    eq(get("/me/basic", basic("ada", USERS[0]["password"]))[2]["auth"],
       {"password_must_update": True})
    eq(get("/me/basic32", basic("ada", USERS[0]["password"]))[2]["auth"],
       {"password_must_update": False})
    eq(DJ.scalar("SELECT password FROM auth_user WHERE username = 'ada'"), before)


# ---- DRF tokens -----------------------------------------------------------------------------

def test_drf_tokens_authenticate():
    for name in ("ada", "argon", "staff"):
        key = SEED[name]["token"]
        status, _, body = get("/me/token", "Token " + key)
        eq(status, 200, name)
        eq(body["user"]["username"], name)
        eq(body["user"]["is_staff"], name == "staff")
        eq(body["auth"]["key"], key)
        eq(body["auth"]["user_id"], SEED[name]["id"])
    # DRF compares the keyword in any case
    eq(get("/me/token", "token " + SEED["ada"]["token"])[0], 200)


def test_token_refusals_tell_nothing():
    before = reasons(["unknown_token", "inactive_user", "bad_header", "no_credentials"])
    unknown = get("/me/token", "Token " + "0" * 40)
    refused(*unknown, "Token")
    eq(unknown[2]["detail"], "Invalid token.")
    eq(answer(get("/me/token", "Token " + SEED["gone"]["token"])), answer(unknown))
    eq(get("/me/token", "Token short")[2], unknown[2])
    refused(*get("/me/token", "Token"), "Token")
    refused(*get("/me/token", "Token a b"), "Token")
    refused(*get("/me/token"), "Token", "not-authenticated")
    time.sleep(0.2)
    after = reasons(["unknown_token", "inactive_user", "bad_header", "no_credentials"])
    eq(after["unknown_token"] - before["unknown_token"], 2)
    eq(after["inactive_user"] - before["inactive_user"], 1)
    eq(after["bad_header"] - before["bad_header"], 2)
    eq(after["no_credentials"] - before["no_credentials"], 1)


def test_hashed_keys():
    status, _, body = get("/me/hashed", "Token hashed-key-of-ada")
    eq(status, 200)
    eq(body["user"]["username"], "ada")
    # the digest itself is no key
    digest = hashlib.sha256(b"hashed-key-of-ada").hexdigest()
    refused(*get("/me/hashed", "Token " + digest), "Token")


def test_declarative_resource_behind_tokens_stays_in_c():
    for creds in ("Token " + SEED["ada"]["token"], "Bearer " + SEED["ada"]["access"]):
        status, _, body = get("/orders/%s" % ORDER, creds)
        eq(status, 200)
        eq(body["title"], "first")
    time.sleep(0.3)
    lines = [l for l in SRV.log_lines() if l.get("msg") == "request"
             and l.get("route") == "/orders/{id:int}"]
    eq(len(lines) >= 2, True)
    eq([l["lua"] for l in lines], [False] * len(lines))
    eq(set(l.get("user") for l in lines), {str(SEED["ada"]["id"])}, "the access line names the user")


# ---- simplejwt's tokens -------------------------------------------------------------------

def test_simplejwt_tokens_authenticate():
    for name in ("ada", "staff"):
        status, _, body = get("/me/jwt", "Bearer " + SEED[name]["access"])
        eq(status, 200, name)
        eq(body["user"]["username"], name)
        eq(body["auth"]["token_type"], "access")
        eq(body["auth"]["user_id"], SEED[name]["id"])
    status, _, body = get("/me/jwt_claims", "Bearer " + SEED["ada"]["access"])
    eq(status, 200)
    eq(body["user"], {"id": SEED["ada"]["id"], "is_authenticated": True})
    # the token of an inactive user, and of one that no longer exists
    refused(*get("/me/jwt", "Bearer " + SEED["gone"]["access"]), 'Bearer realm="api"')
    # simplejwt reads the keyword exactly: "bearer" is no JWT at all
    refused(*get("/me/jwt", "bearer " + SEED["ada"]["access"]), 'Bearer realm="api"',
            "not-authenticated")


JWT_CASES = [
    # (case, route, reason or None when accepted)
    ("good", "/me/jwt", None),
    ("expired", "/me/jwt", "jwt_expired"),
    ("not_yet_valid", "/me/jwt", "jwt_not_yet_valid"),
    ("right_audience", "/me/jwt_aud", None),
    ("wrong_audience", "/me/jwt_aud", "jwt_bad_audience"),
    ("wrong_issuer", "/me/jwt_aud", "jwt_bad_issuer"),
    ("good", "/me/jwt_aud", "jwt_bad_issuer"),
    ("alg_none", "/me/jwt", "jwt_unsigned"),
    ("rs256", "/me/jwt_rs", None),
    ("confusion", "/me/jwt_rs", "jwt_no_key"),
    ("bad_signature", "/me/jwt", "jwt_bad_signature"),
    ("truncated", "/me/jwt", "jwt_malformed"),
    ("known_kid", "/me/jwt_kid", None),
    ("unknown_kid", "/me/jwt_kid", "jwt_unknown_kid"),
    ("refresh_as_access", "/me/jwt", "jwt_wrong_token_type"),
]


def test_every_jwt_refusal():
    tokens = DJ.op("jwt_cases", user_id=SEED["ada"]["id"], rsa_private=PRIVATE,
                   rsa_public=PUBLIC)
    for case, route, reason in JWT_CASES:
        before = metric(SRV, "soom_auth_failures_total", {"reason": reason}) if reason else 0
        status, hdrs, body = get(route, "Bearer " + tokens[case])
        if reason is None:
            eq(status, 200, case)
            eq(body["user"]["username"], "ada", case)
            continue
        refused(status, hdrs, body, 'Bearer realm="api"')
        eq(body["detail"], "Given token not valid for any token type", case)
        time.sleep(0.15)
        eq(metric(SRV, "soom_auth_failures_total", {"reason": reason}) - before, 1.0,
           "%s counted as %s" % (case, reason))


def test_a_kept_token_expires_with_itself():
    # verified tokens are kept (the credential cache) no longer than they are valid
    import jwt as pyjwt
    from authkit import JWT_SECRET
    now = int(time.time())
    token = pyjwt.encode({"token_type": "access", "exp": now + 2, "iat": now, "jti": "short-lived",
                          "user_id": SEED["ada"]["id"]}, JWT_SECRET, algorithm="HS256")
    eq(get("/me/jwt", "Bearer " + token)[0], 200)
    eq(get("/me/jwt", "Bearer " + token)[2]["auth"]["jti"], "short-lived", "the kept claims")
    time.sleep(2.6)
    refused(*get("/me/jwt", "Bearer " + token), 'Bearer realm="api"')


# ---- simplejwt's views --------------------------------------------------------------------

def jti(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def test_obtain_refresh_verify_blacklist():
    status, _, pair = post("/api/token", {"username": "ada", "password": USERS[0]["password"]})
    eq(status, 200)
    checked = DJ.op("verify", cases=[{"token": pair["access"], "type": "access"},
                                     {"token": pair["refresh"], "type": "refresh"}])
    eq([c["ok"] for c in checked], [True, True], checked)
    eq(checked[0]["user_id"], SEED["ada"]["id"])
    eq(get("/me/jwt", "Bearer " + pair["access"])[0], 200)
    eq(DJ.scalar("SELECT count(*) FROM token_blacklist_outstandingtoken WHERE jti = '%s'"
                 % jti(pair["refresh"])), "1")
    # an Idempotency-Key does not make the view store its credentials
    login = {"username": "ada", "password": USERS[0]["password"]}
    issued = set()
    for _ in range(2):
        status, hdrs, doc = SRV.json("POST", "/api/token", login, {"Idempotency-Key": "login-1"})
        eq((status, hdrs.get("idempotent-replayed")), (200, None))
        issued.add(jti(doc["refresh"]))
    eq(len(issued), 2, "each login issues its own tokens")
    # wrong password, inactive user, unknown user: one answer
    wrong = post("/api/token", {"username": "ada", "password": "nope"})
    refused(*wrong, 'Bearer realm="api"')
    eq(answer(post("/api/token", {"username": "gone", "password": "still right"})),
       answer(wrong))
    eq(answer(post("/api/token", {"username": "nobody", "password": "x"})), answer(wrong))
    eq(post("/api/token", {"username": "ada"})[0], 422)
    # refresh with rotation: a new pair, the old refresh token blacklisted
    status, _, fresh = post("/api/token/refresh", {"refresh": pair["refresh"]})
    eq(status, 200)
    eq(sorted(fresh), ["access", "refresh"])
    eq(DJ.op("blacklisted", jtis=[jti(pair["refresh"])]), [True])
    refused(*post("/api/token/refresh", {"refresh": pair["refresh"]}), 'Bearer realm="api"')
    eq(DJ.op("verify", cases=[{"token": fresh["refresh"], "type": "refresh"}])[0]["ok"], True)
    # simplejwt's own refresh token, refreshed by Soom
    status, _, again = post("/api/token/refresh", {"refresh": SEED["staff"]["refresh"]})
    eq(status, 200)
    eq(get("/me/jwt", "Bearer " + again["access"])[2]["user"]["username"], "staff")
    # verify
    status, _, body = post("/api/token/verify", {"token": fresh["access"]})
    eq((status, body), (200, {}))
    refused(*post("/api/token/verify", {"token": fresh["access"][:-3]}), 'Bearer realm="api"')
    refused(*post("/api/token/verify", {"token": pair["refresh"]}), 'Bearer realm="api"')
    # blacklist (log out): simplejwt sees it, refresh refuses it
    eq(post("/api/token/blacklist", {"refresh": fresh["refresh"]})[0], 200)
    eq(DJ.op("blacklisted", jtis=[jti(fresh["refresh"])]), [True])
    checked = DJ.op("verify", cases=[{"token": fresh["refresh"], "type": "refresh"}])
    eq(checked[0]["ok"], False)
    refused(*post("/api/token/refresh", {"refresh": fresh["refresh"]}), 'Bearer realm="api"')


# ---- API keys ---------------------------------------------------------------------------

def test_api_keys():
    status, _, body = get("/me/listed", headers={"X-Api-Key": "ci-key-123"})
    eq(status, 200)
    eq(body["user"], {"id": "ci", "name": "ci", "is_authenticated": True})
    # an API key class has no WWW-Authenticate: its refusals are 403s
    refused(*get("/me/listed", headers={"X-Api-Key": "ci-key-124"}), None)
    refused(*get("/me/listed"), None, "not-authenticated")
    status, _, body = get("/me/query?api_key=query-key-1")
    eq(status, 200)
    eq(body["user"]["name"], "billing")
    refused(*get("/me/query?api_key=query-key-2"), None)


main(globals())
