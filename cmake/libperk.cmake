# libperk, the embedding library (embed/ behind include/perk/perk.h), as a shared and a static
# library with install rules, a pkg-config file and a CMake package config; and the link of
# `perk serve` (cli/serve.cpp), which uses the same session through embed/session.h.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

perk_library(perk_embed embed)
target_include_directories(perk_embed PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(perk_embed PUBLIC perk_runtime)

# cpp-httplib: Debian ships it compiled (libcpp-httplib.so), so the header alone is not enough.
find_library(HTTPLIB_LIBRARY NAMES cpp-httplib REQUIRED)
# OpenSSL: `perk serve --tls-cert/--tls-key` (cli/serve_http.cpp).
find_package(OpenSSL REQUIRED)
target_link_libraries(perk PRIVATE perk_embed ${HTTPLIB_LIBRARY} OpenSSL::SSL OpenSSL::Crypto Threads::Threads)

file(GLOB EMBED_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/embed/*_test.cpp)
target_sources(perk_unit_tests PRIVATE ${EMBED_TEST_SOURCES})
target_link_libraries(perk_unit_tests PRIVATE perk_embed)

# The C API is the whole ABI: the exported symbols are exactly the PERK_API functions of perk.h,
# so nothing of the C++ inside (or of stdlib's extern "C" helpers) leaks into users' programs.
file(READ ${CMAKE_SOURCE_DIR}/include/perk/perk.h PERK_HEADER)
string(REGEX MATCHALL "\nPERK_API [^(]*\\(" PERK_API_DECLS "${PERK_HEADER}")
set(PERK_EXPORTS "")
foreach(decl ${PERK_API_DECLS})
  string(REGEX REPLACE ".*[ *]([a-z_0-9]+)\\($" "\\1" fn "${decl}")
  string(APPEND PERK_EXPORTS "    ${fn};\n")
endforeach()
set(PERK_VERSION_SCRIPT ${CMAKE_BINARY_DIR}/libperk.map)
file(WRITE ${PERK_VERSION_SCRIPT} "LIBPERK_0 {\n  global:\n${PERK_EXPORTS}  local: *;\n};\n")

set(PERK_LIB_DEPS perk_runtime perk_compiler perk_stdlib perk_grammar)
add_library(perk_shared SHARED $<TARGET_OBJECTS:perk_embed>)
target_link_libraries(perk_shared PRIVATE ${PERK_LIB_DEPS} LLVM Threads::Threads)
target_link_options(perk_shared PRIVATE -Wl,--version-script=${PERK_VERSION_SCRIPT} -Wl,--exclude-libs,ALL
                    -Wl,--no-undefined)
set_target_properties(perk_shared PROPERTIES OUTPUT_NAME perk VERSION ${PROJECT_VERSION} SOVERSION 0
                      LINK_DEPENDS ${PERK_VERSION_SCRIPT})
target_include_directories(perk_shared INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>)

# One archive holding every object of the library and of the phases under it, so that a
# static user links -lperk plus the system libraries listed in perk.pc's Libs.private.
add_library(perk_static STATIC $<TARGET_OBJECTS:perk_embed> $<TARGET_OBJECTS:perk_runtime>
            $<TARGET_OBJECTS:perk_compiler> $<TARGET_OBJECTS:perk_stdlib> $<TARGET_OBJECTS:perk_grammar>)
set_target_properties(perk_static PROPERTIES OUTPUT_NAME perk)

# The system libraries a static user needs; also what perkConfig.cmake gives perk::perk_static.
# Both files find the install prefix relative to where they sit, so `cmake --install --prefix`
# anywhere gives a working tree.
file(RELATIVE_PATH PERK_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
file(RELATIVE_PATH PERK_CONFIG_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/cmake/perk /root)
string(REGEX REPLACE "/$" "" PERK_PC_TO_PREFIX "${PERK_PC_TO_PREFIX}")
string(REGEX REPLACE "/$" "" PERK_CONFIG_TO_PREFIX "${PERK_CONFIG_TO_PREFIX}")
set(PERK_STATIC_LIBS "-lantlr4-runtime -lfmt -lsimdjson -lLLVM-19 -lsqlite3 -labsl_time -labsl_time_zone -labsl_int128 -labsl_base -lstdc++ -lm -lpthread")
configure_file(${CMAKE_SOURCE_DIR}/cmake/perk.pc.in ${CMAKE_BINARY_DIR}/perk.pc @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/cmake/perkConfig.cmake.in ${CMAKE_BINARY_DIR}/perkConfig.cmake @ONLY)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/perkConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)

install(TARGETS perk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS perk_shared perk_static
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/perk/perk.h ${CMAKE_SOURCE_DIR}/include/perk/perk.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/perk)
install(FILES ${CMAKE_BINARY_DIR}/perk.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${CMAKE_BINARY_DIR}/perkConfig.cmake ${CMAKE_BINARY_DIR}/perkConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/perk)
