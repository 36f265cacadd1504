/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * search_parse.h - Anki's search language parsed into a tree
 * (search-syntax.md §1-2, §4 term syntax, §9 errors; the grammar of
 * Anki's rslib/src/search/parser.rs).
 *
 * Shape: like Anki, a group is a flat list in which search terms, NOTs
 * and groups alternate with AND/OR operators (implicit ANDs inserted);
 * precedence is left to SQL (not > and > or).  search_parse returns one
 * top-level GROUP node.  Every string in the tree is a malloc'd,
 * NUL-terminated UTF-8 string owned by its node.
 */
#ifndef ANKIHOST_SEARCH_PARSE_H
#define ANKIHOST_SEARCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

/* Queries longer than this (bytes) are refused (ST_TOOBIG). */
#define SEARCH_MAX_QUERY (4u << 20)
/* Deepest nesting of brackets accepted (ST_INVALID beyond). */
#define SEARCH_MAX_DEPTH 200u
/* Most search terms in one query (ST_INVALID beyond): SQLite's own
 * expression depth limit (1000) refuses long chains anyway, and this
 * bounds the SQL a query can make. */
#define SEARCH_MAX_TERMS 2000u

enum search_node_type {
	SEARCH_N_AND,
	SEARCH_N_OR,
	SEARCH_N_NOT,
	SEARCH_N_GROUP,
	SEARCH_N_TERM,
};

enum search_term_kind {
	SEARCH_T_ALL,           /* empty search: the whole collection */
	SEARCH_T_TEXT,          /* text: plain text (unescaped, wildcards kept) */
	SEARCH_T_FIELD,         /* field:text with mode */
	SEARCH_T_ADDED,         /* num: days (>= 1) */
	SEARCH_T_EDITED,        /* num: days (>= 1) */
	SEARCH_T_INTRODUCED,    /* num: days (>= 1) */
	SEARCH_T_TEMPLATE_ORD,  /* num: 0-based ordinal */
	SEARCH_T_TEMPLATE_NAME, /* text: template name */
	SEARCH_T_DECK,          /* text: human deck name with wildcards */
	SEARCH_T_DECK_IDS,      /* text: "1,2,3" (checked) */
	SEARCH_T_NOTETYPE_ID,   /* num */
	SEARCH_T_NOTETYPE,      /* text: notetype name */
	SEARCH_T_RATED,         /* num: days (resched: may be 0), rating */
	SEARCH_T_TAG,           /* text: tag, mode */
	SEARCH_T_DUPE,          /* num: notetype id, text */
	SEARCH_T_STATE,         /* state */
	SEARCH_T_FLAG,          /* num: 0-7 */
	SEARCH_T_NOTE_IDS,      /* text: "1,2,3" */
	SEARCH_T_CARD_IDS,      /* text: "1,2,3" */
	SEARCH_T_PROP,          /* prop, op, num / fnum / field (key) + text */
	SEARCH_T_REGEX,         /* text: raw regex */
	SEARCH_T_NC,            /* text */
	SEARCH_T_SC,            /* text */
	SEARCH_T_WORD,          /* text */
	SEARCH_T_CUSTOM_DATA,   /* text: key */
	SEARCH_T_PRESET,        /* text: preset name, verbatim */
};

enum search_mode { SEARCH_MODE_NORMAL, SEARCH_MODE_REGEX, SEARCH_MODE_NC };

enum search_state {
	SEARCH_STATE_NEW,
	SEARCH_STATE_REVIEW,
	SEARCH_STATE_LEARN,
	SEARCH_STATE_DUE,
	SEARCH_STATE_BURIED,
	SEARCH_STATE_BURIED_MANUALLY,
	SEARCH_STATE_BURIED_SIBLING,
	SEARCH_STATE_SUSPENDED,
};

/* rating: a button 1..4, or one of these. */
#define SEARCH_RATING_ANY (-1)
#define SEARCH_RATING_MANUAL 0

enum search_prop {
	SEARCH_PROP_IVL,
	SEARCH_PROP_DUE,
	SEARCH_PROP_REPS,
	SEARCH_PROP_LAPSES,
	SEARCH_PROP_EASE,
	SEARCH_PROP_POS,
	SEARCH_PROP_RATED,   /* num <= 0, rating */
	SEARCH_PROP_RESCHED, /* num <= 0 */
	SEARCH_PROP_S,
	SEARCH_PROP_D,
	SEARCH_PROP_R,
	SEARCH_PROP_CDN, /* field = key, fnum */
	SEARCH_PROP_CDS, /* field = key, text = value (verbatim) */
};

enum search_op {
	SEARCH_OP_EQ,
	SEARCH_OP_NE,
	SEARCH_OP_LT,
	SEARCH_OP_GT,
	SEARCH_OP_LE,
	SEARCH_OP_GE
};

struct search_term {
	enum search_term_kind kind;
	char *text;  /* main value (see the kinds) */
	char *field; /* field name (FIELD), custom data key (PROP cdn/cds) */
	enum search_mode mode;
	int64_t num;
	int rating;
	enum search_state state;
	enum search_prop prop;
	enum search_op op;
	float fnum; /* float property values (ease, s, d, r, cdn) */
};

struct search_node {
	enum search_node_type type;
	struct search_node *child;  /* NOT */
	struct search_node **items; /* GROUP */
	size_t nitems;
	struct search_term term; /* TERM */
};

/* Parse query (NUL-terminated).  On success *out is a GROUP node (free
 * with search_node_free).  Errors: ST_INVALID with Anki's text in
 * e->msg ("Invalid search: ..."), also for invalid UTF-8, nesting
 * deeper than SEARCH_MAX_DEPTH and more than SEARCH_MAX_TERMS terms;
 * ST_TOOBIG over SEARCH_MAX_QUERY;
 * ST_NOMEM. */
enum status search_parse(const char *query, struct search_node **out, struct errinfo *e);

/* Free a tree (NULL-safe). */
void search_node_free(struct search_node *n);

/* A compact, stable text form of a tree for tests and debugging, e.g.
 * `(text:"a" AND NOT (deck:"b" OR is:due))`.  Appends to out. */
enum status search_node_format(const struct search_node *n, struct buf *out, struct errinfo *e);

#endif
