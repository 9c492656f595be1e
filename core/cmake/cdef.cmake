# Turns soom/ffi.h into the Lua module soom.core.cdef: the declarations the
# Lua layer hands to ffi.cdef. One source for both sides, so C and Lua cannot
# drift apart. Preprocessor lines, comments and SOOM_API are dropped.
#   cmake -DIN=ffi.h -DOUT=cdef.lua -P cdef.cmake
file(READ ${IN} text)
string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
string(REGEX REPLACE "\n#[^\n]*" "" text "\n${text}")
string(REPLACE "SOOM_API " "" text "${text}")
string(REGEX REPLACE "\n[ \t]*\n+" "\n" text "${text}")
file(WRITE ${OUT} "-- Generated from core/include/soom/ffi.h by core/cmake/cdef.cmake. Do not edit.\nreturn [[${text}\n]]\n")
