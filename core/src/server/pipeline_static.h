/*
 * The pipeline's answer for routes of static bytes (the OpenAPI document,
 * the docs pages and their assets): a leaf under pipeline.c.
 */
#ifndef SOOM_PIPELINE_STATIC_H
#define SOOM_PIPELINE_STATIC_H

#include "request_impl.h"

/* Answers a request routed to static bytes: 200 with them, or 304 when
 * If-None-Match names their ETag; both with the ETag, the Cache-Control
 * and the other headers of the route. */
void soom_pipeline_static(struct soom_request *r);

#endif
