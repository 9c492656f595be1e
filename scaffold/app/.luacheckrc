-- luacheck configuration (`luacheck .`): LuaJIT, no globals.
std = "luajit"
max_line_length = 110
codes = true
ignore = { "212/self", "212/_.*" }
exclude_files = { ".soom/**" }
