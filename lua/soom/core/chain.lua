--- soom.core.chain: a resource's authentication, permissions and throttles
-- compiled for the core, and the parts of them written in Lua.
--
-- While the app loads (soom.core.loader, in every Lua state alike), each
-- route's declarations (or the settings' defaults) become a plain table
-- the core compiles (core/src/lua/lua_access.c reads it): the numbers of
-- its authentication classes in the app's registry, its permission tree
-- as an array of nodes, its throttles with their rates. Classes and
-- permissions written in Lua get numbers of their own, the same in every
-- state because loading is deterministic; the core calls them back by
-- number (hook). The object permissions of generic resources are walked
-- here, in Lua, since the object is a Lua table.

local auth = require "soom.auth"
local errors = require "soom.errors"
local files = require "soom.core.files"
local perm = require "soom.perm"
local request = require "soom.core.request"
local throttle = require "soom.throttle"
local core = require "soom.core.access"

local type, pairs, ipairs, error, tostring, pcall = type, pairs, ipairs, error, tostring, pcall
local package = package
local concat, sort = table.concat, table.sort

local _M = {}

--- Settings whose values are Lua values (classes, tables), kept out of the
-- core's table of settings.
_M.LUA_SETTINGS = { "authentication", "permissions", "throttles", "throttle_rates" }

local settings, app_dir = {}, "."
local classes, class_index, specs = {}, {}, {}
local lua_classes, lua_perms, perm_index = {}, {}, {}

--- Starts a new registry for the app in `dir` loaded under `s` (its
-- effective settings, Lua-valued ones included).
function _M.reset(s, dir)
    settings = s or {}
    app_dir = dir or "."
    classes, class_index, specs = {}, {}, {}
    lua_classes, lua_perms, perm_index = {}, {}, {}
end

--- The lists that apply to a resource: its own, else the settings'.
function _M.effective(res)
    local a, p, t = res.authentication, res.permissions, res.throttles
    if a == nil then
        a = settings.authentication or {}
    end
    if p == nil then
        p = settings.permissions or {}
    end
    if t == nil then
        t = settings.throttles or {}
    end
    return a, p, t
end

-- ---- classes ---------------------------------------------------------------------------

local function is_model(v)
    return type(v) == "table" and v.fields ~= nil and v.table ~= nil and v.primary_key ~= nil
end

local function qualified(m)
    return m.schema and (m.schema .. "." .. m.table) or m.table
end

-- A user model's table and the columns the classes read (those it lacks
-- read as false: every user active, none staff).
local function model_user(m)
    local function col(name)
        return m:field(name) and name or nil
    end
    return { table = qualified(m), id = m.primary_key, username = col("username"),
             password = col("password"), is_active = col("is_active"),
             is_staff = col("is_staff"), is_superuser = col("is_superuser") }
end

-- Django's tables, as soom.contrib.django's User and Token name them: the
-- defaults when the app does not use those models (requiring them makes
-- every Django auth table part of the app, drift check included).
local DJANGO_USER = {
    table = "auth_user", id = "id", username = "username", password = "password",
    is_active = "is_active", is_staff = "is_staff", is_superuser = "is_superuser",
}

local function django_models()
    return package.loaded["soom.contrib.django"]
end

-- The user table: another model, a table of names over the defaults
-- (false: no such column), or by default soom.contrib.django's User (when
-- the app uses it) or Django's auth_user names.
local function user_spec(opts)
    if is_model(opts.user) then
        return model_user(opts.user)
    end
    local django = django_models()
    local u = django and model_user(django.User) or {}
    if not django then
        for k, v in pairs(DJANGO_USER) do
            u[k] = v
        end
    end
    if type(opts.user) == "table" then
        for k, v in pairs(opts.user) do
            u[k] = v or nil
        end
    end
    return u
end

-- The token table from a token model (soom.contrib.django's Token by
-- default): its key, and the column of its user.
local function token_tables(o)
    local django = django_models()
    local m = is_model(o.token) and o.token or django and django.Token
    if m == nil then
        return o.table or "authtoken_token", o.key_column or "key", o.user_column or "user_id"
    end
    local user_col = o.user_column
    if user_col == nil then
        for _, f in ipairs(m.fields) do
            if f.kind == "foreign_key" then
                user_col = f.name
            end
        end
    end
    return o.table or qualified(m), o.key_column or m.primary_key, user_col or "user_id"
end

local function nonempty(v)
    return type(v) == "string" and v ~= "" and v or nil
