/* SPDX-License-Identifier: Apache-2.0 */
/* Errors, memory and version: the conventions every other area relies on. */

#include <stdlib.h>

#include "harness.h"

static void error_messages_carry_their_code_name(void) {
  char* err = NULL;
  CHECK(ac_frame_parse("{", 1, &err) == NULL);
  REQUIRE(err != NULL);
  CHECK(strncmp(err, "invalid_argument: ", 18) == 0);
  CHECK(ac_error_code(err) == AC_INVALID_ARGUMENT);
  ac_free(err);
}

static void a_second_error_replaces_the_first_without_leaking(void) {
  char* err = NULL;
  CHECK(ac_frame_parse("[]", 2, &err) == NULL);
  CHECK(err != NULL);
  CHECK(ac_frame_parse("{", 1, &err) == NULL); /* frees the first message (ASan: no leak) */
  CHECK(ac_test_contains(err, "invalid_argument"));
  ac_free(err);
}

static void success_leaves_errptr_alone(void) {
  char* err = NULL;
  ac_frame_t* frame = ac_frame_parse("{\"i\":\"m1\"}", 10, &err);
  CHECK(frame != NULL);
  CHECK(err == NULL);
  ac_frame_destroy(frame);
}

static void a_null_errptr_still_reports_failure_by_the_return_value(void) {
  CHECK(ac_frame_parse("nope", 4, NULL) == NULL);
  CHECK(ac_run_state_next(AC_RUN_SUCCEEDED, AC_RUN_EV_CANCEL, NULL) == -1);
  CHECK(ac_roster_status_next(AC_ROSTER_PAUSED, AC_ROSTER_PAUSE, NULL, NULL) == AC_INVALID_ARGUMENT);
}

static void code_names_and_codes_round_trip(void) {
  CHECK_STR(ac_code_name(AC_OK), "ok");
  CHECK_STR(ac_code_name(AC_NOT_FOUND), "not_found");
  CHECK_STR(ac_code_name(AC_UNKNOWN_OUTCOME), "unknown_outcome");
  CHECK_STR(ac_code_name(-1), "unknown");
  CHECK_STR(ac_code_name(14), "unknown");
  CHECK(ac_error_code(NULL) == AC_OK);
  CHECK(ac_error_code("not_found: Channel not found") == AC_NOT_FOUND);
  CHECK(ac_error_code("rate_limited: slow down") == AC_RATE_LIMITED);
  CHECK(ac_error_code("not_found") == AC_INTERNAL); /* no colon: not one of ours */
  CHECK(ac_error_code("something else") == AC_INTERNAL);
}

static void free_and_destroy_accept_null(void) {
  ac_free(NULL);
  ac_frame_destroy(NULL);
  ac_frame_parser_destroy(NULL);
  ac_assembler_destroy(NULL);
  ac_message_destroy(NULL);
  ac_message_handle_destroy(NULL);
  ac_mentions_destroy(NULL);
  ac_roster_destroy(NULL);
  ac_routing_destroy(NULL);
  ac_hub_options_destroy(NULL);
  ac_hub_close(NULL);
  ac_hub_unsubscribe(NULL, NULL);
  ac_posted_destroy(NULL);
  ac_hub_sweep(NULL);
  CHECK(1);
}

static void the_version_is_the_librarys(void) {
  const char* version = ac_version();
  REQUIRE(version != NULL);
  CHECK(strlen(version) >= 5);
  CHECK(strchr(version, '.') != NULL);
}

const ac_test_case ac_common_tests[] = {
    {"error messages carry their code name", error_messages_carry_their_code_name},
    {"a second error replaces the first without leaking",
     a_second_error_replaces_the_first_without_leaking},
    {"success leaves errptr alone", success_leaves_errptr_alone},
    {"a NULL errptr still reports failure by the return value",
     a_null_errptr_still_reports_failure_by_the_return_value},
    {"code names and codes round trip", code_names_and_codes_round_trip},
    {"free and destroy accept NULL", free_and_destroy_accept_null},
    {"the version is the library's", the_version_is_the_librarys},
    {NULL, NULL}};
