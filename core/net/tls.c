/* Checks of the TLS files of servers and clients, over OpenSSL's PEM and X.509 (nox/tls.h). */
#include "nox/tls.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nox/secret_file.h"

/* PEM files larger than this are refused: a chain of a few certificates or one key is a few KiB. */
#define PEM_MAX (256 * 1024)

int nox_tls_server_enabled(const nox_tls_server *t) { return t && t->cert_file[0] && t->key_file[0]; }

nox_status nox_tls_read_pem(const char *path, int secret, char **out, nox_error *err) {
    *out = NULL;
    char *buf = malloc(PEM_MAX + 1);
    if (!buf) return nox_error_set(err, NOX_ERR_NOMEM, "out of memory");
    size_t len = 0;
    if (secret) {
        nox_status st = nox_secret_file_read(path, "TLS key file", buf, PEM_MAX + 1, &len, err);
        if (st) {
            free(buf);
            return st;
        }
    } else {
        FILE *f = fopen(path, "rb");
        if (!f) {
            free(buf);
            return nox_error_set(err, NOX_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        }
        len = fread(buf, 1, PEM_MAX + 1, f);
        int bad = ferror(f);
        fclose(f);
        if (bad || len > PEM_MAX) {
            free(buf);
            return nox_error_set(err, NOX_ERR_INVALID, "%s: %s", path, bad ? "cannot read it" : "larger than 256 KiB");
        }
    }
    buf[len] = '\0';
    *out = buf;
    return NOX_OK;
}

void nox_tls_pem_free(char *pem, int secret) {
    if (pem && secret) OPENSSL_cleanse(pem, strlen(pem));
    free(pem);
}

/* The first certificate of a PEM file, checked valid now; *n counts the certificates. */
static nox_status load_certs(const char *path, const char *what, X509 **first, int *n, nox_error *err) {
    char *pem;
    *first = NULL;
    *n = 0;
    nox_status st = nox_tls_read_pem(path, 0, &pem, err);
    if (st) return nox_error_prefix(err, "%s: ", what);
    BIO *b = BIO_new_mem_buf(pem, -1);
    *first = NULL;
    *n = 0;
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (!*first) *first = x;
        else X509_free(x);
        ++*n;
    }
    BIO_free(b);
    free(pem);
    if (!*n) return nox_error_set(err, NOX_ERR_INVALID, "%s %s: no PEM certificate in it", what, path);
    if (X509_cmp_current_time(X509_get0_notAfter(*first)) < 0)
        st = nox_error_set(err, NOX_ERR_INVALID, "%s %s: the certificate has expired", what, path);
    else if (X509_cmp_current_time(X509_get0_notBefore(*first)) > 0)
        st = nox_error_set(err, NOX_ERR_INVALID, "%s %s: the certificate is not valid yet (check the clock)", what, path);
    if (st) {
        X509_free(*first);
        *first = NULL;
    }
    return st;
}

/* cert_file and key_file: both or neither, parsed, matching, the key 0600. */
static nox_status check_pair(const char *cert_file, const char *key_file, const char *cert_key, const char *key_key,
                             nox_error *err) {
    if (!cert_file[0] && !key_file[0]) return NOX_OK;
    if (!cert_file[0] || !key_file[0])
        return nox_error_set(err, NOX_ERR_INVALID, "%s and %s go together: set both or neither", cert_key, key_key);
    X509 *cert;
    int n;
    nox_status st = load_certs(cert_file, cert_key, &cert, &n, err);
    if (st) return st;
    char *pem;
    if ((st = nox_tls_read_pem(key_file, 1, &pem, err))) {
        X509_free(cert);
        return nox_error_prefix(err, "%s: ", key_key);
    }
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    nox_tls_pem_free(pem, 1);
    if (!key) st = nox_error_set(err, NOX_ERR_INVALID, "%s %s: not a PEM private key (or one with a passphrase)", key_key, key_file);
    else if (X509_check_private_key(cert, key) != 1)
        st = nox_error_set(err, NOX_ERR_INVALID, "%s %s does not match the certificate in %s %s", key_key, key_file,
                           cert_key, cert_file);
    EVP_PKEY_free(key);
    X509_free(cert);
    return st;
}

static nox_status check_ca(const char *path, const char *what, nox_error *err) {
    X509 *first = NULL;
    int n;
    nox_status st = load_certs(path, what, &first, &n, err);
    X509_free(first);
    return st;
}

nox_status nox_tls_check_server(const nox_tls_server *t, const char *where, nox_error *err) {
    char ck[96], kk[96], ca[96];
    snprintf(ck, sizeof ck, "%s.cert_file", where);
    snprintf(kk, sizeof kk, "%s.key_file", where);
    snprintf(ca, sizeof ca, "%s.client_ca_file", where);
    nox_status st = check_pair(t->cert_file, t->key_file, ck, kk, err);
    if (st) return st;
    if (!t->client_ca_file[0]) return NOX_OK;
    if (!t->cert_file[0])
        return nox_error_set(err, NOX_ERR_INVALID, "%s needs %s and %s: mutual TLS is TLS first", ca, ck, kk);
    return check_ca(t->client_ca_file, ca, err);
}

nox_status nox_tls_check_client(const nox_tls_client *t, const char *where, nox_error *err) {
    char ca[96], ck[96], kk[96];
    snprintf(ca, sizeof ca, "%s.ca_file", where);
    snprintf(ck, sizeof ck, "%s.cert_file", where);
    snprintf(kk, sizeof kk, "%s.key_file", where);
    nox_status st = t->ca_file[0] ? check_ca(t->ca_file, ca, err) : NOX_OK;
    return st ? st : check_pair(t->cert_file, t->key_file, ck, kk, err);
}

nox_status nox_tls_cert_key_sha256_der(const unsigned char *der, size_t len, unsigned char out[32], nox_error *err) {
    const unsigned char *q = der;
    X509 *x = len <= LONG_MAX ? d2i_X509(NULL, &q, (long)len) : NULL;
    if (!x || q != der + len) {
        X509_free(x);
        return nox_error_set(err, NOX_ERR_INVALID, "not one DER X.509 certificate");
    }
    unsigned char *spki = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    X509_free(x);
    if (n <= 0) return nox_error_set(err, NOX_ERR_INVALID, "the certificate's public key does not encode");
    int ok = EVP_Digest(spki, (size_t)n, out, NULL, EVP_sha256(), NULL);
    OPENSSL_free(spki);
    return ok ? NOX_OK : nox_error_set(err, NOX_ERR_NOMEM, "SHA-256 failed");
}

nox_status nox_tls_cert_key_sha256_file(const char *path, unsigned char out[32], nox_error *err) {
    X509 *x = NULL;
    int n = 0;
    nox_status st = load_certs(path, "certificate", &x, &n, err);
    if (st) return st;
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    X509_free(x);
    if (len <= 0) return nox_error_set(err, NOX_ERR_INVALID, "certificate %s does not encode", path);
    st = nox_tls_cert_key_sha256_der(der, (size_t)len, out, err);
    OPENSSL_free(der);
    return st;
}