end

-- A key or key set given as a path (anything that is not the text itself)
-- is read from the file, relative to the app folder.
local function content(v, looks_like, what, owner)
    v = nonempty(v)
    if v == nil or v:find(looks_like, 1, true) then
        return v
    end
    local ok, text = pcall(files.read, v:sub(1, 1) == "/" and v or app_dir .. "/" .. v)
    if not ok then
        error(("%s: cannot read the %s file %s: %s"):format(owner, what, v, tostring(text)), 0)
    end
    return text
end

local function jwt_spec(o, s, owner)
    local js = settings.jwt or {}
    -- a class with keys of its own uses those only; otherwise simplejwt's
    -- settings: SIGNING_KEY (a secret, or a private PEM key), VERIFYING_KEY,
    -- and by default Django's SECRET_KEY
    local own = o.secret ~= nil or o.private_key ~= nil or o.public_key ~= nil or o.jwks ~= nil
    local signing = nonempty(o.secret)
    local pem = content(o.private_key or o.public_key, "-----BEGIN", "PEM key", owner)
    local jwks = content(o.jwks, "{", "JWKS", owner)
    if not own then
        signing = nonempty(js.signing_key)
        if signing and signing:find("-----BEGIN", 1, true) then
            pem, signing = signing, nil -- a private key signs and verifies
        end
        pem = pem or content(js.verifying_key, "-----BEGIN", "PEM key", owner)
        jwks = content(js.jwks, "{", "JWKS", owner)
        if signing == nil and pem == nil and jwks == nil then
            signing = nonempty(settings.secret_key)
        end
    end
    s.secret, s.pem, s.jwks = signing, pem, jwks
    local alg = o.algorithm or (not own and js.algorithm) or nil
    s.algorithm = type(alg) == "table" and concat(alg, ",") or nonempty(alg)
    s.audience = o.audience or nonempty(js.audience)
    s.issuer = o.issuer or nonempty(js.issuer)
    s.leeway = o.leeway or js.leeway
    s.user_id_claim = o.user_id_claim or js.user_id_claim
    s.access_lifetime = o.access_lifetime or js.access_lifetime
    s.refresh_lifetime = o.refresh_lifetime or js.refresh_lifetime
    local function flag(v, default)
        if v == nil then
            return default
        end
        return v
    end
    s.rotate_refresh_tokens = flag(o.rotate_refresh_tokens, js.rotate_refresh_tokens)
    s.blacklist_after_rotation = flag(o.blacklist_after_rotation, js.blacklist_after_rotation)
    s.blacklist = o.blacklist
    s.outstanding_table, s.blacklisted_table = o.outstanding_table, o.blacklisted_table
    s.claims_user = o.user_from == "claims"
    s.keyword = o.keyword
    s.header = ('%s realm="%s"'):format(o.keyword, o.realm)
end

