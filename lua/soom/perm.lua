--- soom.perm: permissions, Django REST framework's model.
--
-- A resource's `permissions` (settings.permissions by default) must all
-- allow a request, checked after authentication:
--
--   permissions = { soom.perm.is_authenticated },
--   permissions = { soom.perm.any_of { soom.perm.is_admin, IsOwner } },
--   permissions = { soom.perm.negate(soom.perm.is_admin) },
--
-- Built-in permissions run in C:
--
--   allow_any                       every request
--   is_authenticated                an authenticated user
--   is_admin                        a user with Django's is_staff
--   is_authenticated_or_read_only   GET, HEAD and OPTIONS for anyone, the rest
--                                   for authenticated users
--   django_model { app_label, model [, anonymous_read] }
--                                   Django's model permissions (auth_permission
--                                   through the user's own and group permissions):
--                                   add_<model> for POST, change_ for PUT and
--                                   PATCH, delete_ for DELETE, none for reads
--                                   (anonymous_read: anonymous users may read)
--
-- A permission written in Lua is a table with `has_permission(req)` and/or
-- `has_object_permission(req, obj)` (the latter checked on the object of
-- a generic resource's retrieve, update and destroy, before anything is
-- written), and optionally `message` (the detail of its 403).
--
-- Composition: all_of { ... } (every one), any_of { ... } (at least one),
-- negate(p) (the opposite). For the object check, a permission without an
-- object rule (every built-in one) counts as its has_permission: so
-- negate(is_admin) lets non-admins at objects too, where DRF's ~ would
-- refuse every object.

local setmetatable, getmetatable, type, ipairs, error = setmetatable, getmetatable, type, ipairs,
    error

local _M = {}

local BUILTIN_MT = {}

local function builtin(kind, anonymous)
    return setmetatable({ kind = kind, openapi_anonymous = anonymous }, BUILTIN_MT)
end

_M.allow_any = builtin("allow_any", true)
_M.is_authenticated = builtin("is_authenticated", nil)
_M.is_admin = builtin("is_admin", nil)
_M.is_authenticated_or_read_only = builtin("is_authenticated_or_read_only", "read")

--- django_model { app_label = "shop", model = "order", anonymous_read = false }
function _M.django_model(opts)
    if type(opts) ~= "table" or type(opts.app_label) ~= "string" or type(opts.model) ~= "string"
    then
        error("soom.perm.django_model { app_label = ..., model = ... }: Django's app label and "
            .. "the model's name (lower case)", 2)
    end
    local p = builtin("django_model", opts.anonymous_read and "read" or nil)
    p.app_label, p.model = opts.app_label, opts.model:lower()
    p.authenticated_only = not opts.anonymous_read
    return p
end

--- Whether `p` is a built-in permission or a composition.
function _M.is_builtin(p)
    return getmetatable(p) == BUILTIN_MT
end

local function check_list(list, what)
    if type(list) ~= "table" or #list == 0 then
        error(("soom.perm.%s takes a list of permissions"):format(what), 3)
    end
    for i, p in ipairs(list) do
        if type(p) ~= "table" then
            error(("soom.perm.%s: item %d is not a permission"):format(what, i), 3)
        end
    end
end

-- what the OpenAPI document says of anonymous requests: true (always
-- allowed), "read" (for GET) or nil (never), from the operands'
local RANK = { [true] = 2, read = 1 }
local function anonymous_of(list, most)
    local best = most and -1 or 3
    for _, p in ipairs(list) do
        local r = RANK[p.openapi_anonymous] or 0
        if (most and r > best) or (not most and r < best) then
            best = r
        end
    end
    return best == 2 or (best == 1 and "read") or nil
end

function _M.all_of(list)
    check_list(list, "all_of")
    local p = builtin("all_of", anonymous_of(list, false))
    p.operands = list
    return p
end

function _M.any_of(list)
    check_list(list, "any_of")
    local p = builtin("any_of", anonymous_of(list, true))
    p.operands = list
    return p
end

function _M.negate(perm)
    if type(perm) ~= "table" then
        error("soom.perm.negate takes a permission", 2)
    end
    local p = builtin("not", nil)
    p.operands = { perm }
    return p
end

return _M
