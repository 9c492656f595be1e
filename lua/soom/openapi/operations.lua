--- soom.openapi.operations: one Operation Object per route and method.
--
-- A generic resource's operations come from what its plan runs: the list
-- (its parameters and its page envelope), create (201 with Location),
-- retrieve, update (PUT) and partial update (PATCH), destroy (204), with
-- bodies from the validation_schema or, without one, from the model's
-- writable fields. A resource with hand-written handlers is documented
-- from its schemas and what it declares: `responses = { [200] = schema }`
-- (or per method: `responses = { get = { [200] = ... } }`).
--
-- What a resource may set (a value, or a table by action or method name:
-- `summary = { list = "...", create = "..." }`): operation_id, tags,
-- summary, description, deprecated, examples ({ request = ..., response =
-- ... }), component_name (the base name of its schemas), responses,
-- request_body (a schema, for handlers without a validation_schema).

local encode = require "soom.openapi.encode"
local json = require "soom.json"
local params = require "soom.openapi.params"
local problems = require "soom.openapi.problems"
local schemas = require "soom.openapi.schemas"
local security = require "soom.openapi.security"

local type, ipairs, pairs, error, tostring, tonumber, unpack, next = type, ipairs, pairs, error,
    tostring, tonumber, unpack, next
local sort, concat = table.sort, table.concat

local map, array, pascal, once = encode.map, json.array, schemas.pascal, schemas.once

local _M = {}

local JSON = "application/json"

-- The generic action each method runs, by the actions of a class.
local GENERIC = {
    get = { "list", "retrieve" }, post = { "create" }, put = { "update" },
    patch = { "partial_update" }, delete = { "destroy" },
}

local function generic_action(res, method)
    if res._actions == nil then
        return nil
    end
    local has = {}
    for _, a in ipairs(res._actions) do
        has[a] = true
    end
    has.partial_update = has.update
    for _, a in ipairs(GENERIC[method] or {}) do
        if has[a] then
            return a
        end
    end
    return nil
end

--- The value a resource set for this operation: `value` itself, or its
-- entry for the action or the method when it is a table keyed by them.
local function per_op(value, op)
    if type(value) ~= "table" or encode.is_array(value) or value == json.null then
        return value
    end
    if value[op.action] ~= nil then
        return value[op.action]
    end
    return value[op.method]
end

local worded = {} -- name -> its words: the same names come back for every route

local function words(name)
    local w = worded[name]
    if w == nil then
        w = name:gsub("(%l)(%u)", "%1 %2"):gsub("_", " "):lower()
        worded[name] = w
    end
    return w
end

local SUMMARIES = {
    list = "List %s", create = "Create %s", retrieve = "Retrieve %s", update = "Update %s",
    partial_update = "Partially update %s", destroy = "Delete %s",
}

local function default_summary(op)
    if op.generic then
        local what = op.action == "list" and words(op.base)
            or words(schemas.model_name(op.res.model))
        return SUMMARIES[op.action]:format(what)
    end
    return op.method:upper() .. " " .. op.route.pattern
end

-- ---- names --------------------------------------------------------------------------

