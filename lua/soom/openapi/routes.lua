--- soom.openapi.routes: the routes that serve the document and the docs
-- pages, as static bytes made once at start-up.
--
-- `soom run` appends these to the app's routes (after them, so the app's
-- route numbers stay those of every worker state): the core answers them
-- from the bytes without entering Lua (core/src/server/pipeline_static.c),
-- with an ETag, so a client that has them gets a 304.
--
--   settings.openapi.json   "/openapi.json"   the document ("" : not served)
--   settings.openapi.yaml   "/openapi.yaml"   the same document in YAML
--   settings.openapi.docs   "/docs"           Swagger UI
--   settings.openapi.redoc  "/redoc"          ReDoc
--   settings.openapi.ui     "debug"           the pages are served with debug on;
--                                             "on": always; "off": never
--
-- The pages use only the Swagger UI and ReDoc bundles installed with Soom
-- (share/soom/ui, fetched from npm when Soom is built), under URLs that
-- carry their version and are cached for a year; a Content-Security-Policy
-- lets them load nothing from anywhere else.

local files = require "soom.core.files"
local openapi = require "soom.openapi"

local error, ipairs = error, ipairs

local _M = {}

local NOSNIFF = { "X-Content-Type-Options", "nosniff" }
local CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    .. "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    .. "connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
local IMMUTABLE = "public, max-age=31536000, immutable"

local TYPES = {
    js = "text/javascript; charset=utf-8", css = "text/css; charset=utf-8", png = "image/png",
    html = "text/html; charset=utf-8",
}

