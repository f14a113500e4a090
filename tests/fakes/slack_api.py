"""An HTTP-level fake of Slack's Web API, for tests.

``FakeSlack`` runs a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (random port) in a
daemon thread and answers ``/api/<method>`` (POST; GET with a query string also works)
the way Slack does, so a real ``slack_sdk.WebClient(token=..., base_url=fake.base_url)``
can talk to it unchanged::

    with FakeSlack(token="xoxb-test") as fake:
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert fake.messages("C1")[0]["text"] == "hi"

Both request encodings the SDK uses are understood: JSON bodies and
``application/x-www-form-urlencoded`` bodies (where ``blocks``/``view`` arrive as JSON
strings). Every call is recorded in ``fake.calls``. Block Kit limits are enforced on
messages (``invalid_blocks``), and ``fail_next`` injects errors such as rate limits.

Deliberately stricter than Slack: with ``require_text=True`` (the default) a message
with blocks but no top-level ``text`` fallback is refused with ``no_text``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSONDict = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_OVERFLOW_OPTIONS = 5
MAX_SELECT_OPTIONS = 100
MAX_CHOICE_OPTIONS = 10  # radio buttons and checkboxes
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_MODAL_TITLE = 24
MAX_PRIVATE_METADATA = 3000
TEST_TOKEN = "xoxb-test"
BUTTON_STYLES = frozenset({"primary", "danger"})
# Form-encoded requests carry these arguments as JSON strings.
_JSON_STRING_ARGS = ("blocks", "attachments", "view", "metadata")


@dataclass
class Call:
    """One request received by the fake."""

    method: str  # e.g. "chat.postMessage"
    args: JSONDict  # decoded arguments; form fields that hold JSON (blocks, view) are parsed
    headers: dict[str, str]
    failed: bool = False  # True for any non-ok answer: injected, invalid_auth, invalid_blocks...
    status: int = 200  # HTTP status the fake answered with
    response: JSONDict = field(default_factory=dict)  # the JSON body the fake answered with


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int
    remaining: int


class _Reply(Exception):
    """Raised inside a method implementation to answer immediately."""

    def __init__(self, body: JSONDict, status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(body.get("error", ""))
        self.body = body
        self.status = status
        self.headers = headers or {}


def _error(error: str, problems: list[str] | None = None) -> _Reply:
    body: JSONDict = {"ok": False, "error": error}
    if problems:  # Slack's own shape for Block Kit / argument errors
        body["errors"] = problems
        body["response_metadata"] = {"messages": [f"[ERROR] {p}" for p in problems]}
    return _Reply(body)


# --------------------------------------------------------------------------- Block Kit


def _at(problem: str, pointer: str) -> str:
    return f"{problem} [json-pointer:{pointer}]"


def _length(obj: JSONDict, key: str, limit: int, pointer: str, required: bool = False) -> list[str]:
    """Problems with ``obj[key]`` as a 1..limit char string (absent is OK unless required)."""
    if key not in obj and not required:
        return []
    value, pointer = obj.get(key), f"{pointer}/{key}"
    if not isinstance(value, str):
        return [_at("must be a string", pointer)]
    if not 0 < len(value) <= limit:
        return [_at(f"must be 1-{limit} characters, got {len(value)}", pointer)]
    return []


def _plain_text(obj: JSONDict, key: str, limit: int, pointer: str) -> list[str]:
    text = obj.get(key)
    if not isinstance(text, dict) or text.get("type") != "plain_text":
        return [_at("must be a plain_text object", f"{pointer}/{key}")]
    return _length(text, "text", limit, f"{pointer}/{key}")


def _walk(node: Any, pointer: str) -> list[str]:
    """Checks for every text object, button and action_id at or below ``node``."""
    problems: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            problems += _walk(item, f"{pointer}/{i}")
        return problems
    if not isinstance(node, dict):
        return problems
    kind = node.get("type")
    if kind in ("plain_text", "mrkdwn"):
        problems += _length(node, "text", 3000, pointer, required=True)
    if kind == "button":
        problems += _plain_text(node, "text", 75, pointer)
        problems += _length(node, "value", 2000, pointer)
        problems += _length(node, "url", 3000, pointer)
        if "style" in node and node["style"] not in BUTTON_STYLES:
            problems.append(
                _at(f"must be primary or danger, got {node['style']!r}", f"{pointer}/style")
            )
    problems += _options(node, pointer)
    problems += _length(node, "action_id", 255, pointer)
    for key, value in node.items():
        problems += _walk(value, f"{pointer}/{key}")
    return problems


def _options(element: JSONDict, pointer: str) -> list[str]:
    """Checks for a menu's or a choice element's options: how many, their text and value."""
    limits = {
        "overflow": MAX_OVERFLOW_OPTIONS,
        "static_select": MAX_SELECT_OPTIONS,
        "radio_buttons": MAX_CHOICE_OPTIONS,
        "checkboxes": MAX_CHOICE_OPTIONS,
    }
    kind = element.get("type")
    if kind not in limits or not isinstance(element.get("options"), list):
        return []
    options = element["options"]
    problems: list[str] = []
    if not 0 < len(options) <= limits[kind]:
        problems.append(
            _at(f"must have 1-{limits[kind]} options, got {len(options)}", f"{pointer}/options")
        )
    for i, option in enumerate(options):
        at = f"{pointer}/options/{i}"
        if not isinstance(option, dict):
            problems.append(_at("must be an option object", at))
            continue
        if kind in ("overflow", "static_select"):
            problems += _plain_text(option, "text", MAX_OPTION_TEXT, at)
        problems += _length(option, "value", MAX_OPTION_VALUE, at, required=True)
    return problems


def _check_block(block: JSONDict, pointer: str) -> list[str]:
    """Checks specific to one block's type."""
    problems: list[str] = []
    kind = block.get("type")
    if kind == "header":
        problems += _plain_text(block, "text", 150, pointer)
    elif kind == "section":
        fields = block.get("fields")
        if "text" not in block and not fields:
            problems.append(_at("section must have text or fields", pointer))
        if isinstance(fields, list):
            if len(fields) > 10:
                problems.append(
                    _at(f"must have at most 10 fields, got {len(fields)}", f"{pointer}/fields")
                )
            for i, item in enumerate(fields):
                if isinstance(item, dict):
                    problems += _length(item, "text", 2000, f"{pointer}/fields/{i}")
    elif kind in ("context", "actions"):
        limit = 10 if kind == "context" else 25
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= limit:
            count = len(elements) if isinstance(elements, list) else 0
            problems.append(
                _at(f"{kind} must have 1-{limit} elements, got {count}", f"{pointer}/elements")
            )
    return problems


