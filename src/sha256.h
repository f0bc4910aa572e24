/*
 * sha256.h - SHA-256 (FIPS 180-4), streamed: what a pulled file must
 * hash to before it takes its final name.
 */
#ifndef R1_SHA256_H
#define R1_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES	32

struct sha256 {
	uint32_t	h[8];
	uint64_t	n;		/* bytes hashed */
	uint8_t		buf[64];	/* a block not yet full */
};

/* Starts a hash. */
void sha256_init(struct sha256 *s);

/* Hashes len more bytes of p. */
void sha256_update(struct sha256 *s, const void *p, size_t len);

/* Ends the hash: its 32 bytes in out, its 64 lowercase hex digits and a
 * NUL in hex (either may be NULL). */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES],
    char hex[2 * SHA256_BYTES + 1]);

#endif
