# Fails when a C file of the project is not formatted by .clang-format.
file(GLOB_RECURSE files ${SOURCE}/core/*.c ${SOURCE}/core/*.h ${SOURCE}/tests/c/*.c
     ${SOURCE}/tests/c/*.h ${SOURCE}/bench/*.c ${SOURCE}/modules/*.c ${SOURCE}/tests/modules/*.c)
execute_process(COMMAND clang-format --dry-run --Werror ${files}
                RESULT_VARIABLE rc ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format: these files need formatting (run clang-format -i):\n${out}")
endif()
message(STATUS "clang-format: ${CMAKE_ARGC} ok")
