/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_auth.c - PHC PBKDF2 hashes and host keys against the official
 * server's values (sync-protocol.md §2.2, §9.1). */
#include "testutil.h"

#include "auth.h"

/* "pass" hashed by the official server (fixed salt, pbkdf2 0.12 defaults). */
static const char *const PASS_PHC = "$pbkdf2-sha256$i=600000,l=32$tonuvYGpksNFQBlEmm3lxg$"
                                    "oQ1sqlkoU7Qn72xNoIq+NHyW3yOOER8EZ6mIJiv5GYc";

static void test_hkey_vector(void **state)
{
	(void)state;
	char k[AUTH_HKEY_LEN + 1];
	auth_hkey("user:pass", 9, k);
	assert_string_equal(k, "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d");
	auth_hkey_user("user", "pass", k);
	assert_string_equal(k, "b2619aa1529dfdc4248e6edbf3c1b2a2b014cf6d");
	/* the whole value counts: a ':' in the password is kept */
	char k2[AUTH_HKEY_LEN + 1];
	auth_hkey_user("user", "pa:ss", k2);
	assert_string_not_equal(k, k2);
}

static void test_official_fixed_salt_vector(void **state)
{
	(void)state;
	static const unsigned char salt[16] = {0xb6, 0x89, 0xee, 0xbd, 0x81, 0xa9, 0x92, 0xc3,
	                                       0x45, 0x40, 0x19, 0x44, 0x9a, 0x6d, 0xe5, 0xc6};
	char out[AUTH_PHC_MAX];
	assert_int_equal(auth_phc_hash_salt("pass", 4, AUTH_PBKDF2_SHA256, 600000, 32, salt, 16,
	                                    out, sizeof out, NULL),
	                 ST_OK);
	assert_string_equal(out, PASS_PHC);
	int ok = -1;
	assert_int_equal(auth_phc_verify(PASS_PHC, "pass", 4, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
	assert_int_equal(auth_phc_verify(PASS_PHC, "pasS", 4, &ok, NULL), ST_OK);
	assert_int_equal(ok, 0);
	assert_int_equal(auth_phc_verify(PASS_PHC, "pass ", 5, &ok, NULL), ST_OK);
	assert_int_equal(ok, 0);
}

static void test_sha512_and_param_order(void **state)
{
	(void)state;
	static const unsigned char salt[8] = "saltsalt";
	char out[AUTH_PHC_MAX];
	assert_int_equal(auth_phc_hash_salt("pw", 2, AUTH_PBKDF2_SHA512, 1000, 64, salt, 8, out,
	                                    sizeof out, NULL),
	                 ST_OK);
	assert_non_null(strstr(out, "$pbkdf2-sha512$i=1000,l=64$c2FsdHNhbHQ$"));
	int ok = 0;
	assert_int_equal(auth_phc_verify(out, "pw", 2, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
	/* l= may come first or be left out */
	char swapped[AUTH_PHC_MAX], bare[AUTH_PHC_MAX];
	const char *salt_and_hash = strstr(out, "$c2FsdHNhbHQ$");
	snprintf(swapped, sizeof swapped, "$pbkdf2-sha512$l=64,i=1000%s", salt_and_hash);
	snprintf(bare, sizeof bare, "$pbkdf2-sha512$i=1000%s", salt_and_hash);
	assert_int_equal(auth_phc_verify(swapped, "pw", 2, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
	assert_int_equal(auth_phc_verify(bare, "pw", 2, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
}

static void test_random_salt_hash_roundtrip(void **state)
{
	(void)state;
	char a[AUTH_PHC_MAX], b[AUTH_PHC_MAX];
	assert_int_equal(auth_phc_hash("secret", 6, a, sizeof a, NULL), ST_OK);
	assert_int_equal(auth_phc_hash("secret", 6, b, sizeof b, NULL), ST_OK);
	assert_string_not_equal(a, b); /* fresh salts */
	assert_int_equal(strncmp(a, "$pbkdf2-sha256$i=600000,l=32$", 29), 0);
	struct auth_phc p;
	assert_int_equal(auth_phc_parse(a, &p, NULL), ST_OK);
	assert_int_equal(p.salt_len, 16);
	assert_int_equal(p.hash_len, 32);
	int ok = 0;
	assert_int_equal(auth_phc_verify(a, "secret", 6, &ok, NULL), ST_OK);
	assert_int_equal(ok, 1);
}

static void test_malformed_hashes_are_refused(void **state)
{
	(void)state;
	const char *bad[] = {
	    "",
	    "plain",
	    "$pbkdf2-sha1$i=1000,l=32$c2FsdHNhbHQ$oQ1sqlkoU7Qn72xNoIq+NHyW3yOOER8EZ6mIJiv5GYc",
	    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$l=32$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=0,l=32$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=-5,l=32$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=999999999999,l=32$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=1000,l=31$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=1000,x=1$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=1000,i=1000$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=1000$ton!vYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=1000$tonuvYGpksNFQBlEmm3lxg==$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc",
	    "$pbkdf2-sha256$i=1000$tonuvYGpksNFQBlEmm3lxg$short",
	    "$pbkdf2-sha256$i=1000$tonuvYGpksNFQBlEmm3lxg$oQ1sqlkoU7Qn72xNoIq+"
	    "NHyW3yOOER8EZ6mIJiv5GYc$x",
	    "$pbkdf2-sha256$i=1000$tonuvYGpksNFQBlEmm3lxg",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct errinfo e;
		int ok = 7;
		assert_int_equal(auth_phc_verify(bad[i], "pass", 4, &ok, &e), ST_INVALID);
		assert_int_equal(ok, 0);
		assert_true(strlen(e.msg) > 0);
	}
}

static void test_b64(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(auth_b64_encode((const unsigned char *)"a", 1, out), 2);
	assert_string_equal(out, "YQ");
	assert_int_equal(auth_b64_encode((const unsigned char *)"ab", 2, out), 3);
	assert_string_equal(out, "YWI");
	assert_int_equal(auth_b64_encode((const unsigned char *)"abc", 3, out), 4);
	assert_string_equal(out, "YWJj");
	unsigned char raw[8];
	assert_int_equal(auth_b64_decode("YWJj", 4, raw, sizeof raw), 3);
	assert_memory_equal(raw, "abc", 3);
	assert_int_equal(auth_b64_decode("YWI", 3, raw, sizeof raw), 2);
	assert_int_equal(auth_b64_decode("YWJ", 3, raw, sizeof raw), -1); /* stray bits */
	assert_int_equal(auth_b64_decode("Y", 1, raw, sizeof raw), -1);
	assert_int_equal(auth_b64_decode("YWJjYWJjYWJj", 12, raw, sizeof raw), -1); /* cap */
}

static void test_equal(void **state)
{
	(void)state;
	assert_true(auth_equal("abcd", "abcd", 4));
	assert_false(auth_equal("abcd", "abce", 4));
	assert_true(auth_equal("", "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hkey_vector),
	    cmocka_unit_test(test_official_fixed_salt_vector),
	    cmocka_unit_test(test_sha512_and_param_order),
	    cmocka_unit_test(test_random_salt_hash_roundtrip),
	    cmocka_unit_test(test_malformed_hashes_are_refused),
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
