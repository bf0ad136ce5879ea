/* SPDX-License-Identifier: Apache-2.0 */
/* Tymbal through the C API: lines, streams, serialization, the assembler, the message handle. */

#include <stdlib.h>

#include "harness.h"

#define LINE(s) (s), (sizeof(s) - 1)

static void a_set_line_parses_with_its_fields(void) {
  char* err = NULL;
  ac_frame_t* f = ac_frame_parse(
      LINE("{\"i\":\"m1\",\"t\":\"2026-01-04T10:00:00.000Z\",\"v\":{\"content\":\"hi\"},\"c\":\"ch\"}"),
      &err);
  REQUIRE(f != NULL);
  CHECK(err == NULL);
  CHECK(ac_frame_kind_of(f) == AC_FRAME_SET);
  CHECK_STR(ac_frame_kind_name(ac_frame_kind_of(f)), "set");
  size_t len = 0;
  CHECK_STR(ac_frame_id(f, &len), "m1");
  CHECK(len == 2);
  CHECK_STR(ac_frame_timestamp(f, NULL), "2026-01-04T10:00:00.000Z");
  char* value = ac_frame_value_json(f, &len, &err);
  CHECK_STR(value, "{\"content\":\"hi\"}");
  CHECK(len == strlen("{\"content\":\"hi\"}"));
  ac_free(value);
  CHECK_STR(ac_frame_value_string(f, "content", &len), "hi");
  CHECK(len == 2);
  CHECK(ac_frame_value_string(f, "missing", NULL) == NULL);
  CHECK(ac_frame_value_string(f, NULL, NULL) == NULL);
  CHECK(ac_frame_value_string(NULL, "content", NULL) == NULL);
  char* extra = ac_frame_extra_json(f, NULL, &err);
  CHECK_STR(extra, "{\"c\":\"ch\"}");
  ac_free(extra);
  ac_frame_destroy(f);
}

