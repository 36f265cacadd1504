/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * settings.c - anki-connectd settings (ankiconnect.md §1.1): AnkiConnect's
 * own key names in a JSON file, then environment overrides, then the API
 * key from a file.  The key is never taken from the command line, and
 * never from a plain environment variable (only its file's path is).
 *
 * An unknown key in the file or an unknown ANKICONNECT_* variable stops
 * the program with a message naming it (a typo should not silently open
 * the collection to the network).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ac.h"
#include "config.h"
#include "log.h"

#define MAX_API_KEY_FILE 4096

static const struct config_def env_defs[] = {
    {"ANKICONNECT_BIND_ADDRESS", CONFIG_STRING, NULL, 0, 0, "webBindAddress"},
    {"ANKICONNECT_BIND_PORT", CONFIG_INT, NULL, 0, 65535, "webBindPort"},
    {"ANKICONNECT_CORS_ORIGIN", CONFIG_STRING, NULL, 0, 0, "webCorsOrigin (appended to the list)"},
    {"ANKICONNECT_CORS_ORIGIN_LIST", CONFIG_STRING, NULL, 0, 0,
     "webCorsOriginList, comma-separated (replaces the file's)"},
    {"ANKICONNECT_API_KEY_FILE", CONFIG_STRING, NULL, 0, 0, "apiKeyFile"},
    {"ANKICONNECT_LOG_PATH", CONFIG_STRING, NULL, 0, 0, "apiLogPath"},
    {"ANKICONNECT_TIMEOUT", CONFIG_INT, NULL, 1, 3600000, "webTimeout (ms)"},
    {"ANKICONNECT_PROFILE", CONFIG_STRING, NULL, 0, 0, "profileName"},
    {"ANKICONNECT_MAX_REQUEST_BYTES", CONFIG_INT, NULL, 1024, 4294967295LL, "maxRequestBytes"},
    {"ANKICONNECT_READERS", CONFIG_INT, NULL, 1, AC_MAX_READERS, "readerConnections"},
};

void ac_settings_usage(FILE *f)
{
	fprintf(f,
	        "JSON config keys (AnkiConnect's names; defaults in brackets):\n"
	        "  webBindAddress      IPv4/IPv6 address to bind [127.0.0.1]\n"
	        "  webBindPort         TCP port [8765]\n"
	        "  webCorsOriginList   trusted origins, \"*\" trusts all [[\"http://localhost\"]]\n"
	        "  webCorsOrigin       deprecated single origin, appended to the list [null]\n"
	        "  ignoreOriginList    origins whose requestPermission is denied [[]]\n"
	        "  apiKey / apiKeyFile API key, or a file holding it (first line) [none]\n"
	        "  apiLogPath          file receiving every request and reply as JSON [none]\n"
	        "  webTimeout          ms allowed for media downloads from a url [10000]\n"
	        "  profileName         profile name reported to clients [User 1]\n"
	        "  maxRequestBytes     largest request body accepted [67108864]\n"
	        "  readerConnections   parallel read connections, 1-%d [4]\n"
	        "  webBacklog, apiPollInterval, apiVersion: accepted and ignored\n"
	        "Environment overrides (win over the file):\n",
	        AC_MAX_READERS);
	for (size_t i = 0; i < sizeof env_defs / sizeof env_defs[0]; i++)
		fprintf(f, "  %-30s %s\n", env_defs[i].name, env_defs[i].help);
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ac_settings_free(struct ac_settings *s)
{
	free_list(s->cors, s->ncors);
	free_list(s->ignore, s->nignore);
	if (s->api_key) {
		memset(s->api_key, 0, strlen(s->api_key));
		free(s->api_key);
	}
	free(s->api_log_path);
	free(s->profile);
	memset(s, 0, sizeof *s);
}

static enum status list_add(char ***v, size_t *n, const char *s, size_t len, struct errinfo *e)
{
	char **nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	*v = nv;
	nv[*n] = strndup(s, len);
	if (!nv[*n])
		return errinfo_set(e, ST_NOMEM, "out of memory");
	(*n)++;
	return ST_OK;
}

static enum status set_str(char **dst, const char *v, struct errinfo *e)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
	return v && !*dst ? errinfo_set(e, ST_NOMEM, "out of memory") : ST_OK;
}

static enum status str_list(const json_t *v, const char *key, char ***out, size_t *n,
                            struct errinfo *e)
{
	free_list(*out, *n);
	*out = NULL;
	*n = 0;
	if (!json_is_array(v))
		return errinfo_set(e, ST_INVALID, "%s must be a list of strings", key);
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *x = json_array_get(v, i);
		if (!json_is_string(x))
			return errinfo_set(e, ST_INVALID, "%s must be a list of strings", key);
		enum status st = list_add(out, n, json_string_value(x), json_string_length(x), e);
		if (st)
			return st;
	}
	return ST_OK;
}

