/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AGENTCORE_TESTS_C_API_HARNESS_H_
#define AGENTCORE_TESTS_C_API_HARNESS_H_

/* A tiny assertion harness for the C API's tests (doctest is C++; these are C11). A test is a
 * function; CHECK records a failure and goes on, REQUIRE records it and returns from the test.
 * main (harness.c) runs every test of every area and prints "N passed, N failed". */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <agentcore/agentcore_c.h>

typedef struct ac_test_case {
  const char* name;
  void (*run)(void);
} ac_test_case;

/* Failures of the test running now. */
extern int ac_test_failures;

void ac_test_fail(const char* file, int line, const char* what);

#define CHECK(cond)                                               \
  do {                                                            \
    if (!(cond)) ac_test_fail(__FILE__, __LINE__, #cond);         \
  } while (0)
#define REQUIRE(cond)                                             \
  do {                                                            \
    if (!(cond)) {                                                \
      ac_test_fail(__FILE__, __LINE__, #cond);                    \
      return;                                                     \
    }                                                             \
  } while (0)
/* a and b are NUL-terminated strings (either may be NULL, which never equals). */
#define CHECK_STR(a, b) CHECK(ac_test_streq((a), (b)))
/* The call left an error of `code` in `err`; frees it and resets err to NULL. */
#define CHECK_ERROR(err, code) CHECK(ac_test_take_error(&(err), (code)))

int ac_test_streq(const char* a, const char* b);
int ac_test_take_error(char** err, int code);
/* `haystack` (NULL: false) contains `needle`. */
int ac_test_contains(const char* haystack, const char* needle);

/* The areas, one file each. */
extern const ac_test_case ac_common_tests[];
extern const ac_test_case ac_tymbal_tests[];
extern const ac_test_case ac_mention_tests[];
extern const ac_test_case ac_state_tests[];
extern const ac_test_case ac_hub_tests[];

#endif /* AGENTCORE_TESTS_C_API_HARNESS_H_ */
