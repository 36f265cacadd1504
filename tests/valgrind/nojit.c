/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nojit.c - preloaded by tests/check-valgrind.sh into every program it runs
 * under valgrind: PCRE2's JIT compiler always fails, so the library falls
 * back to PCRE2's interpreter (it ignores the JIT's result by design).
 *
 * Why: JIT-compiled matchers scan the subject with 16-byte vector loads
 * that run past its end, within the page but outside the allocation;
 * memcheck reports each one (invalid read, uninitialised value) from code
 * in no mapped object, which no suppression can single out.  ASan, which
 * does not see into JIT code, covers the JIT path in the other suites.
 */
#include <stdint.h>

int pcre2_jit_compile_8(void *code, uint32_t options);

int pcre2_jit_compile_8(void *code, uint32_t options)
{
	(void)code;
	(void)options;
	return -45; /* PCRE2_ERROR_JIT_BADOPTION */
}
