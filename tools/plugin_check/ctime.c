/*
 * nox-plugin-check --ctime: proves, as libsecp256k1's ctime_tests do, that an
 * operator flagged NOX_OP_CONSTANT_TIME makes no branch and no memory access
 * whose address depends on a secret input.
 *
 * The checker runs itself again under valgrind memcheck (CTIME_CHILD_OPTION).
 * That child loads the plugin, and for every flagged operator and every type
 * combination its signature admits it fills the inputs, marks their limbs
 * undefined (VALGRIND_MAKE_MEM_UNDEFINED: memcheck then treats them as
 * secrets) and calls the operator's eval directly, three times (zeros, all
 * ones, mixed bits). Memcheck reports any conditional jump on, or address
 * computed from, an undefined value; the child counts those reports around
 * each type combination (VALGRIND_COUNT_ERRORS) and reads where the new ones
 * point from valgrind's log. The outputs are marked defined again after eval
 * so that nothing the checker does with them is blamed on the operator.
 *
 * The engine's own input checks (types, arity) are not under test here; the
 * evaluation checks of main.c run outside valgrind, in the same invocation.
 * Not available in an AddressSanitizer build: valgrind and ASan do not mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include "nox/types.h"
#include "nox/value.h"
#include "plugin_check.h"

#define CTIME_SEEDS 3
#define CTIME_MAX_OUTPUT (64u << 20) /* the child's JSON report */

int ctime_find_valgrind(char *out, size_t cap, char *why, size_t why_cap) {
    const char *env = getenv("NOX_VALGRIND");
    if (env && *env) {
        if (access(env, X_OK) == 0) {
            snprintf(out, cap, "%s", env);
            return 0;
        }
        snprintf(why, why_cap, "NOX_VALGRIND=%s is not an executable file", env);
        return -1;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len && len + sizeof "/valgrind" <= cap) {
            snprintf(out, cap, "%.*s/valgrind", (int)len, path);
            if (access(out, X_OK) == 0) return 0;
        }
        path += len + (path[len] == ':');
    }
    snprintf(why, why_cap, "--ctime runs the operators under valgrind, which is not installed (Debian: apt-get "
                           "install valgrind; or set NOX_VALGRIND to its path)");
    return -1;
}

/* ---- the child, under valgrind ------------------------------------------- */

/* Seed 0: zeros; 1: all ones; 2: mixed bits. Canonical for the type. */
static void fill(nox_value *v, uint8_t type, unsigned seed, unsigned slot) {
    nox_value_zero(v, type);
    unsigned bits = nox_type_bits(type), n = nox_type_limbs(type);
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull + (i + 7 * slot) * 0x632be59bd9b4e019ull;
        v->limb[i] = seed == 0 ? 0 : seed == 1 ? ~(uint64_t)0 : x ^ (x >> 29);
    }
    if (n && bits % 64) v->limb[n - 1] &= ((uint64_t)1 << (bits % 64)) - 1;
}

/* What memcheck's first line of an error says, in the checker's words. */
static const char *kind_text(const char *line) {
    if (strstr(line, "Conditional jump or move depends on uninitialised")) return "a branch depends on a secret input";
    if (strstr(line, "Use of uninitialised value")) return "a memory address (a table index) depends on a secret input";
    if (strstr(line, "Syscall param")) return "a system call's argument depends on a secret input";
    return NULL;
}

/*
 * The memcheck reports logged since *offset, summarised as "KIND, at FRAME"
 * (the first one). Memcheck logs each place once: when nothing new was logged,
 * out keeps what it holds (the caller's last summary, the same place).
 */
static void new_reports(const char *log_path, long *offset, char *out, size_t cap) {
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    if (fseek(f, *offset, SEEK_SET) != 0) {
        fclose(f);
        return;
    }
    char line[1024], kind[1024] = "";
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* "==PID== text" */
        const char *t = line;
        if (t[0] == '=' && t[1] == '=') {
            const char *e = strstr(t + 2, "== ");
            t = e ? e + 3 : t;
        }
        if (found) continue;
        if (!*kind) {
            if (*t && *t != ' ') {
                const char *k = kind_text(t);
                snprintf(kind, sizeof kind, "%s", k ? k : t);
            }
            continue;
        }
        const char *at = strstr(t, "at 0x");
        if (at) {
            const char *frame = strstr(at, ": ");
            snprintf(out, cap, "%s, at %s", kind, frame ? frame + 2 : at);
            found = 1;
        }
    }
    if (*kind && !found) snprintf(out, cap, "%s", kind);
    *offset = ftell(f);
    fclose(f);
}

