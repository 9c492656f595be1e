-- Specs of lua/soom/auth.lua, run in the real runtime: every hasher
-- round-trips through soom.auth.hash_password and check_password,
-- must_update follows the parameters, and misuse raises while bad input
-- returns false or nil. Django's own view of these hashes is checked by
-- tests/http/test_auth_django.py. Work parameters are kept small here.
local soom = require "soom"
local t = require "soom.test"

local auth = soom.auth

local CHEAP = {
    pbkdf2_sha256 = { iterations = 1000 },
    pbkdf2_sha1 = { iterations = 1000 },
    argon2 = { time_cost = 1, memory_cost = 64, parallelism = 1 },
    bcrypt_sha256 = { rounds = 4 },
    bcrypt = { rounds = 4 },
    scrypt = { work_factor = 16, block_size = 2, parallelism = 1 },
}

local function policy(hasher)
    local p = { hasher = hasher }
    for k, v in pairs(CHEAP[hasher]) do
        p[k] = v
    end
    return p
end

return {
    t.case("soom.auth is reachable from soom", function()
        t.eq(soom.auth, require "soom.auth")
    end),

    t.case("every hasher round-trips", function()
        for hasher, params in pairs(CHEAP) do
            local hash = auth.hash_password("s3cret ✓", hasher, params)
            t.ok(hash:sub(1, #hasher + 1) == hasher .. "$", hash)
            local ok, must_update = auth.check_password("s3cret ✓", hash, policy(hasher))
            t.eq(ok, true, hasher)
            t.eq(must_update, false, hasher)
            t.eq(auth.check_password("s3cret", hash, policy(hasher)), false, hasher)
        end
    end),

    t.case("the default is pbkdf2_sha256 at Django 5.2's iteration count", function()
        local hash = auth.hash_password("pw")
        t.match(hash, "^pbkdf2_sha256%$1000000%$%w+%$[%w+/]+=*$")
        local ok, must_update = auth.check_password("pw", hash)
        t.eq({ ok, must_update }, { true, false })
    end),

    t.case("must_update: weaker parameters or another algorithm", function()
        local hash = auth.hash_password("pw", "pbkdf2_sha256", { iterations = 1000 })
        t.eq({ auth.check_password("pw", hash, { iterations = 2000 }) }, { true, true })
        t.eq({ auth.check_password("pw", hash, { iterations = 1000 }) }, { true, false })
        t.eq({ auth.check_password("pw", hash, { hasher = "argon2", iterations = 1000 }) },
            { true, true })
        hash = auth.hash_password("pw", "argon2", { time_cost = 1, memory_cost = 64,
            parallelism = 1, variety = "argon2i" })
        t.match(hash, "^argon2%$argon2i%$v=19%$m=64,t=1,p=1%$")
        t.eq({ auth.check_password("pw", hash, policy("argon2")) }, { true, true })
        local same = policy("argon2")
        same.variety = "argon2i"
        t.eq({ auth.check_password("pw", hash, same) }, { true, false })
        hash = auth.hash_password("pw", "bcrypt", { rounds = 4 })
        t.eq({ auth.check_password("pw", hash, { hasher = "bcrypt", rounds = 5 }) }, { true, true })
    end),

    t.case("parallelism is argon2's lanes or scrypt's p, as the hasher says", function()
        local hash = auth.hash_password("pw", "scrypt", { work_factor = 16, block_size = 2,
            parallelism = 2 })
        t.match(hash, "^scrypt%$16%$%w+%$2%$2%$")
        hash = auth.hash_password("pw", "argon2", { time_cost = 1, memory_cost = 64,
            parallelism = 2 })
        t.match(hash, "^argon2%$argon2id%$v=19%$m=64,t=1,p=2%$")
        t.eq({ auth.check_password("pw", hash, { hasher = "argon2", time_cost = 1,
            memory_cost = 64, parallelism = 2 }) }, { true, false })
        t.eq({ auth.check_password("pw", hash, { hasher = "argon2", time_cost = 1,
            memory_cost = 64, parallelism = 4 }) }, { true, true })
    end),

    t.case("unusable, missing and malformed hashes never match", function()
        local p = policy("pbkdf2_sha256")
        t.eq({ auth.check_password("pw", "!x9Tz", p) }, { false, false })
        t.eq({ auth.check_password("pw", nil, p) }, { false, false })
        t.eq({ auth.check_password("pw", "", p) }, { false, false })
        local ok, must_update, why = auth.check_password("pw", "md5$abc$def", p)
        t.eq({ ok, must_update }, { false, false })
        t.match(why, "malformed")
        ok, must_update, why = auth.check_password("pw", "pbkdf2_sha256$0$salt$hash", p)
        t.eq({ ok, must_update }, { false, false })
        t.match(why, "malformed")
    end),

    t.case("passwords no hash can be made of return nil and a message", function()
        local hash, err = auth.hash_password(("x"):rep(4097), "pbkdf2_sha256", { iterations = 1000 })
        t.eq(hash, nil)
        t.match(err, "longer than 4096")
        hash, err = auth.hash_password("a\0b", "bcrypt", { rounds = 4 })
        t.eq(hash, nil)
        t.match(err, "NUL")
        hash = auth.hash_password("a\0b", "bcrypt_sha256", { rounds = 4 })
        t.eq(auth.check_password("a\0b", hash, policy("bcrypt_sha256")), true)
        t.eq(auth.check_password("a", hash, policy("bcrypt_sha256")), false)
    end),

    t.case("misuse raises", function()
        t.raises(function() auth.hash_password() end, "string expected")
        t.raises(function() auth.hash_password({}) end, "string expected")
        t.raises(function() auth.hash_password("pw", "md5") end, "unknown password hasher \"md5\"")
        t.raises(function() auth.hash_password("pw", "pbkdf2_sha256", { iteration = 5 }) end,
            "unknown password parameter iteration")
        t.raises(function() auth.hash_password("pw", "pbkdf2_sha256", { iterations = 0 }) end,
            "iterations must be an integer")
        t.raises(function() auth.hash_password("pw", "pbkdf2_sha256", { iterations = 1.5 }) end,
            "iterations must be an integer")
        t.raises(function() auth.hash_password("pw", "bcrypt", { rounds = 3 }) end,
            "out of range")
        t.raises(function() auth.hash_password("pw", "argon2", { variety = "argon2d" }) end,
            "variety")
        t.raises(function() auth.hash_password("pw", "argon2", "fast") end, "table expected")
        t.raises(function() auth.hash_password("pw", nil, { 5 }) end, "named fields")
        t.raises(function() auth.check_password("pw", {}) end, "string expected")
        t.raises(function() auth.check_password("pw", "x", { hasher = 5 }) end, "hasher")
    end),

    -- ---- authentication classes, as soom.core.chain compiles them --------------------

    t.case("the built-in classes carry their defaults and OpenAPI schemes", function()
        local chain = require "soom.core.chain"
        chain.reset({ auth = { token_keyword = "Token" }, jwt = { signing_key = "k" } })
        local spec = chain.route_spec({ authentication = { auth.token, auth.jwt, auth.basic } },
            "resources/x.lua")
        t.eq(spec.classes, { 0, 1, 2 })
        local specs = chain.class_specs()
        t.eq(specs[1].kind, "token")
        t.eq({ specs[1].token_table, specs[1].token_key, specs[1].token_user, specs[1].header },
            { "authtoken_token", "key", "user_id", "Token" })
        t.eq(specs[1].user.table, "auth_user")
        t.eq({ specs[2].kind, specs[2].secret, specs[2].header }, { "jwt", "k", 'Bearer realm="api"' })
        t.eq(specs[3].header, 'Basic realm="api"')
        t.eq(auth.jwt.openapi, { type = "http", scheme = "bearer", bearerFormat = "JWT" })
        t.eq(auth.basic.name, "basicAuth")
    end),

    t.case("configured copies leave the class alone", function()
        local chain = require "soom.core.chain"
        local bearer = auth.token { keyword = "Bearer", hashed = true }
        t.eq(auth.token.options.keyword, nil)
        chain.reset({})
        chain.route_spec({ authentication = { bearer } }, "resources/x.lua")
        local s = chain.class_specs()[1]
        t.eq({ s.keyword, s.hashed, s.header }, { "Bearer", true, "Bearer" })
        t.eq(bearer.openapi, { type = "http", scheme = "bearer" })
        local q = auth.api_key { query = "key", keys = { ci = "x" } }
        t.eq(q.openapi, { type = "apiKey", ["in"] = "query", name = "key" })
        t.eq(auth.basic { www_authenticate = false }.header, nil)
    end),

    t.case("a class is registered once however many routes use it", function()
        local chain = require "soom.core.chain"
        chain.reset({})
        local mine = { authenticate = function() return nil end, header = 'Key realm="x"' }
        t.eq(chain.route_spec({ authentication = { mine, auth.basic } }, "a").classes, { 0, 1 })
        t.eq(chain.route_spec({ authentication = { auth.basic, mine } }, "b").classes, { 1, 0 })
        t.eq(#chain.class_specs(), 2)
        t.eq(chain.class_specs()[1], { kind = "lua", lua = 1, name = "a", header = 'Key realm="x"' })
    end),

    t.case("misuse of classes raises naming what is wrong", function()
        local chain = require "soom.core.chain"
        t.raises(function() auth.token { keywrd = "x" } end, "soom.auth.token: unknown option keywrd")
        t.raises(function() auth.jwt "secret" end, "options are a table")
        chain.reset({})
        t.raises(function() chain.route_spec({ authentication = { {} } }, "resources/x.lua") end,
            "resources/x.lua: authentication classes are soom.auth.token")
        t.raises(function() auth.token:views {} end, "only soom.auth.jwt classes")
        t.raises(function()
            chain.route_spec({ authentication = { auth.jwt { jwks = "missing.json" } } }, "r.lua")
        end, "cannot read the JWKS file missing.json")
    end),

    t.case("token keys", function()
        local k = auth.make_token_key()
        t.match(k, "^[0-9a-f]+$")
        t.eq(#k, 40)
        t.eq(auth.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    end),
}
