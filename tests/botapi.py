"""A local Telegram Bot API test double (aiohttp on 127.0.0.1).

Speaks the real wire format: every call is ``POST {base}/bot{token}/{method}`` with form fields
(nested objects JSON-encoded), answered ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": ..., "parameters": {...}}``. aiogram reaches it
through ``AiohttpSession(api=TelegramAPIServer.from_base(url))``.

Groups: ``group_chat``/``group_text`` queue messages in groups and forum topics, ``bot_status``
queues my_chat_member updates, ``members`` answers getChatAdministrators / getChatMember, and
``gone_topics`` makes a send to a deleted or closed topic fail with 400 like Telegram.

It records every call, serves queued updates to ``getUpdates`` (long poll, capped), can inject
failures (429 with retry_after, 403, 400, 5xx), can enforce a global and per-chat rate limit
(answering 429 like Telegram would), and stops by itself after ``max_seconds`` or ``max_requests``.

Fault injection beyond Bot API errors (issue #11):
- ``raw(method, status, body)``: answer with a body that is not the Bot API's JSON (an HTML 502
  page from a proxy) — aiogram raises ``ClientDecodeError``.
- ``delay(method, seconds)``: process the call (the message IS delivered) but answer only after
  ``seconds`` of ``sleep`` — pass a test clock's ``sleep`` (``BotAPIDouble(sleep=clock.sleep,
  now=clock.now)``) to drive it from an injected clock. ``parked`` counts calls held so.
- ``now``: the clock ``Call.at`` and the rate limiter read (default ``time.monotonic``).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Awaitable, Callable

from aiohttp import web

BOT_ID = 123456
TOKEN = "123456:TEST-token-for-the-local-double"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # the double's ``now()`` (time.monotonic() unless a test clock is given)


@dataclass
class Upload:
    """A file uploaded in a multipart request (the bytes as the bot sent them)."""
    filename: str
    data: bytes

    @property
    def png_size(self) -> tuple[int, int] | None:
        d = self.data
        if d[:8] != b"\x89PNG\r\n\x1a\n" or d[12:16] != b"IHDR":
            return None
        return int.from_bytes(d[16:20], "big"), int.from_bytes(d[20:24], "big")


@dataclass
class Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None  # only for this chat (None = any)
    times: int = 1  # how many calls it applies to (-1 = forever)
    parameters: dict | None = None  # e.g. {"migrate_to_chat_id": -100...}


@dataclass
class Raw:
    """An answer that is not Bot API JSON (e.g. a proxy's HTML error page)."""

    method: str
    status: int
    body: str
    content_type: str = "text/html"
    times: int = 1  # -1 = forever


@dataclass
class Delay:
    """Handle the call normally but hold its answer for ``seconds``."""

    method: str
    seconds: float
    chat_id: int | None = None
    times: int = 1  # -1 = forever


@dataclass
class RateLimit:
    global_per_s: float | None = None  # e.g. 30
    per_chat_per_s: float | None = None  # e.g. 1 (bursts of `burst` tolerated)
    burst: int = 3
    _global: deque = field(default_factory=deque)
    _chat: dict = field(default_factory=lambda: defaultdict(deque))


class _Reply(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"})


class BotAPIDouble:
    def __init__(self, *, max_seconds: float = 60.0, max_requests: int = 200_000,
                 poll_cap_s: float = 0.5, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self.raws: list[Raw] = []
        self.delays: list[Delay] = []
        self.parked = 0  # answers held back by a Delay right now
        self.now = now
        self._sleep = sleep
        self.rate = RateLimit()
        self.rate_limited = 0  # 429s the double answered because of the rate limit
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.poll_cap_s = poll_cap_s
        self.hook: Callable[[str, dict], dict | None] | None = None
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._stopper: asyncio.Task | None = None
        self.base = ""
        self.messages: dict[tuple[int, int], dict] = {}  # (chat_id, message_id) -> message
        self.photos: list[Upload] = []  # every photo uploaded (sendPhoto, editMessageMedia), in order
        # groups: chat id -> {user id: status} ('creator' | 'administrator' | 'member' | ...);
        # getChatAdministrators / getChatMember answer from it
        self.members: dict[int, dict[int, str]] = defaultdict(dict)
        # forum topics that are deleted or closed: (chat_id, thread_id) -> Telegram's description
        self.gone_topics: dict[tuple[int, int], str] = {}

    # ---- lifecycle --------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        self._started = time.monotonic()
        self._stopper = asyncio.create_task(self._stop_later())
        return self.base

    async def _stop_later(self) -> None:
        await asyncio.sleep(self.max_seconds)
        await self._shutdown()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            self._new_update.set()
            await runner.cleanup()

    async def stop(self) -> None:
        if self._stopper is not None:
            self._stopper.cancel()
            try:
                await self._stopper
            except asyncio.CancelledError:
                pass
            self._stopper = None
        await self._shutdown()

    async def __aenter__(self) -> BotAPIDouble:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- scripting ----------------------------------------------------------------------------
    def fail(self, method: str, error_code: int, description: str, *, retry_after: int | None = None,
             chat_id: int | None = None, times: int = 1, parameters: dict | None = None) -> None:
        self.failures.append(Failure(method, error_code, description, retry_after, chat_id, times,
                                     parameters))

    def raw(self, method: str, status: int, body: str, *, content_type: str = "text/html",
            times: int = 1) -> None:
        self.raws.append(Raw(method, status, body, content_type, times))

    def delay(self, method: str, seconds: float, *, chat_id: int | None = None, times: int = 1) -> None:
        self.delays.append(Delay(method, seconds, chat_id, times))

    def push_update(self, update: dict) -> int:
        update = dict(update)
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._new_update.set()
        return update["update_id"]

    def user(self, user_id: int, language_code: str | None = "en", first_name: str = "Trader") -> dict:
        u = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            u["language_code"] = language_code
        return u

    def send_text(self, user_id: int, text: str, *, language_code: str | None = "en") -> int:
        """Queue a private-chat text message from ``user_id``; commands get a bot_command entity."""
        msg = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Trader"},
            "from": self.user(user_id, language_code),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push_update({"message": msg})

    def press(self, user_id: int, data: str, *, message: dict | None = None,
              language_code: str | None = "en") -> int:
        """Queue a callback_query (button press) from ``user_id`` on ``message`` (default: the
        last message the bot sent to that chat)."""
        if message is None:
            message = self.last_message(user_id)
        cq = {
            "id": str(next(self._update_ids) + 10_000_000),
            "from": self.user(user_id, language_code),
            "chat_instance": str(user_id),
            "data": data,
        }
        if message is not None:
            cq["message"] = message
        return self.push_update({"callback_query": cq})

    # ---- groups ---------------------------------------------------------------------------------
    @staticmethod
    def group_chat(chat_id: int, *, title: str = "Desk", is_forum: bool = False) -> dict:
        chat = {"id": chat_id, "type": "supergroup" if chat_id <= -1_000_000_000_000 else "group",
                "title": title}
        if is_forum:
            chat["is_forum"] = True
        return chat

    def group_text(self, chat: dict, user_id: int, text: str, *, thread_id: int | None = None,
                   language_code: str | None = "en", extra: dict | None = None) -> int:
        """Queue a message from ``user_id`` in a group (``group_chat``); in a forum topic when
        ``thread_id`` is given (is_topic_message, as Telegram marks it)."""
        msg = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id, language_code),
            "text": text,
        }
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if extra:
            msg.update(extra)
        return self.push_update({"message": msg})

    def member(self, user_id: int, status: str, **rights: Any) -> dict:
        m: dict[str, Any] = {"status": status, "user": self.user(user_id) if user_id != BOT_ID else self._m_getMe({})}
        if status == "restricted":
            m.update({"is_member": True, "can_send_messages": False, "can_send_audios": False,
                      "can_send_documents": False, "can_send_photos": False, "can_send_videos": False,
                      "can_send_video_notes": False, "can_send_voice_notes": False, "can_send_polls": False,
                      "can_send_other_messages": False, "can_add_web_page_previews": False,
                      "can_change_info": False, "can_invite_users": False, "can_pin_messages": False,
                      "can_manage_topics": False, "can_react_to_messages": False, "can_edit_tag": False,
                      "until_date": 0})
        elif status == "administrator":
            m.update({"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                      "can_delete_messages": True, "can_manage_video_chats": True,
                      "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                      "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                      "can_delete_stories": False, "can_send_welcome_messages": False})
        elif status == "creator":
            m["is_anonymous"] = False
        elif status == "kicked":
            m["until_date"] = 0
        m.update(rights)
        return m

    def bot_status(self, chat: dict, by_user: int, old: str, new: str, **rights: Any) -> int:
        """Queue a my_chat_member update: the bot's status in ``chat`` went ``old`` -> ``new``
        (added: 'left' -> 'member'; removed: 'member' -> 'left'/'kicked'; muted: -> 'restricted')."""
        self.members[chat["id"]][BOT_ID] = new
        return self.push_update({"my_chat_member": {
            "chat": chat, "from": self.user(by_user), "date": int(time.time()),
            "old_chat_member": self.member(BOT_ID, old),
            "new_chat_member": self.member(BOT_ID, new, **rights),
        }})

    # ---- inspection ---------------------------------------------------------------------------
    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        return [c for c in self.calls if c.method in SEND_METHODS and int(c.params.get("chat_id", 0)) == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.params.get("text", "") for c in self.sent_to(chat_id)]

    def last_message(self, chat_id: int) -> dict | None:
        found = [m for (c, _), m in self.messages.items() if c == chat_id]
        return found[-1] if found else None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:  # noqa: ASYNC109 — a polling helper's deadline, not an I/O call's timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.01)
        return predicate()

    # ---- the wire -----------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):  # multipart upload (sendPhoto, editMessageMedia)
                        params[key] = Upload(value.filename, value.file.read())
                    elif isinstance(value, str):
                        try:
                            decoded = json.loads(value)
                            params[key] = decoded if isinstance(decoded, (dict, list)) else value
                        except ValueError:
                            params[key] = value
                for key, value in list(params.items()):  # photo="attach://x": the upload itself
                    if isinstance(value, str) and value.startswith("attach://") and \
                            isinstance(params.get(value[len("attach://"):]), Upload):
                        params[key] = params[value[len("attach://"):]]
        return params

    def _error(self, code: int, description: str, retry_after: int | None = None,
               parameters: dict | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        if parameters:
            body["parameters"] = {**body.get("parameters", {}), **parameters}
        # Telegram answers with the HTTP status equal to error_code; aiogram picks its exception by it
        return web.json_response(body, status=code)

    def _check_rate(self, chat_id: int) -> int | None:
        now = self.now()
        r = self.rate
        if r.global_per_s:
            q = r._global
            while q and now - q[0] >= 1.0:
                q.popleft()
            if len(q) >= r.global_per_s:
                return 1
        if r.per_chat_per_s:
            q = r._chat[chat_id]
            window = r.burst / r.per_chat_per_s
            while q and now - q[0] >= window:
                q.popleft()
            if len(q) >= r.burst:
                return 1
        if r.global_per_s:
            r._global.append(now)
        if r.per_chat_per_s:
            r._chat[chat_id].append(now)
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != TOKEN:
            return self._error(401, "Unauthorized")
        params = await self._params(request)
        self.calls.append(Call(method, params, self.now()))
        if len(self.calls) > self.max_requests:
            return self._error(500, "test double request budget exhausted")
        response = await self._answer(method, params)
        chat_id = int(params.get("chat_id", 0) or 0)
        for d in self.delays:
            if d.method == method and d.times != 0 and (d.chat_id is None or d.chat_id == chat_id):
                if d.times > 0:
                    d.times -= 1
                self.parked += 1
                try:
                    await self._sleep(d.seconds)
                finally:
                    self.parked -= 1
                break
        return response

    async def _answer(self, method: str, params: dict) -> web.Response:
        for r in self.raws:
            if r.method == method and r.times != 0:
                if r.times > 0:
                    r.times -= 1
                return web.Response(status=r.status, text=r.body, content_type=r.content_type)
        if self.hook is not None:
            custom = self.hook(method, params)
            if custom is not None:
                return web.json_response(custom)
        chat_id = int(params.get("chat_id", 0) or 0)
        for f in self.failures:
            if f.method == method and f.times != 0 and (f.chat_id is None or f.chat_id == chat_id):
                if f.times > 0:
                    f.times -= 1
                return self._error(f.error_code, f.description, f.retry_after, f.parameters)
        if method in SEND_METHODS:
            retry = self._check_rate(chat_id)
            if retry is not None:
                self.rate_limited += 1
                return self._error(429, f"Too Many Requests: retry after {retry}", retry)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        try:
            result = handler(params) if not asyncio.iscoroutinefunction(handler) else await handler(params)
        except _Reply as reply:
            return reply.response
        return web.json_response({"ok": True, "result": result})

    def _m_getMe(self, params: dict) -> dict:
        return {"id": BOT_ID, "is_bot": True, "first_name": "TELEGLAS test", "username": "teleglas_test_bot",
                "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset", 0) or 0)
        timeout = min(float(params.get("timeout", 0) or 0), self.poll_cap_s)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                pass
        return list(self._updates[:100])

    def _message(self, params: dict, message_id: int | None = None) -> dict:
        chat_id = int(params["chat_id"])
        msg = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"} if chat_id > 0 else self.group_chat(chat_id),
            "from": self._m_getMe({}),
            "text": params.get("text", ""),
        }
        if params.get("message_thread_id") is not None:
            msg["message_thread_id"] = int(params["message_thread_id"])
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        self.messages[(chat_id, msg["message_id"])] = msg
        return msg

    def _m_sendMessage(self, params: dict) -> dict:
        if len(params.get("text", "")) > 4096:
            raise _Reply(self._error(400, "Bad Request: message is too long"))
        thread = params.get("message_thread_id")
        if thread is not None:
            gone = self.gone_topics.get((int(params["chat_id"]), int(thread)))
            if gone is not None:  # e.g. "Bad Request: message thread not found", "...: TOPIC_CLOSED"
                raise _Reply(self._error(400, gone))
        return self._message(params)

    def _photo(self, params: dict, media: Any) -> list[dict]:
        """The PhotoSize list of an uploaded photo (``attach://name`` or the field itself)."""
        if isinstance(media, str) and media.startswith("attach://"):
            media = params.get(media[len("attach://"):])
        if not isinstance(media, Upload) or media.png_size is None:
            raise _Reply(self._error(400, "Bad Request: IMAGE_PROCESS_FAILED"))
        w, h = media.png_size
        self.photos.append(media)
        fid = f"photo{len(self.photos)}"
        return [{"file_id": fid, "file_unique_id": fid, "width": w, "height": h, "file_size": len(media.data)}]

    def _m_sendPhoto(self, params: dict) -> dict:
        caption = params.get("caption", "")
        if len(caption) > 1024:
            raise _Reply(self._error(400, "Bad Request: message caption is too long"))
        photo = self._photo(params, params.get("photo"))
        msg = self._message(params)
        msg.pop("text", None)
        msg["photo"], msg["caption"] = photo, caption
        return msg

    def _m_editMessageMedia(self, params: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        old = self.messages.get(key)
        if old is None or "photo" not in old:
            raise _Reply(self._error(400, "Bad Request: there is no media in the message to edit"))
        media = params.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        caption = media.get("caption", "")
        if len(caption) > 1024:
            raise _Reply(self._error(400, "Bad Request: message caption is too long"))
        msg = dict(old, photo=self._photo(params, media.get("media")), caption=caption)
        return self._store_edit(key, msg, params)

    def _store_edit(self, key: tuple[int, int], msg: dict, params: dict) -> dict:
        """An edit replaces the message's keyboard with the one sent, or removes it (Bot API)."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        self.messages[key] = msg
        return msg

    def _m_editMessageCaption(self, params: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        old = self.messages.get(key)
        if old is None or "photo" not in old:
            raise _Reply(self._error(400, "Bad Request: there is no caption in the message to edit"))
        msg = dict(old, caption=params.get("caption", ""))
        return self._store_edit(key, msg, params)

    def _m_editMessageText(self, params: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        old = self.messages.get(key)
        if old is not None and old.get("text") == params.get("text", "") and \
                old.get("reply_markup") == params.get("reply_markup"):
            raise _Reply(self._error(400, "Bad Request: message is not modified: specified new "
                                          "message content and reply markup are exactly the same "
                                          "as a current content and reply markup of the message"))
        return self._message(params, int(params["message_id"]))

    def _m_editMessageReplyMarkup(self, params: dict) -> dict:
        chat_id, mid = int(params["chat_id"]), int(params["message_id"])
        msg = dict(self.messages.get((chat_id, mid)) or self._message({"chat_id": chat_id}, mid))
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            msg["reply_markup"] = markup
        self.messages[(chat_id, mid)] = msg
        return msg

    def _m_getChatAdministrators(self, params: dict) -> list:
        chat_id = int(params["chat_id"])
        return [self.member(uid, status) for uid, status in self.members.get(chat_id, {}).items()
                if status in ("creator", "administrator")]

    def _m_getChatMember(self, params: dict) -> dict:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.members.get(chat_id, {}).get(user_id, "member")
        return self.member(user_id, status)

    def _m_getMyCommands(self, params: dict) -> list:
        sets = [c for c in self.calls if c.method == "setMyCommands"]
        return sets[-1].params.get("commands", []) if sets else []
