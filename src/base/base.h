/*
 * base.h - the helpers every rhfs program shares (src/base/): memory,
 * errors, logging, files, names, JSON, base64, time and hashing. They
 * depend on nothing else of rhfs.
 *
 * Conventions: functions return 0 or -errno; where a caller shows the
 * failure to a person they also take a struct rh_err, filled with one line
 * that names the resource and the cause.
 */
#ifndef RH_BASE_H
#define RH_BASE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define RH_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* xmalloc.c: allocation that cannot return NULL (aborts when out of memory). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) RH_PRINTF(1, 2);
/* A NULL-ended array of strings (NULL: nothing), each freed, then it. */
void rh_strv_free(char **v);
/* n strings at v, each freed, then v. */
void rh_strs_free(char **v, size_t n);

/* buf.c: a growable byte buffer, always NUL-terminated after len bytes. */
struct rh_buf {
	char *data;
	size_t len;
	size_t cap;
};
void rh_buf_reserve(struct rh_buf *b, size_t need);
void rh_buf_append(struct rh_buf *b, const void *data, size_t len);
void rh_buf_printf(struct rh_buf *b, const char *fmt, ...) RH_PRINTF(2, 3);
/* Write len bytes at off, growing (zero-filled) as needed. */
void rh_buf_pwrite(struct rh_buf *b, const void *data, size_t len, size_t off);
void rh_buf_truncate(struct rh_buf *b, size_t len);
void rh_buf_free(struct rh_buf *b);

/* ini.c: INI files: keys in a [section] (NULL: before any section),
 * "key = value" lines. The value of key in section, its span in *val and
 * *vlen (*val NULL when absent) and its line's in [*lstart, *lend); returns
 * the offset just after the section's last line (where a new key goes),
 * or -1 when the section is absent. */
long rh_ini_find(const char *text, size_t tlen, const char *section,
                 const char *key, const char **val, size_t *vlen,
                 size_t *lstart, size_t *lend);

/* err.c: one line for the person who sees the failure. */
struct rh_err {
	char msg[512];
};
int rh_err_set(struct rh_err *err, int errnum, const char *fmt, ...)
	RH_PRINTF(3, 4);

/* log.c: one logging entry point. Lines also go to a ring buffer that
 * rhfs shows as MOUNT/.log, so refusals are readable by the user. */
enum rh_log_level { RH_LOG_ERR, RH_LOG_WARN, RH_LOG_INFO, RH_LOG_DEBUG };
void rh_log_init(const char *ident, int to_stderr, enum rh_log_level level);
/* Start each stderr line with the date and time (for a log file). */
void rh_log_timestamps(int on);
void rh_log(enum rh_log_level level, const char *fmt, ...) RH_PRINTF(2, 3);
#define rh_error(...) rh_log(RH_LOG_ERR, __VA_ARGS__)
#define rh_warn(...) rh_log(RH_LOG_WARN, __VA_ARGS__)
#define rh_info(...) rh_log(RH_LOG_INFO, __VA_ARGS__)
#define rh_debug(...) rh_log(RH_LOG_DEBUG, __VA_ARGS__)
/* Copy of the recent log lines, oldest first. */
void rh_log_recent(struct rh_buf *out);
/* The recent warnings and errors (refusals among them) that name the
 * address ADDR (~/a, ^local, /top/a): its own and its files'. */
void rh_log_recent_about(struct rh_buf *out, const char *addr);

/* file.c: local files. rh_file_read fails with -EFBIG past max bytes;
 * rh_file_replace is atomic (temp file, rename): a reader sees the old
 * content or the new. With sync, the new content is also on disk (fsync
 * of file and directory) when it returns. */
struct stat;
int rh_file_read(const char *path, size_t max, struct rh_buf *out,
                 struct stat *st);
/* The same from an open file, which it closes. */
int rh_file_read_fd(int fd, size_t max, struct rh_buf *out, struct stat *st);
int rh_file_replace(const char *path, const char *data, size_t len,
                    unsigned mode, int sync);
/* mkdir -p: every directory it makes gets mode. */
int rh_mkdirs(const char *dir, unsigned mode);
/* $HOME/.rh, or $HOME/.rh/name: where rhfs and rh keep their own files. */
char *rh_dot_rh(const char *name);

/* name.c: RNS names and paths. A store path is "" for the store's root or
 * "a/b" (no leading or trailing slash); an address is the store's prefix
 * joined to it: "~/a/b", "^rh-cpu", "/alice/x". */
#define RH_NAME_MAX 255
int rh_name_check(const char *name, struct rh_err *err);
int rh_path_check(const char *path, struct rh_err *err);
char *rh_path_join(const char *dir, const char *name);
const char *rh_path_base(const char *path);
char *rh_path_dir(const char *path);
char *rh_address(const char *prefix, const char *path);
/* s as one word for a POSIX shell. */
char *rh_shell_quote(const char *s);

