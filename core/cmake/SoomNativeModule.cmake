# soom_native_module(NAME SOURCES file.c... [OUTPUT_DIR dir] [PACKAGES target...])
#
# A native module built in-tree exactly as one built outside would be: a
# shared object NAME.so (target native_NAME) that includes only the public headers (soom/module.h)
# and links nothing of the core, its symbols hidden but its entry point.
# PACKAGES are the third-party libraries it uses itself (zlib, zstd).
function(soom_native_module name)
  cmake_parse_arguments(M "" "OUTPUT_DIR" "SOURCES;PACKAGES" ${ARGN})
  if(NOT M_OUTPUT_DIR)
    set(M_OUTPUT_DIR ${SOOM_BUILD_MODULEDIR})
  endif()
  set(target native_${name})
  add_library(${target} MODULE ${M_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/include)
  set_target_properties(${target} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${M_OUTPUT_DIR})
  foreach(pkg ${M_PACKAGES})
    target_link_libraries(${target} PRIVATE ${pkg})
  endforeach()
endfunction()
