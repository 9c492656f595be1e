--- soom.core.files: the file helpers of the command line and the loaders.
--
-- Reading an app folder is the same few steps everywhere: does a path
-- exist, which Lua files does a folder hold, run a Lua file that must
-- return a table, make a folder's modules requirable. They live here once.

local c = require "soom.core.c"

local io, ipairs, loadfile, pcall, type, error, tostring = io, ipairs, loadfile, pcall, type, error,
    tostring

local _M = {}

--- "file", "directory", "other", or nil when nothing is at `path`.
function _M.type(path)
    return c.filetype(path)
end

function _M.exists(path)
    return c.filetype(path) ~= nil
end

function _M.is_dir(path)
    return c.filetype(path) == "directory"
end

function _M.is_file(path)
    return c.filetype(path) == "file"
end

--- The absolute form of `path`, or nil when it does not exist.
function _M.realpath(path)
    return (c.realpath(path))
end

--- The names of the entries of a folder (without . and ..), in name
-- order; an empty list when the folder does not exist.
function _M.list(dir)
    return c.listdir(dir) or {}
end

--- The names (without .lua) of the Lua files of a folder, in name order;
-- an empty list when the folder does not exist.
function _M.lua_names(dir)
    local names = {}
    for _, f in ipairs(c.listdir(dir) or {}) do
        local n = f:match("^(.+)%.lua$")
        if n then
            names[#names + 1] = n
        end
    end
    return names
end

--- The Lua files under a folder and its subfolders, as paths without
-- .lua relative to it ("market/service"), in name order, a folder's own
-- files before its subfolders'; empty when the folder does not exist.
function _M.lua_tree(dir, prefix, into)
    into = into or {}
    prefix = prefix or ""
    local subdirs = {}
    for _, name in ipairs(c.listdir(dir) or {}) do
        local path = dir .. "/" .. name
        local n = name:match("^(.+)%.lua$")
        if n and c.filetype(path) == "file" then
            into[#into + 1] = prefix .. n
        elseif c.filetype(path) == "directory" and name:match("^[%w_]+$") then
            subdirs[#subdirs + 1] = name
        end
    end
    for _, name in ipairs(subdirs) do
        _M.lua_tree(dir .. "/" .. name, prefix .. name .. "/", into)
    end
    return into
end

--- The whole text of a file; raises with the reason.
function _M.read(path)
    local fh, err = io.open(path, "rb")
    if not fh then
        error(err, 0)
    end
    local text = fh:read("*a")
    fh:close()
    return text
end

--- Runs a Lua file that must return a table (of `what`, for the message);
-- raises naming the file.
function _M.load_table(path, what)
    local chunk, err = loadfile(path)
    if not chunk then
        error(err, 0)
    end
    local ok, value = pcall(chunk)
    if not ok then
        error(("%s: %s"):format(path, tostring(value)), 0)
    end
    if type(value) ~= "table" then
        error(("%s must return %s"):format(path, what), 0)
    end
    return value
end

--- Makes the modules of `dir` requirable (dir/?.lua, dir/?/init.lua), once.
function _M.add_to_path(dir)
    local entry = dir .. "/?.lua;" .. dir .. "/?/init.lua;"
    if not package.path:find(entry, 1, true) then
        package.path = entry .. package.path
    end
end

return _M
