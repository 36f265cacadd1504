/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_col_sync.c - the server side of a normal sync on real collection
 * files: a client's notes/cards/review log/notetypes/decks/tags arrive and
 * are stamped with the server usn; a second client receives them in
 * chunks; conflict rules; graves; sanity mismatch and abort roll back.
 */
#include "testutil.h"

#include <jansson.h>

#include "col.h"
#include "col_notes.h"
#include "col_store.h"
#include "col_sync.h"

static char *dir;
static char path[4096];

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	snprintf(path, sizeof path, "%s/collection.anki2", dir);
	struct errinfo e;
	assert_int_equal(col_create(path, COL_SERVER, &e), ST_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	return 0;
}

static json_t *J(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (!j)
		fail_msg("bad test JSON: %s: %s", err.text, text);
	return j;
}

static struct col *open_server(void)
{
	struct col *c;
	struct errinfo e;
	assert_int_equal(col_open(path, COL_SERVER, &c, &e), ST_OK);
	return c;
}

static int64_t basic_id(struct col *c)
{
	json_t *v;
	assert_int_equal(col_config_get(c, "curModel", &v, NULL), ST_OK);
	int64_t id = json_integer_value(v);
	json_decref(v);
	return id;
}

static int64_t scalar(struct col *c, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(col_db(c), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One client sync that uploads n notes (one card, one review each). */
static void client_uploads(struct col *c, int64_t mid, int n, int64_t first_id)
{
	struct errinfo e;
	struct col_sync *s;
	json_t *resp;
	json_t *req = J("{\"minUsn\":0,\"lnewer\":true,\"graves\":null}");
	assert_int_equal(col_sync_start(c, req, &s, &resp, &e), ST_OK);
	json_decref(req);
	assert_int_equal(json_array_size(json_object_get(resp, "notes")), 0);
	json_decref(resp);
	int32_t usn = (int32_t)scalar(c, "select usn from col");

	req = json_pack("{s:{s:[],s:[[],[]],s:[s,s]}}", "changes", "models", "decks", "tags", "vocab",
	                "Ünïcode::tag");
	assert_int_equal(col_sync_apply_changes(s, req, &resp, &e), ST_OK);
	json_decref(req);
	assert_non_null(json_object_get(resp, "models"));
	assert_null(json_object_get(resp, "conf")); /* the client is newer */
	json_decref(resp);

	assert_int_equal(col_sync_chunk(s, &resp, &e), ST_OK);
	assert_true(json_is_true(json_object_get(resp, "done")));
	json_decref(resp);

	json_t *notes = json_array(), *cards = json_array(), *revlog = json_array();
	for (int i = 0; i < n; i++) {
		int64_t id = first_id + i;
		char flds[64], guid[16];
		snprintf(flds, sizeof flds, "front %d\x1f" "back %d", i, i);
		snprintf(guid, sizeof guid, "g%d", i);
		json_array_append_new(notes, json_pack("[I,s,I,I,i,s,s,s,s,i,s]", (json_int_t)id, guid,
		                                       (json_int_t)mid, (json_int_t)1780000000, usn,
		                                       " vocab ", flds, "", "", 0, ""));
		json_array_append_new(cards, json_pack("[I,I,i,i,I,i,i,i,i,i,i,i,i,i,i,i,i,s]",
		                                       (json_int_t)id, (json_int_t)id, 1, 0,
		                                       (json_int_t)1780000000, usn, 2, 2, 5, 3, 2500, 1,
		                                       0, 0, 0, 0, 0, "{}"));
		json_array_append_new(revlog, json_pack("[I,I,i,i,i,i,i,i,i]", (json_int_t)id,
		                                        (json_int_t)id, usn, 3, 3, -600, 2500, 4000, 1));
	}
	req = json_pack("{s:{s:b,s:o,s:o,s:o}}", "chunk", "done", 1, "notes", notes, "cards", cards,
	                "revlog", revlog);
	assert_int_equal(col_sync_apply_chunk(s, req, &e), ST_OK);
	json_decref(req);

	json_t *counts = NULL;
	assert_int_equal(col_sync_counts(c, &counts, &e), ST_OK);
	assert_non_null(counts);
	req = json_pack("{s:o}", "client", counts);
	int ok;
	assert_int_equal(col_sync_sanity(s, req, &resp, &ok, &e), ST_OK);
	json_decref(req);
	assert_true(ok);
	assert_string_equal(json_string_value(json_object_get(resp, "status")), "ok");
	json_decref(resp);
	int64_t mod;
	assert_int_equal(col_sync_finish(s, &mod, &e), ST_OK);
	assert_int_equal(scalar(c, "select usn from col"), usn + 1);
	assert_int_equal(scalar(c, "select mod from col"), mod);
	assert_int_equal(scalar(c, "select ls from col"), mod);
}

static void test_upload_then_second_client_downloads_in_chunks(void **state)
{
	(void)state;
	struct col *c = open_server();
	int64_t mid = basic_id(c);
	client_uploads(c, mid, 600, 1700000000000);
	/* stored with the server usn; sort field and checksum recomputed */
	assert_int_equal(scalar(c, "select count(*) from notes where usn = 0"), 600);
	assert_int_equal(scalar(c, "select count(*) from notes where sfld = 'front 5' and csum > 0"), 1);
	assert_int_equal(scalar(c, "select count(*) from tags"), 2);

	/* a second client that never synced gets everything: 1800 rows */
	struct errinfo e;
	struct col_sync *s;
	json_t *resp, *req = J("{\"minUsn\":0,\"lnewer\":false}");
	assert_int_equal(col_sync_start(c, req, &s, &resp, &e), ST_OK);
	json_decref(req);
	json_decref(resp);
	req = J("{\"changes\":{\"models\":[],\"decks\":[[],[]],\"tags\":[]}}");
	assert_int_equal(col_sync_apply_changes(s, req, &resp, &e), ST_OK);
	json_decref(req);
	assert_int_equal(json_array_size(json_object_get(resp, "models")), 6);
	assert_int_equal(json_array_size(json_array_get(json_object_get(resp, "decks"), 0)), 1);
	assert_int_equal(json_array_size(json_object_get(resp, "tags")), 2);
	assert_true(json_is_object(json_object_get(resp, "conf"))); /* the server is newer */
	assert_true(json_is_integer(json_object_get(resp, "crt")));
	json_decref(resp);
	size_t rows = 0, chunks = 0;
	for (;;) {
		assert_int_equal(col_sync_chunk(s, &resp, &e), ST_OK);
		chunks++;
		size_t n = json_array_size(json_object_get(resp, "notes")) +
		           json_array_size(json_object_get(resp, "cards")) +
		           json_array_size(json_object_get(resp, "revlog"));
		assert_true(n <= 252);
		rows += n;
		json_t *note = json_array_get(json_object_get(resp, "notes"), 0);
		if (note) { /* sfld and csum travel as "" */
			assert_string_equal(json_string_value(json_array_get(note, 7)), "");
			assert_int_equal(json_array_size(note), 11);
		}
		int done = json_is_true(json_object_get(resp, "done"));
		json_decref(resp);
		if (done)
			break;
	}
	assert_int_equal(rows, 1800);
	assert_int_equal(chunks, 8); /* 7 full chunks of 250 + 50 */
	assert_int_equal(col_sync_chunk(s, &resp, &e), ST_OK); /* after done: done again */
	assert_true(json_is_true(json_object_get(resp, "done")));
	json_decref(resp);
	col_sync_abort(s);
	col_close(c);
}

static void test_conflicts_graves_and_rollback(void **state)
{
	(void)state;
	struct col *c = open_server();
	int64_t mid = basic_id(c);
	client_uploads(c, mid, 3, 1700000000000); /* server usn now 1 */
	struct errinfo e;
	struct col_sync *s;
	json_t *resp;

	/* client B (last synced at usn 1) deletes note 0 and edits card 1 with an
	 * older mod than the server's copy changed since: the server copy wins only
	 * if it changed since the client's usn; here it did not, so B's edit lands */
	json_t *req = J("{\"minUsn\":1,\"lnewer\":true,\"graves\":null}");
	assert_int_equal(col_sync_start(c, req, &s, &resp, &e), ST_OK);
	json_decref(req);
	json_decref(resp);
	req = J("{\"chunk\":{\"cards\":[1700000000000],\"notes\":[1700000000000],\"decks\":[]}}");
	assert_int_equal(col_sync_apply_graves(s, req, &e), ST_OK);
	json_decref(req);
	req = J("{\"chunk\":{\"done\":true,\"cards\":[[1700000000001,1700000000001,1,0,1,1,2,2,9,"
	        "3,2500,1,0,0,0,0,0,\"{}\"]]}}");
	assert_int_equal(col_sync_apply_chunk(s, req, &e), ST_OK);
	json_decref(req);
	assert_int_equal(scalar(col_sync_col(s), "select due from cards where id = 1700000000001"), 9);
	assert_int_equal(scalar(col_sync_col(s), "select count(*) from notes"), 2);
	assert_int_equal(scalar(col_sync_col(s), "select count(*) from graves where usn = 1"), 2);
	/* wrong counts: bad, rolled back at once */
	req = J("{\"client\":[[0,0,0],99,2,3,0,6,1,1]}");
	int ok;
	assert_int_equal(col_sync_sanity(s, req, &resp, &ok, &e), ST_OK);
	json_decref(req);
	assert_false(ok);
	assert_string_equal(json_string_value(json_object_get(resp, "status")), "bad");
	json_decref(resp);
	int64_t mod;
	assert_int_equal(col_sync_finish(s, &mod, &e), ST_CONFLICT); /* nothing to finish */
	assert_int_equal(scalar(c, "select count(*) from notes"), 3);
	assert_int_equal(scalar(c, "select due from cards where id = 1700000000001"), 5);
	assert_int_equal(scalar(c, "select usn from col"), 1);

	/* a server-side change since the client's usn that is newer wins */
	req = J("{\"minUsn\":0,\"lnewer\":true}");
	assert_int_equal(col_sync_start(c, req, &s, &resp, &e), ST_OK);
	json_decref(req);
	json_decref(resp);
	req = J("{\"chunk\":{\"done\":true,\"cards\":[[1700000000001,1700000000001,1,0,1,1,2,2,9,"
	        "3,2500,1,0,0,0,0,0,\"not json\"]]}}");
	assert_int_equal(col_sync_apply_chunk(s, req, &e), ST_OK);
	json_decref(req);
	assert_int_equal(scalar(col_sync_col(s), "select due from cards where id = 1700000000001"), 5);
	/* abort: nothing stays */
	col_sync_abort(s);
	assert_int_equal(scalar(c, "select usn from col"), 1);
	col_close(c);
}

static void test_bad_input_changes_nothing(void **state)
{
	(void)state;
	struct col *c = open_server();
	int64_t mid = basic_id(c);
	struct errinfo e;
	struct col_sync *s;
	json_t *resp;
	static const char *bad_start[] = {"{}", "{\"minUsn\":\"x\",\"lnewer\":true}",
	                                  "{\"minUsn\":0}", "[]",
	                                  "{\"minUsn\":0,\"lnewer\":true,\"graves\":{\"cards\":[]}}"};
	for (size_t i = 0; i < sizeof bad_start / sizeof bad_start[0]; i++) {
		json_t *req = J(bad_start[i]);
		assert_int_equal(col_sync_start(c, req, &s, &resp, &e), ST_INVALID);
		json_decref(req);
	}
	json_t *req = J("{\"minUsn\":0,\"lnewer\":true,\"graves\":{\"cards\":[\"5\"],\"notes\":[],"
	                "\"decks\":[]}}");
	assert_int_equal(col_sync_start(c, req, &s, &resp, &e), ST_OK); /* string ids: legacy ok */
	json_decref(req);
	json_decref(resp);
	char buf[512];
	/* a note whose notetype has another field count fails the request */
	snprintf(buf, sizeof buf,
	         "{\"chunk\":{\"notes\":[[1,\"g\",%lld,1,0,\"\",\"only one field\",\"\",\"\",0,\"\"]]}}",
	         (long long)mid);
	req = J(buf);
	assert_int_equal(col_sync_apply_chunk(s, req, &e), ST_INVALID);
	json_decref(req);
	static const char *bad_chunks[] = {
	    "{\"chunk\":{\"cards\":[[1,2,3]]}}",
	    "{\"chunk\":{\"cards\":[[1,1,1,0,1,0,9,0,0,0,0,0,0,0,0,0,0,\"{}\"]]}}", /* type 9 */
	    "{\"chunk\":{\"revlog\":[[1,1,0,300,0,0,0,0,0]]}}",                       /* ease 300 */
	    "{\"chunk\":{\"notes\":[[1,2,3,4,5,6,7,8,9,10,11]]}}",
	    "{\"chunk\":{\"notes\":{}}}",
	    "{\"nochunk\":1}"};
	for (size_t i = 0; i < sizeof bad_chunks / sizeof bad_chunks[0]; i++) {
		req = J(bad_chunks[i]);
		assert_int_equal(col_sync_apply_chunk(s, req, &e), ST_INVALID);
		json_decref(req);
	}
	req = J("{\"changes\":{\"models\":[{\"id\":1}],\"decks\":[[],[]],\"tags\":[]}}");
	assert_int_not_equal(col_sync_apply_changes(s, req, &resp, &e), ST_OK);
	json_decref(req);
	col_sync_abort(s);
	assert_int_equal(scalar(c, "select count(*) from notes"), 0);
	assert_int_equal(scalar(c, "select count(*) from graves"), 0);
	col_close(c);
}

int main(void)
{
	setenv("ANKIHOST_FAKE_NOW_MS", "1780000000000", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_upload_then_second_client_downloads_in_chunks, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_conflicts_graves_and_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
