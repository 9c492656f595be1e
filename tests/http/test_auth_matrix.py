"""401 or 403 exactly as Django REST framework decides: every combination of
authentication classes (token, Basic, JWT, classes written in Lua with and
without a WWW-Authenticate), permissions (each built-in one, Django's model
permissions, a Lua class, their composition) and credentials (none, wrong,
an inactive user's, a plain user's, an admin's, one holding a model
permission through a group), for GET and POST, is asked of DRF itself (its
views run in Django over the same database) and of Soom over HTTP, and the
answers must match: status, WWW-Authenticate and the case (DRF's error code,
Soom's problem type).

Then object permissions on each action of a generic resource (nothing is
written when they refuse), owner_field, and the settings' defaults."""

import time

from authkit import Django, app, basic, serve
from harness import eq, main

DJ = Django()
SEED = DJ.op("seed", groups=[{"name": "adders", "perms": ["shop.add_order"]}], users=[
    {"username": "plain", "password": "plain pw"},
    {"username": "admin", "password": "admin pw", "is_staff": True},
    {"username": "adder", "password": "adder pw", "groups": ["adders"]},
    {"username": "boss", "password": "boss pw", "is_superuser": True},
    {"username": "gone", "password": "gone pw", "is_active": False},
    {"username": "other", "password": "other pw"},
], orders=[{"owner": "plain", "title": "mine"}, {"owner": "other", "title": "theirs"}])["users"]

CLASSES = {
    "token": ["token"], "basic": ["basic"], "jwt": ["jwt"], "key": ["key"],
    "silent_key": ["silent_key"], "token_basic": ["token", "basic"],
    "silent_then_token": ["silent_key", "token"], "none": [],
}
PERMISSIONS = ["allow_any", "is_authenticated", "is_admin", "read_only", "django_model",
               "django_model_anon", "lua", "any_of", "not_admin", "all_of", "none"]
CREDENTIALS = {
    "anonymous": {},
    "token_plain": {"Authorization": "Token " + SEED["plain"]["token"]},
    "token_admin": {"Authorization": "Token " + SEED["admin"]["token"]},
    "token_adder": {"Authorization": "Token " + SEED["adder"]["token"]},
    "token_boss": {"Authorization": "Token " + SEED["boss"]["token"]},
    "token_gone": {"Authorization": "Token " + SEED["gone"]["token"]},
    "token_wrong": {"Authorization": "Token " + "f" * 40},
    "token_malformed": {"Authorization": "Token"},
    "basic_plain": {"Authorization": basic("plain", "plain pw")},
    "basic_wrong": {"Authorization": basic("plain", "nope")},
    "jwt_plain": {"Authorization": "Bearer " + SEED["plain"]["access"]},
    "jwt_admin": {"Authorization": "Bearer " + SEED["admin"]["access"]},
    "jwt_broken": {"Authorization": "Bearer " + SEED["plain"]["access"][:-4]},
    "jwt_refresh": {"Authorization": "Bearer " + SEED["plain"]["refresh"]},
    "key_plain": {"X-Key": "plain"},
    "key_admin": {"X-Key": "admin"},
    "key_unknown": {"X-Key": "nobody"},
    "allow": {"X-Allow": "yes"},
    "token_plain_allow": {"Authorization": "Token " + SEED["plain"]["token"], "X-Allow": "yes"},
}

RESOURCES = r"""
local soom = require "soom"
local P = soom.perm

local function key_class(header)
    return {
        header = header,
        authenticate = function(req)
            local name = req:header("x-key")
            if name == nil then
                return nil
            end
            local u = soom.db.one("SELECT id, username, is_staff, is_superuser FROM auth_user "
                .. "WHERE username = $1 AND is_active", name)
            if u == nil then
                return false, "unknown key"
            end
            return u, name
        end,
    }
end

local CLASSES = {
    token = soom.auth.token, basic = soom.auth.basic, jwt = soom.auth.jwt,
    key = key_class('Key realm="api"'), silent_key = key_class(nil),
}
local allow = { has_permission = function(req) return req:header("x-allow") == "yes" end }
local model = P.django_model { app_label = "shop", model = "order" }
local PERMISSIONS = {
    allow_any = { P.allow_any }, is_authenticated = { P.is_authenticated },
    is_admin = { P.is_admin }, read_only = { P.is_authenticated_or_read_only },
    django_model = { model },
    django_model_anon = { P.django_model { app_label = "shop", model = "order",
                                           anonymous_read = true } },
    lua = { allow }, any_of = { P.any_of { P.is_admin, allow } },
    not_admin = { P.negate(P.is_admin) }, all_of = { P.is_authenticated, allow }, none = {},
}
local routes = {}
for _, c in ipairs(%s) do
    for _, p in ipairs(%s) do
        local classes = {}
        for _, name in ipairs(c[2]) do
            classes[#classes + 1] = CLASSES[name]
        end
        routes[#routes + 1] = soom.Resource {
            route = "/m/" .. c[1] .. "/" .. p,
            authentication = classes, permissions = PERMISSIONS[p],
            get = function() return { ok = true } end,
            post = function() return { ok = true } end,
        }
    end
end
return routes
"""


