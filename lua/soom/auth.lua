--- soom.auth: authentication classes and Django's password hashes.
--
-- A resource lists the classes that may authenticate its requests, tried
-- in order (settings.authentication is the default list):
--
--   authentication = { soom.auth.token, soom.auth.jwt { audience = "api" } },
--
-- Built-in classes run in C (core/src/access/): a declarative resource
-- with them still never enters Lua. Each is a table; calling it with a
-- table of options makes a configured copy:
--
--   soom.auth.token      Authorization: Token <key>, DRF's authtoken_token
--   soom.auth.jwt        Authorization: Bearer <jwt>, simplejwt's tokens
--   soom.auth.basic      HTTP Basic against Django's password hashes
--   soom.auth.api_key    a key in a header or a query parameter
--
-- A class written in Lua is any table with `authenticate(req)`, returning
-- nil (no credentials of its kind: the next class is tried), false and a
-- detail (wrong credentials: 401 or 403), or the user (a table of plain
-- values, with its `id`) and what req.auth should be. `header` is its
-- WWW-Authenticate. Every class may carry the OpenAPI fields of
-- docs/OPENAPI.md's contract (`name`, `openapi`, `scopes`); the built-in
-- ones do.
--
-- Password hashes in Django's formats, made and checked in C
-- (soom.core.auth), so a user of a Django deployment sharing the database
-- keeps one password across both. docs/AUTH.md lists the formats, the
-- options and the costs.

local core = require "soom.core.auth"

local setmetatable, getmetatable, pairs, ipairs, type, error, tostring = setmetatable,
    getmetatable, pairs, ipairs, type, error, tostring

local _M = {}

--- hash_password(password [, hasher [, params]]) -> hash | nil, message
--
-- A new hash of `password` in Django's format, with a random salt.
-- `hasher`: "pbkdf2_sha256" (the default), "pbkdf2_sha1", "argon2",
-- "bcrypt_sha256", "bcrypt" or "scrypt". `params`, Django's names for the
-- costs: iterations (pbkdf2), time_cost, memory_cost (KiB), parallelism
-- and variety ("argon2id" or "argon2i") (argon2), rounds (bcrypt),
-- work_factor, block_size and parallelism (scrypt). Raises on an unknown
-- hasher or parameter; returns nil and a message for a password no hash
-- can be made of (longer than 4096 bytes, or with a NUL byte for bcrypt).
-- Under the async server the hash is computed on a helper thread while the
-- request waits, as check_password's check is.
function _M.hash_password(password, hasher, params)
    local hash, err, misuse = core.hash_password(password, hasher, params)
    if misuse then
        error(err, 2)
    end
    return hash, err
end

