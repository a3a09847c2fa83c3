/*
 * nox-kms — protocol key custody and decryption delegation (spec §4.2, §8).
 *
 *   nox-kms --config FILE [--ready-file FILE]   serve until SIGTERM/SIGINT
 *   nox-kms keygen --out FILE                   create a key file (0600)
 *
 * The protocol key and the wallet key are loaded from their files, which
 * `nox-kms keygen` makes. A missing file stops start-up (naming the file, its
 * configuration key and the command that creates it) unless the configuration
 * says create_if_missing: true: a replica that lost its key_file must never
 * come up with a new protocol key that NoxCompute does not know. A key file
 * with a loose mode or a bad key stops start-up. Neither key ever appears in a
 * log line or a response.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ceremony.h"
#ifdef NOX_KMS_FAULT_SWITCH
#include "ec_internal.h"
#endif
#include "kms.h"
#include "nox/hex.h"
#include "nox/log.h"
#include "nox/service.h"

static void usage(FILE *f) {
    fprintf(f, "usage: nox-kms --config FILE [--ready-file FILE]\n"
               "       nox-kms keygen --out FILE\n"
               "%s"
               "Serves GET /v0/public-key, GET /v0/group, POST /v0/delegate[/batch] (spec §8; a 1-of-1 key only)\n"
               "and POST /v0/delegate/partials (docs/PROTOCOL-EXTENSIONS.md §11), /health and /metrics.\n"
               "--ready-file receives the service URL once it accepts requests.\n",
            kms_ceremony_usage);
}

/*
 * Loads the key that the configuration key `name` names (path). A missing file is created (0600, atomically) only
 * with create_if_missing: true; else start-up stops with what makes it.
 */
static nox_status load_key(const kms_config *cfg, const char *name, const char *path, const char *what,
                           nox_ec_privkey *key, nox_error *err) {
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT && !cfg->create_if_missing)
        return nox_error_set(err, NOX_ERR_NOT_FOUND, "%s %s does not exist; create it with `nox-kms keygen --out %s` "
                             "or set create_if_missing: true", name, path, path);
    int created = 0;
    nox_status st = cfg->create_if_missing ? nox_ec_key_load_or_create(key, path, &created, err)
                                           : nox_ec_key_load(key, path, err);
    if (!st && created)
        nox_log(NOX_LOG_WARN, "%s %s did not exist: created a new %s there (mode 0600, create_if_missing: true)", name,
                path, what);
    return st;
}

static int keygen(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], "--out") != 0) {
        usage(stderr);
        return 2;
    }
    nox_ec_privkey key;
    nox_ec_pubkey pub;
    nox_error err = {0};
    if (nox_ec_key_generate(&key, &err) || nox_ec_key_save(&key, argv[2], &err) || nox_ec_pubkey_of(&key, &pub, &err)) {
        nox_ec_key_wipe(&key);
        fprintf(stderr, "nox-kms: %s\n", err.message);
        return 1;
    }
    uint8_t c[NOX_EC_PUBKEY_COMPRESSED_SIZE], addr[NOX_ADDRESS_SIZE];
    char text[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3];
    nox_ec_pubkey_compressed(&pub, c);
    nox_ec_pubkey_address(&pub, addr);
    printf("public key: %s\n", nox_hex_encode(c, sizeof c, text));
    printf("address: %s\n", nox_hex_encode(addr, sizeof addr, text));
    nox_ec_key_wipe(&key);
    return 0;
}

/*
 * The group this node serves: the group file's, after checking that key_file holds one of its shares (a share
 * that its commitments do not vouch for stops start-up); without group_file, the 1-of-1 group of the key.
 */
static nox_status start_group(kms_state *st, nox_error *err) {
    nox_status s;
    if (st->cfg.group_file[0]) {
        s = nox_th_group_load(st->cfg.group_file, &st->group, err);
        if (!s && (s = nox_th_share_check(&st->group, &st->key, &st->index, err)))
            nox_error_prefix(err, "key_file %s against group_file %s: ", st->cfg.key_file, st->cfg.group_file);
    } else {
        nox_ec_pubkey pub;
        uint8_t p[NOX_EC_PUBKEY_COMPRESSED_SIZE];
        s = nox_ec_pubkey_of(&st->key, &pub, err);
        if (!s) nox_ec_pubkey_compressed(&pub, p);
        if (!s) s = nox_th_group_single(p, &st->group, err);
        st->index = 1;
    }
    if (!s && !(st->group_json = nox_th_group_to_json(&st->group))) s = nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
#ifdef NOX_KMS_FAULT_SWITCH
    /* nox-kms-faulty only (the fault tests): serve with share + 1, so that every partial is wrong and its DLEQ
     * proof, made with the wrong share, fails against this node's verification key */
    const char *fault = getenv("NOX_KMS_FAULT");
    if (!s && fault && !strcmp(fault, "wrong-partials")) {
        uint8_t one[NOX_EC_PRIVKEY_SIZE] = {0};
        one[NOX_EC_PRIVKEY_SIZE - 1] = 1;
        if (!secp256k1_ec_seckey_tweak_add(nox_ec_context(err), st->key.d, one))
            return nox_error_set(err, NOX_ERR_INVALID, "NOX_KMS_FAULT: cannot alter the share");
        nox_log(NOX_LOG_WARN, "NOX_KMS_FAULT=wrong-partials: this node answers WRONG partials (a fault test)");
    }
#endif
    return s;
}