/* Every type combination of one flagged operator; the leaks into `leaks`. Returns the combinations checked. */
static size_t check_operator(const nox_impl *impl, const char *log_path, long *log_offset, unsigned timeout,
                             json_t *leaks, json_t *unresolved, size_t *evaluations) {
    const nox_operator *d = nox_impl_descriptor(impl);
    size_t n = 0, all = 0, checked = 0;
    combo *cs = pc_enumerate(d, &n, &all);
    for (size_t c = 0; c < n; c++) {
        char label[256];
        pc_combo_label(d, &cs[c], label, sizeof label);
        nox_call call;
        nox_error err = {0};
        if (nox_impl_resolve(impl, cs[c].in, d->n_inputs, cs[c].out, d->n_outputs, &call, &err)) {
            json_array_append_new(unresolved, json_pack("{s:s, s:s}", "types", label, "error", err.message));
            continue;
        }
        nox_value in[NOX_MAX_ARITY], out[NOX_MAX_ARITY];
        unsigned before = VALGRIND_COUNT_ERRORS;
        alarm(timeout);
        for (unsigned seed = 0; seed < CTIME_SEEDS; seed++) {
            for (unsigned i = 0; i < d->n_inputs; i++) {
                fill(&in[i], cs[c].in[i], seed, i);
                VALGRIND_MAKE_MEM_UNDEFINED(in[i].limb, nox_type_limbs(cs[c].in[i]) * sizeof in[i].limb[0]);
            }
            for (unsigned i = 0; i < d->n_outputs; i++) nox_value_zero(&out[i], call.out_types[i]);
            int rc = d->eval(in, out, d->data);
            VALGRIND_MAKE_MEM_DEFINED(&rc, sizeof rc);
            for (unsigned i = 0; i < d->n_outputs; i++) VALGRIND_MAKE_MEM_DEFINED(&out[i], sizeof out[i]);
            (*evaluations)++;
        }
        alarm(0);
        unsigned errors = VALGRIND_COUNT_ERRORS - before;
        if (errors) {
            static char what[1024] = "a secret input reaches a branch or an address (valgrind logged the place once)";
            new_reports(log_path, log_offset, what, sizeof what);
            json_array_append_new(leaks, json_pack("{s:s, s:I, s:s}", "types", label, "errors", (json_int_t)errors,
                                                   "what", what));
        }
        checked++;
    }
    free(cs);
    return checked;
}