--- check_password(password, encoded [, params]) -> ok, must_update
--
-- Whether `password` matches the stored hash `encoded`, compared in
-- constant time. `must_update` is true when the hash is of another
-- algorithm than params.hasher (default pbkdf2_sha256) or weaker than
-- `params` (the same table as hash_password's, plus `hasher`); nothing is
-- ever rewritten. An unusable ("!...") or missing (nil) hash is false, and
-- costs as much time as a real check, as in Django; a malformed one is
-- false with a message as third value.
_M.check_password = core.check_password

--- make_token_key() -> a new key as DRF's Token.generate_key makes them
-- (40 hex digits); sha256(key) -> its hex SHA-256 (what a table keeps
-- when only digests are stored).
_M.make_token_key = core.make_token_key
_M.sha256 = core.sha256

-- ---- classes ----------------------------------------------------------------------------
--
-- Options common to the built-in classes: `user` (the user table, below),
-- `www_authenticate` (the header of their 401s; false: none, so a 403),
-- and the OpenAPI fields `name`, `openapi`, `scopes`.

-- Users are read from Django's auth_user and tokens from DRF's
-- authtoken_token (soom.contrib.django's User and Token when the app
-- requires that module, with their drift check) unless a class says
-- otherwise: `user = MyUser` (a model: its table and the columns it has of
-- username, password, is_active, is_staff, is_superuser) or `user = { table
-- = "accounts", is_staff = false }` (names over the defaults; false for a
-- column the table lacks); `token = MyToken`, or `table`, `key_column` and
-- `user_column`.

local Class = {}
local CLASS_MT

-- The options each kind accepts, with their defaults (nil: from settings or
-- computed). A class is configured by calling it: soom.auth.token { ... }.
local OPTIONS = {
    token = {
        keyword = true, token = true, table = true, key_column = true, user_column = true,
        hashed = false, user = true, cache = true,
    },
    jwt = {
        keyword = "Bearer", secret = true, public_key = true, private_key = true, jwks = true,
        algorithm = true, audience = true, issuer = true, leeway = true, user_id_claim = true,
        access_lifetime = true, refresh_lifetime = true, rotate_refresh_tokens = true,
        blacklist_after_rotation = true, blacklist = false,
        outstanding_table = "token_blacklist_outstandingtoken",
        blacklisted_table = "token_blacklist_blacklistedtoken",
        user = true, user_from = "database", realm = "api",
    },
    basic = { realm = "api", rehash = false, iterations = true, user = true },
    api_key = {
        header = true, query = true, keys = true, table = true, key_column = "key",
        name_column = "name", user_column = true, hashed = false, user = true, cache = true,
    },
}

-- what the OpenAPI document says of an API key: where it is sent
local function api_key_scheme(opts)
    if opts.query then
        return { type = "apiKey", ["in"] = "query", name = opts.query }
    end
    return { type = "apiKey", ["in"] = "header", name = opts.header or "X-Api-Key" }
end

local function is_class(v)
    return type(v) == "table" and getmetatable(v) == CLASS_MT
end

local function configure(base, opts)
    if type(opts) ~= "table" then
        error(("soom.auth.%s: options are a table"):format(base.kind), 2)
    end
    local known = OPTIONS[base.kind]
    local cls = {}
    for k, v in pairs(base) do
        cls[k] = v
    end
    cls.options = {}
    for k, v in pairs(base.options) do
        cls.options[k] = v
    end
    local scheme_given = false
    for k, v in pairs(opts) do
        if known[k] ~= nil then
            cls.options[k] = v
        elseif k == "name" or k == "openapi" or k == "scopes" then
            cls[k] = v
            scheme_given = scheme_given or k == "openapi"
            cls.openapi_given = cls.openapi_given or k == "openapi"
        elseif k == "www_authenticate" then
            cls.header = v or nil
            cls.header_set = true
        else
            error(("soom.auth.%s: unknown option %s"):format(base.kind, tostring(k)), 2)
        end
    end
    if base.kind == "api_key" and not scheme_given then
        cls.openapi = api_key_scheme(cls.options)
    end
    return setmetatable(cls, CLASS_MT)
end

CLASS_MT = { __index = Class, __call = configure }

-- true in OPTIONS: an option without a default of its own
local function class(kind, name, openapi)
    local defaults = {}
    for k, v in pairs(OPTIONS[kind]) do
        if v ~= true then
            defaults[k] = v
        end
    end
    return setmetatable({ kind = kind, name = name, openapi = openapi, options = defaults },
        CLASS_MT)
end

_M.token = class("token", "tokenAuth", {
    type = "apiKey", ["in"] = "header", name = "Authorization",
    description = "Token-based authentication with required prefix \"Token\"",
})
_M.jwt = class("jwt", "jwtAuth", { type = "http", scheme = "bearer", bearerFormat = "JWT" })
_M.basic = class("basic", "basicAuth", { type = "http", scheme = "basic" })
_M.api_key = class("api_key", "apiKeyAuth", { type = "apiKey", ["in"] = "header",
                                              name = "X-Api-Key" })

--- Whether `v` is one of the built-in classes (or a configured copy).
_M.is_builtin = is_class

-- ---- the JWT views ------------------------------------------------------------------------

local VIEWS = {
    obtain = { view = "jwt_obtain", summary = "Obtain a pair of tokens",
               body = { "username", "password" }, answer = { "refresh", "access" } },
    refresh = { view = "jwt_refresh", summary = "Refresh an access token",
                body = { "refresh" }, answer = { "access" } },
    verify = { view = "jwt_verify", summary = "Verify a token", body = { "token" }, answer = {} },
    blacklist = { view = "jwt_blacklist", summary = "Blacklist a refresh token",
                  body = { "refresh" }, answer = {} },
}

local function view_schema(names, extra)
    local props = {}
    for _, n in ipairs(names) do
        props[n] = { type = "string", minLength = 1 }
    end
    local s = { type = "object", properties = props, required = names }
    for k, v in pairs(extra or {}) do
        s[k] = v
    end
    return s
end

--- jwt:views { obtain = "/api/token/", refresh = "/api/token/refresh/",
--             verify = "/api/token/verify/", blacklist = "/api/token/blacklist/" }
-- -> the token views of djangorestframework-simplejwt as resources (any
-- of them may be left out), answered in C. Returns a list: a resource
-- file may return it as it is.
function Class:views(routes)
    if self.kind ~= "jwt" then
        error("views: only soom.auth.jwt classes issue tokens", 2)
    end
    local Resource = require("soom.resource").Resource
    local list = {}
    for _, which in ipairs({ "obtain", "refresh", "verify", "blacklist" }) do
        local route = routes[which]
        if route ~= nil then
            local v = VIEWS[which]
            local body = v.body
            if which == "obtain" then
                local user = self.options.user
                body = { type(user) == "table" and user.username or "username", "password" }
            end
            list[#list + 1] = Resource {
                route = route,
                authentication = {},
                permissions = {},
                summary = v.summary,
                operation_id = "token_" .. which,
                validation_schema = view_schema(body),
                responses = { [200] = view_schema(v.answer), [401] = true },
                _jwt_view = v.view,
                _jwt_class = self,
                post = function()
                    error("the token views are answered by the core", 0)
                end,
            }
        end
    end
    return list
end

return _M