-- Candidate names for a schema of this operation, most specific last, to
-- which the registry adds the schema's suffix; only the resource's
-- component_name when it set one. Made once per operation.
local function candidates(op)
    local list = op.candidates
    if list then
        return list
    end
    local own = op.res.component_name
    if type(own) == "string" then
        list = { own } -- the app's choice, or an error when it is taken
    else
        list = {}
        local model = op.generic and schemas.model_name(op.res.model) or ""
        local base, route = pascal(op.base), pascal(op.path)
        local method, action = pascal(op.method), pascal(op.action)
        if op.generic then
            list[#list + 1] = model
            list[#list + 1] = base .. model
        end
        list[#list + 1] = base
        list[#list + 1] = base .. method
        list[#list + 1] = route .. method
        list[#list + 1] = route .. model .. action -- unique: always free
    end
    op.candidates = list
    return list
end

-- Registers an app-written schema (a decoded tree), its references moved
-- inside its component.
local function app_component(ctx, op, suffix, schema)
    return ctx.registry:add(candidates(op), schema, op.route.name, function(name, s)
        return schemas.rebase(s, "#/components/schemas/" .. name)
    end, suffix)
end

-- ---- bodies -------------------------------------------------------------------------

local function media(schema, example)
    local m = map()
    m.schema = schema
    if example ~= nil then
        m.example = example
    end
    return m
end

local function content_of(schema, example, media_type)
    local c = map()
    c[media_type or JSON] = media(schema, example)
    return c
end

local function decoded(text)
    return text and json.decode(text) or nil
end

-- The body schema (a $ref) of a write, or nil.
local function body_schema(ctx, op)
    local route, m = op.route, op.method
    local text = m == "patch" and route.patch_schema or (m ~= "delete" and m ~= "get"
        and route.body_schema)
    if text then
        local suffix = m == "patch" and "PatchRequest" or "Request"
        return schemas.ref(app_component(ctx, op, suffix, decoded(text))), true
    end
    if op.generic then
        local partial = m ~= "post"
        local s = once(ctx.memo, (partial and "patch\0" or "input\0") .. op.fields_key, function()
            return schemas.input_object(op.fields, partial)
        end)
        local suffix = partial and "PatchRequest" or "Request"
        return schemas.ref(ctx.registry:add(candidates(op), s, route.name, nil, suffix)), true
    end
    local declared = per_op(op.res.request_body, op)
    if declared ~= nil then
        local tree = schemas.from_lua(declared, route.name .. ": request_body")
        return schemas.ref(app_component(ctx, op, "Request", tree)), true
    end
    return map(), false
end

local function request_body(ctx, op)
    local m = op.method
    if m ~= "post" and m ~= "put" and m ~= "patch" then
        return nil
    end
    local rb = map()
    local schema, required = body_schema(ctx, op)
    local example = (per_op(op.res.examples, op) or {}).request
    if op.route.raw_body then
        rb.content = content_of(map(), example, "*/*")
    else
        rb.content = content_of(schema, example)
    end
    if required then
        rb.required = true
    end
    return rb
end

-- ---- success responses --------------------------------------------------------------

local function item_ref(ctx, op)
    local s = once(ctx.memo, "output\0" .. op.fields_key, function()
        return schemas.output_object(op.fields, ctx.numeric_as)
    end)
    return schemas.ref(ctx.registry:add(candidates(op), s, op.route.name))
end

local function nullable_uri()
    local s = map()
    s.type = array { "string", "null" }
    s.format = "uri"
    return s
end

-- The page envelope of pagination `p` around `item` (a $ref).
local function envelope(p, item)
    local list = map()
    list.type = "array"
    list.items = item
    local props, required = map(), array()
    local s = map()
    s.type = "object"
    if p.kind == "keyset" then
        local after = map()
        after.type = array { "string", "null" }
        after.description = "The value to pass as ?" .. p.param .. "= for the next page; null "
            .. "on the last page."
        props[p.results] = list
        props[p.next] = after
        required[1] = p.results
        required[2] = p.next
    else
        if p.kind == "offset" then
            local count = map()
            if p.count == "none" then
                count.type = "null"
                count.description = "Not counted (count = \"none\")."
            else
                count.type = "integer"
                count.minimum = 0
                count.description = p.count == "planned"
                    and "The planner's estimate of the number of objects." or "The number of objects."
            end
            props.count = count
            required[#required + 1] = "count"
        end
        props.next = nullable_uri()
        props.previous = nullable_uri()
        props.results = list
        for _, k in ipairs({ "next", "previous", "results" }) do
            required[#required + 1] = k
        end
    end
    s.required = required
    s.properties = props
    s.additionalProperties = false
    return s
end

local function page_schema(ctx, op, item)
    local p = op.res.pagination
    if not p then
        local list = map()
        list.type = "array"
        list.items = item
        return list
    end
    local name = item["$ref"]:match("([^/]+)$")
    local key = concat({ "envelope", name, p.kind, tostring(p.count), tostring(p.param),
        tostring(p.results), tostring(p.next) }, "\0")
    local s = once(ctx.memo, key, function()
        return envelope(p, item)
    end)
    local kind = pascal(p.kind)
    -- the route's name is unique: the last candidate is always free
    local names = { "Paginated" .. name .. "List", name .. kind .. "Page",
        pascal(op.base) .. name .. kind .. "Page", pascal(op.path) .. kind .. "Page" }
    return schemas.ref(ctx.registry:add(names, s, op.route.name))
end

-- The success response of a generic action around `schema` (the object,
-- or the page, as a $ref or an array of them).
local function success_object(a, schema, example)
    local r = map()
    if a == "list" then
        r.description = "The objects."
    elseif a == "create" then
        r.description = "Created."
        local headers, loc, s = map(), map(), map()
        s.type = "string"
        s.format = "uri-reference"
        loc.description = "The path of the new object."
        loc.schema = s
        headers.Location = loc
        r.headers = headers
    else
        r.description = "The object."
    end
    r.content = content_of(schema, example)
    return r
end

local function generic_success(ctx, op, responses)
    local a = op.action
    if a == "destroy" then
        responses[204] = once(ctx.memo, "deleted", function()
            local r = map()
            r.description = "Deleted."
            return r
        end)
        return
    end
    local example = (per_op(op.res.examples, op) or {}).response
    local schema = item_ref(ctx, op)
    if a == "list" then
        schema = page_schema(ctx, op, schema)
    end
    local status = a == "create" and 201 or 200
    if example ~= nil then
        responses[status] = success_object(a, schema, example)
        return
    end
    -- without an example, the operations over one object share its response
    local ref = schema["$ref"] or ("[]" .. schema.items["$ref"])
    responses[status] = once(ctx.memo, "success\0" .. a .. "\0" .. ref, function()
        return success_object(a, schema, nil)
    end)
end

-- A response the app declared: a schema, true, a description, or
-- { schema, description, headers, content_type }.
local function declared_response(ctx, op, status, spec)
    if status >= 400 then
        local description = type(spec) == "string" and spec
            or (type(spec) == "table" and spec.description) or nil
        if problems.is_known(status) and description == nil then
            return ctx.used:ref(status)
        end
        return ctx.used:inline(status, description)
    end
    local r = map()
    r.description = type(spec) == "string" and spec or "OK"
    if type(spec) ~= "table" then
        return r
    end
    local schema, ct = spec, JSON
    if spec.schema ~= nil or spec.headers ~= nil or spec.content_type ~= nil then
        schema, ct = spec.schema, spec.content_type or JSON
        r.description = spec.description or r.description
        if spec.headers then
            local h = map()
            for _, name in ipairs(encode.keys(spec.headers)) do
                local one = map()
                one.schema = schemas.from_lua(spec.headers[name], op.route.name .. ": header")
                h[name] = one
            end
            r.headers = h
        end
    end
    if schema ~= nil then
        local tree = schemas.from_lua(schema, op.route.name .. ": responses")
        local example = (per_op(op.res.examples, op) or {}).response
        local suffix = (status == 200 and "" or tostring(status)) .. "Response"
        r.content = content_of(schemas.ref(app_component(ctx, op, suffix, tree)), example, ct)
    end
    return r
end

-- The responses the resource declared for this operation, by status.
local function declared(op)
    local all = op.res.responses
    if type(all) ~= "table" then
        return nil
    end
    local own = all[op.method] or all[op.action]
    local list = {}
    for k, v in pairs(type(own) == "table" and own or all) do
        local status = tonumber(k)
        if status and status >= 100 and status <= 599 then
            list[#list + 1] = { status = status, spec = v }
        end
    end
    if #list == 0 then
        return nil
    end
    sort(list, function(a, b)
        return a.status < b.status
    end)
    return list
end

-- ---- errors --------------------------------------------------------------------------

-- The problem statuses the core can answer for this operation.
local function core_errors(op)
    local s, m, a = {}, op.method, op.action
    local route = op.route
    -- a body is read and checked on every method, so any request may be
    -- answered 400 (not JSON), 413 or 415
    s[400] = true
    s[413] = true
    s[415] = not route.raw_body or nil
    s[500] = true
    if #op.path_params > 0 then
        s[404] = true
    end
    if route.query_schema or route.body_schema and (m == "post" or m == "put")
        or route.patch_schema and m == "patch" then
        s[422] = true
    end
    if op.generic then
        s[503] = true
        if a == "create" or a == "update" or a == "partial_update" then
            s[409] = true
            s[422] = true
        elseif a == "destroy" then
            s[409] = true
        end
        for _, p in ipairs(op.path_params) do
            if p.kind == "any" then
                s[422] = true -- a lookup value its column's type refuses
            end
        end
    end
    security.statuses(op.res, s)
    return s
end

local by_status

local function responses(ctx, op)
    local success, errors = {}, core_errors(op)
    if op.generic then
        generic_success(ctx, op, success)
    end
    local list = declared(op)
    if not op.generic and not list then
        local r = map()
        r.description = "OK"
        r.content = content_of(map())
        success[200] = r
    end
    for _, d in ipairs(list or {}) do
        if d.status < 400 then
            success[d.status] = declared_response(ctx, op, d.status, d.spec)
        else
            errors[d.status] = d.spec
        end
    end
    if op.generic and not list then
        -- one success response (shared) and known problems: operations
        -- answering the same share one responses object
        local status, r = next(success)
        local key = { "responses", status, tostring(r) }
        for _, e in ipairs(problems.STATUSES) do
            if errors[e] then
                key[#key + 1] = e
            end
        end
        return once(ctx.memo, concat(key, " "), function()
            return by_status(ctx, op, success, errors)
        end)
    end
    return by_status(ctx, op, success, errors)
end

-- The responses of an operation, by status in order.
function by_status(ctx, op, success, errors)
    local order = {}
    for status in pairs(success) do
        order[#order + 1] = status
    end
    for status in pairs(errors) do
        order[#order + 1] = status
    end
    sort(order)
    local out = map()
    for _, status in ipairs(order) do
        local key = tostring(status)
        if success[status] then
            out[key] = success[status]
        elseif errors[status] == true and problems.is_known(status) then
            out[key] = ctx.used:ref(status)
        else
            out[key] = declared_response(ctx, op, status, errors[status])
        end
    end
    return out
end

-- ---- operations ----------------------------------------------------------------------

-- "on" or "required" when the operation honours Idempotency-Key (POST and
-- PATCH, as the core's pipeline_idem.c), else nil
local function idempotency(ctx, op)
    if (op.method ~= "post" and op.method ~= "patch") or op.route.resource == nil then
        return nil
    end
    local mode = op.route.idempotency or (ctx.idempotency and "on" or "off")
    return mode ~= "off" and mode or nil
end

-- A reference to the parameter component `name`.
local function param_ref(ctx, name)
    local r = ctx.param_refs[name]
    if r == nil then
        r = map()
        r["$ref"] = "#/components/parameters/" .. name
        ctx.param_refs[name] = r
    end
    return r
end

-- A generic list's parameter as a component, named after the model
-- (Item.score__gt) as schemas are, or the parameter itself when its names
-- are all taken by other ones (a component_name shared with a different
-- list).
local function shared_param(ctx, op, p)
    local name = ctx.params:offer(candidates(op), p, op.route.name, nil, "." .. p.name)
    return name and param_ref(ctx, name) or p
end

local IDEMPOTENCY_KEY = "Makes a retry safe: the same key and body get the first response back "
    .. "(Idempotent-Replayed: true) without a second write; another body under the key is a "
    .. "422, a duplicate still in flight a 409."

-- The Idempotency-Key header, one component for every operation that
-- takes it (IdempotencyKey; RequiredIdempotencyKey under "required").
local function idempotency_param(ctx, required)
    local name = required and "RequiredIdempotencyKey" or "IdempotencyKey"
    local p = once(ctx.memo, name, function()
        local schema = map()
        schema.type = "string"
        schema.minLength = 1
        schema.maxLength = 255
        local h = map()
        h.name = "Idempotency-Key"
        h["in"] = "header"
        h.description = IDEMPOTENCY_KEY
        h.required = required
        h.schema = schema
        return h
    end)
    name = ctx.params:offer({ name }, p, "soom")
    return name and param_ref(ctx, name) or p
end

local function parameters(ctx, op)
    local list = array()
    for _, p in ipairs(params.path(op.path_params, ctx.memo)) do
        list[#list + 1] = p
    end
    local seen = {}
    local q = decoded(op.route.query_schema_declared or op.route.query_schema)
    if q then
        -- the component is made only when a reference cannot be inlined
        local function base()
            return "#/components/schemas/" .. app_component(ctx, op, "Query", q)
        end
        for _, p in ipairs(params.from_schema(q, base)) do
            list[#list + 1] = p
            seen[p.name] = true
        end
    end
    if op.generic and op.action == "list" then
        for _, p in ipairs(params.list(op.res, op.fields, ctx.memo)) do
            if not seen[p.name] then
                list[#list + 1] = shared_param(ctx, op, p)
            end
        end
    end
    local keyed = idempotency(ctx, op)
    if keyed then
        list[#list + 1] = idempotency_param(ctx, keyed == "required")
    end
    return #list > 0 and list or nil
end

--- The operation for `method` of `route`; `op` carries what the caller
-- worked out (base name, path, path parameters, operationId).
function _M.build(ctx, op)
    local res = op.res
    local o = map()
    local tags = per_op(res.tags, op)
    if type(tags) == "string" then
        tags = { tags }
    end
    o.tags = array(tags and { unpack(tags) } or { op.base })
    o.summary = per_op(res.summary, op) or default_summary(op)
    o.description = per_op(res.description, op)
    o.operationId = op.operation_id
    if per_op(res.deprecated, op) then
        o.deprecated = true
    end
    o.parameters = parameters(ctx, op)
    o.requestBody = request_body(ctx, op)
    o.responses = responses(ctx, op)
    o.security = security.requirements(ctx, res, op.method, op.route.name)
    for _, t in ipairs(o.tags) do
        ctx.tag(t, op)
    end
    return o
end

-- A native module's route (docs/MODULES.md) has no resource: what the
-- document says of it is what the loader knows, under the module's name
-- (its tag and operationIds), with a body as its route takes one.
local function native_resource(route)
    return {
        tags = route.module,
        summary = ("Served by the native module %s"):format(route.module),
    }
end

--- What _M.build needs about one route and method, before names are
-- settled: { res, route, method, action, generic, base, path, path_params,
-- fields }. `serializers` (a table kept for one document) holds each
-- resource's fields, shared by its operations.
function _M.describe(route, method, serializers)
    local res = route.resource or native_resource(route)
    local path, path_params = params.parse_route(route.pattern)
    local action = generic_action(res, method)
    local op = {
        res = res, route = route, method = method, action = action or method,
        generic = action ~= nil, path = path, path_params = path_params,
        base = route.module or route.name:match("([^/]+)%.lua$") or route.name,
    }
    if op.generic then
        local known = serializers and serializers[res]
        if known == nil then
            local fields = schemas.serializer(res)
            known = { fields = fields, key = schemas.fields_key(fields) }
            if serializers then
                serializers[res] = known
            end
        end
        op.fields, op.fields_key = known.fields, known.key
    end
    op.wanted_id = per_op(res.operation_id, op)
    return op
end

--- Gives every operation its operationId: the resource's own, else
-- <file>_<action> (samples_list, hello_get); operations whose default
-- would be shared use their route instead (greetings_name_get). Raises
-- when two operations still share one.
function _M.name_all(ops)
    local count = {}
    for _, op in ipairs(ops) do
        local id = op.wanted_id
        if type(id) == "string" and op.several and type(op.res.operation_id) == "string" then
            id = id .. "_" .. op.action
        end
        op.operation_id = type(id) == "string" and id or (op.base .. "_" .. op.action)
        op.explicit = type(id) == "string"
        count[op.operation_id] = (count[op.operation_id] or 0) + 1
    end
    for _, op in ipairs(ops) do
        if not op.explicit and count[op.operation_id] > 1 then
            local route = op.path:gsub("{", ""):gsub("}", ""):gsub("[^%w]+", "_"):gsub("^_", "")
                :gsub("_$", "")
            op.operation_id = (route ~= "" and route or "root") .. "_" .. op.action
        end
    end
    local by_id = {}
    for _, op in ipairs(ops) do
        local other = by_id[op.operation_id]
        if other then
            error(("%s: the operationId %s of %s %s is also the one of %s %s in %s; set "
                .. "operation_id on one of them"):format(op.route.name, op.operation_id,
                op.method:upper(), op.route.pattern, other.method:upper(), other.route.pattern,
                other.route.name), 0)
        end
        by_id[op.operation_id] = op
    end
end

return _M
