/*
 * test-sha256.c - SHA-256 on the test vectors of FIPS 180-4's examples
 * (NIST's "SHA256.pdf" of the Cryptographic Standards and Guidelines
 * examples, and the one-million-'a' message of FIPS 180-2's appendix B),
 * and the same digest whatever the cuts of the input.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "tap.h"

static const struct {
	const char	*msg;
	const char	*hex;
} vectors[] = {
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

static void
hash(const void *p, size_t n, char hex[65])
{
	struct sha256	s;

	sha256_init(&s);
	sha256_update(&s, p, n);
	sha256_final(&s, NULL, hex);
}

int
main(void)
{
	struct sha256	 s;
	char		 hex[65], whole[65], *a;
	unsigned char	 buf[300];
	size_t		 i, n, cut;

	for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		hash(vectors[i].msg, strlen(vectors[i].msg), hex);
		ok(strcmp(hex, vectors[i].hex) == 0, "FIPS 180-4: \"%.20s\"%s "
		    "(%zu bytes): %s", vectors[i].msg,
		    strlen(vectors[i].msg) > 20 ? "..." : "",
		    strlen(vectors[i].msg), hex);
	}
	a = malloc(1000000);
	if (a == NULL)
		bail_out("out of memory");
	memset(a, 'a', 1000000);
	sha256_init(&s);
	/* in uneven pieces, to cross the block boundaries every way */
	for (i = 0; i < 1000000; i += n) {
		n = 1000000 - i < 777 ? 1000000 - i : 777;
		sha256_update(&s, a + i, n);
	}
	sha256_final(&s, NULL, hex);
	ok(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e04"
	    "6d39ccc7112cd0") == 0, "one million 'a', in pieces of 777: %s",
	    hex);
	free(a);

	/* every length around the padding's edges, every cut in two */
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	for (n = 50; n < 140; n += 13) {
		hash(buf, n, whole);
		for (cut = 0; cut <= n; cut++) {
			sha256_init(&s);
			sha256_update(&s, buf, cut);
			sha256_update(&s, buf + cut, n - cut);
			sha256_final(&s, NULL, hex);
			if (strcmp(hex, whole) != 0)
				break;
		}
		ok(cut == n + 1, "%zu bytes cut anywhere: the same digest", n);
	}
	return done_testing();
}
