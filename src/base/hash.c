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
	unsigned int n = 0, i;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL)) {
		*hex = '\0';
		return -EIO;
	}
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}
