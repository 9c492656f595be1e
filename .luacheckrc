-- luacheck configuration: LuaJIT, no globals, 100 columns.
std = "luajit"
max_line_length = 110
codes = true
ignore = { "212/self", "212/_.*" }
exclude_files = { "build*/**" }
