# SPDX-License-Identifier: Apache-2.0
import io

import pytest

import agentcore

ID = "01JGZ5V7A1B2C3D4E5F6G7H8J9"


def test_parse_frame_classifies_each_kind():
    assert agentcore.parse_frame('{"i":"%s","a":"hi"}' % ID) == agentcore.Frame(
        kind="append", id=ID, text="hi")
    start = agentcore.parse_frame(b'{"i":"x","m":{"type":"thinking"}}')
    assert (start.kind, start.id, start.value) == ("start", "x", {"type": "thinking"})
    s = agentcore.parse_frame('{"i":"x","t":"2026-01-01T00:00:00.000Z","v":{"n":1,"f":0.5}}')
    assert (s.kind, s.timestamp, s.value) == ("set", "2026-01-01T00:00:00.000Z", {"n": 1, "f": 0.5})
    assert isinstance(s.value["n"], int)
    assert agentcore.parse_frame('{"i":"x","v":null}').kind == "reset"
    sync = agentcore.parse_frame('{"request":"sync","since":"2026","limit":5}')
    assert (sync.kind, sync.extra) == ("sync_request", {"since": "2026", "limit": 5})
    assert agentcore.parse_frame('{"error":{"code":"x"}}').value == {"code": "x"}


def test_parse_frame_rejects_bad_lines_with_the_reason():
    for bad in ['{"i":"x","a":5}', "not json", "[1]", b'{"i":"\xff","a":"x"}', ""]:
        with pytest.raises(agentcore.InvalidArgument) as e:
            agentcore.parse_frame(bad)
        assert e.value.code == "invalid_argument"
        assert isinstance(e.value, agentcore.Error) and isinstance(e.value, ValueError)
    with pytest.raises(agentcore.InvalidArgument, match="must be a string"):
        agentcore.parse_frame('{"i":"x","a":5}')
    with pytest.raises(agentcore.InvalidArgument, match="surrogate"):
        agentcore.parse_frame('{"i":"\ud800","a":"x"}')
    with pytest.raises(TypeError):
        agentcore.parse_frame(None)
    with pytest.raises(TypeError):
        agentcore.parse_frame(42)


STREAM = (b'{"i":"a","m":{"type":"t"}}\n{"i":"a","a":"he"}\n\n  \n{"i":"a","a":5}\n'
          b'{"i":"a","a":"llo"}\n{"i":"a","t":"T","v":{"content":"hello"}}')


def test_parse_frames_raises_with_the_line_number_of_the_first_bad_line():
    with pytest.raises(agentcore.ParseError) as e:
        agentcore.parse_frames(STREAM)
    assert (e.value.line, e.value.code) == (5, "invalid_argument")
    assert "must be a string" in e.value.reason
    assert isinstance(e.value, agentcore.InvalidArgument)


def test_parse_frames_can_skip_or_return_bad_lines_in_order():
    kinds = [f.kind for f in agentcore.parse_frames(STREAM, errors="skip")]
    assert kinds == ["start", "append", "append", "set"]  # the last line has no newline
    out = agentcore.parse_frames(STREAM, errors="return")
    assert [type(x).__name__ for x in out] == ["Frame", "Frame", "InvalidLine", "Frame", "Frame"]
    assert out[2].line == 5
    with pytest.raises(agentcore.InvalidArgument):
        agentcore.parse_frames(STREAM, errors="ignore")


def test_frame_parser_joins_lines_split_across_chunks():
    # Feeding byte by byte gives what one call gives (errors skipped here).
    parser = agentcore.FrameParser(errors="skip")
    got = []
    for i in range(len(STREAM)):
        got += parser.feed(STREAM[i:i + 1])
    got += parser.finish()
    assert got == agentcore.parse_frames(STREAM, errors="skip")
    assert parser.lines == 0  # finish() restarts the count
    # With errors="raise" the chunk that completes the bad line raises, with its number.
    parser = agentcore.FrameParser()
    assert len(parser.feed(STREAM[:40])) == 1
    with pytest.raises(agentcore.ParseError) as e:
        parser.feed(STREAM[40:])
    assert e.value.line == 5


def test_frame_parser_bounds_line_length():
    parser = agentcore.FrameParser(errors="return", max_line_bytes=10)
    out = parser.feed(b'{"i":"a","a":"far too long"}\n{"i":"a"}\n')
    assert isinstance(out[0], agentcore.InvalidLine) and "longer than 10" in out[0].reason
    assert out[1].kind == "start"
    with pytest.raises(agentcore.InvalidArgument):
        agentcore.FrameParser(max_line_bytes=0)


def test_iter_frames_reads_a_binary_file_in_chunks():
    frames = list(agentcore.iter_frames(io.BytesIO(STREAM), errors="skip", chunk_size=7))
    assert frames == agentcore.parse_frames(STREAM, errors="skip")
    assert list(agentcore.iter_frames([b'{"i":"a"', b',"a":"x"}\n'])) == [
        agentcore.Frame("append", "a", "x")]


