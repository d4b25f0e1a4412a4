/* VERIFY: the staged copy's SHA-256 and minisign signature, computed on the
 * descriptor we will execute (never on the source path). libsodium gives
 * SHA-256, BLAKE2b and Ed25519; the file formats are minisign's:
 *
 *   public key   "untrusted comment: ..." then base64 of
 *                "Ed" || key id (8) || Ed25519 public key (32)
 *   signature    "untrusted comment: ..." then base64 of
 *                "Ed" or "ED" || key id (8) || signature (64)
 *                "trusted comment: TEXT" then base64 of a global signature
 *                (64) over signature || TEXT
 *
 * "ED" signs BLAKE2b-512 of the file (minisign's default since 0.11), "Ed"
 * the file itself (legacy). Both signatures must verify, with the same key
 * id: a signature is never accepted on part of the evidence. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banger/update.h"

#define MINISIG_MAX 4096

static int hash_fd(int fd, int blake2b, unsigned char *out, struct banger_error *err)
{
	crypto_hash_sha256_state sha;
	crypto_generichash_state b2;
	unsigned char buf[65536];
	off_t off = 0;
	ssize_t n;
	if (blake2b)
		crypto_generichash_init(&b2, NULL, 0, crypto_generichash_BYTES_MAX);
	else
		crypto_hash_sha256_init(&sha);
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (blake2b)
			crypto_generichash_update(&b2, buf, (size_t)n);
		else
			crypto_hash_sha256_update(&sha, buf, (size_t)n);
		off += n;
	}
	if (n < 0)
		return banger_error_set(err, -errno, "cannot read the staged copy: %s", strerror(errno));
	if (blake2b)
		crypto_generichash_final(&b2, out, crypto_generichash_BYTES_MAX);
	else
		crypto_hash_sha256_final(&sha, out);
	return 0;
}

int update_sha256_hex_valid(const char *hex)
{
	if (strlen(hex) != 64)
		return 0;
	for (const char *p = hex; *p; p++)
		if (!strchr("0123456789abcdefABCDEF", *p))
			return 0;
	return 1;
}

int update_verify_sha256(const struct staged *s, const char *hex, struct banger_error *err)
{
	unsigned char want[32], got[32];
	if (sodium_init() < 0)
		return banger_error_set(err, -ENOSYS, "libsodium failed to start");
	if (!update_sha256_hex_valid(hex) ||
	    sodium_hex2bin(want, sizeof(want), hex, 64, NULL, NULL, NULL) != 0)
		return banger_error_set(err, -EINVAL, "--sha256 wants 64 hex digits");
	int rc = hash_fd(s->exec_fd, 0, got, err);
	if (rc)
		return rc;
	if (sodium_memcmp(want, got, sizeof(want)) != 0) {
		char hexgot[65];
		sodium_bin2hex(hexgot, sizeof(hexgot), got, sizeof(got));
		return banger_error_set(err, -EBADMSG, "SHA-256 mismatch: the staged copy is %s", hexgot);
	}
	return 0;
}

/* Read at most MINISIG_MAX bytes of a small text file. */
static int read_small(const char *path, char *buf, struct banger_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return banger_error_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size >= MINISIG_MAX) {
		close(fd);
		return banger_error_set(err, -EINVAL, "%s: not a small regular file", path);
	}
	ssize_t n = read(fd, buf, MINISIG_MAX - 1);
	close(fd);
	if (n < 0)
		return banger_error_set(err, -errno, "%s: %s", path, strerror(errno));
	buf[n] = '\0';
	return 0;
}

/* Line number idx (0-based) of text, without its newline, into out. */
static int line_at(const char *text, int idx, char *out, size_t size)
{
	for (; idx > 0 && text; idx--) {
		text = strchr(text, '\n');
		if (text)
			text++;
	}
	if (text == NULL || *text == '\0')
		return -1;
	size_t n = strcspn(text, "\r\n");
	if (n >= size)
		return -1;
	memcpy(out, text, n);
	out[n] = '\0';
	return 0;
}

