/* SPDX-License-Identifier: Apache-2.0 */
/* The state machines' transition functions through the C API. */

#include "harness.h"

static void the_agent_status_table_is_total(void) {
  CHECK(ac_agent_status_next(AC_AGENT_OFFLINE, AC_AGENT_EV_ACTIVATE) == AC_AGENT_ACTIVATING);
  CHECK(ac_agent_status_next(AC_AGENT_ACTIVATING, AC_AGENT_EV_CHECKIN) == AC_AGENT_ONLINE);
  CHECK(ac_agent_status_next(AC_AGENT_ONLINE, AC_AGENT_EV_FRAME) == AC_AGENT_BUSY);
  CHECK(ac_agent_status_next(AC_AGENT_BUSY, AC_AGENT_EV_SUSPEND) == AC_AGENT_OFFLINE);
  /* Outside the enumerations: error, as in C++; 256 must not wrap around to offline. */
  CHECK(ac_agent_status_next(256, AC_AGENT_EV_ACTIVATE) == AC_AGENT_ERROR);
  CHECK(ac_agent_status_next(-1, AC_AGENT_EV_ACTIVATE) == AC_AGENT_ERROR);
  CHECK(ac_agent_status_next(AC_AGENT_OFFLINE, 6) == AC_AGENT_ERROR);
  CHECK(ac_agent_status_is_online(AC_AGENT_BUSY));
  CHECK(!ac_agent_status_is_online(AC_AGENT_ACTIVATING));
  CHECK(!ac_agent_status_is_online(258));
}