static void ignore_problem(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

int ctime_child_main(int argc, char **argv) {
    /* argv: PROGRAM --ctime-child PLUGIN LOG TIMEOUT [KEY=VALUE]... */
    if (argc < 5 || !RUNNING_ON_VALGRIND) {
        fprintf(stderr, "nox-plugin-check: %s is internal: use --ctime\n", CTIME_CHILD_OPTION);
        return 2;
    }
    const char *path = argv[2], *log_path = argv[3];
    unsigned timeout = (unsigned)strtoul(argv[4], NULL, 10);
    const char *keys[64], *values[64];
    char *bufs[64];
    size_t n_opts = 0;
    for (int i = 5; i < argc && n_opts < 64; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) continue;
        bufs[n_opts] = strndup(argv[i], (size_t)(eq - argv[i]));
        if (!bufs[n_opts]) return 2;
        keys[n_opts] = bufs[n_opts];
        values[n_opts++] = eq + 1;
    }
    nox_plugin *p = NULL;
    nox_error err = {0};
    if (nox_plugin_inspect(path, keys, values, n_opts, ignore_problem, NULL, &p, &err)) {
        fprintf(stderr, "nox-plugin-check: --ctime: %s\n", err.message);
        return 2;
    }
    long log_offset = 0;
    size_t evaluations = 0, total_leaks = 0;
    json_t *ops = json_array();
    for (size_t i = 0; i < nox_plugin_impl_count(p); i++) {
        const nox_impl *impl = nox_plugin_impl_at(p, i);
        const nox_operator *d = nox_impl_descriptor(impl);
        json_t *op = json_pack("{s:s, s:i, s:b}", "name", d->name, "id", (int)d->id, "constant_time",
                               (d->flags & NOX_OP_CONSTANT_TIME) != 0);
        if (d->flags & NOX_OP_CONSTANT_TIME) {
            json_t *leaks = json_array(), *unresolved = json_array();
            size_t checked = check_operator(impl, log_path, &log_offset, timeout, leaks, unresolved, &evaluations);
            total_leaks += json_array_size(leaks);
            json_object_set_new(op, "type_combinations", json_integer((json_int_t)checked));
            json_object_set_new(op, "leaks", leaks);
            json_object_set_new(op, "unresolved", unresolved);
        }
        json_array_append_new(ops, op);
    }
    json_t *j = json_pack("{s:o, s:I, s:I}", "operators", ops, "leaks", (json_int_t)total_leaks, "evaluations",
                          (json_int_t)evaluations);
    char *s = json_dumps(j, JSON_COMPACT);
    fputs(s, stdout);
    free(s);
    json_decref(j);
    nox_plugin_close(p);
    for (size_t i = 0; i < n_opts; i++) free(bufs[i]);
    return 0;
}

/* ---- the parent ------------------------------------------------------------ */

/* The last lines of valgrind's log, for a pass that failed. */
static void log_tail(const char *log_path, char *out, size_t cap) {
    out[0] = '\0';
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char line[512];
    size_t off = 0;
    while (fgets(line, sizeof line, f)) {
        if (off > cap / 2) off = 0; /* keep roughly the end */
        int w = snprintf(out + off, cap - off, "%s", line);
        if (w > 0) off += (size_t)w < cap - off ? (size_t)w : cap - off - 1;
    }
    fclose(f);
}

