--- soom.pagination: how a list resource pages its results.
--
--   pagination = soom.pagination.cursor { ordering = { "-score", "created_at" }, page_size = 20 }
--   pagination = soom.pagination.offset { default_limit = 20, max_limit = 100, count = "planned" }
--
-- Both run in C. A cursor page is {"next", "previous", "results"}: keyset
-- pagination, stable while rows are inserted or deleted, as fast on page
-- 1,000 as on page 1; its links carry an opaque sealed cursor. An offset page
-- is {"count", "next", "previous", "results"} addressed by ?limit=&offset=
-- or ?page=&page_size=; `count` is "exact" (a COUNT(*)), "planned" (the
-- planner's estimate: instant on big tables) or "none". docs/PAGINATION.md
-- explains when to choose which.

local type, error, ipairs = type, error, ipairs

local _M = {}

local function positive(v, name, default)
    if v == nil then
        return default
    end
    if type(v) ~= "number" or v < 1 or v % 1 ~= 0 then
        error(("soom.pagination: %s must be a positive integer"):format(name), 3)
    end
    return v
end

--- Keyset pagination on `ordering` (field names, "-" for descending; the
-- primary key is added as the tie-breaker). Fields must be NOT NULL.
function _M.cursor(opts)
    opts = opts or {}
    if opts.ordering ~= nil and type(opts.ordering) ~= "table" then
        error("soom.pagination.cursor: ordering must be a list of field names", 2)
    end
    for _, term in ipairs(opts.ordering or {}) do
        if type(term) ~= "string" then
            error("soom.pagination.cursor: ordering must be a list of field names", 2)
        end
    end
    local page_size = positive(opts.page_size, "page_size", 20)
    return {
        kind = "cursor",
        ordering = opts.ordering,
        page_size = page_size,
        max_page_size = positive(opts.max_page_size, "max_page_size", math.max(100, page_size)),
    }
end

--- Limit/offset pagination.
function _M.offset(opts)
    opts = opts or {}
    local count = opts.count or "exact"
    if count ~= "exact" and count ~= "planned" and count ~= "none" then
        error('soom.pagination.offset: count must be "exact", "planned" or "none"', 2)
    end
    local default_limit = positive(opts.default_limit, "default_limit", 20)
    return {
        kind = "offset",
        page_size = default_limit,
        max_page_size = positive(opts.max_limit, "max_limit", math.max(100, default_limit)),
        count = count,
    }
end

--- Keyset pagination in the open, as many public APIs do it (Stripe's
-- starting_after): `?after=<value>&limit=20` over one unique, non-null
-- field (default the primary key; "-id" walks it downwards), answering
-- {"results": [...], "next": "<the last row's value>" | null}. Simpler for
-- clients than cursors, but the position is visible and only one field
-- orders the walk. `param`, `results` and `next` rename the parameter and
-- the envelope's members.
function _M.keyset(opts)
    opts = opts or {}
    for _, k in ipairs({ "field", "param", "results", "next" }) do
        if opts[k] ~= nil and type(opts[k]) ~= "string" then
            error(("soom.pagination.keyset: %s must be a string"):format(k), 2)
        end
    end
    local page_size = positive(opts.page_size, "page_size", 20)
    return {
        kind = "keyset",
        field = opts.field,
        param = opts.param or "after",
        results = opts.results or "results",
        next = opts.next or "next",
        page_size = page_size,
        max_page_size = positive(opts.max_page_size, "max_page_size", math.max(100, page_size)),
    }
end

return _M
