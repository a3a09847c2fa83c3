/* json_kind.h — "an object", "a string", … for errors of the form "expected X, got <kind>" (jansson values). */
#ifndef NOX_JSON_KIND_H
#define NOX_JSON_KIND_H

#include <jansson.h>

const char *nox_json_kind(const json_t *v);

#endif
