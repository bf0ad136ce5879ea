# SPDX-License-Identifier: Apache-2.0
# docs/embedding.md, "From Python": the module without installing it
# (PYTHONPATH=build/release/python /usr/bin/python3 bindings/python/examples/quickstart.py);
# the test command runs it and checks its last line.
import tempfile

import agentcore

# Tymbal: one line, then a stream with a bad line reported by number.
frame = agentcore.parse_frame('{"i":"01JGZ5V7A1B2C3D4E5F6G7H8J9","a":"hi"}')
print(frame.kind, frame.text)                                     # append hi
stream = b'{"i":"m1","m":{"type":"thinking"}}\n{"i":"m1","a":"hel"}\n{"i":"m1","a":7}\n'
try:
    agentcore.parse_frames(stream)
except agentcore.ParseError as e:
    print("line", e.line, e.code)                                 # line 3 invalid_argument
assembler = agentcore.MessageAssembler()
for f in agentcore.parse_frames(stream, errors="skip"):
    last = assembler.apply(f)
print(last.event, last.message.current_value)          # updated {'type': 'thinking', 'content': 'hel'}

# Mentions and a state machine.
roster = agentcore.RoutingRoster(agents=["lead", "fox"], leader="lead")
print(agentcore.route_message("@fox look", roster).targets)       # ['fox']
print(agentcore.next_run_state("queued", "claim"))                # planning

# The hub on a SQLite file: a channel, a subscription, a post.
with tempfile.TemporaryDirectory() as tmp, \
        agentcore.open_hub(f"sqlite://{tmp}/hub.db", data_dir=f"{tmp}/agents") as hub:
    hub.ensure_space("demo", owner="alice")
    channel = hub.create_channel("demo", "ops")
    with hub.subscribe(channel.id) as events:
        hub.post("demo", channel.id, "hello @lead", sender="alice")
        event = events.get(timeout=5)
        print(event.frame.kind, event.frame.value["content"])    # set hello @lead
print("quickstart ok")
