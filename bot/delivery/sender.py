"""The flood-controlled sender: one dispatcher, a bounded number of requests in flight.

The outbox row is the only copy of a message. When the ``GlobalLimiter`` has a slot, the
dispatcher reads the due rows (``OutboxRepo.due``: send order, a page at a time, at most
``MAX_READ_AHEAD`` ahead and a share of ONE chat's: a longer backlog is read past and read on
per chat, ``OutboxRepo.due_for_chat``) and the ``Scheduler`` (pacing state only) picks the next
batch among them. The limiter is shared with command replies: every read is awaited first, then
the limiter is checked, the batch picked and the slot taken with no await in between. A chat
has at most ONE request in flight: its next message starts only after the answer to the
previous one is in and handled (a 403 is seen before the next message to that chat;
messages to a chat stay in order), and its pacing is counted from that answer. Each batch is
claimed in the outbox ('sending', attempts + 1) before the request — and sent as claimed — and
marked after it. Rows added wake the dispatcher (``rows_added``, an ``asyncio.Event``); the
delivery clock holds one timer at most, for the next paced chat or due retry.
Every Bot API outcome is classified (``Sender.outcomes`` counts them) and none leaves a row in
'sending':

| outcome        | answer                                   | what happens                            |
|----------------|------------------------------------------|-----------------------------------------|
| ``ok``         | the message                              | rows 'sent' with sent_ns and message_id |
| ``retry_after``| 429 ``TelegramRetryAfter``                | rows back to pending; that chat AND the |
|                |                                          | whole sender wait exactly retry_after s |
| ``blocked``    | 403 ``TelegramForbiddenError``            | user inactive until /start, their rows  |
|                |                                          | failed                                  |
| ``bad_request``| 400 ``TelegramBadRequest``/migrate        | that row failed; a coalesced message is |
|                |                                          | split and its alerts retried one by one |
| ``server_error``| 5xx ``TelegramServerError``, and 401/404/| retried with capped backoff until the   |
|                | 409 while an operator fixes the setup    | row's retry budget (by tier) runs out   |
| ``undecodable``| not JSON (an HTML 502 page from a proxy):| as ``server_error``                     |
|                | aiogram ``ClientDecodeError``             |                                         |
| ``network``    | could not connect (nothing was sent)     | as ``server_error``                     |
| ``timeout``    | no answer within ``send_timeout_s`` (the | NOT resent before ``resend_after_s``    |
|                | request may have reached Telegram)       | more; the chat waits too (see below)    |

**No blind resend.** A send that got no answer may still have been delivered. The read
timeout for sends (``send_timeout_s``, default 60 s) is far above Telegram's usual worst case
(a few seconds), so a slow answer is waited for, not raced by a second copy. When it does time
out, the row is retried only ``resend_after_s`` (default 60 s) later, and that chat gets
nothing else meanwhile: by then a request still travelling has either landed or died. A
duplicate therefore needs an answer slower than ``send_timeout_s`` — rare, not impossible.

**Retry budget.** Retryable failures back off exponentially (``backoff_base_s`` doubling up to
``backoff_max_s``) for as long as the row is younger than its tier's budget
(``RetryPolicy.budget_for``: URGENT/WATCH 1 h, INFO 15 min, an admin /broadcast 6 h; by
signal-id prefix, an outcome reply in an alert's thread 1 h, an operations notice to the
admins 1 h and a watchlist confirmation ("added BTC": ``ADD_PREFIX``) the INFO budget, 15 min
— each worthless hours later — by default); after that the row is given up: state
'failed', counted (``rows_expired``), logged.

**Edits** (``OutboxRow.edit_of``): an update of an earlier signal's event rewrites the message that
carried it (``editMessageText`` with the same buttons). "message is not modified" is ``ok``;
"message to edit not found" / "message can't be edited" give the edit up quietly
(``edits_dropped``). Edits to one message leave at most one per ``edit_interval_s``.

**Groups** (issue 14): an item's ``thread_id`` is its forum topic (``message_thread_id``). A 400
saying the topic is gone (deleted/closed) re-sends it and everything queued for that topic to
the general topic, forgets the topic's routes and queues ONE notice for the group's admins; a
400 with ``migrate_to_chat_id`` moves the group's rows to the supergroup and re-sends there; a
400 "not enough rights" in a group (muted/demoted) is handled like a 403.

An alert that continues a thread (``OutboxRow.reply_to_signal_id``) is sent alone, as a reply to the
user's message of the earlier signal (``allow_sending_without_reply``: a message the user deleted
does not block it). Its message id comes from routing, or is looked up here when the earlier row
was not sent yet at routing; still unsent now -> sent without a reply.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from types import GeneratorType
from typing import Any, Generic, TypeVar, cast
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import LinkPreviewOptions, ReplyParameters

from bot.delivery.clock import REAL_CLOCK, Clock, TimedOut, wait_event, with_timeout
from bot.delivery.compose import compose
from bot.delivery.outbox import ADD_PREFIX, NOTICE_PREFIX, OPS_PREFIX, OUTCOME_PREFIX, is_broadcast
from bot.delivery.scheduler import GlobalLimiter, Scheduler
from bot.delivery.stats import DeliveryCounters, LatencyWindow
from bot.keyboards.alerts import alert_keyboard
from locales import Translator
from bot.groups import TopicRoutes, cannot_post, topic_gone
from engine.signals import Tier
from storage import ChatRepo, ConstraintError, OutboxRepo, OutboxRow, StorageError, UserRepo

# due rows read from the outbox per query, and at most this many read ahead while every row read
# so far waits for its chat
PAGE_ROWS = 256
MAX_READ_AHEAD = 4096
# rows of ONE chat kept in the read-ahead (at least two messages' worth of coalescing,
# ``Scheduler.max_batch_items``): the rest of a long backlog is read past, so it cannot hide the
# rows of other chats behind it, and is read again (that chat's due rows, its own index) once
# that chat was sent its batch
MIN_CHAT_SHARE = 32

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# set in the sender's own request tasks: command-reply middleware (replies.py) lets them pass
IN_SENDER: contextvars.ContextVar[bool] = contextvars.ContextVar("teleglas_in_sender", default=False)

OUTCOMES = ("ok", "retry_after", "blocked", "bad_request", "server_error", "undecodable",
            "network", "timeout")

# network errors where the request cannot have reached Telegram (aiogram wraps aiohttp's
# exception as "<TypeName>: <text>"): safe to retry on the normal backoff
_NOT_SENT = ("ClientConnectorError", "ClientConnectorDNSError", "ClientConnectorCertificateError",
             "ClientConnectorSSLError", "ClientProxyConnectionError", "InvalidURL",
             "InvalidUrlClientError", "NonHttpUrlClientError")


def _text(e: BaseException) -> str:
    return (getattr(e, "message", None) or str(e) or type(e).__name__).lower()


def classify(e: BaseException) -> str:
    """The outcome class of a failed Bot API call (see the module table)."""
    if isinstance(e, TelegramRetryAfter):
        return "retry_after"
    if isinstance(e, TelegramForbiddenError):
        return "blocked"
    if isinstance(e, (TelegramBadRequest, TelegramMigrateToChat)):
        return "bad_request"
    if isinstance(e, ClientDecodeError):
        return "undecodable"
    if isinstance(e, (TimedOut, TimeoutError)):
        return "timeout"
    if isinstance(e, TelegramNetworkError):
        message = getattr(e, "message", "") or ""
        if message.startswith(_NOT_SENT):
            return "network"
        return "timeout"  # timed out, or the connection broke after the request went out
    if isinstance(e, OSError):
        return "network"
    return "server_error"  # TelegramServerError (5xx), 401/404/409 and other API errors


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often retryable failures (5xx, network, undecodable, timeout) retry."""

    budget_s: dict[str, float] = field(
        default_factory=lambda: {"URGENT": 3600.0, "WATCH": 3600.0, "INFO": 900.0})
    broadcast_budget_s: float = 6 * 3600.0
    # rows whose signal_id starts with a prefix: that budget (first match; before the above)
    prefix_budget_s: tuple[tuple[str, float], ...] = (
        (OUTCOME_PREFIX, 3600.0), (OPS_PREFIX, 3600.0), (ADD_PREFIX, 900.0))
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    send_timeout_s: float = 60.0  # read timeout of a send; far above Telegram's usual worst case
    resend_after_s: float = 60.0  # after a timeout, no resend (to that chat) before this

    def backoff(self, failures: int) -> float:
        return min(self.backoff_max_s, self.backoff_base_s * 2.0 ** min(30, max(0, failures - 1)))

    def budget_for(self, row: OutboxRow) -> float:
        """Seconds after its acceptance a row may still be retried after a retryable failure."""
        for prefix, budget in self.prefix_budget_s:
            if row.signal_id.startswith(prefix):
                return budget
        if is_broadcast(row.signal_id):
            return self.broadcast_budget_s
        return self.budget_s.get(row.tier, 3600.0)


