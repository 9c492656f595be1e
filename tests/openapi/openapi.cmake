# The OpenAPI tests that run npm tools (Redocly CLI, Prism, Playwright with
# Debian's Chromium), under the ctest label `npm` so a developer can skip
# them (ctest -LE npm); CI runs them once, outside the sanitizer pass. The
# fixture installs the tools into <build>/npm-tools from the pinned lock
# file (never committed there).
set(SOOM_NPM_TOOLS ${CMAKE_BINARY_DIR}/npm-tools)
add_test(NAME openapi/npm COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/openapi/npm_setup.sh ${SOOM_NPM_TOOLS})
set_tests_properties(openapi/npm PROPERTIES FIXTURES_SETUP npm_tools TIMEOUT 600 LABELS npm)
foreach(name test_lint test_conformance test_browser)
  add_test(NAME openapi/${name} COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/openapi/${name}.py)
  set_tests_properties(openapi/${name} PROPERTIES LABELS npm TIMEOUT 300
    FIXTURES_REQUIRED "npm_tools;postgres"
    ENVIRONMENT "SOOM_BIN=${CMAKE_BINARY_DIR}/bin/soom;SOOM_SOURCE=${PROJECT_SOURCE_DIR};SOOM_NPM_TOOLS=${SOOM_NPM_TOOLS};SOOM_TEST_OUT=${CMAKE_BINARY_DIR}/test-output;DATABASE_URL=${SOOM_TEST_PG_URL};SOOM_TEST_PG_SH=${SOOM_TEST_PG_SH};SOOM_TEST_PG_PORT=${SOOM_TEST_PG_PORT}")
endforeach()
