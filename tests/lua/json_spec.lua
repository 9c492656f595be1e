-- Specs of lua/soom/json.lua (the encoder and decoder are C, reached in one
-- crossing), run in the real runtime.
local soom = require "soom"
local t = require "soom.test"

return {
    t.case("null, empty array and empty object survive a round trip", function()
        local v = soom.json.decode('{"a":null,"b":[],"c":{},"d":[null,1]}')
        t.eq(v.a, soom.null)
        t.ok(soom.json.is_array(v.b))
        t.ok(not soom.json.is_array(v.c))
        local text = soom.json.encode(v)
        for _, part in ipairs({ '"a":null', '"b":[]', '"c":{}', '"d":[null,1]' }) do
            t.ok(text:find(part, 1, true), part .. " in " .. text)
        end
    end),

    t.case("integers up to 2^53 print as integers", function()
        t.eq(soom.json.encode({ 9007199254740992, -3, 0.5 }), "[9007199254740992,-3,0.5]")
    end),

    t.case("strings cross byte-exact", function()
        local s = "caf\195\169 \240\159\152\128 \"q\" \\ \n"
        t.eq(soom.json.decode(soom.json.encode({ s }))[1], s)
    end),

    t.case("decode errors are values, not exceptions", function()
        local v, err = soom.json.decode("{")
        t.eq(v, nil)
        t.match(err, "malformed JSON")
        v, err = soom.json.decode(string.rep("[", 100) .. string.rep("]", 100))
        t.eq(v, nil)
        t.match(err, "deep")
        v, err = soom.json.decode('"\255"')
        t.eq(v, nil)
        t.match(err, "UTF%-8")
    end),

    t.case("decode holds the text to RFC 8259", function()
        for _, text in ipairs { "012", "-01", "2.", ".5", "1.e5", '"a\1b"', "\f1", "[1,]",
                                '{"a":1,"a":2}', '"\\ud800"' } do
            local v, err = soom.json.decode(text)
            t.eq(v, nil, text)
            t.match(err, "malformed JSON")
        end
        local v, err = soom.json.decode('{"a":{"b":"x\\u0000"}}')
        t.eq(v, nil)
        t.match(err, 'NUL.*at "/a/b"')
        v, err = soom.json.decode("[1e999]")
        t.eq(v, nil)
        t.match(err, 'range of a double at "/0"')
        t.eq(soom.json.decode("[0, -0.5, 1E+2]")[3], 100)
    end),

    t.case("encode refuses what JSON cannot hold", function()
        local _, err = soom.json.encode({ f = print })
        t.match(err, "function")
        _, err = soom.json.encode({ 0 / 0 })
        t.match(err, "NaN")
    end),

    t.case("soom.array marks an empty table as an array", function()
        t.eq(soom.json.encode(soom.array()), "[]")
        t.eq(soom.json.encode({}), "{}")
    end),

    t.case("decoded objects keep their key order through changes", function()
        local text = '{"z":1,"a":2,"m":{"y":1,"b":2},"rows":[{"k":1,"j":2},{"k":3,"j":4}]}'
        local v = soom.json.decode(text)
        t.eq(soom.json.encode(v), text)
        v.new = 5          -- a new key goes last
        v.a = nil          -- a removed one is left out
        v.z = 0            -- a changed one stays where it was
        rawset(v, "raw", true) -- one set behind the order's back still goes out
        t.eq(soom.json.encode(v), '{"z":0,"m":{"y":1,"b":2},"rows":[{"k":1,"j":2},{"k":3,"j":4}],'
            .. '"new":5,"raw":true}')
        -- rows with the same keys share their order until one changes
        v.rows[2].extra = true
        v.rows[1].j = nil
        v.rows[1].j = 7    -- set again: back in its place
        t.eq(soom.json.encode(v.rows), '[{"k":1,"j":7},{"k":3,"j":4,"extra":true}]')
        -- a name used twice is refused (I-JSON), not resolved to either value
        local dup, derr = soom.json.decode('{"a":1,"b":2,"a":3}')
        t.eq(dup, nil)
        t.match(derr, 'member name used twice in an object at "/a"')
        t.eq(soom.json.encode(soom.json.decode("{}")), "{}")
        local keys = {}
        for k in pairs(v.m) do
            keys[#keys + 1] = k
        end
        table.sort(keys)
        t.eq(keys, { "b", "y" }, "pairs still walks an ordered object")
    end),

    t.case("soom.json.object keeps the order its keys are set in", function()
        local o = soom.json.object()
        t.eq(soom.json.encode(o), "{}")
        for _, k in ipairs({ "id", "name", "score", "created_at", "b", "a" }) do
            o[k] = k
        end
        t.eq(soom.json.encode(o), '{"id":"id","name":"name","score":"score",'
            .. '"created_at":"created_at","b":"b","a":"a"}')
    end),
}