static void bad_lines_are_invalid_argument_with_the_reason(void) {
  char* err = NULL;
  CHECK(ac_frame_parse(LINE("{\"i\":\"m1\",\"a\":"), &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parse(LINE("{\"i\":\"m1\",\"a\":\"\xff\"}"), &err) == NULL); /* invalid UTF-8 */
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parse(LINE("[1,2]"), &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parse(LINE("{\"i\":\"m1\",\"a\":5}"), &err) == NULL);
  REQUIRE(err != NULL);
  CHECK(ac_test_contains(err, "\"a\" must be a string"));
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parse("", 0, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parse(NULL, 5, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  /* The length counts, not a NUL: a line cut short is malformed. */
  CHECK(ac_frame_parse("{\"i\":\"m1\"}", 5, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
}

static void built_frames_serialize_as_cast_does_and_parse_back(void) {
  char* err = NULL;
  ac_frame_t* frames[5];
  frames[0] = ac_frame_new_start("m1", "{\"type\":\"agent\",\"sender\":\"echo\"}", &err);
  frames[1] = ac_frame_new_append("m1", LINE("he said \"hi\"\n"), &err);
  frames[2] = ac_frame_new_set("m1", "2026-01-04T10:00:00.000Z", "{\"content\":\"done\"}", &err);
  frames[3] = ac_frame_new_reset("m1", &err);
  frames[4] = ac_frame_new_error("overloaded", NULL, &err);
  CHECK(err == NULL);
  const char* expected[5] = {
      "{\"i\":\"m1\",\"m\":{\"type\":\"agent\",\"sender\":\"echo\"}}",
      "{\"i\":\"m1\",\"a\":\"he said \\\"hi\\\"\\n\"}",
      "{\"i\":\"m1\",\"t\":\"2026-01-04T10:00:00.000Z\",\"v\":{\"content\":\"done\"}}",
      "{\"i\":\"m1\",\"v\":null}",
      "{\"error\":\"overloaded\"}"};
  const int kinds[5] = {AC_FRAME_START, AC_FRAME_APPEND, AC_FRAME_SET, AC_FRAME_RESET,
                        AC_FRAME_ERROR};
  for (int i = 0; i < 5; ++i) {
    REQUIRE(frames[i] != NULL);
    size_t len = 0;
    char* line = ac_frame_serialize(frames[i], &len, &err);
    CHECK_STR(line, expected[i]);
    if (line != NULL) {
      CHECK(len == strlen(line));
      ac_frame_t* back = ac_frame_parse(line, len, &err);
      CHECK(back != NULL);
      CHECK(ac_frame_kind_of(back) == kinds[i]);
      ac_frame_destroy(back);
    }
    ac_free(line);
    ac_frame_destroy(frames[i]);
  }
  CHECK(err == NULL);
}

static void frame_builders_refuse_bad_input(void) {
  char* err = NULL;
  CHECK(ac_frame_new_start(NULL, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_start("m\xc3", NULL, &err) == NULL); /* truncated UTF-8 */
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_start("m1", "{\"content\":\"x\"}", &err) == NULL); /* reserved key */
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_start("m1", "{not json", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_append("m1", LINE("\xed\xa0\x80"), &err) == NULL); /* a surrogate */
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_append("m1", NULL, 3, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_set("m1", "t", "[1]", &err) == NULL); /* not an object */
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_set("m1", "t", NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_set("m1", NULL, "{}", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_reset(NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_new_error(NULL, "x", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_serialize(NULL, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_value_json(NULL, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  /* Accessors of a NULL frame are empty, not a crash. */
  CHECK(ac_frame_kind_of(NULL) == -1);
  CHECK_STR(ac_frame_id(NULL, NULL), "");
  CHECK_STR(ac_frame_kind_name(99), "unknown");
  CHECK(ac_frame_copy(NULL) == NULL);
}

/* What a stream parser reported. */
typedef struct stream_log {
  int frames;
  uint64_t frame_lines[8];
  ac_frame_t* kept; /* a copy of the first append frame, kept past its callback */
  int invalid;
  uint64_t invalid_lines[8];
  char first_reason[128];
} stream_log;

static void on_frame(void* user, const ac_frame_t* frame, uint64_t line) {
  stream_log* log = user;
  if (log->frames < 8) log->frame_lines[log->frames] = line;
  ++log->frames;
  if (log->kept == NULL && ac_frame_kind_of(frame) == AC_FRAME_APPEND) {
    log->kept = ac_frame_copy(frame);
  }
}

static void on_invalid(void* user, uint64_t line, const char* reason) {
  stream_log* log = user;
  if (log->invalid < 8) log->invalid_lines[log->invalid] = line;
  if (log->invalid == 0) snprintf(log->first_reason, sizeof log->first_reason, "%s", reason);
  ++log->invalid;
}

static void a_stream_fed_in_pieces_reports_frames_and_errors_with_line_numbers(void) {
  char* err = NULL;
  stream_log log;
  memset(&log, 0, sizeof log);
  ac_frame_sink sink = {on_frame, on_invalid, &log};
  ac_frame_parser_t* parser = ac_frame_parser_create(0);
  REQUIRE(parser != NULL);
  const char* pieces[] = {"{\"i\":\"m1\"}\n{\"i\":\"m1\",\"a\":\"he", "llo\"}\r\nnot json\n",
                          "   \n{\"i\":\"m1\",\"t\":\"T\",\"v\":{\"x\":1}}"};
  for (int i = 0; i < 3; ++i) {
    CHECK(ac_frame_parser_feed(parser, pieces[i], strlen(pieces[i]), &sink, &err) == AC_OK);
  }
  CHECK(log.frames == 2); /* the last line has no newline yet */
  CHECK(ac_frame_parser_finish(parser, &sink, &err) == AC_OK);
  CHECK(err == NULL);
  CHECK(log.frames == 3);
  CHECK(log.frame_lines[0] == 1 && log.frame_lines[1] == 2 && log.frame_lines[2] == 5);
  CHECK(log.invalid == 1);
  CHECK(log.invalid_lines[0] == 3);
  CHECK(strlen(log.first_reason) > 0);
  REQUIRE(log.kept != NULL);
  CHECK_STR(ac_frame_text(log.kept, NULL), "hello");
  ac_frame_destroy(log.kept);
  /* After finish, line numbers restart. */
  CHECK(ac_frame_parser_lines(parser) == 0);
  ac_frame_parser_destroy(parser);
}

static void a_line_over_the_limit_is_reported_and_skipped(void) {
  stream_log log;
  memset(&log, 0, sizeof log);
  ac_frame_sink sink = {on_frame, on_invalid, &log};
  ac_frame_parser_t* parser = ac_frame_parser_create(16);
  const char* data = "{\"i\":\"m1\",\"a\":\"far too long for sixteen\"}\n{\"i\":\"m2\"}\n";
  CHECK(ac_frame_parser_feed(parser, data, strlen(data), &sink, NULL) == AC_OK);
  CHECK(log.invalid == 1 && log.invalid_lines[0] == 1);
  CHECK(log.frames == 1 && log.frame_lines[0] == 2);
  ac_frame_parser_destroy(parser);
}

static void a_sink_without_callbacks_drops_reports(void) {
  ac_frame_sink sink = {NULL, NULL, NULL};
  ac_frame_parser_t* parser = ac_frame_parser_create(0);
  CHECK(ac_frame_parser_feed(parser, "{\"i\":\"m1\"}\nbad\n", 15, &sink, NULL) == AC_OK);
  CHECK(ac_frame_parser_lines(parser) == 2);
  ac_frame_parser_destroy(parser);
}

static void the_stream_parser_refuses_null_arguments(void) {
  char* err = NULL;
  ac_frame_sink sink = {on_frame, on_invalid, NULL};
  ac_frame_parser_t* parser = ac_frame_parser_create(0);
  CHECK(ac_frame_parser_feed(NULL, "x", 1, &sink, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parser_feed(parser, "x", 1, NULL, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parser_feed(parser, NULL, 1, &sink, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parser_feed(parser, NULL, 0, &sink, &err) == AC_OK); /* nothing to feed */
  CHECK(ac_frame_parser_finish(NULL, &sink, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_frame_parser_lines(NULL) == 0);
  ac_frame_parser_destroy(parser);
}

/* Parses `line` and applies it; returns the event (or -1). */
static int apply_line(ac_assembler_t* a, const char* line, char** err) {
  ac_frame_t* f = ac_frame_parse(line, strlen(line), err);
  if (f == NULL) return -2;
  const int event = ac_assembler_apply(a, f, err);
  ac_frame_destroy(f);
  return event;
}

static void the_assembler_turns_frames_into_messages(void) {
  char* err = NULL;
  ac_assembler_t* a = ac_assembler_create(0, 0);
  REQUIRE(a != NULL);
  CHECK(apply_line(a, "{\"i\":\"m1\",\"m\":{\"sender\":\"echo\"}}", &err) == AC_ASSEMBLY_OPENED);
  CHECK(apply_line(a, "{\"i\":\"m1\",\"a\":\"Hel\"}", &err) == AC_ASSEMBLY_UPDATED);
  CHECK(apply_line(a, "{\"i\":\"m1\",\"a\":\"lo\"}", &err) == AC_ASSEMBLY_UPDATED);
  CHECK(ac_assembler_open_messages(a) == 1);
  const ac_message_t* m = ac_assembler_message(a);
  REQUIRE(m != NULL);
  CHECK_STR(ac_message_id(m, NULL), "m1");
  CHECK_STR(ac_message_text(m, NULL), "Hello");
  CHECK(!ac_message_is_complete(m));
  CHECK(ac_message_value_string(m, "sender", NULL) == NULL); /* still streaming */
  char* value = ac_message_value_json(m, NULL, &err);
  CHECK_STR(value, "{\"sender\":\"echo\",\"content\":\"Hello\"}");
  ac_free(value);
  ac_message_t* copy = ac_message_copy(m); /* outlives the next apply */
  CHECK(apply_line(a, "{\"i\":\"m1\",\"t\":\"T1\",\"v\":{\"content\":\"Hello!\"}}", &err) ==
        AC_ASSEMBLY_COMPLETED);
  m = ac_assembler_message(a);
  CHECK(ac_message_is_complete(m));
  CHECK_STR(ac_message_timestamp(m, NULL), "T1");
  CHECK_STR(ac_message_value_string(m, "content", NULL), "Hello!");
  CHECK(ac_message_value_string(m, "sender", NULL) == NULL); /* the set frame's value wins */
  CHECK(ac_assembler_open_messages(a) == 0);
  CHECK_STR(ac_message_text(copy, NULL), "Hello");
  CHECK(!ac_message_is_complete(copy));
  ac_message_destroy(copy);
  ac_message_destroy((ac_message_t*)m); /* the assembler's own: not freed, no double free */
  CHECK(apply_line(a, "{\"i\":\"m2\",\"a\":\"x\"}", &err) == AC_ASSEMBLY_IGNORED);
  CHECK(apply_line(a, "{\"request\":\"sync\"}", &err) == AC_ASSEMBLY_IGNORED);
  CHECK(apply_line(a, "{\"i\":\"m3\"}", &err) == AC_ASSEMBLY_OPENED);
  CHECK(ac_assembler_abandon(a, "m3") == 1);
  CHECK(ac_assembler_abandon(a, "m3") == 0);
  CHECK(ac_assembler_abandon(a, NULL) == 0);
  CHECK(apply_line(a, "{\"i\":\"m1\",\"v\":null}", &err) == AC_ASSEMBLY_DELETED);
  CHECK(err == NULL);
  ac_assembler_destroy(a);
}

static void the_assemblers_limits_refuse_with_too_large(void) {
  char* err = NULL;
  ac_assembler_t* a = ac_assembler_create(1, 4);
  CHECK(apply_line(a, "{\"i\":\"m1\"}", &err) == AC_ASSEMBLY_OPENED);
  CHECK(apply_line(a, "{\"i\":\"m2\"}", &err) == -1);
  CHECK_ERROR(err, AC_TOO_LARGE);
  CHECK(apply_line(a, "{\"i\":\"m1\",\"a\":\"12345\"}", &err) == -1);
  CHECK_ERROR(err, AC_TOO_LARGE);
  CHECK(ac_assembler_apply(a, NULL, &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_assembler_apply(NULL, NULL, &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_assembler_message(NULL) == NULL);
  CHECK(ac_message_copy(NULL) == NULL);
  CHECK(ac_message_value_json(NULL, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  ac_assembler_destroy(a);
}

static void the_message_handle_streams_then_sets(void) {
  char* err = NULL;
  ac_message_handle_t* h = ac_message_handle_create("m1", "{\"type\":\"agent\"}", &err);
  REQUIRE(h != NULL);
  CHECK_STR(ac_message_handle_id(h), "m1");
  CHECK(!ac_message_handle_started(h));
  size_t len = 0;
  char* lines = ac_message_handle_stream(h, LINE("Hel"), &len, &err);
  CHECK_STR(lines, "{\"i\":\"m1\",\"m\":{\"type\":\"agent\"}}\n{\"i\":\"m1\",\"a\":\"Hel\"}\n");
  CHECK(lines != NULL && len == strlen(lines));
  ac_free(lines);
  lines = ac_message_handle_stream(h, LINE("lo"), NULL, &err);
  CHECK_STR(lines, "{\"i\":\"m1\",\"a\":\"lo\"}\n");
  ac_free(lines);
  CHECK(ac_message_handle_started(h));
  CHECK_STR(ac_message_handle_text(h, NULL), "Hello");
  char* set = ac_message_handle_set(h, "{\"done\":true}", "T9", NULL, &err);
  CHECK(ac_test_contains(set, "\"content\":\"Hello\""));
  CHECK(ac_test_contains(set, "\"done\":true"));
  CHECK(ac_test_contains(set, "\"t\":\"T9\""));
  ac_free(set);
  CHECK(ac_message_handle_finalized(h));
  CHECK(err == NULL);
  CHECK(ac_message_handle_stream(h, LINE("more"), NULL, &err) == NULL);
  CHECK_ERROR(err, AC_CONFLICT);
  CHECK(ac_message_handle_set(h, "{}", "T", NULL, &err) == NULL);
  CHECK_ERROR(err, AC_CONFLICT);
  ac_message_handle_destroy(h);
}

static void the_message_handle_refuses_bad_input(void) {
  char* err = NULL;
  CHECK(ac_message_handle_create("m1", "{\"content\":1}", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_message_handle_create("m1", "\"text\"", &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_message_handle_create(NULL, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  ac_message_handle_t* h = ac_message_handle_create("m1", NULL, &err);
  REQUIRE(h != NULL);
  CHECK(ac_message_handle_stream(h, LINE("\xc0\xaf"), NULL, &err) == NULL); /* overlong */
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_message_handle_set(h, "not json", "T", NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  char* reset = ac_message_handle_delete(h, NULL, &err);
  CHECK_STR(reset, "{\"i\":\"m1\",\"v\":null}\n");
  ac_free(reset);
  CHECK(ac_message_handle_delete(NULL, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK_STR(ac_message_handle_id(NULL), "");
  ac_message_handle_destroy(h);
}

const ac_test_case ac_tymbal_tests[] = {
    {"a set line parses with its fields", a_set_line_parses_with_its_fields},
    {"bad lines are invalid_argument with the reason",
     bad_lines_are_invalid_argument_with_the_reason},
    {"built frames serialize as Cast does and parse back",
     built_frames_serialize_as_cast_does_and_parse_back},
    {"frame builders refuse bad input", frame_builders_refuse_bad_input},
    {"a stream fed in pieces reports frames and errors with line numbers",
     a_stream_fed_in_pieces_reports_frames_and_errors_with_line_numbers},
    {"a line over the limit is reported and skipped", a_line_over_the_limit_is_reported_and_skipped},
    {"a sink without callbacks drops reports", a_sink_without_callbacks_drops_reports},
    {"the stream parser refuses NULL arguments", the_stream_parser_refuses_null_arguments},
    {"the assembler turns frames into messages", the_assembler_turns_frames_into_messages},
    {"the assembler's limits refuse with too_large", the_assemblers_limits_refuse_with_too_large},
    {"the message handle streams then sets", the_message_handle_streams_then_sets},
    {"the message handle refuses bad input", the_message_handle_refuses_bad_input},
    {NULL, NULL}};
