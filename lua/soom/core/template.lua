--- soom.core.template: the placeholder syntax of the scaffold's templates.
--
-- Templates are plain files (scaffold/app/, scaffold/resource/), so they
-- read as the files they become. The syntax is small on purpose, and chosen
-- not to collide with what those files hold (GitHub Actions' `${{ }}`,
-- shell's `${}`, Lua's `[[ ]]`):
--
--   @name@          the value of the variable `name`
--   @@              a literal @
--   @if flag@       on a line of its own: the lines up to the matching
--   @else@          @else@ or @end@ are kept when `flag` is true (a
--   @end@           non-empty string or true); they nest
--   @unless flag@   the opposite of @if@
--
-- A variable alone on its line (after indentation) may hold several lines:
-- each is indented like the placeholder, so generated blocks line up. An
-- unknown variable or an unbalanced @if@ is an error naming the template
-- and line, never an empty string in the output. Paths are rendered with the
-- same rules, and a file whose rendered text is empty is not written, which
-- lets a template be conditional as a whole.
--
-- Everything is pure string work: rendering raises before anything is
-- written, and writing is soom.core.scaffold's business.

local concat, insert, remove = table.concat, table.insert, table.remove
local type, error, tostring, ipairs = type, error, tostring, ipairs

local _M = {}

local function fail(where, line, msg)
    error(("%s:%d: %s"):format(where, line, msg), 0)
end

local function lookup(vars, name, where, line)
    local v = vars[name]
    if v == nil then
        fail(where, line, ("unknown placeholder @%s@"):format(name))
    end
    if type(v) == "boolean" then
        return v and "true" or "false"
    end
    return tostring(v)
end

local function truthy(v)
    return v == true or (type(v) == "string" and v ~= "") or type(v) == "number"
end

-- Replaces the inline placeholders of one line.
local function inline(text, vars, where, line)
    local out = text:gsub("@([%w_]*)@", function(name)
        if name == "" then
            return "@"
        end
        return lookup(vars, name, where, line)
    end)
    return out
end

-- A standalone variable: every line of its value gets the indentation.
local function block(indent, name, vars, where, line, out)
    local value = lookup(vars, name, where, line)
    if value == "" then
        return
    end
    for l in (value:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
        out[#out + 1] = l == "" and "" or indent .. l
    end
end

-- A directive alone on its line: "if", "unless", "else", "end", or nil.
local function directive(text)
    local word, name = text:match("^%s*@(%a+)%s+([%w_]+)@%s*$")
    if word == "if" or word == "unless" then
        return word, name
    end
    word = text:match("^%s*@(%a+)@%s*$")
    if word == "else" or word == "end" then
        return word
    end
    return nil
end

local function split_lines(text)
    local lines = {}
    for l in text:gmatch("([^\n]*)\n") do
        lines[#lines + 1] = l
    end
    local last = text:match("([^\n]+)$")
    if last then
        lines[#lines + 1] = last
    end
    return lines, last == nil
end

-- Handles a directive line; returns true when the line was one.
local function conditional(word, name, stack, vars, where, n)
    if word == "if" or word == "unless" then
        local value = vars[name]
        if value == nil then
            fail(where, n, ("unknown flag @%s %s@"):format(word, name))
        end
        local keep = truthy(value)
        if word == "unless" then
            keep = not keep
        end
        local outer = #stack == 0 or stack[#stack].active
        insert(stack, { active = outer and keep, outer = outer, keep = keep, line = n })
    elseif word == "else" then
        local top = stack[#stack] or fail(where, n, "@else@ without @if@")
        top.active = top.outer and not top.keep
    else
        if not remove(stack) then
            fail(where, n, "@end@ without @if@")
        end
    end
end

--- Renders `text` with `vars`; `where` names the template in errors.
function _M.render(text, vars, where)
    where = where or "template"
    local lines, final_newline = split_lines(text)
    local out, stack = {}, {}
    for n, l in ipairs(lines) do
        local word, name = directive(l)
        if word then
            conditional(word, name, stack, vars, where, n)
        elseif #stack == 0 or stack[#stack].active then
            local indent, only = l:match("^(%s*)@([%a_][%w_]*)@%s*$")
            if only then
                block(indent, only, vars, where, n, out)
            else
                out[#out + 1] = inline(l, vars, where, n)
            end
        end
    end
    if #stack > 0 then
        fail(where, stack[#stack].line, "@if@ without @end@")
    end
    if #out == 0 then
        return ""
    end
    return concat(out, "\n") .. (final_newline and "\n" or "")
end

--- Renders a relative path (placeholders only, no directives).
function _M.render_path(path, vars, where)
    return inline(path, vars, where or path, 1)
end

return _M
