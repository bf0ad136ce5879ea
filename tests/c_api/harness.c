/* SPDX-License-Identifier: Apache-2.0 */
/* The runner of the C API's tests: every test of every area, one line per failure, then
 * "N passed, N failed"; exits 1 when any test failed. An argument runs only the tests whose
 * name contains it. */

#include "harness.h"

int ac_test_failures = 0;

void ac_test_fail(const char* file, int line, const char* what) {
  ++ac_test_failures;
  fprintf(stderr, "%s:%d: failed: %s\n", file, line, what);
}

int ac_test_streq(const char* a, const char* b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int ac_test_contains(const char* haystack, const char* needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

int ac_test_take_error(char** err, int code) {
  const int ok = *err != NULL && ac_error_code(*err) == code;
  if (!ok) {
    fprintf(stderr, "  expected a %s error, got: %s\n", ac_code_name(code),
            *err != NULL ? *err : "(none)");
  }
  ac_free(*err);
  *err = NULL;
  return ok;
}

int main(int argc, char** argv) {
  const ac_test_case* areas[] = {ac_common_tests, ac_tymbal_tests, ac_mention_tests,
                                 ac_state_tests, ac_hub_tests};
  const char* filter = argc > 1 ? argv[1] : NULL;
  int passed = 0;
  int failed = 0;
  for (size_t a = 0; a < sizeof areas / sizeof areas[0]; ++a) {
    for (const ac_test_case* t = areas[a]; t->name != NULL; ++t) {
      if (filter != NULL && strstr(t->name, filter) == NULL) continue;
      ac_test_failures = 0;
      t->run();
      if (ac_test_failures == 0) {
        ++passed;
      } else {
        ++failed;
        fprintf(stderr, "FAILED: %s\n", t->name);
      }
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
