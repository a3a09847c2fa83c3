/*
 * A pool of JSON-RPC clients to one node (nox/rpc.h): several calls in
 * flight at once, each on its own kept-alive connection, and never more
 * than the pool's size, so that a slow node ties up at most that many of a
 * server's threads.
 */
#include "nox/clock.h"
#include "nox/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct nox_rpc_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* a client came back */
    nox_rpc **clients;   /* all of them */
    nox_rpc **idle;      /* a stack of the free ones */
    unsigned size, n_idle;
};

nox_status nox_rpc_pool_new(const nox_rpc_options *o, unsigned size, nox_rpc_pool **out, nox_error *err) {
    *out = NULL;
    if (size < 1 || size > NOX_RPC_POOL_MAX)
        return nox_error_set(err, NOX_ERR_INVALID, "an RPC pool holds 1..%u connections, not %u", NOX_RPC_POOL_MAX, size);
    nox_rpc_pool *p = calloc(1, sizeof *p);
    if (!p) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    p->clients = calloc(size, sizeof *p->clients);
    p->idle = calloc(size, sizeof *p->idle);
    pthread_condattr_t a;
    if (!p->clients || !p->idle || pthread_condattr_init(&a)) {
        free(p->clients);
        free(p->idle);
        free(p);
        return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    }
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_init(&p->mu, NULL);
    p->size = size;
    for (unsigned i = 0; i < size; i++) {
        nox_status st = nox_rpc_new(o, &p->clients[i], err);
        if (st) {
            nox_rpc_pool_free(p);
            return st;
        }
        p->idle[p->n_idle++] = p->clients[i];
    }
    *out = p;
    return NOX_OK;
}

void nox_rpc_pool_free(nox_rpc_pool *p) {
    if (!p) return;
    for (unsigned i = 0; i < p->size; i++) nox_rpc_free(p->clients[i]);
    free(p->clients);
    free(p->idle);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

unsigned nox_rpc_pool_size(const nox_rpc_pool *p) { return p->size; }

nox_rpc *nox_rpc_pool_take(nox_rpc_pool *p, unsigned wait_ms) {
    struct timespec until = nox_clock_after_ms(CLOCK_MONOTONIC, wait_ms);
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    while (p->n_idle == 0 && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
    nox_rpc *c = p->n_idle ? p->idle[--p->n_idle] : NULL;
    pthread_mutex_unlock(&p->mu);
    return c;
}

void nox_rpc_pool_give(nox_rpc_pool *p, nox_rpc *c) {
    if (!c) return;
    pthread_mutex_lock(&p->mu);
    p->idle[p->n_idle++] = c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
