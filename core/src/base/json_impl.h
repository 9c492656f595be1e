/*
 * base's private view of JSON parsing: the RFC 8259 scan that runs before
 * cJSON (json_scan.c) and what it hands the parse (json.c).
 *
 * The scan checks the whole grammar, so cJSON only ever builds trees of
 * valid text. cJSON keeps a number only as a double, which rounds integers
 * beyond 2^53 and long decimals: the scan notes every number that a double
 * may not hold exactly, and the parse keeps the text of those numbers
 * beside their double (struct json_notes, owned by the caller of the scan,
 * freed with json_notes_free).
 */
#ifndef SOOM_JSON_IMPL_H
#define SOOM_JSON_IMPL_H

#include <stddef.h>

#include "soom/json.h"

/* The deepest nesting the scan tracks (settings.json_max_depth's top). */
#define JSON_SCAN_MAX_LEVELS 512

/* cJSON parses a number from at most this many characters. */
#define JSON_NUMBER_MAX_LEN 63

struct json_note {
    size_t number; /* the ordinal of the number token in the text */
    size_t offset, len;
};

struct json_notes {
    struct json_note *v;
    size_t n, cap;
};

/* Scans (p, n) as RFC 8259 JSON text nesting at most `max_depth` levels.
 * Returns SOOM_OK, SOOM_EBADJSON, SOOM_EUTF8 or SOOM_EDEPTH for text that
 * is not valid (err->offset, err->reason), or SOOM_EVALUE for valid text
 * holding a value the core cannot take (err->pointer, err->code). Appends
 * the numbers a double may not hold exactly to `notes` when not NULL. */
int json_scan(const char *p, size_t n, int max_depth, struct json_notes *notes,
              struct soom_json_error *err);

void json_notes_free(struct json_notes *notes);

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
size_t json_utf8_seq(const unsigned char *p, size_t n);

#endif
