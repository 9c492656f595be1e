/*
 * Soom: the public umbrella header.
 *
 * Native modules and tests include this file (or one of the headers it
 * pulls in). It defines SOOM_API, which marks the symbols the soom binary
 * exports to LuaJIT's FFI and to native modules; everything else in the core
 * is built with hidden visibility.
 */
#ifndef SOOM_SOOM_H
#define SOOM_SOOM_H

#include <stddef.h>
#include <stdint.h>

#define SOOM_VERSION "0.1.0"
#define SOOM_VERSION_NUM 100

#if defined(__GNUC__)
#define SOOM_API __attribute__((visibility("default")))
#else
#define SOOM_API
#endif

#endif