static nox_status start_keys(kms_state *st, nox_error *err) {
    nox_status s = load_key(&st->cfg, "key_file", st->cfg.key_file, "protocol key", &st->key, err);
    if (!s) s = load_key(&st->cfg, "wallet_key_file", st->cfg.wallet_key_file, "wallet key", &st->wallet, err);
    if (!s) s = start_group(st, err);
    if (s) return s;
    memcpy(st->public_key, st->group.public_key, sizeof st->public_key);
    uint8_t addr[NOX_ADDRESS_SIZE];
    char text[2 * NOX_EC_PUBKEY_COMPRESSED_SIZE + 3], fp[19];
    nox_th_group_fingerprint(&st->group, fp);
    nox_log(NOX_LOG_INFO, "protocol public key %s; node %u of a %u-of-%u group %s",
            nox_hex_encode(st->public_key, sizeof st->public_key, text), st->index, st->group.threshold,
            st->group.nodes, fp);
    s = nox_ec_key_address(&st->wallet, addr, err);
    if (!s) nox_log(NOX_LOG_INFO, "wallet address %s (signs the public-key proofs)", nox_hex_encode(addr, sizeof addr, text));
    return s;
}

static const double delegation_buckets[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1};

static nox_status serve(kms_state *st, const char *ready_file, nox_error *err) {
    nox_http_options o;
    nox_http_options_default(&o);
    o.service = "kms";
    o.listen = st->cfg.listen;
    o.tls = &st->cfg.tls;
    o.metrics_listen = st->cfg.metrics_listen[0] ? st->cfg.metrics_listen : NULL;
    nox_service_http_apply(&st->cfg.http, &o);
    nox_http_server *server = NULL;
    nox_status s = nox_http_server_new(&o, &server, err);
    if (!s) s = nox_http_histogram(server, "nox_kms_delegation_seconds", "Time to serve one POST /v0/delegate",
                                   delegation_buckets, sizeof delegation_buckets / sizeof delegation_buckets[0],
                                   &st->delegation_seconds, err);
    if (!s) s = nox_http_histogram(server, "nox_kms_delegation_batch_seconds",
                                   "Time to serve one POST /v0/delegate/batch", delegation_buckets,
                                   sizeof delegation_buckets / sizeof delegation_buckets[0], &st->batch_seconds, err);
    /* the public key and its proof are public; delegation is for the Gateway (mutual TLS with tls.client_ca_file) */
    if (!s) s = nox_http_route_public(server, "GET", "/v0/public-key", kms_handle_public_key, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/delegate", kms_handle_delegate, st, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/delegate/batch", kms_handle_delegate_batch, st, err);
    if (!s) s = nox_http_histogram(server, "nox_kms_partials_seconds", "Time to serve one POST /v0/delegate/partials",
                                   delegation_buckets, sizeof delegation_buckets / sizeof delegation_buckets[0],
                                   &st->partials_seconds, err);
    if (!s) s = nox_http_route(server, "POST", "/v0/delegate/partials", kms_handle_delegate_partials, st, err);
    if (!s) s = nox_http_route_public(server, "GET", "/v0/group", kms_handle_group, st, err);
    if (!s) {
        nox_log(NOX_LOG_INFO, "%u threads, %zu chain(s)", st->cfg.http.threads, st->cfg.n_chains);
        s = nox_service_serve(server, st->cfg.listen, ready_file, err);
    }
    nox_http_server_free(server);
    return s;
}

int main(int argc, char **argv) {
    nox_service_block_signals(); /* before any thread exists */
    { /* it holds keys or plaintexts: never in a core dump, never traceable by another process */
        nox_error core_err = {0};
        if (nox_service_no_core_dumps(&core_err)) {
            fprintf(stderr, "nox-kms: %s\n", core_err.message);
            return 1;
        }
    }
    if (argc >= 2 && !strcmp(argv[1], "keygen")) return keygen(argc - 1, argv + 1);
    if (argc >= 2 && kms_is_ceremony(argv[1])) return kms_ceremony_main(argc - 1, argv + 1);
    const char *config, *ready_file;
    switch (nox_service_parse_args(argc, argv, &config, &ready_file)) {
    case NOX_ARGS_HELP: usage(stdout); return 0;
    case NOX_ARGS_USAGE: usage(stderr); return 2;
    case NOX_ARGS_RUN: break;
    }
    kms_state st;
    memset(&st, 0, sizeof st);
    nox_error err = {0};
    nox_log_init("kms", NOX_LOG_INFO);
    nox_status s = kms_config_load(config, &st.cfg, &err);
    if (!s) {
        nox_log_init("kms", st.cfg.log_level);
        nox_log_set_json(st.cfg.log_json);
        s = start_keys(&st, &err);
    }
    if (!s) s = kms_prepare_public_keys(&st, &err);
    if (!s && (!(st.target_keys = nox_rsa_cache_new(256)) ||
               !(st.envelope_keys = nox_envelope_keys_new(KMS_ENVELOPE_KEY_TTL_S, KMS_ENVELOPE_KEYS))))
        s = nox_error_set(&err, NOX_ERR_NOMEM, "out of memory");
    if (!s) s = serve(&st, ready_file, &err);
    if (s) nox_log(NOX_LOG_ERROR, "%s", err.message);
    nox_rsa_cache_free(st.target_keys);
    nox_envelope_keys_free(st.envelope_keys);
    nox_ec_key_wipe(&st.key);
    nox_ec_key_wipe(&st.wallet);
    free(st.group_json);
    kms_config_free(&st.cfg);
    return s ? 1 : 0;
}