static enum status read_key_file(struct ac_settings *s, const char *path, struct errinfo *e)
{
	struct stat sb;
	if (stat(path, &sb) == 0 && (sb.st_mode & 077))
		log_warnx("API key file %s is readable by other users (mode %03o); chmod 600 it",
		          path, (unsigned)(sb.st_mode & 0777));
	struct buf b;
	enum status st = buf_read_file(&b, path, MAX_API_KEY_FILE, e);
	if (st)
		return errinfo_prefix(e, "apiKeyFile");
	size_t n = 0;
	while (n < b.len && b.data[n] != '\n' && b.data[n] != '\r')
		n++;
	if (s->api_key) {
		memset(s->api_key, 0, strlen(s->api_key));
		free(s->api_key);
	}
	s->api_key = n ? strndup((const char *)b.data, n) : NULL;
	buf_wipe_free(&b);
	if (n == 0)
		return errinfo_set(e, ST_INVALID, "apiKeyFile %s holds no key", path);
	return s->api_key ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
}

static enum status int_key(const json_t *v, const char *key, long long lo, long long hi,
                           long long *out, struct errinfo *e)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return errinfo_set(e, ST_INVALID, "%s must be an integer from %lld to %lld", key,
		                   lo, hi);
	*out = json_integer_value(v);
	return ST_OK;
}

static enum status load_file(struct ac_settings *s, const char *file, char **key_file,
                             struct errinfo *e)
{
	struct buf b;
	enum status st = buf_read_file(&b, file, MAX_CONFIG_FILE_BYTES, e);
	if (st)
		return errinfo_prefix(e, "config %s", file);
	json_error_t jerr;
	json_t *root = json_loadb((const char *)b.data, b.len, 0, &jerr);
	buf_free(&b);
	if (!root)
		return errinfo_set(e, ST_INVALID, "config %s:%d: %s", file, jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return errinfo_set(e, ST_INVALID, "config %s: not a JSON object", file);
	}
	const char *k;
	json_t *v;
	long long n = 0;
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "webBindAddress") == 0) {
			if (!json_is_string(v) ||
			    snprintf(s->bind_addr, sizeof s->bind_addr, "%s",
			             json_string_value(v)) >= (int)sizeof s->bind_addr)
				st = errinfo_set(e, ST_INVALID,
				                 "webBindAddress must be an IP address");
		} else if (strcmp(k, "webBindPort") == 0) {
			if (!(st = int_key(v, k, 0, 65535, &n, e)))
				s->port = (unsigned)n;
		} else if (strcmp(k, "webCorsOriginList") == 0) {
			st = str_list(v, k, &s->cors, &s->ncors, e);
		} else if (strcmp(k, "webCorsOrigin") == 0) {
			if (json_is_string(v))
				st = list_add(&s->cors, &s->ncors, json_string_value(v),
				              json_string_length(v), e);
			else if (!json_is_null(v))
				st = errinfo_set(e, ST_INVALID,
				                 "webCorsOrigin must be a string or null");
		} else if (strcmp(k, "ignoreOriginList") == 0) {
			st = str_list(v, k, &s->ignore, &s->nignore, e);
		} else if (strcmp(k, "apiKey") == 0) {
			if (json_is_string(v) && json_string_length(v) > 0)
				st = set_str(&s->api_key, json_string_value(v), e);
			else if (json_is_null(v) ||
			         (json_is_string(v) && json_string_length(v) == 0))
				st = set_str(&s->api_key, NULL, e);
			else
				st = errinfo_set(e, ST_INVALID, "apiKey must be a string or null");
		} else if (strcmp(k, "apiKeyFile") == 0) {
			if (json_is_string(v))
				st = set_str(key_file, json_string_value(v), e);
			else if (!json_is_null(v))
				st = errinfo_set(e, ST_INVALID, "apiKeyFile must be a path");
		} else if (strcmp(k, "apiLogPath") == 0) {
			if (json_is_string(v))
				st = set_str(&s->api_log_path, json_string_value(v), e);
			else if (!json_is_null(v))
				st =
				    errinfo_set(e, ST_INVALID, "apiLogPath must be a path or null");
		} else if (strcmp(k, "webTimeout") == 0) {
			if (!(st = int_key(v, k, 1, 3600000, &n, e)))
				s->timeout_ms = n;
		} else if (strcmp(k, "profileName") == 0) {
			if (json_is_string(v) && json_string_length(v) > 0)
				st = set_str(&s->profile, json_string_value(v), e);
			else
				st = errinfo_set(e, ST_INVALID,
				                 "profileName must be a non-empty string");
		} else if (strcmp(k, "maxRequestBytes") == 0) {
			if (!(st = int_key(v, k, 1024, 4294967295LL, &n, e)))
				s->max_body = (size_t)n;
		} else if (strcmp(k, "readerConnections") == 0) {
			if (!(st = int_key(v, k, 1, AC_MAX_READERS, &n, e)))
				s->max_readers = (unsigned)n;
		} else if (strcmp(k, "webBacklog") == 0 || strcmp(k, "apiPollInterval") == 0 ||
		           strcmp(k, "apiVersion") == 0) {
			/* Qt/add-on details a daemon has no use for */
		} else {
			st = errinfo_set(e, ST_INVALID, "config %s: unknown key \"%s\"", file, k);
		}
		if (st)
			break;
	}
	json_decref(root);
	return st;
}

