/* b64.c - bytes in JSON: as a string when they are UTF-8 text without
 * NULs, else base64 (OpenSSL) under "<key>_b64". */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

char *
rh_b64_encode(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* EVP_DecodeBlock counts padding as zero bytes: take them off. */
int
rh_b64_decode(const char *s, struct rh_buf *out)
{
	size_t len = strlen(s), pad = 0;
	int n;

	if (len % 4 != 0)
		return -EINVAL;
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	rh_buf_reserve(out, out->len + len / 4 * 3);
	n = EVP_DecodeBlock((unsigned char *)out->data + out->len,
	                    (const unsigned char *)s, (int)len);
	if (n < 0)
		return -EINVAL;
	out->len += (size_t)n - pad;
	out->data[out->len] = '\0';
	return 0;
}

void
rh_json_add_b64(cJSON *o, const char *key, const void *data, size_t len)
{
	char *enc = rh_b64_encode(data, len);

	cJSON_AddStringToObject(o, key, enc);
	free(enc);
}

/* Well-formed UTF-8 with no NUL: safe as a JSON string. Overlong forms,
 * surrogates and code points past U+10FFFF are not: strict decoders
 * (Python's json) refuse the whole frame. */
static int
is_text(const unsigned char *p, size_t len)
{
	static const uint32_t least[] = { 0, 0x80, 0x800, 0x10000 };
	size_t i = 0, k;
	uint32_t cp;
	int n;

	while (i < len) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = (p[i] & 0xe0) == 0xc0 ? 1 : (p[i] & 0xf0) == 0xe0 ? 2 :
		    (p[i] & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || i + (size_t)n >= len)
			return 0;
		cp = p[i] & (0x3f >> n);
		for (k = 1; k <= (size_t)n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < least[n] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += (size_t)n + 1;
	}
	return 1;
}

void
rh_json_add_bytes(cJSON *o, const char *key, const void *data, size_t len)
{
	char *kb, *text;

	if (is_text(data, len)) {
		/* (data may be NULL when len is 0) */
		text = len > 0 ? xstrndup(data, len) : xstrdup("");
		cJSON_AddStringToObject(o, key, text);
		free(text);
		return;
	}
	kb = xasprintf("%s_b64", key);
	rh_json_add_b64(o, kb, data, len);
	free(kb);
}

/* Append the bytes under key (or key_b64) to out; -ENOENT if neither. */
int
rh_json_get_bytes(const cJSON *o, const char *key, struct rh_buf *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char *kb;
	int r;

	if (cJSON_IsString(v)) {
		rh_buf_append(out, v->valuestring, strlen(v->valuestring));
		return 0;
	}
	kb = xasprintf("%s_b64", key);
	v = cJSON_GetObjectItemCaseSensitive(o, kb);
	free(kb);
	if (!cJSON_IsString(v))
		return -ENOENT;
	r = rh_b64_decode(v->valuestring, out);
	return r;
}
