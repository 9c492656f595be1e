-- Specs of lua/soom/perm.lua and how soom.core.chain compiles permissions
-- for the core: the built-in ones, composition, what the OpenAPI document
-- is told of anonymous requests, and the object rules that send a generic
-- resource's detail actions through Lua.
local soom = require "soom"
local chain = require "soom.core.chain"
local t = require "soom.test"

local P = soom.perm

local function spec(perms, extra)
    chain.reset({})
    local res = { permissions = perms }
    for k, v in pairs(extra or {}) do
        res[k] = v
    end
    return chain.route_spec(res, "resources/x.lua")
end

return {
    t.case("soom.perm is reachable from soom", function()
        t.eq(soom.perm, require "soom.perm")
    end),

    t.case("one permission is the tree's root; a list is all of them", function()
        t.eq(spec({ P.is_admin }).perms, { { kind = "is_admin" } })
        t.eq(spec({ P.is_authenticated, P.is_admin }).perms, {
            { kind = "all_of", children = { 1, 2 } },
            { kind = "is_authenticated" }, { kind = "is_admin" },
        })
        t.eq(spec({}), nil, "nothing declared: no chain at all")
    end),

    t.case("composition nests, operands after their parent", function()
        local p = spec({ P.any_of { P.is_admin, P.negate(P.is_authenticated_or_read_only) } }).perms
        t.eq(p, {
            { kind = "any_of", children = { 1, 2 } },
            { kind = "is_admin" },
            { kind = "not", children = { 3 } },
            { kind = "is_authenticated_or_read_only" },
        })
    end),

    t.case("Lua permissions are numbered once, with their message", function()
        local mine = { has_permission = function() return true end, message = "no" }
        local p = spec({ mine, P.any_of { mine, P.allow_any } }).perms
        t.eq(p[2], { kind = "lua", lua = 1, message = "no" })
        t.eq(p[4], { kind = "lua", lua = 1, message = "no" })
        t.eq(chain.hook(1, 1, {}), true)
    end),

    t.case("an object rule alone passes has_permission and needs the object", function()
        local owner = { has_object_permission = function() return true end }
        t.eq(spec({ owner }).perms, { { kind = "allow_any" } })
        chain.reset({})
        t.eq(chain.needs_object_check({ permissions = { P.is_authenticated } }), false)
        t.eq(chain.needs_object_check({ permissions = { P.any_of { P.is_admin, owner } } }), true)
    end),

    t.case("Django model permissions", function()
        local p = spec({ P.django_model { app_label = "shop", model = "Order" } }).perms[1]
        t.eq(p, { kind = "django_model", app_label = "shop", model = "order",
                  authenticated_only = true })
        t.eq(spec({ P.django_model { app_label = "shop", model = "order", anonymous_read = true } })
            .perms[1].authenticated_only, false)
        t.raises(function() P.django_model { model = "order" } end, "app label")
    end),

    t.case("what the OpenAPI document learns of anonymous requests", function()
        t.eq(P.allow_any.openapi_anonymous, true)
        t.eq(P.is_authenticated.openapi_anonymous, nil)
        t.eq(P.is_authenticated_or_read_only.openapi_anonymous, "read")
        t.eq(P.all_of({ P.allow_any, P.is_authenticated_or_read_only }).openapi_anonymous, "read")
        t.eq(P.any_of({ P.is_admin, P.allow_any }).openapi_anonymous, true)
        t.eq(P.negate(P.is_admin).openapi_anonymous, nil)
    end),

    t.case("misuse names the resource", function()
        t.raises(function() spec({ "is_admin" }) end,
            "resources/x.lua: permissions are soom.perm values")
        t.raises(function() P.any_of {} end, "takes a list of permissions")
        t.raises(function() P.negate() end, "takes a permission")
    end),
}