static int base64(const char *in, unsigned char *out, size_t want)
{
	size_t len = 0;
	return sodium_base642bin(out, want, in, strlen(in), NULL, &len, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0 && len == want ? 0 : -1;
}

/* The public key: a file holding minisign's .pub, or the base64 key itself. */
static int load_pubkey(const char *key, unsigned char pk[42], struct banger_error *err)
{
	char text[MINISIG_MAX] = "", line[512] = "";
	struct stat st;
	const char *b64 = key;
	if (stat(key, &st) == 0) {
		int rc = read_small(key, text, err);
		if (rc)
			return rc;
		if (line_at(text, strncmp(text, "untrusted comment:", 18) == 0 ? 1 : 0, line,
			    sizeof(line)) != 0)
			return banger_error_set(err, -EINVAL, "%s: not a minisign public key", key);
		b64 = line;
	}
	if (base64(b64, pk, 42) != 0 || memcmp(pk, "Ed", 2) != 0)
		return banger_error_set(err, -EINVAL, "--pubkey %.60s: neither a file nor a minisign public key",
					key);
	return 0;
}

int update_verify_minisig(const struct staged *s, const char *sig_path, const char *pubkey,
			  struct banger_error *err)
{
	unsigned char pk[42], sig[74], global[64], digest[crypto_generichash_BYTES_MAX];
	char text[MINISIG_MAX] = "", line[1024] = "", trusted[1024] = "";
	int rc;
	if (sodium_init() < 0)
		return banger_error_set(err, -ENOSYS, "libsodium failed to start");
	if ((rc = load_pubkey(pubkey, pk, err)) || (rc = read_small(sig_path, text, err)))
		return rc;
	if (line_at(text, 1, line, sizeof(line)) != 0 || base64(line, sig, sizeof(sig)) != 0 ||
	    (memcmp(sig, "Ed", 2) != 0 && memcmp(sig, "ED", 2) != 0) ||
	    line_at(text, 2, trusted, sizeof(trusted)) != 0 ||
	    strncmp(trusted, "trusted comment: ", 17) != 0 ||
	    line_at(text, 3, line, sizeof(line)) != 0 || base64(line, global, sizeof(global)) != 0)
		return banger_error_set(err, -EINVAL, "%s: not a minisign signature", sig_path);
	if (memcmp(sig + 2, pk + 2, 8) != 0)
		return banger_error_set(err, -EKEYREJECTED, "%s: signed by another key", sig_path);
	int prehashed = sig[1] == 'D';
	if (prehashed) {
		if ((rc = hash_fd(s->exec_fd, 1, digest, err)))
			return rc;
		rc = crypto_sign_verify_detached(sig + 10, digest, sizeof(digest), pk + 10);
	} else {
		/* Legacy: the whole file is the message; bounded by staging. */
		struct stat st;
		if (fstat(s->exec_fd, &st) != 0)
			return banger_error_set(err, -errno, "cannot stat the staged copy");
		unsigned char *msg = malloc(st.st_size ? (size_t)st.st_size : 1);
		if (msg == NULL)
			return banger_error_set(err, -ENOMEM, "out of memory");
		rc = pread(s->exec_fd, msg, (size_t)st.st_size, 0) == st.st_size
			? crypto_sign_verify_detached(sig + 10, msg, (unsigned long long)st.st_size, pk + 10)
			: -1;
		free(msg);
	}
	if (rc != 0)
		return banger_error_set(err, -EBADMSG, "%s: the signature does not match the staged copy",
					sig_path);
	/* The trusted comment is signed too, with the file's signature. */
	size_t tlen = strlen(trusted + 17);
	unsigned char both[64 + sizeof(trusted)];
	memcpy(both, sig + 10, 64);
	memcpy(both + 64, trusted + 17, tlen);
	if (crypto_sign_verify_detached(global, both, 64 + tlen, pk + 10) != 0)
		return banger_error_set(err, -EBADMSG, "%s: the trusted comment's signature does not verify",
					sig_path);
	return 0;
}