-- A route of static bytes; a nil body comes later (see _M.routes).
local function route(path, body, content_type, cache, headers)
    local list = { NOSNIFF[1], NOSNIFF[2] }
    for _, h in ipairs(headers or {}) do
        list[#list + 1] = h
    end
    return {
        pattern = path, methods = { "GET" }, name = "openapi (settings.openapi)",
        static = { body = body, later = body == nil, content_type = content_type,
            cache_control = cache or "no-cache", headers = list },
    }
end

--- The path of `target` relative to the folder of `page` (both absolute),
-- so the pages keep working behind a proxy that mounts the app under a
-- prefix.
function _M.relative(page, target)
    local dir = page:match("^(.*/)") or "/"
    if target:sub(1, #dir) == dir then
        return target:sub(#dir + 1)
    end
    return target
end

local function escape_html(s)
    return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

-- The installed bundle `name` (share/soom/ui/<name>): its version and a
-- reader of its files; raises when it is missing.
local function bundle(home, name, setting)
    local dir = home .. "/ui/" .. name
    if not files.exists(dir .. "/VERSION") then
        error(("settings.openapi.ui serves %s at settings.openapi.%s, but %s is not installed "
            .. "in %s (Soom's build fetches it from npm: rebuild with access to the npm "
            .. "registry, or set openapi.ui = \"off\")"):format(name, setting, name, dir), 0)
    end
    local version = files.read(dir .. "/VERSION"):match("^%s*(.-)%s*$")
    return version, function(file)
        return files.read(dir .. "/" .. file)
    end
end

local function page(title, css, scripts)
    local head = {
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>" .. escape_html(title) .. "</title>",
    }
    for _, href in ipairs(css) do
        head[#head + 1] = '<link rel="stylesheet" href="' .. escape_html(href) .. '">'
    end
    head[#head + 1] = "</head>"
    head[#head + 1] = "<body>"
    head[#head + 1] = '<div id="ui"></div>'
    for _, src in ipairs(scripts) do
        head[#head + 1] = '<script src="' .. escape_html(src) .. '"></script>'
    end
    head[#head + 1] = "</body>"
    head[#head + 1] = "</html>"
    return table.concat(head, "\n") .. "\n"
end

local function js_string(s)
    return require("soom.json").encode(s)
end

local function swagger_ui(out, home, path, doc_path, title)
    local version, read = bundle(home, "swagger-ui", "docs")
    local assets = path .. "/assets/swagger-ui-" .. version .. "/"
    local rel = _M.relative(path, assets)
    for _, file in ipairs({ "swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png" }) do
        out[#out + 1] = route(assets .. file, read(file), TYPES[file:match("%.(%a+)$")], IMMUTABLE)
    end
    -- no inline script: the policy forbids it, and the document's URL is
    -- the only thing that varies
    local init = ("window.ui = SwaggerUIBundle({\n  url: %s,\n  dom_id: \"#ui\",\n"
        .. "  deepLinking: true,\n  presets: [SwaggerUIBundle.presets.apis],\n"
        .. "  layout: \"BaseLayout\",\n  validatorUrl: null,\n  queryConfigEnabled: false\n});\n")
        :format(js_string(_M.relative(path, doc_path)))
    out[#out + 1] = route(path .. "/assets/init.js", init, TYPES.js)
    local html = page(title .. " - Swagger UI", { rel .. "swagger-ui.css" },
        { rel .. "swagger-ui-bundle.js", _M.relative(path, path .. "/assets/init.js") })
    html = html:gsub("</title>", '</title>\n<link rel="icon" type="image/png" href="'
        .. escape_html(rel .. "favicon-32x32.png") .. '">', 1)
    out[#out + 1] = route(path, html, TYPES.html, nil, { "Content-Security-Policy", CSP })
end

local function redoc(out, home, path, doc_path, title)
    local version, read = bundle(home, "redoc", "redoc")
    local asset = path .. "/assets/redoc-" .. version .. "/redoc.standalone.js"
    out[#out + 1] = route(asset, read("redoc.standalone.js"), TYPES.js, IMMUTABLE)
    local init = ("Redoc.init(%s, {}, document.getElementById(\"ui\"));\n"):format(
        js_string(_M.relative(path, doc_path)))
    out[#out + 1] = route(path .. "/assets/init.js", init, TYPES.js)
    local html = page(title .. " - ReDoc", {},
        { _M.relative(path, asset), _M.relative(path, path .. "/assets/init.js") })
    out[#out + 1] = route(path, html, TYPES.html, nil, { "Content-Security-Policy", CSP })
end

local function ui_on(settings)
    local ui = settings.openapi.ui
    if ui == "on" then
        return true
    elseif ui == "off" then
        return false
    elseif ui == "debug" then
        return settings.debug == true
    end
    error(('settings.openapi.ui must be "debug", "on" or "off", not %q'):format(tostring(ui)), 0)
end

--- The routes serving the document and the pages for a loaded app, under
-- `home` (share/soom), and the function that makes the document's bytes
-- (nil when no route serves it). The document's own routes come without
-- their bytes (`static.later`): make() builds the document and sets each
-- one's body. `soom run` calls it while the worker states load, on a core
-- they leave idle (soom.core.serve).
function _M.routes(app, home)
    local cfg = app.settings.openapi
    local out = {}
    local ui = ui_on(app.settings) and (cfg.docs ~= "" or cfg.redoc ~= "")
    if cfg.json == "" and cfg.yaml == "" and not ui then
        return out, nil
    end
    local json_route, yaml_route
    if cfg.json ~= "" then
        json_route = route(cfg.json, nil, "application/json")
        out[#out + 1] = json_route
    end
    if cfg.yaml ~= "" then
        yaml_route = route(cfg.yaml, nil, "application/yaml")
        out[#out + 1] = yaml_route
    end
    if ui then
        if cfg.json == "" then
            error("settings.openapi.docs and openapi.redoc show the document served at "
                .. "settings.openapi.json, which is turned off", 0)
        end
        local title = openapi.title(app)
        if cfg.docs ~= "" then
            swagger_ui(out, home, cfg.docs, cfg.json, title)
        end
        if cfg.redoc ~= "" then
            redoc(out, home, cfg.redoc, cfg.json, title)
        end
    end
    if json_route == nil and yaml_route == nil then
        return out, nil
    end
    return out, function()
        local doc = openapi.document(app)
        if json_route then
            json_route.static.body = openapi.json(doc)
        end
        if yaml_route then
            yaml_route.static.body = openapi.yaml(doc)
        end
    end
end

return _M
