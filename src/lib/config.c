/*
 * config.c - the settings table: defaults, file, environment; each value
 * validated when set, so a running program only sees good values.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "bounds.h"

enum status config_parse_int(const char *name, const char *s, long long min, long long max,
                             long long *out, struct errinfo *e)
{
	char *end;
	errno = 0;
	if (!s || !*s || isspace((unsigned char)*s))
		return errinfo_set(e, ST_INVALID, "%s: expected an integer, got \"%s\"", name, s ? s : "");
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return errinfo_set(e, ST_INVALID, "%s: expected an integer, got \"%s\"", name, s);
	if (v < min || v > max)
		return errinfo_set(e, ST_INVALID, "%s: %lld is outside %lld..%lld", name, v, min, max);
	*out = v;
	return ST_OK;
}

enum status config_parse_bool(const char *name, const char *s, int *out, struct errinfo *e)
{
	static const char *yes[] = {"1", "true", "yes", "on"};
	static const char *no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (s && strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return ST_OK;
		}
		if (s && strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return ST_OK;
		}
	}
	return errinfo_set(e, ST_INVALID, "%s: expected true or false, got \"%s\"", name, s ? s : "");
}

static long config_index(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->ndefs; i++)
		if (strcmp(c->defs[i].name, name) == 0)
			return (long)i;
	return -1;
}

static enum status config_store(struct config *c, size_t i, const char *value,
                                enum config_origin origin, struct errinfo *e)
{
	const struct config_def *d = &c->defs[i];
	long long num = 0;
	enum status st = ST_OK;
	if (d->kind == CONFIG_INT) {
		st = config_parse_int(d->name, value, d->min, d->max, &num, e);
	} else if (d->kind == CONFIG_BOOL) {
		int b;
		st = config_parse_bool(d->name, value, &b, e);
		num = b;
	}
	if (st)
		return st;
	char *copy = strdup(value);
	if (!copy)
		return errinfo_set(e, ST_NOMEM, "%s: out of memory", d->name);
	free(c->vals[i].str);
	c->vals[i].str = copy;
	c->vals[i].num = num;
	c->vals[i].origin = origin;
	return ST_OK;
}

enum status config_init(struct config *c, const struct config_def *defs, size_t ndefs,
                        struct errinfo *e)
{
	c->defs = defs;
	c->ndefs = ndefs;
	c->vals = calloc(ndefs ? ndefs : 1, sizeof *c->vals);
	if (!c->vals)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < ndefs; i++) {
		if (!defs[i].defval)
			continue;
		enum status st = config_store(c, i, defs[i].defval, CONFIG_FROM_DEFAULT, e);
		if (st) {
			errinfo_prefix(e, "built-in default");
			config_free(c);
			return st;
		}
	}
	return ST_OK;
}

void config_free(struct config *c)
{
	if (!c->vals)
		return;
	for (size_t i = 0; i < c->ndefs; i++)
		free(c->vals[i].str);
	free(c->vals);
	c->vals = NULL;
}

enum status config_set(struct config *c, const char *name, const char *value,
                       enum config_origin origin, struct errinfo *e)
{
	long i = config_index(c, name);
	if (i < 0)
		return errinfo_set(e, ST_NOTFOUND, "unknown setting %s", name);
	return config_store(c, (size_t)i, value, origin, e);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

enum status config_load_file(struct config *c, const char *path, struct errinfo *e)
{
	struct buf b;
	enum status st = buf_read_file(&b, path, MAX_CONFIG_FILE_BYTES, e);
	if (st)
		return st;
	if (memchr(b.data, '\0', b.len)) {
		buf_free(&b);
		return errinfo_set(e, ST_INVALID, "%s: contains a NUL byte", path);
	}
	int lineno = 0;
	char *text = (char *)b.data;
	char *p = text;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		char *line = trim(p);
		p = nl ? nl + 1 : NULL;
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			st = errinfo_set(e, ST_INVALID, "%s:%d: expected KEY=VALUE", path, lineno);
			break;
		}
		*eq = '\0';
		char *key = trim(line);
		char *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		st = config_set(c, key, val, CONFIG_FROM_FILE, e);
		if (st) {
			errinfo_prefix(e, "%s:%d", path, lineno);
			break;
		}
	}
	buf_free(&b);
	return st;
}

enum status config_load_env(struct config *c, char *const *envp, const char *prefix,
                            int (*accept)(const char *name), struct errinfo *e)
{
	size_t pl = prefix ? strlen(prefix) : 0;
	for (char *const *ep = envp; ep && *ep; ep++) {
		const char *eq = strchr(*ep, '=');
		if (!eq)
			continue;
		size_t nl = (size_t)(eq - *ep);
		char name[256];
		if (nl >= sizeof name)
			continue;
		memcpy(name, *ep, nl);
		name[nl] = '\0';
		long i = config_index(c, name);
		if (i >= 0) {
			enum status st = config_store(c, (size_t)i, eq + 1, CONFIG_FROM_ENV, e);
			if (st)
				return errinfo_prefix(e, "environment");
			continue;
		}
		if (prefix && strncmp(name, prefix, pl) == 0 && !(accept && accept(name)))
			return errinfo_set(e, ST_INVALID, "unknown setting %s in the environment", name);
	}
	return ST_OK;
}

static const struct config_value *config_get(const struct config *c, const char *name)
{
	long i = config_index(c, name);
	return i < 0 ? NULL : &c->vals[i];
}

const char *config_str(const struct config *c, const char *name)
{
	const struct config_value *v = config_get(c, name);
	return v ? v->str : NULL;
}

long long config_int(const struct config *c, const char *name)
{
	const struct config_value *v = config_get(c, name);
	return v ? v->num : 0;
}

int config_bool(const struct config *c, const char *name)
{
	return config_int(c, name) != 0;
}

int config_is_set(const struct config *c, const char *name)
{
	const struct config_value *v = config_get(c, name);
	return v && v->str;
}