def test_serialize_round_trips_and_builders_follow_cast():
    line = '{"i":"%s","t":"2026-01-01T00:00:00.000Z","v":{"content":"é \\"q\\"","n":[1,2.5,null,true]}}' % ID
    frame = agentcore.parse_frame(line)
    assert agentcore.serialize_frame(frame) == line
    assert agentcore.serialize_frame(frame, newline=True) == line + "\n"
    assert agentcore.serialize_frame(agentcore.append_frame("a", "x")) == '{"i":"a","a":"x"}'
    assert agentcore.serialize_frame(agentcore.start_frame("a", {"type": "t"})) == (
        '{"i":"a","m":{"type":"t"}}')
    assert agentcore.serialize_frame(agentcore.reset_frame("a")) == '{"i":"a","v":null}'
    assert agentcore.serialize_frame(agentcore.sync_request_frame()) == '{"request":"sync"}'
    assert agentcore.parse_frame(agentcore.serialize_frame(
        agentcore.error_frame("boom", "why"))).kind == "error"
    art = agentcore.artifact_frame("create", "c1", {"slug": "s", "type": "doc", "tldr": "t",
                                                    "status": "draft"})
    assert art.value["payload"]["path"] == "/c1/s"
    with pytest.raises(agentcore.InvalidArgument, match="reserved"):
        agentcore.start_frame("a", {"content": "x"})
    with pytest.raises(agentcore.InvalidArgument):
        agentcore.set_frame("a", "T", [1])
    with pytest.raises(agentcore.InvalidArgument, match="unknown frame kind"):
        agentcore.serialize_frame(agentcore.Frame("bogus", "a"))
    with pytest.raises(agentcore.InvalidArgument, match="value must be an object"):
        agentcore.serialize_frame(agentcore.Frame("set", "a", timestamp="T", value=3))
    with pytest.raises(TypeError):
        agentcore.serialize_frame(agentcore.Frame("set", "a", timestamp="T", value={1: 2}))
    with pytest.raises(TypeError):
        agentcore.serialize_frame({"kind": "append"})


def test_assembler_turns_frames_into_messages():
    asm = agentcore.MessageAssembler()
    frames = agentcore.parse_frames(STREAM, errors="skip")
    events = [asm.apply(f) for f in frames]
    assert [e.event for e in events] == ["opened", "updated", "updated", "completed"]
    assert events[2].message.current_value == {"type": "t", "content": "hello"}
    assert events[3].message.complete and events[3].message.value == {"content": "hello"}
    assert asm.open_count == 0
    assert asm.apply(agentcore.sync_request_frame()) == agentcore.Assembly("ignored", None)
    asm.apply(agentcore.start_frame("b"))
    assert [m.id for m in asm.open_messages()] == ["b"] and asm.abandon("b")


def test_assembler_limits_raise_too_large():
    asm = agentcore.MessageAssembler(max_message_bytes=4)
    asm.apply(agentcore.start_frame("a"))
    with pytest.raises(agentcore.TooLarge) as e:
        asm.apply(agentcore.append_frame("a", "12345"))
    assert e.value.code == "too_large"


def test_transcript_keeps_every_message_in_id_order():
    t = agentcore.Transcript()
    for f in agentcore.parse_frames(b'{"i":"b","a":"x"}\n{"i":"b"}\n{"i":"a","t":"T","v":{}}\n'
                                    b'{"i":"b","a":"y"}\n'):
        t.apply(f)
    assert [(m.id, m.text, m.complete) for m in t.messages()] == [("a", "", True), ("b", "y", False)]


def test_the_corpus_shape_parses_like_json_loads():
    import json
    lines = [b'{"i":"%s","a":"\\u00e9\\n\\t"}' % ID.encode(), '{"i":"x","a":"한국어 ∑"}'.encode()]
    for line in lines:
        f = agentcore.parse_frame(line)
        assert f.text == json.loads(line)["a"]


def test_json_values_convert_both_ways_with_javascript_semantics():
    value = {"big": 2 ** 53, "neg": -3, "f": 1.5, "e": 1e300, "s": "é", "l": [None, True, {}]}
    line = agentcore.serialize_frame(agentcore.set_frame("a", "T", value))
    back = agentcore.parse_frame(line).value
    assert back == value and isinstance(back["big"], int) and isinstance(back["f"], float)
    assert agentcore.parse_frame('{"i":"a","t":"T","v":{"x":1e400}}').value["x"] == float("inf")
    nan = agentcore.serialize_frame(agentcore.set_frame("a", "T", {"x": float("nan")}))
    assert nan.endswith('"v":{"x":null}}')  # JSON.stringify(NaN)
    with pytest.raises(OverflowError):
        agentcore.set_frame("a", "T", {"x": 10 ** 400})
    with pytest.raises(TypeError, match="cannot convert"):
        agentcore.set_frame("a", "T", {"x": object()})
    with pytest.raises(TypeError):
        agentcore.set_frame("a", "T", {"x": b"bytes"})
    with pytest.raises(agentcore.InvalidArgument):
        agentcore.set_frame("a", "T", {"x": "\udc80"})
    deep = "[" * 600 + "]" * 600
    with pytest.raises(agentcore.InvalidArgument):
        agentcore.parse_frame('{"i":"a","t":"T","v":{"x":%s}}' % deep)


def test_frames_from_python_are_checked_like_the_parsers():
    with pytest.raises(agentcore.InvalidArgument, match="id must be a str"):
        agentcore.serialize_frame(agentcore.Frame("append", None, "x"))
    with pytest.raises(agentcore.InvalidArgument, match="text must be a str"):
        agentcore.serialize_frame(agentcore.Frame("append", "a", 5))
    with pytest.raises(agentcore.InvalidArgument, match="extra"):
        agentcore.serialize_frame(agentcore.Frame("reset", "a", extra=[1]))
    with pytest.raises(TypeError):
        agentcore.serialize_frame(("append", "a"))
    # extra keys after the kind's own, never repeating them
    f = agentcore.Frame("append", "a", "x", extra={"c": "ch", "a": "dup"})
    assert agentcore.serialize_frame(f) == '{"i":"a","a":"x","c":"ch"}'
