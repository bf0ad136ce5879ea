# SPDX-License-Identifier: Apache-2.0
"""agentcore: libagentcore from Python.

Tymbal (parse_frame, parse_frames, FrameParser, iter_frames, serialize_frame, the *_frame
builders, MessageAssembler, Transcript), @mentions and routing (parse_mentions, strip_mentions,
route_message, MessageRouter), the state machines (next_*_state, next_roster_status and the
*Lifecycle classes) and the hub (open_hub). Errors are agentcore.Error subclasses whose
``code`` is the library's error code ("invalid_argument", "not_found", ...).
"""

import atexit as _atexit

from agentcore._types import (  # noqa: F401
    AlreadyExists, Assembly, Channel, Conflict, DeadlineExceeded, Error, Event, Frame, Internal,
    InvalidArgument, InvalidLine, Mentions, Message, NotFound, NotSupported, ParseError,
    PermissionDenied, PostedMessage, Presence, RateLimited, RosterEntry, RosterTransition,
    Routing, RoutingRoster, StoredMessage, TooLarge, Unauthenticated, Unavailable,
    UnknownOutcome)
from agentcore._agentcore import *  # noqa: F401,F403
from agentcore._agentcore import FrameParser, _close_all_hubs, __version__  # noqa: F401

_atexit.register(_close_all_hubs)


def iter_frames(source, *, errors="raise", chunk_size=64 << 10, max_line_bytes=16 << 20):
    """Yields the Frames of a Tymbal stream: a binary file (read in chunk_size pieces) or any
    iterable of bytes chunks. errors as for parse_frames."""
    parser = FrameParser(errors=errors, max_line_bytes=max_line_bytes)
    if hasattr(source, "read"):
        chunks = iter(lambda: source.read(chunk_size), b"")
    else:
        chunks = source
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.finish()
