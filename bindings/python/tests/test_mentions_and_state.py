# SPDX-License-Identifier: Apache-2.0
import pytest

import agentcore


def test_mentions_follow_casts_regex():
    assert agentcore.parse_mentions("hi @Fox and bob@bear.com @fox @channel") == (
        ["fox", "bear"], True)
    assert agentcore.parse_mentions(b"@caf\xc3\xa9 @\xff") == (["caf"], False)
    assert agentcore.parse_mentions("") == ([], False)
    assert agentcore.strip_mentions("a  @fox   b ") == "a b"
    assert agentcore.strip_mentions(b"x @y \xff") == b"x \xff"
    assert agentcore.is_mentionable_callsign("fox-1") and not agentcore.is_mentionable_callsign("Fox")
    with pytest.raises(TypeError):
        agentcore.parse_mentions(None)


def test_routing_rules():
    roster = agentcore.RoutingRoster(agents=["lead", "fox"], leader="lead", users=["alice"])
    assert agentcore.route_message("@fox @nobody", roster) == (["fox"], False)
    assert agentcore.route_message("hello", roster) == (["lead"], False)
    assert agentcore.route_message("hello", roster, sender_kind="agent", sender="fox") == ([], False)
    assert agentcore.route_message("@channel", roster, sender_kind="agent", sender="fox") == (
        ["lead"], True)
    routing = agentcore.route_message("@alice @fox", roster)
    assert agentcore.invocation_targets(routing, roster) == ["fox"]
    with pytest.raises(agentcore.InvalidArgument):
        agentcore.route_message("x", roster, sender_kind="robot")
    with pytest.raises(TypeError):
        agentcore.route_message("x", agentcore.RoutingRoster(agents="fox"))
    router = agentcore.MessageRouter(roster)
    assert router.route("@FOX hi") == (["fox"], False)
    assert router.roster == roster


def test_build_routing_roster_picks_the_lead():
    roster = agentcore.build_routing_roster(
        [{"callsign": "b", "agent_type": "dev", "created_at": 2},
         {"callsign": "a", "agent_type": "Team Lead", "created_at": 3},
         {"callsign": "z", "agent_type": "lead", "archived": True}], "alice")
    assert roster == agentcore.RoutingRoster(["b", "a"], "a", ["alice"])


def test_transition_functions():
    assert agentcore.next_activation_state("inactive", "activate") == "activating"
    with pytest.raises(agentcore.Conflict) as e:
        agentcore.next_activation_state("activating", "heartbeat")
    assert e.value.code == "conflict" and "heartbeat" in str(e.value)
    with pytest.raises(agentcore.InvalidArgument, match="unknown activation state"):
        agentcore.next_activation_state("sleeping", "activate")
    assert agentcore.next_roster_status("active", "pause") == ("paused", True, False)
    assert agentcore.next_roster_status("paused", "remove").to is None
    with pytest.raises(agentcore.Conflict):
        agentcore.next_roster_status("paused", "pause")
    assert agentcore.roster_rejection_text("paused", "pause") == "Agent is already paused"
    assert agentcore.next_run_state("queued", "claim") == "planning"
    assert agentcore.is_final_run_state("cancelled")
    with pytest.raises(agentcore.Conflict):
        agentcore.next_run_state("succeeded", "cancel")
    assert agentcore.next_session_state("running", "upgrade") == "creating"
    with pytest.raises(agentcore.Conflict):
        agentcore.next_session_state("deleted", "delete")
    assert "heartbeat_timeout" in agentcore.ACTIVATION_EVENTS and len(agentcore.RUN_STATES) == 6
    # Every pair gives a state or a library error, never anything else.
    for s in agentcore.SESSION_STATES:
        for ev in agentcore.SESSION_EVENTS:
            try:
                assert agentcore.next_session_state(s, ev) in agentcore.SESSION_STATES
            except agentcore.Conflict:
                pass


def test_lifecycles():
    run = agentcore.RunLifecycle(max_attempts=2, lease_ms=100)
    run.claim(1000)
    assert (run.state, run.attempts, run.lease_expires_at) == ("planning", 1, 1100)
    assert run.sweep(1101) == "requeued"
    run.claim(2000)
    assert run.fail() == "failed"
    with pytest.raises(agentcore.Conflict):
        run.cancel()
    with pytest.raises(agentcore.InvalidArgument):
        agentcore.RunLifecycle(max_attempts=0)
    session = agentcore.SessionLifecycle(0, startup_timeout_ms=10)
    assert session.sweep(11) and session.state == "failed"
    session.upgrade(20)
    assert (session.state, session.generation) == ("creating", 2)
    agent = agentcore.AgentLifecycle(0, heartbeat_staleness_ms=50)
    assert agent.activate(0) == "start_runtime"
    assert agent.enqueue("m1", 1) == "queued"
    assert agent.checkin(2) == ["m1"] and agent.is_online(3)
    assert agent.sweep(100) == "heartbeat_stale"
    with pytest.raises(agentcore.InvalidArgument):
        agent.enqueue("", 0)


def test_the_docs_show_the_example_the_test_command_runs():
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[3]
    example = (root / "bindings/python/examples/quickstart.py").read_text()
    code = example[example.index("import tempfile"):]
    assert code in (root / "docs/embedding.md").read_text()
