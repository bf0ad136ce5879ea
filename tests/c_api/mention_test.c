/* SPDX-License-Identifier: Apache-2.0 */
/* Mentions and routing through the C API (spec cast §3). */

#include "harness.h"

#define TEXT(s) (s), (sizeof(s) - 1)

static void mentions_are_lower_cased_distinct_and_in_order(void) {
  char* err = NULL;
  ac_mentions_t* m = ac_mentions_parse(TEXT("hi @Bob and @carol, @bob again; mail me@fox.com"), &err);
  REQUIRE(m != NULL);
  CHECK(ac_mentions_count(m) == 3);
  CHECK_STR(ac_mentions_name(m, 0), "bob");
  CHECK_STR(ac_mentions_name(m, 1), "carol");
  CHECK_STR(ac_mentions_name(m, 2), "fox");
  CHECK(ac_mentions_name(m, 3) == NULL);
  CHECK(!ac_mentions_is_channel(m));
  ac_mentions_destroy(m);
  m = ac_mentions_parse(TEXT("status @CHANNEL please"), &err);
  CHECK(ac_mentions_is_channel(m));
  CHECK(ac_mentions_count(m) == 0);
  ac_mentions_destroy(m);
  CHECK(err == NULL);
}

static void any_bytes_are_content_nul_and_invalid_utf8_included(void) {
  char* err = NULL;
  ac_mentions_t* m = ac_mentions_parse(TEXT("@fox\0@bear \xff@caf\xc3\xa9"), &err);
  REQUIRE(m != NULL);
  CHECK(ac_mentions_count(m) == 3);
  CHECK_STR(ac_mentions_name(m, 1), "bear");
  CHECK_STR(ac_mentions_name(m, 2), "caf");
  ac_mentions_destroy(m);
  m = ac_mentions_parse(NULL, 0, &err); /* empty content */
  CHECK(m != NULL && ac_mentions_count(m) == 0);
  ac_mentions_destroy(m);
  CHECK(ac_mentions_parse(NULL, 3, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_mentions_count(NULL) == 0);
  CHECK(ac_mentions_name(NULL, 0) == NULL);
}

static void stripping_removes_mentions_and_collapses_whitespace(void) {
  char* err = NULL;
  size_t len = 99;
  char* out = ac_mentions_strip(TEXT("  @fox   hello\t@bear world  "), &len, &err);
  CHECK_STR(out, "hello world");
  CHECK(len == 11);
  ac_free(out);
  out = ac_mentions_strip(TEXT("a\0b @x"), &len, &err); /* NUL passes through */
  CHECK(out != NULL && len == 3 && out[1] == '\0' && out[2] == 'b');
  ac_free(out);
  CHECK(ac_mentions_strip(NULL, 1, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
}

static void callsigns_are_mentionable_only_in_the_mention_alphabet(void) {
  CHECK(ac_callsign_is_mentionable("fox-1_a"));
  CHECK(!ac_callsign_is_mentionable("Fox"));
  CHECK(!ac_callsign_is_mentionable("channel"));
  CHECK(!ac_callsign_is_mentionable(""));
  CHECK(!ac_callsign_is_mentionable(NULL));
}

/* Routes `content` from `kind`/`sender` against alice, bob, carol (leader alice, user dan). */
static ac_routing_t* route(const char* content, int kind, const char* sender) {
  const char* agents[] = {"alice", "bob", "carol"};
  const char* users[] = {"dan"};
  ac_roster_t* roster = ac_roster_create(agents, 3, "alice", users, 1, NULL);
  ac_mentions_t* mentions = ac_mentions_parse(content, strlen(content), NULL);
  ac_routing_t* routing = ac_route_message(mentions, kind, roster, sender, NULL);
  ac_mentions_destroy(mentions);
  ac_roster_destroy(roster); /* the routing owns its results */
  return routing;
}

static void routing_follows_casts_rules(void) {
  ac_routing_t* r = route("morning", AC_SENDER_HUMAN, NULL);
  REQUIRE(r != NULL);
  CHECK(ac_routing_target_count(r) == 1);
  CHECK_STR(ac_routing_target(r, 0), "alice"); /* a human's message without mentions: leader */
  ac_routing_destroy(r);

  r = route("@bob @dan @zed look", AC_SENDER_HUMAN, NULL);
  CHECK(ac_routing_target_count(r) == 2);
  CHECK_STR(ac_routing_target(r, 0), "bob");
  CHECK_STR(ac_routing_target(r, 1), "dan");
  CHECK(ac_routing_invocation_count(r) == 1); /* users are not invoked */
  CHECK_STR(ac_routing_invocation(r, 0), "bob");
  CHECK(ac_routing_invocation(r, 1) == NULL);
  CHECK(!ac_routing_is_broadcast(r));
  ac_routing_destroy(r);

  r = route("@channel report", AC_SENDER_AGENT, "bob");
  CHECK(ac_routing_is_broadcast(r));
  CHECK(ac_routing_target_count(r) == 2);
  CHECK_STR(ac_routing_target(r, 0), "alice");
  CHECK_STR(ac_routing_target(r, 1), "carol");
  ac_routing_destroy(r);

  r = route("just thinking", AC_SENDER_AGENT, "bob");
  CHECK(ac_routing_target_count(r) == 0);
  CHECK(ac_routing_target(r, 0) == NULL);
  ac_routing_destroy(r);
}

static void rosters_and_routing_refuse_null_and_unknown_input(void) {
  char* err = NULL;
  const char* with_null[] = {"alice", NULL};
  CHECK(ac_roster_create(with_null, 2, "alice", NULL, 0, &err) == NULL);
  CHECK(ac_test_contains(err, "agents[1]"));
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_roster_create(NULL, 1, NULL, NULL, 0, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_roster_create(NULL, 0, NULL, NULL, 2, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  ac_roster_t* empty = ac_roster_create(NULL, 0, NULL, NULL, 0, &err);
  REQUIRE(empty != NULL);
  ac_mentions_t* m = ac_mentions_parse(TEXT("hi"), &err);
  ac_routing_t* r = ac_route_message(m, AC_SENDER_HUMAN, empty, NULL, &err);
  CHECK(ac_routing_target_count(r) == 1); /* Cast addresses [""] ... */
  CHECK_STR(ac_routing_target(r, 0), "");
  CHECK(ac_routing_invocation_count(r) == 0); /* ... and nobody is invoked */
  ac_routing_destroy(r);
  CHECK(ac_route_message(NULL, AC_SENDER_HUMAN, empty, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_route_message(m, AC_SENDER_HUMAN, NULL, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_route_message(m, 7, empty, NULL, &err) == NULL);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  ac_mentions_destroy(m);
  ac_roster_destroy(empty);
}

const ac_test_case ac_mention_tests[] = {
    {"mentions are lower-cased, distinct and in order",
     mentions_are_lower_cased_distinct_and_in_order},
    {"any bytes are content, NUL and invalid UTF-8 included",
     any_bytes_are_content_nul_and_invalid_utf8_included},
    {"stripping removes mentions and collapses whitespace",
     stripping_removes_mentions_and_collapses_whitespace},
    {"callsigns are mentionable only in the mention alphabet",
     callsigns_are_mentionable_only_in_the_mention_alphabet},
    {"routing follows Cast's rules", routing_follows_casts_rules},
    {"rosters and routing refuse NULL and unknown input",
     rosters_and_routing_refuse_null_and_unknown_input},
    {NULL, NULL}};
