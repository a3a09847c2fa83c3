/*
 * nox-eval --signatures and --check-types: see signatures.h.
 */
#include "signatures.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nox/types.h"

#define MAX_LINE 4096

/* ---- --signatures --------------------------------------------------------- */

/* The type variables a descriptor's slots use, as a bit mask. */
static unsigned vars_used(const nox_operator *d) {
    unsigned used = 0;
    for (unsigned i = 0; i < d->n_inputs && i < NOX_MAX_ARITY; i++)
        if (NOX_SLOT_IS_VAR(d->inputs[i])) used |= 1u << NOX_SLOT_VAR_INDEX(d->inputs[i]);
    for (unsigned i = 0; i < d->n_outputs && i < NOX_MAX_ARITY; i++)
        if (NOX_SLOT_IS_VAR(d->outputs[i])) used |= 1u << NOX_SLOT_VAR_INDEX(d->outputs[i]);
    return used;
}

static void print_slots(FILE *out, const uint16_t *slots, unsigned n) {
    fputc('[', out);
    for (unsigned i = 0; i < n; i++) fprintf(out, "%s%u", i ? ", " : "", (unsigned)slots[i]);
    fputc(']', out);
}

/* A typeset as 0x + 64 hex digits: bits[3] is the most significant limb. */
static void print_typeset(FILE *out, const nox_typeset *set) {
    fputs("\"0x", out);
    for (int w = 3; w >= 0; w--) fprintf(out, "%016llx", (unsigned long long)set->bits[w]);
    fputc('"', out);
}

/* Names are [a-z][a-z0-9_]* (checked at load), so they need no JSON escaping; a plugin's own
 * name is free text and is escaped. */
static void print_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

int eval_print_signatures(const nox_engine *engine, FILE *out) {
    fputs("{\"operators\": [", out);
    for (size_t i = 0; i < nox_engine_op_count(engine); i++) {
        const nox_op *op = nox_engine_op_at(engine, i);
        fprintf(out, "%s\n {\"id\": %u, \"name\": ", i ? "," : "", nox_op_id(op));
        print_json_string(out, nox_op_name(op));
        fprintf(out, ", \"nInputs\": %u, \"nOutputs\": %u, \"implementations\": [", nox_op_n_inputs(op),
                nox_op_n_outputs(op));
        for (size_t j = 0; j < nox_op_impl_count(op); j++) {
            const nox_impl *impl = nox_op_impl_at(op, j);
            const nox_operator *d = nox_impl_descriptor(impl);
            fputs(j ? ",\n   {\"plugin\": " : "\n   {\"plugin\": ", out);
            print_json_string(out, nox_plugin_name(nox_impl_plugin(impl)));
            fputs(", \"inputs\": ", out);
            print_slots(out, d->inputs, d->n_inputs);
            fputs(", \"outputs\": ", out);
            print_slots(out, d->outputs, d->n_outputs);
            fputs(", \"typeSets\": [", out);
            unsigned used = vars_used(d);
            for (unsigned k = 0; k < NOX_MAX_TYPEVARS; k++) {
                nox_typeset none = {{0}};
                if (k) fputs(", ", out);
                print_typeset(out, (used & (1u << k)) ? &d->typevars[k] : &none);
            }
            fputs("]}", out);
        }
        fputs("]}", out);
    }
    fputs("\n]}\n", out);
    return fflush(out) || ferror(out) ? 1 : 0;
}

/* ---- --check-types -------------------------------------------------------- */

/* A declared output code 106..255 (reserved): never passed to nox_op_resolve, where 255 is
 * NOX_TYPE_INFER. Any reserved code serves as the marker, since they are all refused alike. */
#define RESERVED_OUTPUT 254

/* One type: a decimal code 0..255 or a name. For an output ("?" allowed): "?" is
 * NOX_TYPE_INFER and a reserved code becomes RESERVED_OUTPUT. */
