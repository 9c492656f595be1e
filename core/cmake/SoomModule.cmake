# soom_module(NAME SOURCES file.c... [DEPENDS module...] [PACKAGES target...])
#
# One core module: an object library core_<NAME> built from the listed
# sources of core/src/<NAME>/. Its folder (sources and private headers) is
# on its own include path only; its include/ folder (the module's interface
# to the rest of the core) is on the path of every module that DEPENDS on
# it, directly or through another module. A file that includes a header of
# a module it does not depend on, or a private header of another module,
# does not compile. PACKAGES are the third-party libraries (imported
# pkg-config targets) the module itself includes.
function(soom_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPENDS;PACKAGES" ${ARGN})
  set(target core_${name})
  add_library(${target} OBJECT ${M_SOURCES})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  target_include_directories(${target} PUBLIC ${SOOM_PUBLIC_INCLUDE})
  target_compile_definitions(${target} PRIVATE SOOM_INSTALL_DATADIR="${SOOM_INSTALL_DATADIR}")
  foreach(dep ${M_DEPENDS})
    target_link_libraries(${target} PUBLIC core_${dep})
  endforeach()
  foreach(pkg ${M_PACKAGES})
    target_link_libraries(${target} PRIVATE ${pkg})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY SOOM_MODULES ${target})
  set_property(GLOBAL APPEND PROPERTY SOOM_PACKAGES ${M_PACKAGES})
endfunction()
