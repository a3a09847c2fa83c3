/*
 * noxctl — the command-line client for users and scripts.
 * Offline subcommands (no service needed): keccak, handle, key, nats-key, decode-error.
 * Online subcommands (the Gateway, the chain): encrypt, decrypt, wait, token, tx.
 * Exit status: 0 ok, 1 the operation failed (message on stderr), 2 bad usage.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "noxctl.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: noxctl COMMAND ...\n"
            "  keccak [--hex] TEXT             keccak256 of TEXT's UTF-8 bytes (--hex: of the 0x bytes)\n"
            "  handle decode HANDLE            the fields of a handle, one 'key: value' per line\n"
            "  handle derive --op N --caller ADDR --compute ADDR --timestamp T --output-index I\n"
            "                --chain-id C --type TYPE [HANDLE...]\n"
            "                                  the result handle NoxCompute derives (spec §2)\n"
            "  key new --out FILE              a new secp256k1 key in FILE (mode 0600); prints its address\n"
            "  key address FILE                the Ethereum address of the key in FILE\n"
            "  nats-key new --out FILE         a new NATS user nkey seed in FILE (mode 0600); prints its public key\n"
            "  nats-key public FILE            the public key (U...) of the NATS credentials in FILE\n"
            "  decode-error DATA [--json]      revert data (hex) as Name(arg, ...): the contracts' errors,\n"
            "                                  Error(string), Panic(uint256); exit 1 for an unknown selector\n"
            "online (--json anywhere: one JSON object instead of text):\n"
            "  encrypt --type T --value V --owner ADDR --app ADDR [--chain-id N]\n"
            "                                  encrypts an input through the Gateway; prints handle and proof\n"
            "  decrypt HANDLE --key WALLET_KEY_FILE\n"
            "                                  decrypts a handle you may view; prints the value\n"
            "  wait HANDLE [--timeout S]       waits (default 60 s) until the Runner stored the handle\n"
            "  token mint --to ADDR --amount N --key OWNER_KEY_FILE\n"
            "  token transfer --to ADDR --amount N --key KEY_FILE\n"
            "  token balance ADDR [--key KEY_FILE]\n"
            "                                  the demo ConfidentialToken: transactions, result handles, balances\n"
            "  tx TXHASH                       NoxCompute's events in a transaction: caller, inputs, output handles\n"
            "                                  with type and Gateway status; a revert with its reason (exit 1)\n"
            "endpoints: --gateway URL --rpc URL --compute ADDR --token ADDR --chain-id N --cacert FILE --operators FILE,\n"
            "  else the environment (NOX_GATEWAY_URL NOX_RPC_URL NOX_COMPUTE_ADDRESS NOX_TOKEN_ADDRESS NOX_CHAIN_ID\n"
            "  NOX_CA_FILE NOX_OPERATORS_CONFIG), else the env file\n"
            "  --env FILE, $NOX_ENV or build/devnet/env (lines [export ]NAME=VALUE)\n");
}

int noxctl_vfail(const char *fmt, va_list ap) {
    fputs("noxctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return 1;
}

int noxctl_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    noxctl_vfail(fmt, ap);
    va_end(ap);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "keccak")) return noxctl_keccak(argc - 1, argv + 1);
    if (!strcmp(cmd, "handle")) return noxctl_handle(argc - 1, argv + 1);
    if (!strcmp(cmd, "key")) return noxctl_key(argc - 1, argv + 1);
    if (!strcmp(cmd, "nats-key")) return noxctl_nats_key(argc - 1, argv + 1);
    if (!strcmp(cmd, "encrypt")) return noxctl_encrypt(argc - 1, argv + 1);
    if (!strcmp(cmd, "decrypt")) return noxctl_decrypt(argc - 1, argv + 1);
    if (!strcmp(cmd, "wait")) return noxctl_wait(argc - 1, argv + 1);
    if (!strcmp(cmd, "token")) return noxctl_token(argc - 1, argv + 1);
    if (!strcmp(cmd, "tx")) return noxctl_tx(argc - 1, argv + 1);
    if (!strcmp(cmd, "decode-error")) return noxctl_decode_error(argc - 1, argv + 1);
    fprintf(stderr, "noxctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
