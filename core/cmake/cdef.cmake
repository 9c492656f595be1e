# Turns soom/ffi.h into the Lua module soom.core.cdef: the declarations the
# Lua layer hands to ffi.cdef. One source for both sides, so C and Lua cannot
# drift apart. Preprocessor lines, comments and SOOM_API are dropped. The
# enums the FFI side reads by name (ENUMS, from the header ENUMS_FROM) come
# first, so Lua uses ffi.C.SOOM_GET rather than a copied number.
#   cmake -DIN=ffi.h -DENUMS_FROM=router.h -DENUMS=soom_method,soom_param_type
#         -DOUT=cdef.lua -P cdef.cmake
function(strip_c var text)
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
  string(REGEX REPLACE "\n#[^\n]*" "" text "\n${text}")
  string(REPLACE "SOOM_API " "" text "${text}")
  string(REGEX REPLACE "\n[ \t]*\n+" "\n" text "${text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

set(enums "")
if(DEFINED ENUMS_FROM)
  file(READ ${ENUMS_FROM} header)
  strip_c(header "${header}")
  string(REPLACE "," ";" ENUMS "${ENUMS}")
  foreach(name ${ENUMS})
    string(REGEX MATCH "enum ${name} {[^}]*};" found "${header}")
    if(found STREQUAL "")
      message(FATAL_ERROR "cdef: enum ${name} not found in ${ENUMS_FROM}")
    endif()
    string(APPEND enums "\n${found}")
  endforeach()
endif()
file(READ ${IN} text)
strip_c(text "${text}")
file(WRITE ${OUT} "-- Generated from core/include/soom/ffi.h by core/cmake/cdef.cmake. Do not edit.\nreturn [[${enums}${text}\n]]\n")