struct cJSON;
/* json.c: the one entry point for JSON from outside. Parses len bytes
 * (NULs and all) as one JSON value and refuses, with EINVAL and err naming
 * `what` and the field, whatever Python's json would read differently or
 * not at all: invalid UTF-8, raw control characters or \u0000 in strings,
 * duplicate keys, numbers out of range or not in JSON's own form, bytes
 * that are not JSON between tokens, text after the value. Each number
 * keeps the text it was written as; rh_json_print and rh_json_pretty
 * write it back unchanged (2^53+1 stays, 1.0 stays 1.0). */
struct cJSON *rh_json_parse(const char *data, size_t len, const char *what,
                            struct rh_err *err);
/* cJSON_Print or cJSON_PrintUnformatted (free with cJSON_free). */
char *rh_json_print(const struct cJSON *v, int pretty);
/* The same text, printed from v itself: while it prints, v's numbers
 * are raw text (an integer's digits printed here, without cJSON's
 * "%1.15g" and sscanf), then numbers again. For a tree no other thread reads
 * meanwhile: a message being encoded, a record being written. */
char *rh_json_print_owned(struct cJSON *v, int pretty);
/* JSON printed as Runhouse prints it (4-space indent), newline-ended;
 * free with free(). */
char *rh_json_pretty(const struct cJSON *v);
/* Typed field access: o's member key if it is a string, else NULL (o may
 * be NULL). */
const char *rh_json_str(const struct cJSON *o, const char *key);
/* o's member key: the time ts in UTC, "2024-05-01T12:00:00.000001Z", or
 * null for a zero ts. key is held, not copied: a literal, or a string
 * that outlives o. */
void rh_json_add_time(struct cJSON *o, const char *key,
                      const struct timespec *ts);
/* Typed access for decoders: 1 and *out set when o has member key of
 * that type, 0 (*out unchanged) when it is absent or null, and EINVAL
 * naming the field ("'key' must be a string") when it has another type.
 * An object's or array's *out points into o. */
int rh_json_get_string(const struct cJSON *o, const char *key,
                       const char **out, struct rh_err *err);
int rh_json_get_bool(const struct cJSON *o, const char *key, int *out,
                     struct rh_err *err);
/* An integer from min to max (a whole number, exact in a double). */
int rh_json_get_int(const struct cJSON *o, const char *key, long long min,
                    long long max, long long *out, struct rh_err *err);
int rh_json_get_object(const struct cJSON *o, const char *key,
                       const struct cJSON **out, struct rh_err *err);
int rh_json_get_array(const struct cJSON *o, const char *key,
                      const struct cJSON **out, struct rh_err *err);
/* 0 when every member of o is named in known (NULL-ended), else EINVAL
 * naming the first other ("unknown field 'x'"). */
int rh_json_only(const struct cJSON *o, const char *const *known,
                 struct rh_err *err);
/* Bytes in the valid UTF-8 sequence at p (n bytes available), 0 if none. */
size_t rh_utf8_len(const unsigned char *p, size_t n);

/* b64.c: base64 (OpenSSL), and bytes in JSON: a string when they are
 * text, else base64 under "<key>_b64". */
char *rh_b64_encode(const void *data, size_t len);
int rh_b64_decode(const char *s, struct rh_buf *out);
/* A string member key of o: data in base64. */
void rh_json_add_b64(struct cJSON *o, const char *key, const void *data,
                     size_t len);
void rh_json_add_bytes(struct cJSON *o, const char *key, const void *data,
                       size_t len);
int rh_json_get_bytes(const struct cJSON *o, const char *key,
                      struct rh_buf *out);

/* clock.c: now on clock, plus ms (a deadline for a timed wait). */
struct timespec rh_time_after(clockid_t clock, long ms);
/* cond made to time its waits on CLOCK_MONOTONIC. */
void rh_cond_init_monotonic(pthread_cond_t *cond);
/* Milliseconds from from to to (negative when to is earlier). */
long rh_ms_between(const struct timespec *from, const struct timespec *to);
/* Milliseconds since t0, taken on CLOCK_MONOTONIC. */
long rh_ms_since(const struct timespec *t0);
/* Milliseconds on the monotonic clock (for deadlines and intervals). */
int64_t rh_now_ms(void);

/* The SHA-256 of len bytes at data as lower-case hex, NUL-ended, into
 * hex (RH_SHA256_HEX bytes); 0 or -EIO. */
#define RH_SHA256_HEX 65
int rh_sha256_hex(const void *data, size_t len, char *hex);
/* n bytes at b as lower-case hex, NUL-ended, into hex (2 n + 1 bytes). */
void rh_hex(const void *b, size_t n, char *hex);

#endif
