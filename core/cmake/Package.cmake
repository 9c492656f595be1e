# `cpack -G DEB` in a build tree makes soom_<version>_<arch>.deb: the binary,
# the Lua layer, the scaffold templates and the public headers, installed
# under /usr. Its runtime dependencies are read from the binary by
# dpkg-shlibdeps (dpkg-dev), so they follow the libraries soom links with.
# The soom container images install soom from this package (Containerfile).
set(CPACK_PACKAGE_NAME soom)
set(CPACK_PACKAGE_VENDOR "The Soom project")
set(CPACK_PACKAGE_CONTACT "The Soom project <soom@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "framework for production microservices: JSON HTTP APIs over PostgreSQL")
set(CPACK_PACKAGE_DESCRIPTION
    "Soom serves JSON HTTP APIs over PostgreSQL. Its core is C (libmicrohttpd, cJSON,\n libpq, PCRE2); apps are Lua tables run by LuaJIT.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# the app's own database (`soom run` without DATABASE_URL) and `luacheck .`
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, lua-check")
include(CPack)