enum status ac_settings_load(struct ac_settings *s, const char *file, char *const *envp,
                             struct errinfo *e)
{
	memset(s, 0, sizeof *s);
	snprintf(s->bind_addr, sizeof s->bind_addr, "127.0.0.1");
	s->port = 8765;
	s->timeout_ms = 10000;
	s->max_body = 64u * 1024 * 1024;
	s->max_readers = 4;
	s->max_conns = 256;
	char *key_file = NULL;
	enum status st = list_add(&s->cors, &s->ncors, "http://localhost", 16, e);
	if (!st)
		st = set_str(&s->profile, "User 1", e);
	if (!st && file)
		st = load_file(s, file, &key_file, e);
	struct config env;
	if (!st)
		st = config_init(&env, env_defs, sizeof env_defs / sizeof env_defs[0], e);
	else
		memset(&env, 0, sizeof env);
	if (!st)
		st = config_load_env(&env, envp, "ANKICONNECT_", NULL, e);
	if (!st && config_is_set(&env, "ANKICONNECT_BIND_ADDRESS"))
		snprintf(s->bind_addr, sizeof s->bind_addr, "%s",
		         config_str(&env, "ANKICONNECT_BIND_ADDRESS"));
	if (!st && config_is_set(&env, "ANKICONNECT_BIND_PORT"))
		s->port = (unsigned)config_int(&env, "ANKICONNECT_BIND_PORT");
	if (!st && config_is_set(&env, "ANKICONNECT_CORS_ORIGIN_LIST")) {
		free_list(s->cors, s->ncors);
		s->cors = NULL;
		s->ncors = 0;
		const char *p = config_str(&env, "ANKICONNECT_CORS_ORIGIN_LIST");
		while (!st && *p) {
			while (*p == ',' || *p == ' ')
				p++;
			size_t n = strcspn(p, ", ");
			if (n)
				st = list_add(&s->cors, &s->ncors, p, n, e);
			p += n;
		}
	}
	if (!st && config_is_set(&env, "ANKICONNECT_CORS_ORIGIN")) {
		const char *o = config_str(&env, "ANKICONNECT_CORS_ORIGIN");
		st = list_add(&s->cors, &s->ncors, o, strlen(o), e);
	}
	if (!st && config_is_set(&env, "ANKICONNECT_API_KEY_FILE"))
		st = set_str(&key_file, config_str(&env, "ANKICONNECT_API_KEY_FILE"), e);
	if (!st && config_is_set(&env, "ANKICONNECT_LOG_PATH"))
		st = set_str(&s->api_log_path, config_str(&env, "ANKICONNECT_LOG_PATH"), e);
	if (!st && config_is_set(&env, "ANKICONNECT_TIMEOUT"))
		s->timeout_ms = config_int(&env, "ANKICONNECT_TIMEOUT");
	if (!st && config_is_set(&env, "ANKICONNECT_PROFILE") &&
	    *config_str(&env, "ANKICONNECT_PROFILE"))
		st = set_str(&s->profile, config_str(&env, "ANKICONNECT_PROFILE"), e);
	if (!st && config_is_set(&env, "ANKICONNECT_MAX_REQUEST_BYTES"))
		s->max_body = (size_t)config_int(&env, "ANKICONNECT_MAX_REQUEST_BYTES");
	if (!st && config_is_set(&env, "ANKICONNECT_READERS"))
		s->max_readers = (unsigned)config_int(&env, "ANKICONNECT_READERS");
	config_free(&env);
	if (!st && key_file)
		st = read_key_file(s, key_file, e);
	free(key_file);
	if (!st) {
		unsigned char a[16];
		if (inet_pton(AF_INET, s->bind_addr, a) != 1 &&
		    inet_pton(AF_INET6, s->bind_addr, a) != 1)
			st =
			    errinfo_set(e, ST_INVALID, "webBindAddress \"%s\" is not an IP address",
			                s->bind_addr);
	}
	if (st)
		ac_settings_free(s);
	return st;
}
