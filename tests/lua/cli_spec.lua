-- Specs of lua/soom/cli.lua: declaring commands and parsing their arguments.
local cli = require "soom.cli"
local soom = require "soom"
local t = require "soom.test"

local cmd = soom.command {
    description = "test",
    arguments = {
        { "dir", positional = true, default = "." },
        { "port", type = "number", default = 8000 },
        { "name" },
        { "verbose", type = "boolean" },
    },
    run = function() end,
}

return {
    t.case("options, flags and positionals", function()
        local a = cmd:parse({ "apps/x", "--port", "9", "--name=ada", "--verbose" })
        t.eq(a, { dir = "apps/x", port = 9, name = "ada", verbose = true })
        t.eq(cmd:parse({}), { dir = ".", port = 8000, verbose = false })
    end),

    t.case("usage errors", function()
        t.raises(function() cmd:parse({ "--nope" }) end, "unknown option --nope")
        t.raises(function() cmd:parse({ "--port", "x" }) end, '--port expects a number, not "x"')
        t.raises(function() cmd:parse({ "a", "b" }) end, 'unexpected argument "b"')
        t.raises(function() cmd:parse({ "--name" }) end, "--name needs a value")
    end),

    t.case("usage line", function()
        t.eq(cmd:usage("x"), "x [DIR] [--port N] [--name VALUE] [--verbose]")
    end),

    t.case("a one-letter form of an option", function()
        local k = soom.command {
            arguments = { { "keyword", short = "k" }, { "junit" } },
            run = function() end,
        }
        t.eq(k:parse({ "-k", "second" }), { keyword = "second" })
        t.eq(k:parse({ "--keyword", "x", "--junit", "out.xml" }), { keyword = "x", junit = "out.xml" })
        t.raises(function() k:parse({ "-j", "x" }) end, 'unexpected argument "-j"')
        t.eq(k:usage("test"), "test [-k|--keyword VALUE] [--junit VALUE]")
    end),

    t.case("a command needs a run function", function()
        t.raises(function() soom.command { description = "x" } end, "run function")
        t.raises(function() cli.command { run = print, arguments = { { 1 } } } end, "needs a name")
    end),
}
