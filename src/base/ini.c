/* ini.c - INI files (aws credentials and config, azure clouds.config,
 * lambda_keys): keys in a [section] (NULL: before any section), "key =
 * value" lines, '#' and ';' comments. */
#include "config.h"

#include <string.h>

#include "base.h"

static const char *
trim(const char *s, const char *end, size_t *len)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	                   end[-1] == '\r'))
		end--;
	*len = (size_t)(end - s);
	return s;
}

long
rh_ini_find(const char *text, size_t tlen, const char *section,
            const char *key, const char **val, size_t *vlen, size_t *lstart,
            size_t *lend)
{
	const char *p = text, *end = text + tlen, *nl, *s, *eq;
	int in = section == NULL;
	long after = section == NULL ? 0 : -1;
	size_t n, kl;

	*val = NULL;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		s = trim(p, nl[-1] == '\n' ? nl - 1 : nl, &n);
		if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
			in = section != NULL && n - 2 == strlen(section) &&
			     strncmp(s + 1, section, n - 2) == 0;
		} else if (in && n > 0 && s[0] != '#' && s[0] != ';' &&
		           (eq = memchr(s, '=', n)) != NULL) {
			trim(s, eq, &kl);
			if (kl == strlen(key) && strncmp(s, key, kl) == 0 &&
			    *val == NULL) {
				*val = trim(eq + 1, s + n, vlen);
				*lstart = (size_t)(p - text);
				*lend = (size_t)(nl - text);
			}
		}
		if (in && (n > 0 || after < 0))
			after = (long)(nl - text);
		p = nl;
	}
	return after;
}