def lua_list(items):
    return "{ " + ", ".join('"%s"' % i for i in items) + " }"


def lua_classes():
    return "{ " + ", ".join('{ "%s", %s }' % (k, lua_list(v)) for k, v in CLASSES.items()) + " }"


ROOT = app({"resources/matrix.lua": RESOURCES % (lua_classes(), lua_list(PERMISSIONS))})
SRV = serve(ROOT, DJ.url)

CODE_TO_TYPE = {
    "not_authenticated": "not-authenticated",
    "authentication_failed": "authentication-failed",
    "token_not_valid": "authentication-failed",  # simplejwt's AuthenticationFailed kinds
    "bad_authorization_header": "authentication-failed",
    "user_inactive": "authentication-failed",
    "user_not_found": "authentication-failed",
    "permission_denied": "permission-denied",
}


def test_401_403_as_drf_decides():
    cases = []
    for cname, classes in CLASSES.items():
        for perm in PERMISSIONS:
            for credname, headers in CREDENTIALS.items():
                for method in ("GET", "POST"):
                    cases.append({"classes": classes, "permission": perm, "headers": headers,
                                  "method": method, "path": "/m/%s/%s" % (cname, perm),
                                  "name": "%s %s %s %s" % (method, cname, perm, credname)})
    drf = DJ.op("matrix", cases=cases)
    conn = SRV.connection()
    mismatches = []
    seen = set()
    for case, want in zip(cases, drf):
        status, hdrs, body = SRV.json(case["method"], case["path"], headers=case["headers"],
                                      conn=conn)
        got_type = body.get("type", "").replace("urn:soom:problem:", "") if status >= 400 else None
        want_type = CODE_TO_TYPE.get(want["code"]) if want["status"] >= 400 else None
        got = (status, hdrs.get("www-authenticate"), got_type)
        expected = (want["status"], want["www_authenticate"], want_type)
        seen.add(expected)
        if got != expected:
            mismatches.append("%s: DRF %r, Soom %r" % (case["name"], expected, got))
    conn.close()
    eq(mismatches, [], "%d of %d cases differ" % (len(mismatches), len(cases)))
    # the matrix covers every kind of answer
    for answer in [(200, None, None), (401, "Token", "not-authenticated"),
                   (401, "Token", "authentication-failed"), (403, None, "permission-denied"),
                   (403, None, "not-authenticated"), (403, None, "authentication-failed"),
                   (401, 'Basic realm="api"', "authentication-failed"),
                   (401, 'Bearer realm="api"', "authentication-failed"),
                   (401, 'Key realm="api"', "authentication-failed")]:
        eq(answer in seen, True, "the matrix has %r" % (answer,))


# ---- object permissions, owners, defaults ---------------------------------------------------

OBJECTS = r"""
local soom = require "soom"
local Order = soom.model { table = "shop_order", managed = false, primary_key = "id", fields = {
    { "id", soom.f.serial() }, { "title", soom.f.varchar { max_length = 100 } },
    { "owner_id", soom.f.integer() } } }
local IsOwner = {
    message = "only its owner may",
    has_object_permission = function(req, obj) return obj.owner_id == req.user.id end,
}
local token = { soom.auth.token }
return {
    soom.RetrieveUpdateDestroyResource { route = "/orders/{id:int}", model = Order,
        authentication = token, permissions = { soom.perm.is_authenticated, IsOwner } },
    soom.RetrieveUpdateDestroyResource { route = "/either/{id:int}", model = Order,
        authentication = token, permissions = { soom.perm.any_of { soom.perm.is_admin, IsOwner } } },
    soom.ListCreateResource { route = "/mine", model = Order, owner_field = "owner_id",
        authentication = token },
    soom.RetrieveUpdateDestroyResource { route = "/mine/{id:int}", model = Order,
        owner_field = "owner_id", authentication = token },
    soom.RetrieveResource { route = "/defaults/{id:int}", model = Order },
    soom.RetrieveResource { route = "/open/{id:int}", model = Order, authentication = {},
        permissions = {} },
}
"""

