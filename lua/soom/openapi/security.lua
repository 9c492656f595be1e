--- soom.openapi.security: security schemes and requirements from a
-- resource's authentication classes.
--
-- The contract with authentication classes (docs/OPENAPI.md): a class is a
-- table; when it carries `openapi`, an OpenAPI Security Scheme Object
-- ({ type = "http", scheme = "bearer", bearerFormat = "JWT" }), it is
-- documented under components.securitySchemes by its `name`, with the
-- scopes of its `scopes` list (oauth2, openIdConnect). A resource's
-- `authentication` list (or settings.authentication) gives each of its operations one alternative per
-- class (any one authenticates the request), plus the empty requirement
-- when an anonymous request may pass: always without `permissions`, and
-- with them only when every permission says so with `openapi_anonymous =
-- true` ("read": for GET only). An authenticated resource answers 401 and
-- 403, one with permissions 403 (and 401), one with `throttles` 429. An
-- operation without authentication says so with `security: []`.

local chain = require "soom.core.chain"
local encode = require "soom.openapi.encode"
local json = require "soom.json"

local type, ipairs, pairs, error, tostring, unpack = type, ipairs, pairs, error, tostring, unpack
local sort = table.sort

local map, array = encode.map, json.array

local _M = {}

local function nonempty(list)
    return type(list) == "table" and #list > 0
end

--- Adds the statuses authentication, permissions and throttles answer.
function _M.statuses(res, s)
    local a, p, t = chain.effective(res)
    if nonempty(a) or nonempty(p) then
        s[401] = true
        s[403] = true
    end
    if nonempty(t) then
        s[429] = true
    end
end

local function anonymous(res, method)
    local _, perms = chain.effective(res)
    if not nonempty(perms) then
        return true
    end
    for _, p in ipairs(perms) do
        local a = type(p) == "table" and p.openapi_anonymous
        if a == "read" then
            if method ~= "get" then
                return false
            end
        elseif a ~= true then
            return false
        end
    end
    return true
end

local Schemes = {}
Schemes.__index = Schemes

function _M.schemes()
    return setmetatable({ by_name = {}, owner = {} }, Schemes)
end

function Schemes:add(name, scheme, owner)
    local text = encode.canonical(scheme)
    local have = self.by_name[name]
    if have and have.text ~= text then
        error(("%s: the authentication class %s documents another security scheme than the "
            .. "class of the same name in %s"):format(owner, name, tostring(self.owner[name])), 0)
    end
    if not have then
        self.by_name[name] = { text = text, scheme = scheme }
        self.owner[name] = owner
    end
end

--- The schemes, as a map sorted by name (nil when there are none).
function Schemes:components()
    local names = {}
    for name in pairs(self.by_name) do
        names[#names + 1] = name
    end
    if #names == 0 then
        return nil
    end
    sort(names)
    local out = map()
    for _, name in ipairs(names) do
        out[name] = self.by_name[name].scheme
    end
    return out
end

--- The operation's security requirements (an empty list: none).
function _M.requirements(ctx, res, method, owner)
    local list = array()
    local classes = chain.effective(res)
    if not nonempty(classes) then
        return list
    end
    for i, class in ipairs(classes) do
        if type(class) == "table" and type(class.openapi) == "table" then
            if type(class.name) ~= "string" or class.name == "" then
                error(("%s: authentication[%d] has an openapi scheme but no name"):format(
                    tostring(owner), i), 0)
            end
            ctx.schemes:add(class.name, class.openapi, owner)
            local req = map()
            req[class.name] = array(type(class.scopes) == "table" and { unpack(class.scopes) } or {})
            list[#list + 1] = req
        end
    end
    if anonymous(res, method) then
        list[#list + 1] = map()
    end
    return list
end

return _M