static void activation_refuses_a_heartbeat_before_checkin(void) {
  char* err = NULL;
  CHECK(ac_activation_state_next(AC_ACTIVATION_INACTIVE, AC_ACTIVATION_EV_ACTIVATE, &err) ==
        AC_ACTIVATION_ACTIVATING);
  CHECK(ac_activation_state_next(AC_ACTIVATION_ACTIVE, AC_ACTIVATION_EV_HEARTBEAT_TIMEOUT, &err) ==
        AC_ACTIVATION_STALE);
  CHECK(err == NULL);
  CHECK(ac_activation_state_next(AC_ACTIVATION_ACTIVATING, AC_ACTIVATION_EV_HEARTBEAT, &err) == -1);
  CHECK(ac_test_contains(err, "cannot accept heartbeat for agent in state \"activating\""));
  CHECK_ERROR(err, AC_CONFLICT);
  CHECK(ac_activation_state_next(6, AC_ACTIVATION_EV_CHECKIN, &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_activation_state_next(AC_ACTIVATION_ACTIVE, 7, &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
}

static void roster_actions_give_status_and_side_effects(void) {
  char* err = NULL;
  ac_roster_transition t;
  CHECK(ac_roster_status_next(AC_ROSTER_ACTIVE, AC_ROSTER_PAUSE, &t, &err) == AC_OK);
  CHECK(!t.deleted && t.to == AC_ROSTER_PAUSED && t.suspend_runtime && !t.activate_runtime);
  CHECK(ac_roster_status_next(AC_ROSTER_ARCHIVED, AC_ROSTER_UNARCHIVE, &t, &err) == AC_OK);
  CHECK(t.to == AC_ROSTER_ACTIVE && t.activate_runtime);
  CHECK(ac_roster_status_next(AC_ROSTER_BUSY, AC_ROSTER_REMOVE, &t, &err) == AC_OK);
  CHECK(t.deleted && t.to == -1);
  CHECK(err == NULL);
  CHECK(ac_roster_status_next(AC_ROSTER_PAUSED, AC_ROSTER_PAUSE, &t, &err) == AC_CONFLICT);
  CHECK_ERROR(err, AC_CONFLICT);
  CHECK_STR(ac_roster_rejection_text(AC_ROSTER_PAUSED, AC_ROSTER_PAUSE), "Agent is already paused");
  CHECK_STR(ac_roster_rejection_text(AC_ROSTER_ACTIVE, AC_ROSTER_PAUSE), "");
  CHECK_STR(ac_roster_rejection_text(9, AC_ROSTER_PAUSE), "");
  CHECK(ac_roster_status_next(AC_ROSTER_ACTIVE, 6, &t, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_roster_status_next(AC_ROSTER_ACTIVE, AC_ROSTER_PAUSE, NULL, &err) == AC_INVALID_ARGUMENT);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
}

static void runs_move_through_their_table(void) {
  char* err = NULL;
  CHECK(ac_run_state_next(AC_RUN_QUEUED, AC_RUN_EV_CLAIM, &err) == AC_RUN_PLANNING);
  CHECK(ac_run_state_next(AC_RUN_PLANNING, AC_RUN_EV_START_BUILD, &err) == AC_RUN_BUILDING);
  CHECK(ac_run_state_next(AC_RUN_BUILDING, AC_RUN_EV_REQUEUE, &err) == AC_RUN_QUEUED);
  CHECK(ac_run_state_next(AC_RUN_BUILDING, AC_RUN_EV_COMPLETE, &err) == AC_RUN_SUCCEEDED);
  CHECK(err == NULL);
  CHECK(ac_run_state_is_final(AC_RUN_CANCELLED));
  CHECK(!ac_run_state_is_final(AC_RUN_BUILDING));
  CHECK(!ac_run_state_is_final(300));
  CHECK(ac_run_state_next(AC_RUN_SUCCEEDED, AC_RUN_EV_CANCEL, &err) == -1);
  CHECK(ac_test_contains(err, "cannot cancel run in state \"succeeded\""));
  CHECK_ERROR(err, AC_CONFLICT);
  CHECK(ac_run_state_next(300, AC_RUN_EV_CLAIM, &err) == -1); /* 300 would wrap to 44 */
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
}

static void sessions_move_through_their_table(void) {
  char* err = NULL;
  CHECK(ac_session_state_next(AC_SESSION_CREATING, AC_SESSION_EV_READY, &err) == AC_SESSION_RUNNING);
  CHECK(ac_session_state_next(AC_SESSION_RUNNING, AC_SESSION_EV_UPGRADE, &err) ==
        AC_SESSION_CREATING);
  CHECK(ac_session_state_next(AC_SESSION_FAILED, AC_SESSION_EV_RESUME, &err) == AC_SESSION_CREATING);
  CHECK(err == NULL);
  CHECK(ac_session_state_next(AC_SESSION_DELETED, AC_SESSION_EV_DELETE, &err) == -1);
  CHECK_ERROR(err, AC_CONFLICT);
  CHECK(ac_session_state_next(AC_SESSION_CREATING, AC_SESSION_EV_UPGRADE, &err) == -1);
  CHECK_ERROR(err, AC_CONFLICT);
  CHECK(ac_session_state_next(AC_SESSION_CREATING, -3, &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
}

static void every_enumeration_value_has_a_name_that_parses_back(void) {
  char* err = NULL;
  const int counts[] = {6, 6, 6, 7, 6, 6, 6, 7, 5, 6};
  for (int which = AC_ENUM_AGENT_STATUS; which <= AC_ENUM_SESSION_EVENT; ++which) {
    for (int value = 0; value < counts[which]; ++value) {
      const char* name = ac_enum_name(which, value);
      CHECK(!ac_test_streq(name, "unknown"));
      CHECK(ac_enum_parse(which, name, &err) == value);
    }
    CHECK_STR(ac_enum_name(which, counts[which]), "unknown");
  }
  CHECK(err == NULL);
  CHECK_STR(ac_enum_name(AC_ENUM_ACTIVATION_EVENT, AC_ACTIVATION_EV_HEARTBEAT_TIMEOUT),
            "heartbeat_timeout");
  CHECK_STR(ac_enum_name(AC_ENUM_RUN_EVENT, AC_RUN_EV_START_BUILD), "start_build");
  CHECK_STR(ac_enum_name(99, 0), "unknown");
  CHECK(ac_enum_parse(AC_ENUM_RUN_STATE, "Queued", &err) == -1); /* exact match only */
  CHECK(ac_test_contains(err, "unknown run state"));
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_enum_parse(AC_ENUM_RUN_STATE, NULL, &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
  CHECK(ac_enum_parse(10, "queued", &err) == -1);
  CHECK_ERROR(err, AC_INVALID_ARGUMENT);
}

const ac_test_case ac_state_tests[] = {
    {"the agent status table is total", the_agent_status_table_is_total},
    {"activation refuses a heartbeat before checkin", activation_refuses_a_heartbeat_before_checkin},
    {"roster actions give status and side effects", roster_actions_give_status_and_side_effects},
    {"runs move through their table", runs_move_through_their_table},
    {"sessions move through their table", sessions_move_through_their_table},
    {"every enumeration value has a name that parses back",
     every_enumeration_value_has_a_name_that_parses_back},
    {NULL, NULL}};
