/* Keccak-f[1600] and the Keccak-256 sponge (FIPS 202's permutation, Keccak padding). */
#include "nox/keccak.h"

#include <openssl/crypto.h>
#include <string.h>

static const uint64_t round_constants[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

/* rho rotation offsets and pi lane order, walked together from lane 1 */
static const unsigned rho[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
static const unsigned pi[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};

static inline uint64_t rotl(uint64_t x, unsigned n) { return (x << n) | (x >> (64 - n)); }

static void keccak_f1600(uint64_t st[25]) {
    uint64_t bc[5], t;
    for (int round = 0; round < 24; round++) {
        /* theta */
        for (int i = 0; i < 5; i++) bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
        for (int i = 0; i < 5; i++) {
            t = bc[(i + 4) % 5] ^ rotl(bc[(i + 1) % 5], 1);
            for (int j = 0; j < 25; j += 5) st[j + i] ^= t;
        }
        /* rho and pi */
        t = st[1];
        for (int i = 0; i < 24; i++) {
            unsigned j = pi[i];
            uint64_t next = st[j];
            st[j] = rotl(t, rho[i]);
            t = next;
        }
        /* chi */
        for (int j = 0; j < 25; j += 5) {
            for (int i = 0; i < 5; i++) bc[i] = st[j + i];
            for (int i = 0; i < 5; i++) st[j + i] ^= ~bc[(i + 1) % 5] & bc[(i + 2) % 5];
        }
        /* iota */
        st[0] ^= round_constants[round];
    }
}

/* XORs byte b into position pos of the state (lanes are little-endian). */
static inline void absorb_byte(uint64_t st[25], size_t pos, uint8_t b) { st[pos / 8] ^= (uint64_t)b << (8 * (pos % 8)); }

void nox_keccak256_init(nox_keccak256_ctx *ctx) { memset(ctx, 0, sizeof *ctx); }

void nox_keccak256_update(nox_keccak256_ctx *ctx, const void *data, size_t len) {
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        absorb_byte(ctx->state, ctx->pos, p[i]);
        if (++ctx->pos == NOX_KECCAK256_RATE) {
            keccak_f1600(ctx->state);
            ctx->pos = 0;
        }
    }
}

void nox_keccak256_final(nox_keccak256_ctx *ctx, uint8_t out[NOX_KECCAK256_SIZE]) {
    absorb_byte(ctx->state, ctx->pos, 0x01); /* Keccak padding (SHA-3 would use 0x06) */
    absorb_byte(ctx->state, NOX_KECCAK256_RATE - 1, 0x80);
    keccak_f1600(ctx->state);
    for (size_t i = 0; i < NOX_KECCAK256_SIZE; i++) out[i] = (uint8_t)(ctx->state[i / 8] >> (8 * (i % 8)));
    OPENSSL_cleanse(ctx, sizeof *ctx); /* the state may hold secret input */
}

void nox_keccak256(const void *data, size_t len, uint8_t out[NOX_KECCAK256_SIZE]) {
    nox_keccak256_ctx ctx;
    nox_keccak256_init(&ctx);
    nox_keccak256_update(&ctx, data, len);
    nox_keccak256_final(&ctx, out);
}