static int parse_type(const char *word, int output, uint8_t *code, char *why, size_t cap) {
    if (output && !strcmp(word, "?")) {
        *code = NOX_TYPE_INFER;
        return 0;
    }
    if (word[0] >= '0' && word[0] <= '9') {
        char *end;
        errno = 0;
        unsigned long v = strtoul(word, &end, 10);
        if (*end || errno || v > 255) {
            snprintf(why, cap, "'%.32s' is not a type code 0..255", word);
            return -1;
        }
        *code = output && !nox_type_is_known((unsigned)v) ? RESERVED_OUTPUT : (uint8_t)v;
        return 0;
    }
    nox_error err = {0};
    if (nox_type_from_name(word, code, &err)) {
        snprintf(why, cap, "unknown type '%.32s'", word);
        return -1;
    }
    return 0;
}

/* A comma-separated list of at most NOX_MAX_ARITY types, or "-" for none. */
static int parse_list(char *text, int output, uint8_t *codes, size_t *n, char *why, size_t cap) {
    *n = 0;
    if (!strcmp(text, "-")) return 0;
    char *save = NULL;
    for (char *t = strtok_r(text, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == NOX_MAX_ARITY) {
            snprintf(why, cap, "more than %d types in a list", NOX_MAX_ARITY);
            return -1;
        }
        if (parse_type(t, output, &codes[*n], why, cap)) return -1;
        (*n)++;
    }
    if (*n == 0) {
        snprintf(why, cap, "an empty type list (write - for none)");
        return -1;
    }
    return 0;
}

/* Answers one line; returns 1 when it did not parse. */
static int check_line(const nox_engine *engine, char *line, FILE *out) {
    char why[160];
    char *save = NULL, *words[5];
    int n = 0;
    for (char *w = strtok_r(line, " \t", &save); w && n < 5; w = strtok_r(NULL, " \t", &save)) words[n++] = w;
    if (n != 4 || strcmp(words[2], "->")) {
        fprintf(out, "error: expected 'ID IN,IN,... -> OUT,OUT,...'\n");
        return 1;
    }
    char *end;
    errno = 0;
    unsigned long id = strtoul(words[0], &end, 10);
    if (*end || errno || words[0][0] < '0' || words[0][0] > '9' || id > 65535) {
        fprintf(out, "error: '%.32s' is not an operator id 0..65535\n", words[0]);
        return 1;
    }
    uint8_t in[NOX_MAX_ARITY], decl[NOX_MAX_ARITY];
    size_t n_in, n_out;
    if (parse_list(words[1], 0, in, &n_in, why, sizeof why) || parse_list(words[3], 1, decl, &n_out, why, sizeof why)) {
        fprintf(out, "error: %s\n", why);
        return 1;
    }
    const nox_op *op = nox_engine_find_id(engine, (unsigned)id);
    if (!op) {
        fprintf(out, "refused: no operator has id %lu\n", id);
        return 0;
    }
    for (size_t i = 0; i < n_out; i++)
        if (decl[i] == RESERVED_OUTPUT) {
            fprintf(out, "refused: output %zu has a reserved type code, which no handle carries\n", i);
            return 0;
        }
    nox_call call;
    nox_error err = {0};
    if (nox_op_resolve(op, in, n_in, decl, n_out, &call, &err)) {
        fprintf(out, "refused: %s\n", err.message);
        return 0;
    }
    fputs("ok ", out);
    for (unsigned i = 0; i < call.n_outputs; i++) fprintf(out, "%s%u", i ? "," : "", call.out_types[i]);
    fputc('\n', out);
    return 0;
}

int eval_check_types(const nox_engine *engine, FILE *in, FILE *out) {
    char line[MAX_LINE + 2];
    int failed = 0;
    while (fgets(line, sizeof line, in)) {
        size_t len = strlen(line);
        if (len > MAX_LINE && line[len - 1] != '\n') {
            int c;
            while ((c = fgetc(in)) != EOF && c != '\n') {}
            fprintf(out, "error: longer than %d bytes\n", MAX_LINE);
            failed = 1;
            continue;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        failed |= check_line(engine, line, out);
    }
    return fflush(out) || ferror(out) || failed ? 1 : 0;
}