int ctime_run(const ctime_request *r, json_t **result, char *why, size_t cap) {
    char self[PATH_MAX];
    const char *valgrind = r->valgrind;
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        snprintf(why, cap, "--ctime: cannot find this executable (/proc/self/exe: %s)", strerror(errno));
        return -1;
    }
    self[len] = '\0';
    char log_path[] = "/tmp/nox-plugin-check-ctime-XXXXXX";
    int log_fd = mkstemp(log_path);
    if (log_fd < 0) {
        snprintf(why, cap, "--ctime: a log file in /tmp: %s", strerror(errno));
        return -1;
    }
    close(log_fd);
    char log_opt[sizeof log_path + 16], timeout[16];
    snprintf(log_opt, sizeof log_opt, "--log-file=%s", log_path);
    snprintf(timeout, sizeof timeout, "%u", r->timeout);
    size_t n_args = 0;
    char **args = calloc(16 + r->n_opts, sizeof *args);
    char **opt_text = calloc(r->n_opts ? r->n_opts : 1, sizeof *opt_text);
    if (!args || !opt_text) abort();
    const char *fixed[] = {valgrind, "--quiet", "--tool=memcheck", "--error-limit=no", "--leak-check=no",
                           "--child-silent-after-fork=yes", log_opt, self, CTIME_CHILD_OPTION, r->path, log_path,
                           timeout};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) args[n_args++] = (char *)fixed[i];
    for (size_t i = 0; i < r->n_opts; i++) {
        size_t l = strlen(r->opt_keys[i]) + strlen(r->opt_values[i]) + 2;
        opt_text[i] = malloc(l);
        if (!opt_text[i]) abort();
        snprintf(opt_text[i], l, "%s=%s", r->opt_keys[i], r->opt_values[i]);
        args[n_args++] = opt_text[i];
    }
    args[n_args] = NULL;

    int rc = -1, fds[2];
    char *buf = NULL;
    if (pipe(fds)) {
        snprintf(why, cap, "--ctime: pipe: %s", strerror(errno));
        goto done;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "--ctime: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        goto done;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(valgrind, args);
        fprintf(stderr, "nox-plugin-check: --ctime: cannot run %s: %s\n", valgrind, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0, bcap = 0;
    for (;;) {
        if (used + 4096 + 1 > bcap) {
            bcap = bcap ? bcap * 2 : 65536;
            char *nb = bcap <= CTIME_MAX_OUTPUT ? realloc(buf, bcap) : NULL;
            if (!nb) break;
            buf = nb;
        }
        ssize_t got = read(fds[0], buf + used, 4096);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        used += (size_t)got;
    }
    close(fds[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
    if (buf) buf[used] = '\0';
    json_error_t jerr;
    json_t *j = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && buf ? json_loads(buf, 0, &jerr) : NULL;
    if (!j) {
        char tail[2048];
        log_tail(log_path, tail, sizeof tail);
        if (WIFSIGNALED(wstatus))
            snprintf(why, cap, "--ctime: the pass under valgrind died of signal %d (a crash or a timeout: the "
                     "evaluation checks name the inputs); valgrind's log ends with:\n%s", WTERMSIG(wstatus), tail);
        else
            snprintf(why, cap, "--ctime: the pass under valgrind exited %d%s%s", WEXITSTATUS(wstatus),
                     *tail ? "; valgrind's log ends with:\n" : "", tail);
        goto done;
    }
    *result = j;
    rc = 0;
done:
    unlink(log_path);
    free(buf);
    for (size_t i = 0; i < r->n_opts; i++) free(opt_text[i]);
    free(opt_text);
    free(args);
    return rc;
}

void ctime_print(const json_t *result) {
    json_t *ops = json_object_get(result, "operators");
    printf("\nconstant time (valgrind memcheck, inputs marked secret; %lld evaluations):\n",
           (long long)json_integer_value(json_object_get(result, "evaluations")));
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        const char *name = json_string_value(json_object_get(op, "name"));
        int id = (int)json_integer_value(json_object_get(op, "id"));
        if (!json_is_true(json_object_get(op, "constant_time"))) {
            printf("  %-16s id %-5d not flagged NOX_OP_CONSTANT_TIME: not checked\n", name, id);
            continue;
        }
        json_t *leaks = json_object_get(op, "leaks");
        long long n = json_integer_value(json_object_get(op, "type_combinations"));
        size_t n_leaks = json_array_size(leaks);
        if (!n_leaks) {
            printf("  %-16s id %-5d ok on %lld type combination%s\n", name, id, n, n == 1 ? "" : "s");
        } else {
            printf("  %-16s id %-5d LEAK on %zu of %lld type combination%s: flagged NOX_OP_CONSTANT_TIME, but\n", name,
                   id, n_leaks, n, n == 1 ? "" : "s");
            /* one line per place, with the types that reach it */
            for (size_t a = 0; a < n_leaks; a++) {
                const char *what = json_string_value(json_object_get(json_array_get(leaks, a), "what"));
                int seen = 0;
                for (size_t b = 0; b < a && !seen; b++)
                    seen = !strcmp(what, json_string_value(json_object_get(json_array_get(leaks, b), "what")));
                if (seen) continue;
                printf("      %s (on", what);
                size_t shown = 0, more = 0;
                for (size_t b = a; b < n_leaks; b++) {
                    json_t *lb = json_array_get(leaks, b);
                    if (strcmp(what, json_string_value(json_object_get(lb, "what")))) continue;
                    if (shown < 8) printf("%s %s", shown ? "," : "", json_string_value(json_object_get(lb, "types")));
                    else more++;
                    shown++;
                }
                if (more) printf(" and %zu more", more);
                printf(")\n");
            }
            printf("      fix: choose with masks instead of `if`, loop over the type's limbs only, index no table by "
                   "a value (nox/ctint.h); or drop NOX_OP_CONSTANT_TIME\n");
        }
        size_t k;
        json_t *u;
        json_array_foreach(json_object_get(op, "unresolved"), k, u) {
            printf("      %s: not evaluated (%s)\n", json_string_value(json_object_get(u, "types")),
                   json_string_value(json_object_get(u, "error")));
        }
    }
}
