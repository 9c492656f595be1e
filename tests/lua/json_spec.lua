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
}
