# SPDX-License-Identifier: Apache-2.0
import http.server
import json
import threading

import pytest

import agentcore


@pytest.fixture
def hub(tmp_path):
    with agentcore.open_hub(f"sqlite://{tmp_path}/hub.db", data_dir=str(tmp_path / "agents"),
                            background_threads=2) as h:
        h.ensure_space("demo", owner="alice")
        yield h
    assert h.closed


def test_channels_and_posting(hub):
    ch = hub.create_channel("demo", "ops", tagline="on call")
    assert (ch.name, ch.space_id, ch.tagline) == ("ops", "demo", "on call")
    assert [c.id for c in hub.list_channels("demo")] == [ch.id]
    assert hub.get_channel("demo", ch.id) == ch
    with pytest.raises(agentcore.AlreadyExists):
        hub.create_channel("demo", "ops")
    with pytest.raises(agentcore.InvalidArgument, match="Channel name is required"):
        hub.create_channel("demo", "")
    with pytest.raises(agentcore.NotFound) as e:
        hub.get_channel("other-space", ch.id)
    assert e.value.code == "not_found"
    with pytest.raises(agentcore.NotFound):
        hub.get_channel("demo", "no-such-channel")

    posted = hub.post("demo", ch.id, "hello @alice", sender="alice")
    assert posted.message.content == "hello @alice" and posted.message.seq > 0
    assert hub.messages(ch.id)[-1].id == posted.message.id
    with pytest.raises(agentcore.InvalidArgument, match="sender and content are required"):
        hub.post("demo", ch.id, "", sender="alice")
    with pytest.raises(agentcore.InvalidArgument, match="senderType"):
        hub.post("demo", ch.id, "x", sender="alice", sender_type="robot")
    with pytest.raises(agentcore.NotFound):
        hub.post("demo", "nope", "x", sender="alice")


def test_subscription_iterator_receives_published_lines(hub):
    ch = hub.create_channel("demo", "ops")
    with hub.subscribe(ch.id) as sub:
        posted = hub.post("demo", ch.id, "one", sender="alice")
        event = sub.get(timeout=5)
        assert event is not None and event.channel_id == ch.id
        assert event.frame.kind == "set" and event.frame.id == posted.message.id
        assert event.event_id == posted.message.id and event.seq == posted.message.seq
        assert sub.get(timeout=0.05) is None
    assert sub.closed
    assert list(sub) == []  # a closed subscription ends the iteration


def test_subscription_bounded_queue_drops_the_oldest(hub):
    ch = hub.create_channel("demo", "ops")
    other = hub.create_channel("demo", "elsewhere")
    sub = hub.subscribe(ch.id, max_queued=2)
    everything = hub.subscribe()
    for i in range(4):
        hub.post("demo", ch.id, f"m{i}", sender="alice")
    hub.post("demo", other.id, "x", sender="alice")
    got = [sub.get(timeout=5).frame.value["content"] for _ in range(2)]
    assert got == ["m2", "m3"] and sub.dropped == 2
    assert sum(1 for _ in iter(lambda: everything.get(timeout=0.2), None)) == 5
    with pytest.raises(agentcore.InvalidArgument):
        hub.subscribe(max_queued=0)


def test_subscription_callback_runs_on_its_own_thread(hub):
    ch = hub.create_channel("demo", "ops")
    seen = []
    done = threading.Event()

    def on_event(event):
        seen.append((event.frame.kind, threading.get_ident()))
        done.set()

    sub = hub.subscribe(ch.id, callback=on_event)
    hub.post("demo", ch.id, "ping", sender="alice")
    assert done.wait(5)
    assert seen[0][0] == "set" and seen[0][1] != threading.get_ident()
    with pytest.raises(agentcore.InvalidArgument):
        sub.get(timeout=0)
    sub.close()
    with pytest.raises(TypeError):
        hub.subscribe(callback=42)
    # A callback subscription outlives its dropped Python object, until the hub closes.
    again = threading.Event()
    hub.subscribe(ch.id, callback=lambda e: again.set())
    hub.post("demo", ch.id, "pong", sender="alice")
    assert again.wait(5)


class _Agent(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Agent.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *args):
        pass


def test_agent_checkin_gets_queued_messages_pushed_while_the_gil_is_free(hub):
    ch = hub.create_channel("demo", "ops")
    entry = hub.add_agent("demo", ch.id, "bot", "engineer")
    assert (entry.callsign, entry.status) == ("bot", "active")
    with pytest.raises(agentcore.AlreadyExists):
        hub.add_agent("demo", ch.id, "bot", "engineer")
    with pytest.raises(agentcore.InvalidArgument):
        hub.add_agent("demo", ch.id, "a:b", "engineer")
    posted = hub.post("demo", ch.id, "@bot build it", sender="alice")
    assert posted.targets == ["bot"]

    # The push goes to a Python HTTP server in this process: checkin must release the GIL.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Agent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        _Agent.received.clear()
        assert hub.checkin("demo", ch.id, "bot", endpoint) == 1
        assert _Agent.received and "build it" in json.dumps(_Agent.received[0][1])
        assert hub.heartbeat("demo", ch.id, "bot") > 0
        presence = hub.presence("demo", ch.id, "bot")
        assert presence.online and presence.endpoint == endpoint
        paused = hub.roster_action("demo", ch.id, "bot", "pause")
        assert paused.status == "paused"
        with pytest.raises(agentcore.InvalidArgument, match="already paused"):
            hub.roster_action("demo", ch.id, "bot", "pause")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(agentcore.NotFound, match="Agent not found"):
        hub.checkin("demo", ch.id, "ghost", "http://127.0.0.1:1")
    assert not hub.presence("demo", ch.id, "ghost").online
    assert [e.callsign for e in hub.roster("demo", ch.id)] == ["bot"]
    assert hub.container_token("demo", ch.id, "bot")
    hub.sweep()


def test_closed_hub_refuses_calls_and_bad_urls_fail_clearly(tmp_path):
    h = agentcore.open_hub(f"sqlite://{tmp_path}/a.db", data_dir=str(tmp_path / "d"))
    sub = h.subscribe()
    h.close()
    h.close()  # idempotent
    assert sub.closed and sub.get(timeout=0) is None
    with pytest.raises(agentcore.Unavailable, match="closed"):
        h.list_channels("demo")
    with pytest.raises(agentcore.Error) as e:
        agentcore.open_hub("nosuchscheme://x", data_dir=str(tmp_path / "e"))
    assert e.value.code in ("invalid_argument", "not_supported")
    # A second hub on the same SQLite file is refused while the first is open.
    with agentcore.open_hub(f"sqlite://{tmp_path}/b.db", data_dir=str(tmp_path / "f")):
        with pytest.raises(agentcore.Unavailable, match="another agentcore server"):
            agentcore.open_hub(f"sqlite://{tmp_path}/b.db", data_dir=str(tmp_path / "g"))
