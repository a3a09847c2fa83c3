/*
 * The services' configuration loaders, built once per loader (FUZZ_LOADER):
 *   1 run_config_load  (services/runner/runner_config.c)
 *   2 gw_config_load   (services/gateway/gateway_config.c)
 *   3 kms_config_load  (services/kms/kms_config.c)
 *   4 ing_config_load  (services/ingestor/ingestor_config.c)
 * They take a path: the input is written to a memfd and loaded from /proc/self/fd/N.
 * Invariants: an error has a message starting with the file name; success gives
 * values within the documented ranges; the free functions leave nothing behind (LSan).
 */
#include "fuzz_util.h"
#include "nox/log.h"

#if FUZZ_LOADER == 1
#include "runner.h"
#elif FUZZ_LOADER == 2
#include "gateway.h"
#elif FUZZ_LOADER == 3
#include "kms.h"
#elif FUZZ_LOADER == 4
#include "ingestor.h"
#else
#error "FUZZ_LOADER must be 1..4"
#endif

#if FUZZ_LOADER == 2 || FUZZ_LOADER == 3
/* What nox_service_load_http_limits promises about a loaded configuration. */
static int http_limits_ok(const nox_service_http_limits *l) {
    return l->threads >= 1 && l->threads <= 256 && l->max_body >= 1024 && l->max_body <= (16u << 20) &&
           l->max_header >= 4096 && l->max_header <= 1024 * 1024 && l->connection_timeout_s >= 1 &&
           l->connection_timeout_s <= 3600 && l->request_timeout_s >= 1 && l->request_timeout_s <= 3600;
}
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("NOX_FUZZ_VAR", "127.0.0.1:8080", 1);
    setenv("NOX_FUZZ_ADDR", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfile(data, size);
    nox_error err = {0};
    nox_status st;
#if FUZZ_LOADER == 1
    run_config cfg;
    st = run_config_load(path, &cfg, &err);
    if (!st) {
        FUZZ_CHECK(cfg.workers >= 1 && cfg.workers <= 256);
        FUZZ_CHECK(cfg.fetch_batch >= 1 && cfg.fetch_batch <= 1024);
        FUZZ_CHECK(cfg.ack_wait_s >= 1 && cfg.ack_wait_s <= 3600);
        FUZZ_CHECK(cfg.gateway_url[0] && cfg.kms_url[0] && cfg.wallet_key_file[0] && cfg.operators[0]);
        /* ingestor_addresses: 1..RUN_MAX_INGESTORS distinct non-zero addresses */
        static const uint8_t zero[NOX_ADDRESS_SIZE];
        FUZZ_CHECK(cfg.n_ingestors >= 1 && cfg.n_ingestors <= RUN_MAX_INGESTORS);
        for (size_t i = 0; i < cfg.n_ingestors; i++) {
            FUZZ_CHECK(memcmp(cfg.ingestors[i], zero, NOX_ADDRESS_SIZE) != 0);
            for (size_t j = 0; j < i; j++) FUZZ_CHECK(memcmp(cfg.ingestors[i], cfg.ingestors[j], NOX_ADDRESS_SIZE) != 0);
        }
    }
#elif FUZZ_LOADER == 2
    gw_config cfg;
    st = gw_config_load(path, &cfg, &err);
    if (!st) {
        FUZZ_CHECK(cfg.n_chains >= 1 && cfg.chains && cfg.chain_ids && cfg.n_runners >= 1 && cfg.runners);
        FUZZ_CHECK(http_limits_ok(&cfg.http));
        int found = 0;
        for (size_t i = 0; i < cfg.n_chains; i++) {
            FUZZ_CHECK(cfg.chains[i].chain_id != 0 && cfg.chain_ids[i] == cfg.chains[i].chain_id);
            for (size_t j = 0; j < i; j++) FUZZ_CHECK(cfg.chains[j].chain_id != cfg.chains[i].chain_id);
            found |= cfg.chains[i].chain_id == cfg.default_chain_id;
        }
        FUZZ_CHECK(found);
        gw_config_free(&cfg);
    }
#elif FUZZ_LOADER == 3
    kms_config cfg;
    st = kms_config_load(path, &cfg, &err);
    if (!st) {
        FUZZ_CHECK(cfg.n_chains >= 1 && cfg.chains);
        FUZZ_CHECK(http_limits_ok(&cfg.http));
        for (size_t i = 0; i < cfg.n_chains; i++) {
            FUZZ_CHECK(cfg.chains[i].chain_id != 0);
            for (size_t j = 0; j < i; j++) FUZZ_CHECK(cfg.chains[j].chain_id != cfg.chains[i].chain_id);
        }
        kms_config_free(&cfg);
    }
#else
    ing_config cfg;
    st = ing_config_load(path, &cfg, &err);
    if (!st) {
        FUZZ_CHECK(cfg.chain_id != 0);
        FUZZ_CHECK(cfg.rpc_url[0] && cfg.state_file[0] && cfg.stream[0] && cfg.subject[0] && cfg.wallet_key_file[0]);
    }
#endif
    if (st) {
        FUZZ_CHECK(err.message[0] != '\0');
        FUZZ_CHECK(strncmp(err.message, "/proc/self/fd/", 14) == 0);
    }
    return 0;
}
