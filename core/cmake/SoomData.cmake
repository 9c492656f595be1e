# soom_copy_tree(TARGET SRC_DIR DEST_DIR GLOB...)
# Copies data files into the build tree at build time (re-copied when they
# change), so the built binary finds them exactly where an installed one
# would, and never reads the source tree.
function(soom_copy_tree target src dest)
  set(outputs)
  foreach(pattern ${ARGN})
    file(GLOB_RECURSE files CONFIGURE_DEPENDS RELATIVE ${src} ${src}/${pattern})
    foreach(rel ${files})
      add_custom_command(
        OUTPUT ${dest}/${rel}
        COMMAND ${CMAKE_COMMAND} -E copy_if_different ${src}/${rel} ${dest}/${rel}
        DEPENDS ${src}/${rel}
        VERBATIM)
      list(APPEND outputs ${dest}/${rel})
    endforeach()
  endforeach()
  add_custom_target(${target} ALL DEPENDS ${outputs})
endfunction()
