-- Specs of lua/soom/http.lua run in the real runtime, without a server:
-- misuse raises before any call, failures are values with kinds, an error
-- left unhandled becomes a 502 or 504 problem. (tests/http/test_async.py
-- makes real calls to real upstreams.)
local soom = require "soom"
local errors = require "soom.errors"
local t = require "soom.test"

local http = soom.http

-- a port nothing listens on: bind one, close it
local function dead_url()
    local port = require("soom.core.testing").free_port()
    return "http://127.0.0.1:" .. port .. "/x"
end

return {
    t.case("misuse raises before anything is sent", function()
        t.raises(function() http.get(42) end, "needs a URL")
        t.raises(function() http.request { url = "http://x" } end, "a method and a url")
        t.raises(function() http.post("http://127.0.0.1:1/", { body = {} }) end,
            "body must be a string")
        t.raises(function() http.get("http://127.0.0.1:1/", { query = "a=1" }) end,
            "query must be a table")
        t.raises(function() http.get("http://127.0.0.1:1/", { headers = { ["Bad Name"] = "x" } }) end,
            "header names")
        t.raises(function() http.post("http://127.0.0.1:1/", { retries = 1 }) end,
            "only for idempotent methods")
        t.raises(function() http.patch("http://127.0.0.1:1/", { retries = 2 }) end, "not PATCH")
    end),

    t.case("a refused call is a value with its kind", function()
        local res, err = http.get(dead_url(), { timeout = 2 })
        t.eq(res, nil)
        t.ok(http.is_error(err))
        t.eq(err.kind, "refused")
        t.match(tostring(err), "^refused: ")
        t.match(err.url, "^http://127%.0%.0%.1:")
    end),

    t.case("retries of an idempotent call happen, within total_timeout", function()
        local t0 = require("soom.core.c").now()
        local res, err = http.get(dead_url(), { retries = 3, retry_backoff = 0.05 })
        local took = require("soom.core.c").now() - t0
        t.eq(res, nil)
        t.eq(err.kind, "refused")
        t.ok(took >= 0.3, "three pauses of 0.05, 0.1 and 0.2 s: " .. took)
        res, err = http.get(dead_url(), { retries = 10, retry_backoff = 0.2, total_timeout = 0.5 })
        t.eq(res, nil)
        t.eq(err.kind, "refused")
    end),

    t.case("a URL libcurl refuses is an error of kind url", function()
        local _, err = http.get("ftp://127.0.0.1/file")
        t.eq(err.kind, "url")
    end),

    t.case("an error left unhandled becomes a 502, a timeout a 504", function()
        local _, err = http.get(dead_url())
        local p = errors.to_problem(err)
        t.ok(errors.is_problem(p))
        t.eq(p.status, 502)
        t.ok(not tostring(p.detail):find("127.0.0.1", 1, true), "the address stays in the log")
        local timeout = setmetatable({ kind = "timeout", message = "m", url = "u" },
            getmetatable(err))
        t.eq(errors.to_problem(timeout).status, 504)
        t.eq(errors.to_problem("a plain error"), nil)
    end),
}