class _Durable(Generic[R]):
    """A repository whose calls are retried while storage errors last (the database locked by
    another process past busy_timeout, a full disk): capped backoff on the sender's clock. The
    chat stays busy meanwhile, so an answer Telegram gave is recorded before anything else goes
    to that chat, and no row is left 'sending' by a hiccup. A constraint error is a bug: raised.
    Made by ``durable``, typed as the repository it wraps (every method of a repository is a
    coroutine with the same signature here), so mypy checks each call.
    """

    def __init__(self, repo: R, sender: Sender) -> None:
        self._repo = repo
        self._sender = sender

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        fn = getattr(self._repo, name)

        async def durably(*args: Any, **kwargs: Any) -> Any:
            # a generator argument would be empty on the second attempt
            args = tuple(list(a) if isinstance(a, GeneratorType) else a for a in args)
            failures = 0
            sender = self._sender
            while True:
                try:
                    return await fn(*args, **kwargs)
                except ConstraintError:
                    raise
                except StorageError as e:
                    failures += 1
                    sender.counters.record_errors += 1
                    if failures == 1 or failures % 20 == 0:
                        log.error("delivery: storage error in %s (%s); retrying until storage "
                                  "answers", name, e)
                    sender.storage_waits += 1
                    try:
                        await sender.clock.sleep(min(30.0, 0.25 * 2 ** min(failures - 1, 8)))
                    finally:
                        sender.storage_waits -= 1

        return durably