def validate_blocks(
    blocks: Any, max_blocks: int = MAX_MESSAGE_BLOCKS, root: str = "/blocks"
) -> list[str]:
    """Human-readable Block Kit violations in ``blocks``; empty when valid."""
    if not isinstance(blocks, list):
        return [_at("must be an array", root)]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(_at(f"must have at most {max_blocks} blocks, got {len(blocks)}", root))
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        pointer = f"{root}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(_at("must be an object with a type", pointer))
            continue
        problems += _length(block, "block_id", 255, pointer)
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_ids:
                problems.append(_at(f"block_id {block_id!r} is not unique", f"{pointer}/block_id"))
            seen_ids.add(block_id)
        problems += _check_block(block, pointer)
        problems += _walk(block, pointer)
    return problems


# --------------------------------------------------------------------------- the fake


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        if url.path.startswith("/upload/") and self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ok = self.server.fake._receive_upload(url.path[len("/upload/") :], body)
            data = (f"OK - {len(body)}" if ok else "file not expected").encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if url.path.startswith("/response/") and self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            self.server.fake._respond(url.path, self.rfile.read(length) if length else b"")
            self._send(200, {"ok": True}, {})
            return
        if not url.path.startswith("/api/") or len(url.path) <= len("/api/"):
            self._send(404, {"ok": False, "error": "not_found"}, {})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        method = url.path[len("/api/") :]
        status, payload, headers = self.server.fake._handle(
            method, url.query, body, dict(self.headers.items())
        )
        delay = self.server.fake.delays.get(method, 0.0)
        if delay:
            time.sleep(delay)  # a slow Slack, answering after the work is recorded
        self._send(status, payload, headers)

    def _send(self, status: int, payload: JSONDict, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeSlack:
    """A local HTTP server that impersonates ``https://slack.com/api/``."""

    def __init__(
        self,
        token: str = TEST_TOKEN,
        *,
        require_text: bool = True,
        team_id: str = "T0000TEAM",
        bot_user_id: str = "U0000BOT",
        bot_id: str = "B0000BOT",
        channel_gap_s: float | None = None,
    ) -> None:
        self.token = token
        # Slack's pace, enforced: a message to a channel less than this many seconds after
        # the one before it there is answered 429 (Retry-After: 1) and not posted.
        self.channel_gap_s = channel_gap_s
        self.require_text = require_text
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.users: dict[str, JSONDict] = {}
        self.channels: dict[str, JSONDict] = {}
        self._lock = threading.RLock()
        self._ts_counter = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._init_state()

    def _init_state(self) -> None:
        self.calls: list[Call] = []
        self.ephemerals: list[JSONDict] = []
        self.home_views: dict[str, JSONDict] = {}
        self.opened_views: list[JSONDict] = []  # modals opened with views.open, oldest first
        # What apps sent to a `response_url` (see `response_url()`), oldest first, with its path.
        self.responses: list[JSONDict] = []
        self._messages: dict[str, list[JSONDict]] = {}
        self._threads: dict[tuple[str, str], list[JSONDict]] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._last_post: dict[str, float] = {}  # channel → when its last message arrived
        self.rate_limited: list[str] = []  # the channel of each message refused for pace
        self.delays: dict[str, float] = {}  # seconds to hold each method's answer
        # files.getUploadURLExternal hands out an upload URL on this server; the bytes sent
        # there wait here until files.completeUploadExternal shares them.
        self._pending_uploads: dict[str, JSONDict] = {}
        self.files: list[JSONDict] = []  # shared files: id, name, title, alt_txt, data, where

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        """Start serving on a random port of 127.0.0.1 in a daemon thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            # A short poll interval keeps stop() (and so each test's teardown) fast.
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="FakeSlack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server and close its socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """URL to pass as ``WebClient(base_url=...)``, with a trailing slash."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    # ----------------------------------------------------------------- test helpers

    def response_url(self, name: str = "1") -> str:
        """A `response_url` to put in a command or action payload: what is sent there lands
        in `responses` (JSON bodies, with `_path` added)."""
        return f"{self.base_url.removesuffix('/api/')}/response/{name}"

    def _receive_upload(self, file_id: str, body: bytes) -> bool:
        with self._lock:
            pending = self._pending_uploads.get(file_id)
            if pending is None:
                return False
            pending["data"] = body
            return True

    def _respond(self, path: str, body: bytes) -> None:
        try:
            payload = json.loads(body.decode("utf-8")) if body else {}
        except ValueError:
            payload = {"_raw": body.decode("utf-8", "replace")}
        with self._lock:
            self.responses.append({**payload, "_path": path})

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls to one API method, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[JSONDict]:
        """Copies of the top-level messages in ``channel``, oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def message_count(self, channel: str) -> int:
        """How many top-level messages ``channel`` holds (cheap: nothing is copied)."""
        with self._lock:
            return len(self._messages.get(channel, []))

    def thread(self, channel: str, thread_ts: str) -> list[JSONDict]:
        """Copies of the replies to ``thread_ts`` in ``channel``, oldest first."""
        with self._lock:
            return copy.deepcopy(self._threads.get((channel, thread_ts), []))

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail with ``error`` and HTTP ``status``."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._failures.setdefault(method, deque()).append(
                _Failure(error, status, retry_after, times)
            )

    def reset(self) -> None:
        """Forget recorded calls, messages, views and pending failures (keeps users/channels)."""
        with self._lock:
            self._init_state()

    # ----------------------------------------------------------------- request handling

    def _handle(
        self, method: str, query: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, JSONDict, dict[str, str]]:
        with self._lock:
            call = Call(method=method, args={}, headers=headers)
            self.calls.append(call)
            try:
                call.args = self._parse_args(query, body, headers)
                self._inject_failure(method)
                self._authenticate(call)
                impl = getattr(self, "_api_" + method.replace(".", "_"), None)
                if impl is None:
                    raise _error("unknown_method")
                reply = _Reply(impl(call.args))
            except _Reply as r:
                reply = r
            call.status = reply.status
            call.response = reply.body
            call.failed = reply.status != 200 or not reply.body.get("ok", False)
            return reply.status, copy.deepcopy(reply.body), reply.headers

    @staticmethod
    def _parse_args(query: str, body: bytes, headers: dict[str, str]) -> JSONDict:
        args: JSONDict = dict(parse_qsl(query, keep_blank_values=True))
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        text = body.decode("utf-8")
        if ctype.startswith("application/json"):
            try:
                parsed = json.loads(text) if text else {}
            except ValueError as e:
                raise _error("invalid_json") from e
            if not isinstance(parsed, dict):
                raise _error("invalid_json")
            args.update(parsed)
        elif text:
            args.update(parse_qsl(text, keep_blank_values=True))
        for key in _JSON_STRING_ARGS:
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError as e:
                    bad = "invalid_blocks_format" if key == "blocks" else "invalid_arguments"
                    raise _error(bad) from e
        return args

    def _inject_failure(self, method: str) -> None:
        queue = self._failures.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        extra = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
        raise _Reply({"ok": False, "error": failure.error}, failure.status, extra)

    def _authenticate(self, call: Call) -> None:
        auth = next((v for k, v in call.headers.items() if k.lower() == "authorization"), "")
        form_token = call.args.pop("token", None)
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else form_token
        if token != self.token:
            raise _error("invalid_auth")

    def _next_ts(self) -> str:
        self._ts_counter += 100
        seconds, micros = divmod(self._ts_counter, 1_000_000)
        return f"{1_700_000_000 + seconds}.{micros:06d}"

    def _check_message(self, args: JSONDict, *, needs_content: bool = True) -> None:
        text = args.get("text") or args.get("markdown_text")
        blocks = args.get("blocks")
        has_text = isinstance(text, str) and text.strip() != ""
        if needs_content and not has_text and not blocks and not args.get("attachments"):
            raise _error("no_text")
        if blocks and not has_text and self.require_text:
            raise _error("no_text")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            raise _error("msg_too_long")
        if "blocks" in args:
            problems = validate_blocks(blocks)
            if problems:
                raise _error("invalid_blocks", problems)

    def _find_message(self, channel: str, ts: str) -> JSONDict | None:
        candidates = list(self._messages.get(channel, []))
        for (chan, _), replies in self._threads.items():
            if chan == channel:
                candidates += replies
        return next((m for m in candidates if m["ts"] == ts), None)

    # ----------------------------------------------------------------- API methods

    def _api_auth_test(self, args: JSONDict) -> JSONDict:
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "overheard",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, args: JSONDict) -> JSONDict:
        channel = args.get("channel")
        if not channel:
            raise _error("channel_not_found")
        self._check_message(args)
        self._keep_pace(channel)
        ts = self._next_ts()
        message: JSONDict = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
            "text": args.get("text", ""),
            "blocks": args.get("blocks") or [],
            "ts": ts,
        }
        if isinstance(args.get("metadata"), dict):
            message["metadata"] = args["metadata"]
        thread_ts = args.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = thread_ts
            self._threads.setdefault((channel, thread_ts), []).append(message)
            parent = self._find_message(channel, thread_ts)
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
            if args.get("reply_broadcast") in (True, "true", "1"):
                self._messages.setdefault(channel, []).append(message)
        else:
            self._messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _keep_pace(self, channel: str) -> None:
        if self.channel_gap_s is None:
            return
        now = time.monotonic()
        last = self._last_post.get(channel)
        if last is not None and now - last < self.channel_gap_s:
            self.rate_limited.append(channel)
            raise _Reply({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"})
        self._last_post[channel] = now

    def _api_conversations_history(self, args: JSONDict) -> JSONDict:
        """Top-level messages newest first, after `oldest`, paged by an offset cursor."""
        channel = args.get("channel")
        if not channel:
            raise _error("channel_not_found")
        oldest = float(args.get("oldest") or 0)
        limit = min(int(args.get("limit") or 100), 999)
        offset = int(args.get("cursor") or 0)
        with_metadata = args.get("include_all_metadata") in (True, "true", "1", 1)
        found = [m for m in reversed(self._messages.get(channel, [])) if float(m["ts"]) > oldest]
        page = [copy.deepcopy(m) for m in found[offset : offset + limit]]
        if not with_metadata:
            for m in page:
                m.pop("metadata", None)
        more = offset + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    def _api_conversations_replies(self, args: JSONDict) -> JSONDict:
        """A thread's parent then its replies, oldest first, paged by an offset cursor."""
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            raise _error("channel_not_found")
        parent = self._find_message(channel, ts) if ts else None
        if parent is None:
            raise _error("thread_not_found")
        limit = min(int(args.get("limit") or 100), 999)
        offset = int(args.get("cursor") or 0)
        with_metadata = args.get("include_all_metadata") in (True, "true", "1", 1)
        found = [parent, *self._threads.get((channel, str(ts)), [])]
        page = [copy.deepcopy(m) for m in found[offset : offset + limit]]
        if not with_metadata:
            for m in page:
                m.pop("metadata", None)
        more = offset + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    def _api_chat_update(self, args: JSONDict) -> JSONDict:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            raise _error("channel_not_found")
        message = self._find_message(channel, ts) if ts else None
        if message is None:
            raise _error("message_not_found")
        self._check_message(args, needs_content=False)
        for key in ("text", "blocks"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _api_chat_postEphemeral(self, args: JSONDict) -> JSONDict:
        if not args.get("channel"):
            raise _error("channel_not_found")
        if not args.get("user"):
            raise _error("user_not_found")
        self._check_message(args)
        ts = self._next_ts()
        self.ephemerals.append(
            {
                "channel": args["channel"],
                "user": args["user"],
                "text": args.get("text", ""),
                "blocks": args.get("blocks") or [],
                "thread_ts": args.get("thread_ts"),
                "message_ts": ts,
            }
        )
        return {"ok": True, "message_ts": ts}

    def _api_chat_getPermalink(self, args: JSONDict) -> JSONDict:
        """Lenient: any channel + message_ts gets a permalink, posted here or not."""
        channel, ts = args.get("channel"), args.get("message_ts")
        if not channel:
            raise _error("channel_not_found")
        if not ts:
            raise _error("message_not_found")
        link = f"https://fake-workspace.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        message = self._find_message(channel, ts)
        if message is not None and message.get("thread_ts") not in (None, ts):
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _api_files_getUploadURLExternal(self, args: JSONDict) -> JSONDict:
        """An upload URL on this server for a file of `length` bytes."""
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit() or int(length) <= 0:
            raise _error("invalid_arguments")
        file_id = f"F{self._next_ts().replace('.', '')}"
        self._pending_uploads[file_id] = {
            "id": file_id,
            "name": filename,
            "length": int(length),
            "alt_txt": args.get("alt_txt"),
            "data": None,
        }
        root = self.base_url.removesuffix("/api/")
        return {"ok": True, "upload_url": f"{root}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, args: JSONDict) -> JSONDict:
        """Share uploaded files, in a channel or a thread, as one message carrying them."""
        try:
            files = json.loads(args.get("files") or "[]")
        except ValueError as e:
            raise _error("invalid_arguments") from e
        if not isinstance(files, list) or not files:
            raise _error("invalid_arguments")
        shared = []
        for item in files:
            pending = self._pending_uploads.get(str(item.get("id")))
            if pending is None or pending["data"] is None:
                raise _error("file_not_found")
            if len(pending["data"]) != pending["length"]:
                raise _error("file_upload_size_mismatch")
            shared.append({**pending, "title": item.get("title") or pending["name"]})
        channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
        for item in shared:
            del self._pending_uploads[item["id"]]
            self.files.append(
                {
                    **item,
                    "channel_id": channel,
                    "thread_ts": thread_ts,
                    "initial_comment": args.get("initial_comment"),
                }
            )
        if channel:
            message: JSONDict = {
                "type": "message",
                "user": self.bot_user_id,
                "text": args.get("initial_comment") or "",
                "files": [{"id": f["id"], "name": f["name"], "title": f["title"]} for f in shared],
                "ts": self._next_ts(),
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
                self._threads.setdefault((channel, thread_ts), []).append(message)
                parent = self._find_message(channel, thread_ts)
                if parent is not None:
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
            else:
                self._messages.setdefault(channel, []).append(message)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}

    def _api_users_info(self, args: JSONDict) -> JSONDict:
        user_id = args.get("user", "")
        if user_id not in self.users and not (user_id[:1] in ("U", "W") and len(user_id) > 1):
            raise _error("user_not_found")
        user: JSONDict = {
            "id": user_id,
            "team_id": self.team_id,
            "name": user_id.lower(),
            "deleted": False,
            "real_name": f"User {user_id}",
            "tz": "America/New_York",
            "tz_label": "Eastern Standard Time",
            "tz_offset": -18000,
            "is_bot": False,
            "profile": {"real_name": f"User {user_id}", "display_name": user_id.lower()},
        }
        custom = copy.deepcopy(self.users.get(user_id, {}))
        user["profile"].update(custom.pop("profile", {}))
        user.update(custom)
        return {"ok": True, "user": user}

    def _api_conversations_info(self, args: JSONDict) -> JSONDict:
        channel_id = args.get("channel", "")
        if channel_id not in self.channels and not (
            channel_id[:1] in ("C", "G", "D") and len(channel_id) > 1
        ):
            raise _error("channel_not_found")
        channel: JSONDict = {
            "id": channel_id,
            "name": f"channel-{channel_id.lower()}",
            "is_channel": channel_id.startswith("C"),
            "is_private": channel_id.startswith("G"),
            "is_im": channel_id.startswith("D"),
            "is_archived": False,
            "is_member": True,
            "created": 1_600_000_000,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        channel.update(copy.deepcopy(self.channels.get(channel_id, {})))
        return {"ok": True, "channel": channel}

    def _api_views_publish(self, args: JSONDict) -> JSONDict:
        user_id, view = args.get("user_id"), args.get("view")
        if not user_id:
            raise _error("user_not_found")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise _error("invalid_arguments", [_at("must be an object of type home", "/view")])
        problems = validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, "/view/blocks")
        if problems:
            raise _error("invalid_arguments", problems)
        self.home_views[user_id] = view
        stored: JSONDict = {
            "id": f"V{self._next_ts().replace('.', '')}",
            "team_id": self.team_id,
            "bot_id": self.bot_id,
            "private_metadata": "",
            "callback_id": "",
            "hash": self._next_ts(),
            **copy.deepcopy(view),
        }
        return {"ok": True, "view": stored}

    def _api_views_open(self, args: JSONDict) -> JSONDict:
        """Open a modal: a trigger id is needed, and the modal's own limits are checked."""
        if not args.get("trigger_id"):
            raise _error("invalid_arguments", [_at("trigger_id is required", "/trigger_id")])
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise _error("invalid_arguments", [_at("must be an object of type modal", "/view")])
        problems = _plain_text(view, "title", MAX_MODAL_TITLE, "/view")
        for key in ("submit", "close"):
            if key in view:
                problems += _plain_text(view, key, MAX_MODAL_TITLE, "/view")
        problems += _length(view, "callback_id", 255, "/view")
        problems += _length(view, "private_metadata", MAX_PRIVATE_METADATA, "/view")
        problems += validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, "/view/blocks")
        if problems:
            raise _error("invalid_arguments", problems)
        stored: JSONDict = {
            "id": f"V{self._next_ts().replace('.', '')}",
            "team_id": self.team_id,
            "bot_id": self.bot_id,
            "private_metadata": "",
            "callback_id": "",
            "hash": self._next_ts(),
            **copy.deepcopy(view),
        }
        self.opened_views.append(stored)
        return {"ok": True, "view": copy.deepcopy(stored)}