ORDERS = {t: i for i, t in DJ.sql("SELECT id, title FROM shop_order")}
MINE, THEIRS = int(ORDERS["mine"]), int(ORDERS["theirs"])
OROOT = app({"resources/orders.lua": OBJECTS}, settings="""local soom = require "soom"
return { authentication = { soom.auth.token }, permissions = { soom.perm.is_authenticated } }
""")
OSRV = serve(OROOT, DJ.url)


def as_user(name, method, path, body=None):
    return OSRV.json(method, path, body, headers={"Authorization": "Token " + SEED[name]["token"]})


def row(order_id):
    return DJ.sql("SELECT title, owner_id FROM shop_order WHERE id = %d" % order_id)


def test_object_permissions_on_each_action():
    eq(as_user("plain", "GET", "/orders/%d" % MINE)[0], 200)
    before = row(THEIRS)
    for method, body in (("GET", None), ("PUT", {"title": "taken"}), ("PATCH", {"title": "taken"}),
                         ("DELETE", None)):
        status, _, doc = as_user("plain", method, "/orders/%d" % THEIRS, body)
        eq(status, 403, method)
        eq(doc["type"], "urn:soom:problem:permission-denied")
        eq(doc["detail"], "only its owner may")
        eq(row(THEIRS), before, "nothing written by a refused " + method)
    # anonymous: refused before any object is read
    status, hdrs, doc = OSRV.json("DELETE", "/orders/%d" % THEIRS)
    eq((status, hdrs.get("www-authenticate"), doc["type"]),
       (401, "Token", "urn:soom:problem:not-authenticated"))
    eq(row(THEIRS), before)
    # an admin passes any_of { is_admin, IsOwner } at any object; its owner too
    eq(as_user("admin", "PATCH", "/either/%d" % THEIRS, {"title": "by the admin"})[0], 200)
    eq(as_user("other", "PATCH", "/either/%d" % THEIRS, {"title": "theirs"})[0], 200)
    eq(as_user("plain", "PATCH", "/either/%d" % THEIRS, {"title": "x"})[0], 403)
    eq(row(THEIRS), before)
    status, _, doc = as_user("plain", "PATCH", "/orders/%d" % MINE, {"title": "mine, edited"})
    eq((status, doc["title"]), (200, "mine, edited"))


def test_owner_field():
    status, _, doc = as_user("plain", "POST", "/mine", {"title": "new", "owner_id": SEED["other"]["id"]})
    eq(status, 201)
    eq(doc["owner_id"], SEED["plain"]["id"], "the owner is the user, whatever the body says")
    status, _, rows = as_user("plain", "GET", "/mine")
    eq(status, 200)
    eq(sorted(r["owner_id"] for r in rows), [SEED["plain"]["id"]] * len(rows))
    eq(len(rows), 2)
    # another user's rows do not exist for this one
    before = row(THEIRS)
    eq(as_user("plain", "GET", "/mine/%d" % THEIRS)[0], 404)
    eq(as_user("plain", "DELETE", "/mine/%d" % THEIRS)[0], 404)
    eq(as_user("plain", "PATCH", "/mine/%d" % THEIRS, {"title": "x"})[0], 404)
    eq(row(THEIRS), before)
    eq(OSRV.json("GET", "/mine")[0], 401)
    time.sleep(0.3)
    lines = [l for l in OSRV.log_lines() if l.get("route") in ("/mine", "/mine/{id:int}")]
    eq(set(l["lua"] for l in lines), {False}, "owner filtering stays in C")


def test_settings_defaults():
    eq(OSRV.json("GET", "/defaults/%d" % MINE)[0], 401)
    eq(as_user("plain", "GET", "/defaults/%d" % MINE)[0], 200)
    eq(OSRV.json("GET", "/open/%d" % MINE)[0], 200)


main(globals())
