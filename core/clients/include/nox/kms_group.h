/*
 * nox/kms_group.h — the Gateway's client of a threshold KMS (docs/PROTOCOL-EXTENSIONS.md §11): the group's
 * nodes behind one call that returns t sealed envelopes of partials.
 *
 * A call signs one PartialDelegationAuthorization (it serves every node) and asks, in parallel, the t
 * healthy nodes that answered fastest lately — a node not asked for a second counts as unmeasured and is
 * asked first, so that a restarted, slow or lying node is seen again (and its partials checked). When one
 * of them fails, the next node is asked at once; when
 * t have not answered after `hedge_ms`, every remaining healthy node is asked too. The call returns as soon
 * as t envelopes have arrived; later ones are dropped. The envelopes are sealed to the requester: this
 * client never holds a partial in clear.
 *
 * Health: a node that fails (transport error, timeout, 5xx, or an answer that is not an envelope of its own)
 * is skipped for a back-off (250 ms, doubling to 5 s) and then tried again by one call; a success clears it.
 * So a node that is down costs one timeout, not one per request. With fewer than t nodes usable the call
 * fails at once with NOX_ERR_IO naming every missing node and why.
 *
 * Metrics (nox_kms_group_metrics): <prefix>_kms_node_up{node}, _kms_node_requests_total{node},
 * _kms_node_failures_total{node}, _kms_node_seconds{node} (histogram of answered requests).
 *
 * Threads: any number of calls at once. Each asked node runs in a thread of its own for the time of its
 * request (detached; it holds a reference to the call, so a late answer is harmless).
 */
#ifndef NOX_KMS_GROUP_H
#define NOX_KMS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "nox/delegation.h"
#include "nox/error.h"
#include "nox/http_server.h"
#include "nox/kms_client.h"
#include "nox/threshold.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nox_kms_group_client nox_kms_group_client;

/** Where node `index` of the group answers. */
typedef struct nox_kms_node {
    unsigned index;
    const char *url;
} nox_kms_node;

typedef struct nox_kms_group_options {
    const nox_th_group *group;  /**< checked (nox_th_group_check); copied */
    const nox_kms_node *nodes;  /**< distinct indices of the group; at least t of them */
    size_t n_nodes;
    nox_kms_options client;     /**< per node: timeouts, pool size, max_response, TLS (url ignored) */
    unsigned hedge_ms;          /**< default 250 */
} nox_kms_group_options;

/** NOX_ERR_INVALID naming the node at fault (an index not in the group, twice, fewer than t nodes, a bad URL). */
nox_status nox_kms_group_new(const nox_kms_group_options *o, nox_kms_group_client **out, nox_error *err);
void nox_kms_group_free(nox_kms_group_client *c);

const nox_th_group *nox_kms_group_group(const nox_kms_group_client *c);

/** The client of node `index` (for its /health and /v0/public-key), or NULL when it is not configured. */
nox_kms_client *nox_kms_group_node_client(nox_kms_group_client *c, unsigned index);

/** Registers the per-node metrics on `server` (before it starts), named <prefix>_kms_node_… */
nox_status nox_kms_group_metrics(nox_kms_group_client *c, nox_http_server *server, const char *prefix, nox_error *err);

/** What a call returns: n ≥ t sealed envelopes of distinct nodes, each with the node's verification key. */
typedef struct nox_kms_group_answer {
    size_t n;
    nox_sealed_partials sealed[NOX_TH_MAX_NODES];
} nox_kms_group_answer;

void nox_kms_group_answer_free(nox_kms_group_answer *a);

/**
 * Asks for the partials of eph[0..m) (0x hex strings, sent as they are; 1 ≤ m ≤ NOX_DELEGATION_MAX_ITEMS)
 * sealed to `target` (0x SPKI hex), skipping the nodes in `exclude` (bit index-1: the requester found
 * their partials wrong). NOX_OK with t envelopes in *out. NOX_ERR_REMOTE with `fault` when a node refused
 * the request itself with a 4xx (a bad key: every node would); NOX_ERR_IO when fewer than t nodes answered
 * (the message names each missing node and why).
 */
nox_status nox_kms_group_partials(nox_kms_group_client *c, uint64_t chain_id, const nox_ec_privkey *gateway_key,
                                  const char *const *eph, size_t m, const char *target, uint64_t exclude,
                                  nox_kms_group_answer *out, nox_kms_fault *fault, nox_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NOX_KMS_GROUP_H */