def durable(repo: R, sender: Sender) -> R:
    """``repo`` with every call retried while storage errors last (``_Durable``)."""
    return cast(R, _Durable(repo, sender))


class Sender:
    def __init__(self, bot: Bot, outbox: OutboxRepo, users: UserRepo, translator: Translator,
                 scheduler: Scheduler, limiter: GlobalLimiter, counters: DeliveryCounters,
                 latency: LatencyWindow, *, retry: RetryPolicy | None = None,
                 max_inflight: int = 16, retry_after_global: bool = True,
                 edit_interval_s: float = 3.0, clock: Clock = REAL_CLOCK,
                 chats: ChatRepo | None = None, topic_routes: TopicRoutes | None = None) -> None:
        self._bot = bot
        # groups (issue 14): topics found gone are forgotten, an upgraded group's rows move
        self._chats: ChatRepo | None = durable(chats, self) if chats is not None else None
        self._topic_routes = topic_routes
        self._outbox: OutboxRepo = durable(outbox, self)
        self._users: UserRepo = durable(users, self)
        self.storage_waits = 0  # requests whose recording waits for storage right now
        self._tr = translator
        self.scheduler = scheduler
        self.limiter = limiter
        self.counters = counters
        self.latency = latency
        self.retry = retry or RetryPolicy()
        self.retry_after_global = retry_after_global
        self.edit_interval_s = edit_interval_s
        self.clock = clock
        self._slots = asyncio.Semaphore(max_inflight)
        self._wake = asyncio.Event()
        self.slot_freed = asyncio.Event()  # for command replies waiting on the limiter
        self._inflight: set[asyncio.Task[Any]] = set()
        self._preview_off = LinkPreviewOptions(is_disabled=True)
        # original outbox row id -> monotonic time its message was last edited (bounded)
        self.edited_at: OrderedDict[int, float] = OrderedDict()
        self._last_outcome: dict[int, str] = {}  # chat id -> outcome of its request in flight
        # called (item, sent_ns) for every alert row sent (not broadcasts, not edits): e.g. a
        # metrics exporter's exchange->sent (item.exchange_ms) and receive->sent (item.recv_ns)
        # histograms
        self.sent_observers: list[Callable[[OutboxRow, int], None]] = []
        self._blocked: set[int] = set()  # users who answered 403 since start (until /start)
        # awaited with a user's id after a 403 made them inactive (bot.app: their coins' detector
        # floors and the feeds' symbol set follow who is still active, ``Subscriptions.resync``)
        self.on_user_deactivated: Callable[[int], Awaitable[None]] | None = None
        # the due rows read from the outbox, in send order: a read cursor, not a copy — every
        # send claims its rows (``OutboxRepo.claim``) and sends them as claimed
        self._page: dict[int, OutboxRow] = {}
        self._page_end: tuple[int, int] | None = None  # (priority, id) to read on from; None: all read
        self._stale = True  # rows were added or changed since the last read: read from the top
        self._reading = False
        self._next_due_ns: int | None = None  # when the next retry in the outbox becomes due
        # rows of one chat kept in the read-ahead; a chat with more due rows is read past:
        # chat id -> the key to read its rows on from (its first row not kept) ...
        self._chat_share = max(MIN_CHAT_SHARE, 2 * scheduler.max_batch_items)
        self._read_past: dict[int, tuple[int, int]] = {}
        self._refill: set[int] = set()  # ... and those of them sent a batch since: read on

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def wake(self) -> None:
        """A chat or the limit opened: look again now."""
        self._wake.set()
        self.slot_freed.set()

    def rows_added(self, rows: Sequence[OutboxRow] = ()) -> None:
        """Rows were added to the outbox (or changed there): look now.

        ``rows``: the rows just written, exactly as stored: they join the rows read in send
        order without reading them back (an URGENT row goes before what was read already).
        Without them (or while a read is under way) the due rows are read again from the top."""
        if rows and not self._stale and not self._reading:
            end = self._page_end
            past = self._read_past
            # later than the rows read, or than where a chat was read past: read on from there
            # (``_read_chats``), so they follow that chat's older rows in order
            new = [r for r in rows if (end is None or (r.priority, r.id) < end)
                   and (r.chat_id not in past or (r.priority, r.id) < past[r.chat_id])]
            if new:
                merged = sorted({**self._page, **{r.id: r for r in new}}.values(),
                                key=lambda r: (r.priority, r.id))
                if len(merged) > MAX_READ_AHEAD:
                    del merged[MAX_READ_AHEAD:]
                    end = self._page_end = (merged[-1].priority, merged[-1].id)
                    # a chat read past from beyond the new end: reading on from there reads
                    # its rows again (kept ones were just dropped), so it is not read past
                    for chat_id in [c for c, key in self._read_past.items() if key >= end]:
                        del self._read_past[chat_id]
                self._page = {r.id: r for r in merged}
        else:
            self._stale = True
        self.wake()

    def _retry_at(self, next_attempt_ns: int) -> None:
        """Rows of this sender go back to 'pending', due at ``next_attempt_ns`` (0: now)."""
        if next_attempt_ns <= 0:
            self._stale = True
        elif self._next_due_ns is None or next_attempt_ns < self._next_due_ns:
            self._next_due_ns = next_attempt_ns
        self.wake()

    @property
    def reading(self) -> bool:
        """A read of due rows from the outbox is under way."""
        return self._reading

    @property
    def read_ahead(self) -> int:
        """Due rows read from the outbox and not yet started (waiting for their chat or a slot)."""
        return len(self._page)

    # ---- dispatcher ----------------------------------------------------------------------
    async def run(self) -> None:
        """Dispatch forever (cancel to stop; then ``drain_inflight``)."""
        while True:
            await self._slots.acquire()
            try:
                batch, token = await self._next_batch()
            except BaseException:
                self._slots.release()
                raise
            task = asyncio.create_task(self._send(batch, token), name=f"deliver-{batch[0].id}")
            self._inflight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _next_batch(self) -> tuple[list[OutboxRow], list[float | None]]:
        """The next batch and the global limiter's slot taken for it.

        The limiter is shared with command replies (``ReplyLimiter``), which take slots while
        this task awaits: a slot seen free before a read of the outbox may be gone (or a 429
        may have paused everything) after it. So every await (the reads) comes first, and the
        limiter check, the pick and the slot taken follow with none in between."""
        while True:
            now = self.clock.now()
            delay = self.limiter.delay(now)
            wait: float | None = delay
            if delay <= 0:
                if await self._refresh():
                    continue  # time passed while reading: look at the limiter again
                batch = self.scheduler.pick(self._page.values(), now)  # no copy: read in place
                if batch is not None:
                    for row in batch:
                        del self._page[row.id]
                    return batch, self.limiter.acquire()
                if self._page_end is not None and len(self._page) < MAX_READ_AHEAD:
                    await self._read(from_top=False)  # all read so far waits for its chat
                    continue
                wait = self._idle_wait(now)
            elif delay == math.inf:
                wait = None  # an answer releases a slot and wakes us
            self._wake.clear()
            await wait_event(self.clock, self._wake, wait)

    async def _refresh(self) -> bool:
        """Bring the rows read up to date with the outbox; True when it read (awaited)."""
        due = self._next_due_ns
        if self._stale or (due is not None and self.clock.wall_ns() >= due):
            await self._read(from_top=True)
            return True
        if not self._page and self._page_end is not None:
            await self._read(from_top=False)
            return True
        if self._refill:
            await self._read_chats()
            return True
        return False

    async def _read(self, *, from_top: bool) -> None:
        wall = self.clock.wall_ns()
        self._reading = True
        try:
            if from_top:
                self._stale = False
                self._page.clear()
                self._page_end = None
                self._read_past.clear()
                self._refill.clear()
                self._next_due_ns = await self._outbox.next_due_ns(wall)
            # chats read past are stepped over inside SQLite: one chat's long backlog is not
            # loaded page by page only to be skipped here
            rows = await self._outbox.due(wall, PAGE_ROWS, after=None if from_top else self._page_end,
                                          skip=self._read_past.keys())
        finally:
            self._reading = False
        if self._stale:
            return  # rows changed during the read: it is read again from the top
        self._page_end = (rows[-1].priority, rows[-1].id) if len(rows) == PAGE_ROWS else None
        if not rows:
            return
        share = self._chat_share
        kept: dict[int, int] = {}
        for row in self._page.values():
            kept[row.chat_id] = kept.get(row.chat_id, 0) + 1
        read_past = self._read_past
        for row in rows:
            chat_id = row.chat_id
            if chat_id in read_past:
                continue  # its rows are read on from where its share ended (``_read_chats``)
            n = kept.get(chat_id, 0)
            if n >= share:
                read_past[chat_id] = (row.priority, row.id - 1)
                continue
            kept[chat_id] = n + 1
            self._page[row.id] = row

    async def _read_chats(self) -> None:
        """Chats read past that were sent a batch since: read their next due rows, up to their
        share, up to where the rows read end (read on from there, they follow in order)."""
        chats, self._refill = self._refill, set()
        wall = self.clock.wall_ns()
        found: list[OutboxRow] = []
        self._reading = True
        try:
            for chat_id in chats:
                after = self._read_past.get(chat_id)
                if after is None:
                    continue
                have = sum(1 for row in self._page.values() if row.chat_id == chat_id)
                want = max(0, self._chat_share - have)
                rows = await self._outbox.due_for_chat(chat_id, wall, want + 1, after=after,
                                                       before=self._page_end)
                if len(rows) > want:
                    extra = rows[want]
                    self._read_past[chat_id] = (extra.priority, extra.id - 1)
                    del rows[want:]
                else:
                    del self._read_past[chat_id]
                found.extend(rows)
        finally:
            self._reading = False
        if self._stale or not found:
            return
        merged = {**self._page, **{row.id: row for row in found}}
        self._page = {row.id: row for row in sorted(merged.values(),
                                                    key=lambda r: (r.priority, r.id))}

    def _idle_wait(self, now: float) -> float | None:
        """Seconds until a row read may go or a retry becomes due; None: until woken."""
        wait = math.inf
        ready = self.scheduler.wake_at(self._page.values())
        if ready is not None:
            wait = ready - now
        if self._next_due_ns is not None:
            wait = min(wait, (self._next_due_ns - self.clock.wall_ns()) / 1e9)
        return None if wait == math.inf else max(0.0, wait)

    async def drain_inflight(self, grace_s: float) -> int:
        """Let requests already started finish and be recorded; cancel what outlives ``grace_s``.

        Returns how many had to be cancelled (their rows stay 'sending' and are requeued at the
        next start: at-least-once for them).
        """
        pending = set(self._inflight)
        if not pending:
            return 0
        _done, still = await asyncio.wait(pending, timeout=grace_s)
        for task in still:
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)
        return len(still)

    # ---- one message ---------------------------------------------------------------------
    async def _send(self, batch: list[OutboxRow], token: list[float | None]) -> None:
        IN_SENDER.set(True)  # this task's requests hold a limiter slot already
        chat_id = batch[0].chat_id  # busy in the scheduler until released below
        self._last_outcome[chat_id] = "ok"
        try:
            await self._send_batch(batch)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug (storage errors are retried by _Durable)
            log.exception("delivery to chat %s failed unexpectedly: %s", chat_id, e)
            self.counters.record_errors += 1
            await self._put_back(batch, e)
        finally:
            now = self.clock.now()
            self.limiter.release(token, now)
            # a 429 names the exact wait (pause_chat): no pacing on top of it
            paced = self._last_outcome.pop(chat_id, "ok") not in ("retry_after", "nothing")
            self.scheduler.release(chat_id, now, paced=paced)
            if chat_id in self._read_past:
                self._refill.add(chat_id)  # its share of the rows read is spent: read on
            self.wake()

    async def _put_back(self, batch: list[OutboxRow], e: Exception) -> None:
        """After an unexpected error, the rows this send claimed (still 'sending') go back to
        'pending' for a retry after the backoff, the attempt counted — not left 'sending' until
        the next start. Rows already marked (or never claimed) are not touched."""
        now_ns = self.clock.wall_ns()
        error = f"unexpected: {e}"[:200]
        expired = [row for row in batch if (now_ns - row.enqueued_ns) / 1e9 >= self.retry.budget_for(row)]
        gone = {row.id for row in expired}
        again = [row for row in batch if row.id not in gone]
        try:
            if expired:  # a bug that keeps hitting a row must not retry it forever
                n = await self._outbox.mark_failed_many([row.id for row in expired], error)
                self.counters.rows_failed += n
                self.counters.rows_expired += n
            if again:
                delay = self.retry.backoff(max(row.attempts for row in again) + 1)
                await self._retry(again, error, self._wall_in(delay), failed=True)
                self.counters.retries += 1
        except Exception:
            log.exception("could not put the rows of chat %s back; requeued at the next start",
                          batch[0].chat_id)

    def _count(self, outcome: str, chat_id: int | None = None) -> None:
        if chat_id is not None:
            self._last_outcome[chat_id] = outcome
        by = self.counters.sends_by_outcome
        by[outcome] = by.get(outcome, 0) + 1

    async def _send_batch(self, picked: list[OutboxRow]) -> None:
        # the rows as they are now (an update may have rewritten a pending row's text); a row
        # taken or finished since it was read is not returned
        batch = await self._outbox.claim([row.id for row in picked], self.clock.wall_ns())
        if not batch:
            self._last_outcome[picked[0].chat_id] = "nothing"  # nothing was sent: no pacing
            return
        if batch[0].user_id in self._blocked and await self._still_blocked(batch):
            return
        if batch[0].edit_of is not None:
            await self._send_edit(batch[0])
            return
        first = batch[0]
        lang = first.lang or "en"
        text = compose(self._tr, lang, [it.text for it in batch])
        symbols = [it.symbol for it in batch if it.symbol]
        # alert buttons belong to alerts; a broadcast (no symbol) goes out without any
        markup = alert_keyboard(self._tr, lang, symbols) if symbols else None
        ids = [it.id for it in batch]
        reply = await self._reply_parameters(batch)
        try:
            message = await self._call(self._bot.send_message(
                chat_id=first.chat_id, text=text, parse_mode="HTML",
                message_thread_id=first.thread_id,
                disable_notification=all(it.silent for it in batch),
                reply_markup=markup, link_preview_options=self._preview_off,
                reply_parameters=reply, request_timeout=self._backstop_timeout(),
            ))
        except Exception as e:
            await self._on_error(batch, e)
            return
        self._count("ok")
        sent_ns = self.clock.wall_ns()
        await self._outbox.mark_sent_many(ids, sent_ns, message.message_id)
        c = self.counters
        c.messages_sent += 1
        c.rows_sent += len(batch)
        if len(batch) > 1:
            c.rows_coalesced += len(batch)
        if reply is not None:
            c.rows_threaded += 1
        for it in batch:
            if is_broadcast(it.signal_id):
                continue  # paced admin text: not an alert's receive->sent latency
            start = it.recv_ns or it.enqueued_ns
            self.latency.add(sent_ns, sent_ns - start)
            for observe in self.sent_observers:
                try:
                    observe(it, sent_ns)
                except Exception:  # a metrics hook must never break delivery
                    log.exception("sent observer failed")

    async def _still_blocked(self, batch: list[OutboxRow]) -> bool:
        """A row routed while its user's 403 was being handled (routing read the user as
        active just before): give it up without a request, unless /start reactivated them."""
        user_id = batch[0].user_id
        user = await self._users.get(user_id)
        if user is not None and not user.active:
            self.counters.rows_failed += await self._outbox.mark_failed_many(
                [it.id for it in batch], "the user blocked the bot")
            return True
        self._blocked.discard(user_id)
        return False

    def _backstop_timeout(self) -> int:
        # the network library's own timeout only backs up ours (the clock's), which decides
        return int(self.retry.send_timeout_s) + 30

    async def _call(self, request: Awaitable[T]) -> T:
        return await with_timeout(self.clock, request, self.retry.send_timeout_s)

    async def _on_error(self, batch: list[OutboxRow], e: Exception) -> None:
        outcome = classify(e)
        self._count(outcome, batch[0].chat_id)
        # classify() names these outcomes for exactly these classes
        if isinstance(e, TelegramRetryAfter):
            await self._on_retry_after(batch, e)
        elif isinstance(e, TelegramForbiddenError):
            await self._on_forbidden(batch, e)
        elif isinstance(e, (TelegramBadRequest, TelegramMigrateToChat)):
            await self._on_bad_request(batch, e)
        else:
            await self._on_transient(batch, e, outcome)

    async def _reply_parameters(self, batch: list[OutboxRow]) -> ReplyParameters | None:
        """Reply to the earlier alert of the thread (a single-alert message only)."""
        earlier = batch[0].reply_to_signal_id
        if len(batch) != 1 or earlier is None:
            return None
        row = batch[0]
        message_id = row.reply_to_message_id
        if message_id is None:
            # the earlier row was not sent yet when this one was routed: it may be by now
            message_id = await self._outbox.sent_message_id(row.user_id, earlier, row.chat_id)
            if message_id is None:
                return None
            await self._outbox.set_reply_to(row.id, message_id)
        return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)

    async def _retry(self, rows: list[OutboxRow], error: object, next_attempt_ns: int, *,
                     failed: bool = False) -> None:
        """Claimed rows back to 'pending', due at ``next_attempt_ns`` (0: now); ``failed``:
        the attempt counts towards the backoff."""
        await self._outbox.mark_retry_many((row.id for row in rows), error, next_attempt_ns,
                                           failed=failed)
        self._retry_at(next_attempt_ns)

    def _wall_in(self, seconds: float) -> int:
        return self.clock.wall_ns() + int(seconds * 1e9)

    # ---- edits ---------------------------------------------------------------------------
    async def _send_edit(self, it: OutboxRow) -> None:
        original = await self._outbox.get(it.edit_of) if it.edit_of is not None else None
        if original is None or original.state == "failed":
            self.counters.edits_dropped += await self._outbox.mark_failed_many(
                [it.id], "the original message was never delivered")
            return
        if original.state != "sent" or original.message_id is None:
            # still on its way: the edit follows it (the original may already carry this text)
            await self._retry([it], "original not sent yet", self._wall_in(self.edit_interval_s))
            return
        now = self.clock.now()
        last = self.edited_at.get(original.id)
        if last is not None and now < last + self.edit_interval_s:
            await self._retry([it], "edit paced", self._wall_in(last + self.edit_interval_s - now))
            return
        # the message may carry several coalesced alerts: re-compose it with this one's new text
        rows = await self._outbox.message_rows(original.chat_id, original.message_id)
        texts = [it.text if r.id == original.id else r.text for r in rows] or [it.text]
        lang = original.lang or "en"
        symbols = [r.symbol for r in rows if r.symbol] or ([original.symbol] if original.symbol else [])
        markup = alert_keyboard(self._tr, lang, symbols) if symbols else None
        try:
            await self._call(self._bot.edit_message_text(
                chat_id=original.chat_id, message_id=original.message_id,
                text=compose(self._tr, lang, texts), parse_mode="HTML", reply_markup=markup,
                link_preview_options=self._preview_off, request_timeout=self._backstop_timeout(),
            ))
        except TelegramBadRequest as e:
            reason = _text(e)
            if "not modified" in reason:
                pass  # the message already says this: done
            elif "not found" in reason or "can't be edited" in reason or "cannot be edited" in reason:
                self._count("bad_request")
                log.info("edit of message %s in chat %s given up: %s",
                         original.message_id, original.chat_id, e.message)
                self.counters.edits_dropped += await self._outbox.mark_failed_many([it.id], e)
                return
            else:
                await self._on_error([it], e)
                return
        except Exception as e:
            await self._on_error([it], e)
            return
        self._count("ok")
        self.edited_at[original.id] = self.clock.now()
        self.edited_at.move_to_end(original.id)
        while len(self.edited_at) > 10_000:
            self.edited_at.popitem(last=False)
        await self._outbox.mark_sent_many([it.id], self.clock.wall_ns(), original.message_id)
        # the original row's text follows, so a later edit re-composes from the newest figures
        await self._outbox.set_text(original.id, it.text)
        self.counters.edits_sent += 1

    # ---- failures ------------------------------------------------------------------------
    async def _on_retry_after(self, batch: list[OutboxRow], e: TelegramRetryAfter) -> None:
        wait = float(e.retry_after)
        until = self.clock.now() + wait
        self.counters.rate_limited += 1
        self.counters.retries += 1
        log.warning("429 from Telegram for chat %s: waiting exactly %ss", batch[0].chat_id, e.retry_after)
        self.scheduler.pause_chat(batch[0].chat_id, until)
        if self.retry_after_global:
            self.limiter.pause_until(until)
        await self._retry(batch, e, self._wall_in(wait))

    async def _on_forbidden(self, batch: list[OutboxRow], e: TelegramAPIError) -> None:
        user_id = batch[0].user_id
        self._blocked.add(user_id)
        self.counters.forbidden += 1
        log.info("user %s cannot be reached (%s): marked inactive until /start", user_id, e.message)
        await self._users.set_active(user_id, False)
        failed = await self._outbox.mark_failed_many([row.id for row in batch], e)
        others = await self._outbox.fail_pending_for_user(user_id, e)
        self.counters.rows_failed += failed + len(others)
        if others:
            log.info("gave up %d queued alerts of user %s", len(others), user_id)
            self.rows_added()  # rows read already may be among them
        if self.on_user_deactivated is not None:
            try:
                await self.on_user_deactivated(user_id)
            except Exception:  # their floors stay low until a restart; delivery goes on
                log.exception("after user %s was deactivated", user_id)

    async def _on_bad_request(self, batch: list[OutboxRow], e: TelegramAPIError) -> None:
        self.counters.bad_requests += 1
        if isinstance(e, TelegramMigrateToChat) and self._chats is not None:
            await self._on_migrated(batch, e)
            return
        if batch[0].thread_id is not None and batch[0].edit_of is None and topic_gone(e.message):
            await self._on_topic_gone(batch, e)
            return
        if batch[0].chat_id < 0 and cannot_post(e.message):
            # muted or demoted in the group: like a blocked user, inactive until it can post
            # again (my_chat_member reactivates it)
            await self._on_forbidden(batch, e)
            return
        if len(batch) > 1:
            log.warning("coalesced message to chat %s refused (%s): sending its %d alerts one by one",
                        batch[0].chat_id, e.message, len(batch))
            self.scheduler.make_solo(row.id for row in batch)
            await self._retry(batch, e, 0)
            return
        row = batch[0]
        if row.reply_to_signal_id is not None and "repl" in (e.message or "").lower():
            # the reply itself was refused: send the alert once more, without the reply (and
            # alone, as it was routed)
            log.warning("alert %s to chat %s: reply to message %s refused (%s); sending it without",
                        row.id, row.chat_id, row.reply_to_message_id, e.message)
            self.scheduler.make_solo([row.id])
            await self._outbox.clear_reply(row.id)
            await self._retry([row], e, 0)
            return
        log.warning("alert %s to chat %s refused, given up: %s", row.id, row.chat_id, e.message)
        self.counters.rows_failed += await self._outbox.mark_failed_many([row.id], e)

    async def _on_topic_gone(self, batch: list[OutboxRow], e: TelegramAPIError) -> None:
        """The group's forum topic was deleted or closed: its routes are forgotten, everything
        queued for it goes to the general topic (this batch at once), and the group's admins
        are told once (a durable notice row per (chat, topic): UNIQUE(user_id, signal_id))."""
        chat_id, gone = batch[0].chat_id, batch[0].thread_id or 0  # set: the caller checked
        self.counters.topics_gone += 1
        log.warning("chat %s: topic %s refused (%s): alerts go to the general topic", chat_id, gone,
                    e.message)
        if self._chats is not None:
            await self._chats.clear_topics(chat_id, thread_id=gone)
        if self._topic_routes is not None:
            self._topic_routes.forget(chat_id)
        await self._outbox.clear_thread(chat_id, gone)  # this batch's rows (still 'sending') too
        await self._retry(batch, e, 0)
        lang = batch[0].lang or "en"
        notice = OutboxRow(
            user_id=batch[0].user_id, chat_id=chat_id, signal_id=f"{NOTICE_PREFIX}topic-gone:{gone}",
            tier=Tier.URGENT.value, priority=Tier.URGENT.priority,
            text=self._tr.get(lang, "topic-gone", thread=str(gone)), lang=lang,
        )
        if await self._outbox.enqueue_many([notice]):  # once per (chat, topic)
            self.rows_added()

    async def _on_migrated(self, batch: list[OutboxRow], e: TelegramMigrateToChat) -> None:
        """The group became a supergroup: its settings and rows move to the new id
        (``ChatRepo.migrate``, also done when the upgrade notice arrives) and what was queued
        for the old id is sent to the new one."""
        old, new = batch[0].chat_id, int(e.migrate_to_chat_id)
        self.counters.chats_migrated += 1
        log.info("chat %s is now supergroup %s: its alerts follow", old, new)
        if self._chats is not None:  # the caller checked
            await self._chats.migrate(old, new)
        await self._retry(batch, e, 0)

    async def _on_transient(self, batch: list[OutboxRow], e: BaseException, outcome: str) -> None:
        now, now_ns = self.clock.now(), self.clock.wall_ns()
        retry: list[OutboxRow] = []
        give_up: list[OutboxRow] = []
        for row in batch:  # row.attempts: this failure and the earlier ones (claim counted it)
            age_s = (now_ns - row.enqueued_ns) / 1e9
            (give_up if age_s >= self.retry.budget_for(row) else retry).append(row)
        if give_up:
            log.warning("gave up %d alert(s) to chat %s after %d attempts over %.0fs (%s: %s)",
                        len(give_up), batch[0].chat_id, max(row.attempts for row in give_up),
                        (now_ns - min(row.enqueued_ns for row in give_up)) / 1e9, outcome, e)
            n = await self._outbox.mark_failed_many([row.id for row in give_up], f"{outcome}: {e}")
            self.counters.rows_failed += n
            self.counters.rows_expired += n
        if not retry:
            return
        delay = self.retry.backoff(max(row.attempts for row in retry))
        if outcome == "timeout":
            # the request may still land: no second copy while it can, and nothing else to
            # this chat in between (order)
            delay = max(delay, self.retry.resend_after_s)
            self.scheduler.pause_chat(batch[0].chat_id, now + delay)
        self.counters.retries += 1
        log.info("send to chat %s failed (%s: %s); retry in %.1fs",
                 batch[0].chat_id, outcome, e, delay)
        await self._retry(retry, f"{outcome}: {e}", now_ns + int(delay * 1e9), failed=True)


__all__ = ["IN_SENDER", "OUTCOMES", "RetryPolicy", "Sender", "classify"]
