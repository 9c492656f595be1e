--- soom.contrib.django: Django's authentication tables as Soom models,
-- unmanaged (Django's migrations own them), so a user of the monolith is a
-- user of the service:
--
--   local django = require "soom.contrib.django"
--   django.User, django.Token, django.Group, django.Permission,
--   django.ContentType, and the many-to-many tables between them
--   (UserGroups, UserPermissions, GroupPermissions)
--
-- They mirror Django 3.2+ (django.contrib.auth, contenttypes) and Django
-- REST framework's authtoken: auth_user, authtoken_token, auth_group,
-- auth_permission, django_content_type, auth_user_groups,
-- auth_user_user_permissions, auth_group_permissions. Relations: a token's
-- `user` (and the user's `token`), a user's `groups` and
-- `user_permissions`, a group's `permissions` (and `user_set`), a
-- permission's `content_type`.
--
-- A monolith with its own table names (a custom user model in
-- accounts_user, a schema) gets its own set from define():
--
--   local auth = django.define {
--       user_table = "accounts_user", schema = "legacy",
--       user_fields = { { "phone", soom.f.varchar { max_length = 20, null = true } } },
--   }
--
-- Names for relations and lookups: "django.auth.user", "django.auth.group",
-- "django.auth.permission", "django.authtoken.token",
-- "django.contenttypes.content_type" (a prefix of define's `name` option).
-- The drift check compares them with the live tables like any model.

local model = require "soom.model"

local ipairs, pairs = ipairs, pairs
local f = model.f

local _M = {}

local DEFAULTS = {
    user_table = "auth_user", token_table = "authtoken_token", group_table = "auth_group",
    permission_table = "auth_permission", content_type_table = "django_content_type",
    user_groups_table = "auth_user_groups", user_permissions_table = "auth_user_user_permissions",
    group_permissions_table = "auth_group_permissions", name = "django",
}

local function list(base, extra)
    local out = {}
    for i, pair in ipairs(base) do
        out[i] = pair
    end
    for _, pair in ipairs(extra or {}) do
        out[#out + 1] = pair
    end
    return out
end

local function def(o, key, fields, extra)
    local d = {
        name = o.name .. "." .. key, table = o[key:gsub("^[^.]+%.", "") .. "_table"] or nil,
        schema = o.schema, managed = false, fields = fields,
    }
    for k, v in pairs(extra or {}) do
        d[k] = v
    end
    return d
end

--- The models over tables named by `opts` (the defaults above for any not
-- given); each call makes a new set.
function _M.define(opts)
    local o = {}
    for k, v in pairs(DEFAULTS) do
        o[k] = v
    end
    for k, v in pairs(opts or {}) do
        o[k] = v
    end
    local m = {}
    m.ContentType = model.model(def(o, "contenttypes.content_type", {
        { "id", f.serial() },
        { "app_label", f.varchar { max_length = 100 } },
        { "model", f.varchar { max_length = 100 } },
    }, { unique_together = { { "app_label", "model" } } }))
    m.Permission = model.model(def(o, "auth.permission", {
        { "id", f.serial() },
        { "name", f.varchar { max_length = 255 } },
        { "content_type", f.foreign_key { to = m.ContentType, on = "content_type_id", type = "integer",
            related_name = "permission_set" } },
        { "codename", f.varchar { max_length = 100 } },
    }, { unique_together = { { "content_type_id", "codename" } } }))
    m.Group = model.model(def(o, "auth.group", {
        { "id", f.serial() },
        { "name", f.varchar { max_length = 150, unique = true } },
    }))
    m.User = model.model(def(o, "auth.user", list({
        { "id", f.serial() },
        { "password", f.varchar { max_length = 128 } },
        { "last_login", f.timestamptz { null = true } },
        { "is_superuser", f.boolean() },
        { "username", f.varchar { max_length = 150, unique = true } },
        { "first_name", f.varchar { max_length = 150 } },
        { "last_name", f.varchar { max_length = 150 } },
        { "email", f.varchar { max_length = 254 } },
        { "is_staff", f.boolean() },
        { "is_active", f.boolean() },
        { "date_joined", f.timestamptz() },
    }, o.user_fields)))
    m.Token = model.model(def(o, "authtoken.token", {
        { "key", f.varchar { max_length = 40 } },
        { "created", f.timestamptz() },
        { "user", f.foreign_key { to = m.User, on = "user_id", type = "integer", unique = true,
            related_name = "token" } },
    }, { primary_key = "key" }))
    m.UserGroups = model.model(def(o, "auth.user_groups", {
        { "id", f.serial() },
        { "user", f.foreign_key { to = m.User, on = "user_id", type = "integer", related_name = "+" } },
        { "group", f.foreign_key { to = m.Group, on = "group_id", type = "integer", related_name = "+" } },
    }, { unique_together = { { "user_id", "group_id" } } }))
    m.UserPermissions = model.model(def(o, "auth.user_permissions", {
        { "id", f.serial() },
        { "user", f.foreign_key { to = m.User, on = "user_id", type = "integer", related_name = "+" } },
        { "permission", f.foreign_key { to = m.Permission, on = "permission_id", type = "integer",
            related_name = "+" } },
    }, { unique_together = { { "user_id", "permission_id" } } }))
    m.GroupPermissions = model.model(def(o, "auth.group_permissions", {
        { "id", f.serial() },
        { "group", f.foreign_key { to = m.Group, on = "group_id", type = "integer", related_name = "+" } },
        { "permission", f.foreign_key { to = m.Permission, on = "permission_id", type = "integer",
            related_name = "+" } },
    }, { unique_together = { { "group_id", "permission_id" } } }))
    -- the many-to-many sides, declared once their through tables exist
    local function m2m(owner, name, to, through, related)
        local rel = f.many_to_many { to = to, through = through, related_name = related }
        rel.name, rel.owner = name, owner
        owner.relations[#owner.relations + 1] = rel
        owner.relation_by_name[name] = rel
    end
    m2m(m.User, "groups", m.Group, m.UserGroups, "user_set")
    m2m(m.User, "user_permissions", m.Permission, m.UserPermissions, "user_set")
    m2m(m.Group, "permissions", m.Permission, m.GroupPermissions, "group_set")
    require("soom.core.relations").changed()
    return m
end

local default = _M.define()
for k, v in pairs(default) do
    _M[k] = v
end

return _M
