--- soom.openapi.problems: the RFC 9457 problem documents the core answers,
-- as schemas and response components, and which of them each operation
-- can really answer.
--
-- The statuses follow the pipeline (core/src/server/pipeline.c) and the
-- plans (core/src/plan/): a path with parameters answers 404 for a value
-- its type refuses; any request may carry a body, which is read and
-- checked whatever the method, so every operation answers 400 (malformed
-- JSON, a body missing), 413 and 415 (but raw_body resources); a query
-- or body schema, or a
-- generic write, answers 422 with `errors`; a generic resource answers 400
-- for a bad filter, cursor or ordering, 404 for a missing object, 409 for
-- a unique or foreign-key violation and 503 when the database is
-- unavailable; authentication answers 401 and 403, throttles 429; and
-- anything may fail with 500. Only the components an operation uses are
-- written, so the document holds no unused ones.

local encode = require "soom.openapi.encode"
local json = require "soom.json"
local schemas = require "soom.openapi.schemas"

local ipairs, pairs, sort, tostring = ipairs, pairs, table.sort, tostring

local map, array = encode.map, json.array

local _M = {}

local PROBLEM = "application/problem+json"

-- status -> the response component's name and description
local RESPONSES = {
    [400] = { "BadRequest", "The request is malformed: a body that is not JSON, or a query "
        .. "parameter the resource cannot read." },
    [401] = { "Unauthorized", "Credentials are missing or wrong." },
    [403] = { "Forbidden", "The credentials do not allow this request." },
    [404] = { "NotFound", "Nothing is found here: a path parameter of the wrong type, or no "
        .. "such object." },
    [409] = { "Conflict", "The write conflicts with the data: a unique or foreign-key "
        .. "constraint." },
    [413] = { "ContentTooLarge", "The body is larger than settings.max_body." },
    [415] = { "UnsupportedMediaType", "The body is not application/json." },
    [422] = { "UnprocessableContent", "The request is well-formed but invalid; `errors` lists "
        .. "every problem found." },
    [429] = { "TooManyRequests", "Too many requests; try again after Retry-After seconds." },
    [500] = { "InternalServerError", "The server hit an error; the request id is in the log." },
    [503] = { "ServiceUnavailable", "The database is unavailable or busy; try again after "
        .. "Retry-After seconds." },
}

--- The statuses of RESPONSES, in order.
_M.STATUSES = {}
for status in pairs(RESPONSES) do
    _M.STATUSES[#_M.STATUSES + 1] = status
end
sort(_M.STATUSES)

local REASONS = {
    [402] = "Payment Required", [406] = "Not Acceptable", [408] = "Request Timeout",
    [410] = "Gone", [412] = "Precondition Failed", [501] = "Not Implemented",
    [502] = "Bad Gateway", [504] = "Gateway Timeout",
}

function _M.is_known(status)
    return RESPONSES[status] ~= nil
end

--- The description of a status, for responses the app declares.
function _M.reason(status)
    local r = RESPONSES[status]
    return r and r[2] or REASONS[status] or ("HTTP " .. tostring(status))
end

local function string_schema(description, format)
    local s = map()
    s.type = "string"
    s.format = format
    s.description = description
    return s
end

local function problem_schema()
    local props = map()
    props.type = string_schema("A URI naming the kind of problem (about:blank: the status says it).",
        "uri-reference")
    props.title = string_schema("The status's reason phrase.")
    local status = map()
    status.type = "integer"
    status.minimum = 400
    status.maximum = 599
    props.status = status
    props.detail = string_schema("What went wrong, for a person.")
    props.instance = string_schema("The path of the request.")
    local errors = map()
    errors.type = "array"
    errors.items = schemas.ref("FieldError")
    props.errors = errors
    local s = map()
    s.type = "object"
    s.description = "An RFC 9457 problem document."
    s.required = array { "type", "title", "status", "instance" }
    s.properties = props
    return s
end

local function field_error_schema()
    local props = map()
    props.pointer = string_schema("An RFC 6901 JSON Pointer to the value at fault (\"\" for the "
        .. "whole body).")
    props.detail = string_schema("What is wrong with it.")
    props.code = string_schema("The check that failed: a JSON Schema keyword (type, required, "
        .. "minimum, ...) or a database check (unique, not_null, ...).")
    local source = map()
    source.type = "string"
    source.enum = array { "body", "query" }
    source.description = "Where the value is."
    props.source = source
    local s = map()
    s.type = "object"
    s.required = array { "pointer", "detail", "code" }
    s.properties = props
    return s
end

local function validation_schema()
    local errors = map()
    errors.type = "array"
    errors.items = schemas.ref("FieldError")
    local props = map()
    props.errors = errors
    local extra = map()
    extra.required = array { "errors" }
    extra.properties = props
    local s = map()
    s.allOf = array { schemas.ref("Problem"), extra }
    return s
end

local function header(description, schema_type)
    local h, s = map(), map()
    s.type = schema_type or "string"
    h.description = description
    h.schema = s
    return h
end

local function response_object(status)
    local r = map()
    r.description = RESPONSES[status][2]
    if status == 429 or status == 503 then
        local headers = map()
        headers["Retry-After"] = header("Seconds to wait before trying again.", "integer")
        r.headers = headers
    elseif status == 401 then
        local headers = map()
        headers["WWW-Authenticate"] = header("How to authenticate (RFC 9110).")
        r.headers = headers
    end
    local content, media = map(), map()
    media.schema = schemas.ref(status == 422 and "ValidationProblem" or "Problem")
    content[PROBLEM] = media
    r.content = content
    return r
end

-- ---- what a document uses ---------------------------------------------------------

local Used = {}
Used.__index = Used

function _M.tracker()
    return setmetatable({ statuses = {}, refs = {} }, Used)
end

--- A reference to the response component of `status`, recorded as used
-- (one table for every operation that answers it).
function Used:ref(status)
    local r = self.refs[status]
    if r == nil then
        self.statuses[status] = true
        r = map()
        r["$ref"] = "#/components/responses/" .. RESPONSES[status][1]
        self.refs[status] = r
    end
    return r
end

--- A response for a problem status the app declared and the core has no
-- component for.
function Used:inline(status, description)
    self.other = true
    local r, content, media = map(), map(), map()
    r.description = description or _M.reason(status)
    media.schema = schemas.ref("Problem")
    content[PROBLEM] = media
    r.content = content
    return r
end

--- Adds the problem schemas to `registry` and returns the response
-- components used, as a map sorted by name.
function Used:components(registry)
    local list = {}
    for status in pairs(self.statuses) do
        list[#list + 1] = status
    end
    if #list == 0 and not self.other then
        return nil
    end
    sort(list, function(a, b)
        return RESPONSES[a][1] < RESPONSES[b][1]
    end)
    registry:add({ "Problem" }, problem_schema(), "soom")
    registry:add({ "FieldError" }, field_error_schema(), "soom")
    local out = map()
    for _, status in ipairs(list) do
        if status == 422 then
            registry:add({ "ValidationProblem" }, validation_schema(), "soom")
        end
        out[RESPONSES[status][1]] = response_object(status)
    end
    return out
end

return _M
