/* SPDX-License-Identifier: Apache-2.0 */
/* The program tests/package/run.sh builds against the installed C API (component `c`): a Tymbal
 * line parsed, a mention routed, a hub opened with one channel. Prints one line that run.sh
 * checks; exits 1 with the reason on failure.
 *
 *   agentcore-c-consumer DIR   (an empty scratch directory for the SQLite file) */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agentcore/agentcore_c.h>

static void fail(const char* step, char* err) {
  fprintf(stderr, "agentcore-c-consumer: %s: %s\n", step, err != NULL ? err : "failed");
  ac_free(err);
  exit(1);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: agentcore-c-consumer DIR\n");
    return 2;
  }
  char* err = NULL;
  const char* line = "{\"i\":\"m1\",\"t\":\"2026-01-04T10:00:00.000Z\",\"v\":{\"content\":\"hi\"}}";
  ac_frame_t* frame = ac_frame_parse(line, strlen(line), &err);
  if (frame == NULL) fail("tymbal", err);

  const char* agents[] = {"alice", "bob", "carol"};
  ac_roster_t* roster = ac_roster_create(agents, 3, "alice", NULL, 0, &err);
  const char* content = "hi @bob and @carol";
  ac_mentions_t* mentions = ac_mentions_parse(content, strlen(content), &err);
  ac_routing_t* routing = ac_route_message(mentions, AC_SENDER_HUMAN, roster, NULL, &err);
  if (routing == NULL || ac_routing_target_count(routing) != 2) fail("routing", err);

  ac_hub_options_t* options = ac_hub_options_create();
  char url[4096], data[4096];
  snprintf(url, sizeof url, "sqlite://%s/hub.db", argv[1]);
  snprintf(data, sizeof data, "%s/agents", argv[1]);
  if (ac_hub_options_set_store_url(options, url, &err) != AC_OK ||
      ac_hub_options_set_data_dir(options, data, &err) != AC_OK) {
    fail("options", err);
  }
  ac_hub_t* hub = ac_hub_open(options, &err);
  ac_hub_options_destroy(options);
  if (hub == NULL) fail("hub", err);
  if (ac_hub_ensure_space(hub, "demo", "Demo", NULL, &err) != AC_OK) fail("space", err);
  char* channel = ac_hub_create_channel(hub, "demo", "ops", &err);
  if (channel == NULL) fail("channel", err);

  printf("agentcore-c %s: tymbal %s, routed to %s,%s, hub with 1 channel\n", ac_version(),
         ac_frame_id(frame, NULL), ac_routing_target(routing, 0), ac_routing_target(routing, 1));
  ac_free(channel);
  ac_hub_close(hub);
  ac_routing_destroy(routing);
  ac_mentions_destroy(mentions);
  ac_roster_destroy(roster);
  ac_frame_destroy(frame);
  return 0;
}
