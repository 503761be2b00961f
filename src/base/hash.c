/* hash.c - SHA-256 as hex (OpenSSL): send-setup digests, the agent's
 * build id, share roles and SkyPilot names. */
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "base.h"

int
rh_sha256_hex(const void *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL)) {
		*hex = '\0';
		return -EIO;
	}
	rh_hex(md, n, hex);
	return 0;
}

void
rh_hex(const void *b, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = b;
	size_t i;

	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 15];
	}
	hex[2 * n] = '\0';
}
