/*
 * The columns of the database's CHECK constraints (see soom/pg.h), so that
 * a violation answers with a pointer to each field it is about, as a NOT
 * NULL violation does. PostgreSQL's error names the table and the
 * constraint only; pg_constraint.conkey has the columns, and the serving
 * process reads it once at start-up (soom.core.checks).
 *
 * The list is one block, replaced whole under a lock and never freed while
 * a reader may hold it: an old list is kept (start-up sets it once, a
 * reload again, so a few lists at most live for the process).
 */
#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "pg_checks.h"

struct check {
    const char *table;
    const char *constraint;
    const char *const *columns;
    size_t ncolumns;
};

struct checks {
    struct check *list;
    size_t n;
    struct checks *older; /* kept, not freed: a reader may still hold it */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct checks *current;

void soom_pg_checks_set(const struct soom_pg_check *list, size_t n)
{
    struct checks *c = xcalloc(1, sizeof *c);
    c->list = xcalloc(n > 0 ? n : 1, sizeof *c->list);
    for (size_t i = 0; i < n; i++) {
        const char **cols = xcalloc(list[i].ncolumns + 1, sizeof *cols);
        for (size_t k = 0; k < list[i].ncolumns; k++)
            cols[k] = xstrdup(list[i].columns[k]);
        c->list[i] = (struct check){xstrdup(list[i].table), xstrdup(list[i].constraint), cols,
                                    list[i].ncolumns};
    }
    c->n = n;
    pthread_mutex_lock(&lock);
    c->older = current;
    current = c;
    pthread_mutex_unlock(&lock);
}

size_t pg_checks_columns(const char *table, const char *constraint, const char *const **columns)
{
    if (table == NULL || constraint == NULL || constraint[0] == '\0')
        return 0;
    pthread_mutex_lock(&lock);
    const struct checks *c = current;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        const struct check *k = &c->list[i];
        if (strcmp(k->constraint, constraint) == 0 && strcmp(k->table, table) == 0) {
            *columns = k->columns;
            return k->ncolumns;
        }
    }
    return 0;
}
