-- Specs of lua/soom/errors.lua: problems as values (RFC 9457), their
-- refusals, and the document the dispatcher sends for one. Run by
-- `soom test tests/lua/errors_spec.lua` in the real runtime.
local errors = require "soom.errors"
local json = require "soom.json"
local soom = require "soom"
local t = require "soom.test"

return {
    t.case("a problem has its status, the status phrase as title and about:blank", function()
        local p = errors.error(404, "no such sample")
        t.ok(errors.is_problem(p), "is_problem")
        t.eq(getmetatable(p), errors.PROBLEM_MT)
        t.eq({ status = p.status, title = p.title, detail = p.detail, type = p.type },
            { status = 404, title = "Not Found", detail = "no such sample", type = "about:blank" })
        t.eq(errors.error(422).title, "Unprocessable Content")
        t.eq(errors.error(503).title, "Service Unavailable")
        t.eq(errors.error(599).title, "Unknown", "a status without a phrase")
        t.eq(errors.error(400).detail, nil, "detail is optional")
        t.eq(soom.error, errors.error, "soom.error is errors.error")
    end),

    t.case("extra members are copied and may replace type and title", function()
        local field = { pointer = "/name", detail = "taken", code = "unique" }
        local p = errors.error(409, "taken", {
            errors = { field },
            type = "https://example.com/probs/taken",
            title = "Name taken",
            retry = 3,
            headers = { ["Retry-After"] = "1" },
        })
        t.eq(p.errors, { field })
        t.eq(p.type, "https://example.com/probs/taken")
        t.eq(p.title, "Name taken")
        t.eq(p.retry, 3)
        t.eq(p.status, 409, "status stays")
        t.eq(p.detail, "taken")
    end),

    t.case("the status must be an integer from 400 to 599", function()
        for _, bad in ipairs({ 200, 399, 600, 404.5, -404 }) do
            t.raises(function() errors.error(bad) end,
                "soom.error: status must be an integer 400..599")
        end
        t.raises(function() errors.error("404") end, "soom.error: status must be an integer 400..599")
        t.raises(function() errors.error() end, "soom.error: status must be an integer 400..599")
        t.eq(errors.error(400).status, 400)
        t.eq(errors.error(599).status, 599)
    end),

    t.case("detail must be a string and extra a table", function()
        t.raises(function() errors.error(404, 5) end, "soom.error: detail must be a string")
        t.raises(function() errors.error(404, { "x" }) end, "soom.error: detail must be a string")
        t.raises(function() errors.error(404, "x", "y") end,
            "soom.error: extra members must be a table")
    end),

    t.case("misuse names the caller's line", function()
        local line = debug.getinfo(1, "l").currentline + 1
        local err = t.raises(function() errors.error(200) end, "status must be")
        t.ok(tostring(err):find("errors_spec.lua:" .. line .. ":", 1, true),
            "error raised at level 2: " .. tostring(err))
    end),

    t.case("is_problem is true only for problems", function()
        t.ok(not errors.is_problem({ status = 404, title = "Not Found" }), "a look-alike table")
        t.ok(not errors.is_problem("HTTP 404"), "a string")
        t.ok(not errors.is_problem(nil), "nil")
        t.ok(errors.is_problem(errors.error(500)), "a problem")
    end),

    t.case("a problem prints as its status and detail (or title)", function()
        t.eq(tostring(errors.error(404, "no such sample")), "HTTP 404: no such sample")
        t.eq(tostring(errors.error(503)), "HTTP 503: Service Unavailable")
    end),

    t.case("the document: instance is the path, headers go apart, the problem is untouched", function()
        local p = errors.error(409, "taken", {
            errors = { { pointer = "/name" } },
            headers = { ["Retry-After"] = "1" },
        })
        local doc, headers = errors.document(p, "/samples")
        t.eq(doc, {
            type = "about:blank", title = "Conflict", status = 409, detail = "taken",
            instance = "/samples", errors = { { pointer = "/name" } },
        })
        t.eq(json.encode(doc), '{"type":"about:blank","title":"Conflict","status":409,'
            .. '"detail":"taken","instance":"/samples","errors":[{"pointer":"/name"}]}',
            "RFC 9457's order")
        t.eq(headers, { ["Retry-After"] = "1" })
        t.eq(p.instance, nil, "the problem itself is not changed")
        t.eq(p.headers, { ["Retry-After"] = "1" })
        local d2, h2 = errors.document(errors.error(404), "/x")
        t.eq(d2, { type = "about:blank", title = "Not Found", status = 404, instance = "/x" })
        t.eq(h2, nil)
    end),

    t.case("members come in RFC 9457's order, extensions sorted, field errors as the core's",
        function()
        local p = errors.error(422, "bad", {
            zeta = 1, alpha = { b = 1 }, title = "Own title", type = "https://example.com/bad",
            errors = { { code = "check", detail = "fails", pointer = "/a", extra = 1 } },
        })
        t.eq(json.encode((errors.document(p, "/x"))), '{"type":"https://example.com/bad",'
            .. '"title":"Own title","status":422,"detail":"bad","instance":"/x","alpha":{"b":1},'
            .. '"errors":[{"pointer":"/a","detail":"fails","code":"check","extra":1}],"zeta":1}')
    end),

    t.case("an instance the problem names wins over the path", function()
        local doc = errors.document(errors.error(404, nil, { instance = "/samples/7" }), "/other")
        t.eq(doc.instance, "/samples/7")
    end),
}
