# SPDX-License-Identifier: Apache-2.0
"""The Python-side types of the agentcore module: exceptions and records.

The compiled extension (_agentcore) imports this module when it loads and builds these types
directly: frames are NamedTuples because a tuple is one allocation (the stream parser makes
millions of them), the other records are dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional


# --- Errors: one class per library ErrorCode (agentcore/status.hpp) ---------------------------


class Error(Exception):
    """An error reported by libagentcore. ``code`` is the library's stable code name."""

    code = "internal"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(Error, ValueError):
    code = "invalid_argument"


class Unauthenticated(Error):
    code = "unauthenticated"


class PermissionDenied(Error):
    code = "permission_denied"


class NotFound(Error, LookupError):
    code = "not_found"


class AlreadyExists(Error):
    code = "already_exists"


class Conflict(Error):
    code = "conflict"


class TooLarge(Error):
    code = "too_large"


class RateLimited(Error):
    code = "rate_limited"


class Internal(Error):
    code = "internal"


class NotSupported(Error):
    code = "not_supported"


class Unavailable(Error):
    code = "unavailable"


class DeadlineExceeded(Error, TimeoutError):
    code = "deadline_exceeded"


class UnknownOutcome(Error):
    code = "unknown_outcome"


class ParseError(InvalidArgument):
    """A Tymbal line that is not a valid frame: ``line`` (1-based) and the ``reason``."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


ERRORS_BY_CODE = {
    cls.code: cls
    for cls in (InvalidArgument, Unauthenticated, PermissionDenied, NotFound, AlreadyExists,
                Conflict, TooLarge, RateLimited, Internal, NotSupported, Unavailable,
                DeadlineExceeded, UnknownOutcome)
}


# --- Tymbal ------------------------------------------------------------------------------------


class Frame(NamedTuple):
    """One Tymbal frame (agentcore/tymbal/frame.hpp). Which fields are set depends on ``kind``:
    start: id, value (metadata or None); append: id, text; set: id, timestamp, value;
    reset: id; sync_request: extra; sync_response: timestamp; error: value; artifact: value.
    Fields a kind does not use are None; ``extra`` holds every other key of the line, in order.
    """

    kind: str
    id: Optional[str] = None
    text: Optional[str] = None
    timestamp: Optional[str] = None
    value: Any = None
    extra: Optional[dict] = None


class InvalidLine(NamedTuple):
    """A line of a stream that is not a valid frame (FrameParser with errors="return")."""

    line: int
    reason: str


@dataclass
class Message:
    """A message assembled from frames (agentcore/tymbal/assembler.hpp)."""

    id: str
    metadata: Any = None
    text: str = ""
    value: Any = None
    timestamp: str = ""
    complete: bool = False
    current_value: Any = None


class Assembly(NamedTuple):
    """What applying one frame did: ``event`` (ignored, opened, updated, completed, deleted)
    and the message it affected (None for ignored)."""

    event: str
    message: Optional[Message]


# --- Mentions and routing ----------------------------------------------------------------------


class Mentions(NamedTuple):
    mentions: list
    is_channel_mention: bool


@dataclass
class RoutingRoster:
    """A channel's routing view: agents in roster order, the leader, mentionable users."""

    agents: list = field(default_factory=list)
    leader: str = ""
    users: list = field(default_factory=list)


class Routing(NamedTuple):
    targets: list
    is_broadcast: bool


class RosterTransition(NamedTuple):
    """An allowed roster action: the new status (None: the entry is removed) and the side
    effects the caller must apply."""

    to: Optional[str]
    suspend_runtime: bool
    activate_runtime: bool


# --- The hub -----------------------------------------------------------------------------------


@dataclass
class Channel:
    id: str
    space_id: str
    name: str
    tagline: str = ""
    mission: str = ""
    archived: bool = False
    created_at: int = 0
    updated_at: int = 0
    last_active_at: int = 0


@dataclass
class RosterEntry:
    id: str
    channel_id: str
    callsign: str
    agent_type: str
    status: str
    created_at: int = 0
    callback_url: Optional[str] = None
    last_heartbeat: Optional[int] = None


@dataclass
class StoredMessage:
    """A message as the hub stored it (agentcore/store/records.hpp Message)."""

    id: str
    seq: int
    space_id: str
    channel_id: str
    sender: str
    sender_type: str
    type: str
    content: Any
    timestamp: int
    is_complete: bool = True
    addressed_agents: Optional[list] = None
    metadata: Any = None


@dataclass
class PostedMessage:
    message: StoredMessage
    targets: list
    is_broadcast: bool
    attachment_slugs: list = field(default_factory=list)


class Presence(NamedTuple):
    online: bool
    endpoint: Optional[str]
    last_heartbeat: Optional[int]


class Event(NamedTuple):
    """One line the hub published for a channel: the Tymbal ``frame`` parsed from ``line``;
    ``event_id`` and ``seq`` are set when the line is a stored message's final frame."""

    channel_id: str
    frame: Frame
    line: str
    event_id: Optional[str]
    seq: int
