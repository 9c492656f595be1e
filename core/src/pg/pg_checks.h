/*
 * The CHECK constraints' columns set by soom_pg_checks_set (pg_checks.c),
 * read by pg_error.c. Private to this folder.
 */
#ifndef SOOM_PG_CHECKS_H
#define SOOM_PG_CHECKS_H

#include <stddef.h>

#include "soom/pg.h"

/* The columns of `constraint` on `table` in *columns (borrowed, valid for
 * the process) and their number; 0 when the constraint is not known. */
size_t pg_checks_columns(const char *table, const char *constraint, const char *const **columns);

#endif