local function api_keys(o)
    if type(o.keys) == "table" then
        local items = {}
        for i, k in ipairs(o.keys) do
            items[#items + 1] = ("key%d:%s"):format(i, k)
        end
        for name, k in pairs(o.keys) do
            if type(name) == "string" then
                items[#items + 1] = name .. ":" .. k
            end
        end
        sort(items)
        return concat(items, ",")
    end
    if o.table == nil then
        return (settings.auth or {}).api_keys or ""
    end
    return nil
end

local function builtin_spec(cls, owner)
    local o, kind = {}, cls.kind
    for k, v in pairs(cls.options) do
        o[k] = v
    end
    local s = { kind = kind, name = owner, user = user_spec(o) }
    if kind == "token" then
        s.keyword = o.keyword or (settings.auth or {}).token_keyword or "Token"
        s.token_table, s.token_key, s.token_user = token_tables(o)
        s.hashed, s.uncached = o.hashed, o.cache == false
        s.header = s.keyword
        if not cls.openapi_given then
            -- what drf-spectacular writes for DRF's token authentication
            cls.openapi = s.keyword == "Bearer" and { type = "http", scheme = "bearer" } or {
                type = "apiKey", ["in"] = "header", name = "Authorization",
                description = ("Token-based authentication with required prefix \"%s\"")
                    :format(s.keyword),
            }
        end
    elseif kind == "jwt" then
        jwt_spec(o, s, owner)
    elseif kind == "basic" then
        s.header = ('Basic realm="%s"'):format(o.realm)
        s.rehash, s.iterations = o.rehash, o.iterations
    elseif kind == "api_key" then
        s.key_query = o.query
        s.key_header = not o.query and (o.header or "X-Api-Key") or nil
        s.keys = api_keys(o)
        s.key_table, s.key_column, s.key_name = o.table, o.key_column, o.name_column
        s.key_user = o.user_column
        s.hashed, s.uncached = o.hashed, o.cache == false
    end
    if cls.header_set then
        s.header = cls.header or nil
    end
    return s
end

-- The class's number in the registry (0-based, as the core counts).
local function register(cls, owner)
    local n = class_index[cls]
    if n then
        return n
    end
    local spec
    if auth.is_builtin(cls) then
        spec = builtin_spec(cls, ("%s: soom.auth.%s"):format(owner, cls.kind))
    elseif type(cls) == "table" and type(cls.authenticate) == "function" then
        lua_classes[#lua_classes + 1] = cls
        spec = { kind = "lua", lua = #lua_classes, name = owner,
                 header = type(cls.header) == "string" and cls.header or nil }
    else
        error(("%s: authentication classes are soom.auth.token, .jwt, .basic, .api_key or "
            .. "tables with authenticate(req)"):format(owner), 0)
    end
    n = #classes
    classes[n + 1] = cls
    specs[n + 1] = spec
    class_index[cls] = n
    return n
end

--- The registry's class specs, in number order (the core's access_classes).
function _M.class_specs()
    return specs
end

-- ---- permissions ----------------------------------------------------------------------

local function is_lua_perm(p)
    return type(p) == "table" and not perm.is_builtin(p)
        and (type(p.has_permission) == "function" or type(p.has_object_permission) == "function")
end

local function add_node(p, nodes, owner)
    local i = #nodes
    local node = {}
    nodes[i + 1] = node
    if perm.is_builtin(p) then
        node.kind = p.kind
        node.app_label, node.model = p.app_label, p.model
        node.authenticated_only = p.authenticated_only
        if p.operands then
            node.children = {}
            for _, op in ipairs(p.operands) do
                node.children[#node.children + 1] = add_node(op, nodes, owner)
            end
        end
    elseif is_lua_perm(p) then
        if type(p.has_permission) == "function" then
            local n = perm_index[p]
            if not n then
                lua_perms[#lua_perms + 1] = p
                n = #lua_perms
                perm_index[p] = n
            end
            node.kind, node.lua = "lua", n
        else
            node.kind = "allow_any" -- an object rule only: checked on the object
        end
    else
        error(("%s: permissions are soom.perm values or tables with has_permission(req) or "
            .. "has_object_permission(req, obj)"):format(owner), 0)
    end
    node.message = type(p.message) == "string" and p.message or nil
    return i
end

local function perm_tree(list, owner)
    local nodes = {}
    if #list == 1 then
        add_node(list[1], nodes, owner)
    elseif #list > 1 then -- every one of them: an all_of at the root
        local root = { kind = "all_of", children = {} }
        nodes[1] = root
        for _, p in ipairs(list) do
            root.children[#root.children + 1] = add_node(p, nodes, owner)
        end
    end
    return nodes
end

-- ---- throttles -------------------------------------------------------------------------

local function throttle_specs(res, list, owner)
    local out = {}
    local rates = settings.throttle_rates or {}
    for i, t in ipairs(list) do
        if not throttle.is_throttle(t) then
            error(("%s: throttles[%d] is not soom.throttle.anon, .user or .scoped"):format(owner, i),
                0)
        end
        local scope = t.scope
        if t.kind == "scoped" and scope == nil then
            scope = res.throttle_scope
        end
        if scope ~= nil then -- DRF: a scoped throttle without a scope throttles nothing
            local rate = t.rate or rates[scope]
            if type(rate) ~= "string" then
                error(("%s: the throttle scope %s has no rate (give one, or set "
                    .. "throttle_rates.%s)"):format(owner, tostring(scope), tostring(scope)), 0)
            end
            out[#out + 1] = { kind = t.kind, scope = scope, rate = rate }
        end
    end
    return out
end

--- The access spec of a resource's route, or nil when it declares nothing
-- (then the core runs no chain at all).
function _M.route_spec(res, owner, owned)
    local a, p, t = _M.effective(res)
    local spec = { classes = {}, owner = owned or false }
    for _, cls in ipairs(a) do
        spec.classes[#spec.classes + 1] = register(cls, owner)
    end
    spec.perms = perm_tree(p, owner)
    spec.throttles = throttle_specs(res, t, owner)
    if res._jwt_view then
        spec.view = res._jwt_view
        spec.view_class = register(res._jwt_class, owner)
    end
    if #spec.classes == 0 and #spec.perms == 0 and #spec.throttles == 0 and not spec.owner
        and not spec.view then
        return nil
    end
    return spec
end

-- ---- steps written in Lua, called back by the core -------------------------------------

--- Runs Lua class `n`'s authenticate (what 0) or Lua permission `n`'s
-- has_permission (what 1) for the request.
function _M.hook(what, n, req)
    if what == 0 then
        return lua_classes[n].authenticate(req)
    end
    return lua_perms[n].has_permission(req)
end

-- ---- object permissions ----------------------------------------------------------------

local SAFE = { GET = true, HEAD = true, OPTIONS = true }
local RESPONDED = require("soom.core.plan").RESPONDED
local MODEL_ACTION = { POST = "add", PUT = "change", PATCH = "change", DELETE = "delete" }

local has_perm
local function builtin_has(p, req)
    local user = req.user
    local k = p.kind
    if k == "allow_any" then
        return true
    elseif k == "is_authenticated" then
        return user.is_authenticated
    elseif k == "is_admin" then
        return user.is_authenticated and user.is_staff == true
    elseif k == "is_authenticated_or_read_only" then
        return SAFE[req.method] or user.is_authenticated
    elseif k == "django_model" then
        local action = MODEL_ACTION[req.method]
        if not user.is_authenticated then
            return action == nil and not p.authenticated_only
        end
        if action == nil then
            return true
        end
        local granted, failed = core.model_permission(request.handle(req), p.app_label,
            action .. "_" .. p.model)
        if failed then
            error(RESPONDED, 0)
        end
        return granted
    elseif k == "all_of" then
        for _, op in ipairs(p.operands) do
            if not has_perm(op, req) then
                return false
            end
        end
        return true
    elseif k == "any_of" then
        for _, op in ipairs(p.operands) do
            if has_perm(op, req) then
                return true
            end
        end
        return false
    end
    return not has_perm(p.operands[1], req)
end

function has_perm(p, req)
    if perm.is_builtin(p) then
        return builtin_has(p, req)
    end
    if type(p.has_permission) == "function" then
        return p.has_permission(req) and true or false
    end
    return true
end

local function object_allowed(p, req, obj)
    if perm.is_builtin(p) and p.operands then
        if p.kind == "all_of" then
            for _, op in ipairs(p.operands) do
                if not object_allowed(op, req, obj) then
                    return false, op
                end
            end
            return true
        elseif p.kind == "any_of" then
            for _, op in ipairs(p.operands) do
                if has_perm(op, req) and object_allowed(op, req, obj) then
                    return true
                end
            end
            return false
        end
        return not object_allowed(p.operands[1], req, obj)
    end
    if type(p.has_object_permission) == "function" then
        return p.has_object_permission(req, obj) and true or false, p
    end
    return has_perm(p, req), p
end

local function needs(p)
    if perm.is_builtin(p) then
        for _, op in ipairs(p.operands or {}) do
            if needs(op) then
                return true
            end
        end
        return false
    end
    return type(p) == "table" and type(p.has_object_permission) == "function"
end

--- Whether the resource's permissions have an object rule written in Lua
-- (its generic detail actions then run in Lua, to check the object).
function _M.needs_object_check(res)
    local _, p = _M.effective(res)
    for _, x in ipairs(p) do
        if needs(x) then
            return true
        end
    end
    return false
end

--- Raises the 401 or 403 DRF answers when the resource's permissions do not
-- allow the request at `obj`.
function _M.check_object_permissions(res, req, obj)
    local a, p = _M.effective(res)
    for _, x in ipairs(p) do
        local ok, by = object_allowed(x, req, obj)
        if not ok then
            if #a > 0 and not req.user.is_authenticated then
                local spec = specs[class_index[a[1]] + 1]
                local h = spec and spec.header
                error(errors.error(h and 401 or 403, "Authentication credentials were not provided.",
                    { type = "urn:soom:problem:not-authenticated",
                      headers = h and { ["WWW-Authenticate"] = h } or nil }), 0)
            end
            local msg = by and type(by.message) == "string" and by.message
            error(errors.error(403, msg or "You do not have permission to perform this action.",
                { type = "urn:soom:problem:permission-denied" }), 0)
        end
    end
end

return _M
