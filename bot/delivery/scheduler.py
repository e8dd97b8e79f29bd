"""In-memory send order: priority by tier (FIFO within a tier), per-chat pacing, coalescing.

Pure bookkeeping with the time passed in (monotonic seconds), so it is tested without a clock.
The durable copy of every item is its outbox row; this is only the order in which they go.

- ``pop_ready(now)`` returns the next batch for ONE chat: the most urgent item whose chat may
  receive a message now, plus (for coalescible tiers) the other due coalescible items of that
  chat that fit in one message. Popping marks the chat BUSY: nothing more is taken for it until
  ``release(chat_id, now)`` — called once the request's answer is in and handled — so a chat
  has at most one request in flight, its messages stay in order, and a 403 is seen before the
  next message to it is started.
- Only items for the same forum topic (``thread_id``) are coalesced into one message.
- A private chat gets at most one message per ``chat_interval_s``, a group one per
  ``group_interval_s``, counted from the END of the previous request (``release``). A coalescible (low-tier) message waits ``coalesce_window_s`` after the
  previous low-tier message to the same chat, so alerts arriving within seconds go out together.
"""
from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class Item:
    """One outbox row waiting to be sent."""

    id: int
    user_id: int
    chat_id: int
    signal_id: str
    tier: str
    priority: int
    text: str
    silent: bool
    symbol: str | None
    lang: str | None
    enqueued_ns: int
    recv_ns: int | None = None
    exchange_ms: int | None = None  # event time at the exchange (for exchange->sent latency)
    not_before: float = 0.0  # monotonic seconds (retry backoff / retry_after)
    failures: int = 0  # network/5xx attempts so far
    solo: bool = False  # never coalesce (broadcasts, thread replies, a refused coalesced message)
    done: bool = False  # taken or removed; heap entries are deleted lazily
    heap_seq: int = -1  # the live heap entry; older entries of this item are stale
    # alert threads: sent as a reply to this user's message of the earlier signal
    reply_to_signal_id: str | None = None
    reply_to_message_id: int | None = None  # known at routing; else looked up at send time
    # an edit (editMessageText) of the message that carried outbox row ``edit_of``
    edit_of: int | None = None
    # a forum topic of a group (message_thread_id); None: the general topic / a private chat
    thread_id: int | None = None


@dataclass(slots=True)
class _Chat:
    next_ok: float = 0.0
    next_low_ok: float = 0.0
    busy: bool = False  # a request to this chat is in flight
    busy_low: bool = False  # ... and it carried a coalescible item
    items: list[Item] = field(default_factory=list)


class Scheduler:
    def __init__(self, *, chat_interval_s: float = 1.05, group_interval_s: float = 3.05,
                 coalesce_window_s: float = 3.0, coalesce_tiers: Iterable[str] = ("WATCH", "INFO"),
                 max_batch_chars: int = 3900, max_batch_items: int = 10) -> None:
        self.chat_interval_s = chat_interval_s
        self.group_interval_s = group_interval_s
        self.coalesce_window_s = coalesce_window_s
        self.coalesce_tiers = frozenset(coalesce_tiers)
        self.max_batch_chars = max_batch_chars
        self.max_batch_items = max_batch_items
        self._ready: list[tuple[int, int, int, Item]] = []  # (priority, id, seq, item)
        self._delayed: list[tuple[float, int, int, int, Item]] = []  # (t, priority, id, seq, item)
        self._chats: dict[int, _Chat] = {}
        self._by_id: dict[int, Item] = {}
        self._seq = itertools.count()
        self._chats_limit = 50_000

    # ---- content -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, outbox_id: int) -> bool:
        return outbox_id in self._by_id

    def get(self, outbox_id: int) -> Item | None:
        return self._by_id.get(outbox_id)

    def push(self, item: Item) -> bool:
        """Queue an item; False when an item with that outbox id is already queued."""
        if item.id in self._by_id:
            return False
        item.done = False
        self._by_id[item.id] = item
        self._chat(item.chat_id).items.append(item)
        self._enqueue(item)
        return True

    def _enqueue(self, item: Item) -> None:
        item.heap_seq = seq = next(self._seq)
        if item.not_before > 0:
            heapq.heappush(self._delayed, (item.not_before, item.priority, item.id, seq, item))
        else:
            heapq.heappush(self._ready, (item.priority, item.id, seq, item))

    def retarget_thread(self, chat_id: int, thread_id: int) -> int:
        """A forum topic is gone: the chat's queued items for it go to the general topic."""
        chat = self._chats.get(chat_id)
        moved = 0
        for it in chat.items if chat is not None else ():
            if it.thread_id == thread_id:
                it.thread_id = None
                moved += 1
        return moved

    def remove_user(self, user_id: int) -> list[Item]:
        """Take every queued item of ``user_id`` out (e.g. the user blocked the bot)."""
        gone = [it for it in self._by_id.values() if it.user_id == user_id]
        for it in gone:
            self._discard(it)
        return gone

    def _discard(self, item: Item) -> None:
        item.done = True
        self._by_id.pop(item.id, None)
        chat = self._chats.get(item.chat_id)
        if chat is not None:
            try:
                chat.items.remove(item)
            except ValueError:
                pass

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
        return chat

    # ---- timing ------------------------------------------------------------------------
    def is_low(self, item: Item) -> bool:
        return item.tier in self.coalesce_tiers

    def _ready_at(self, item: Item) -> float:
        chat = self._chats.get(item.chat_id)
        t = item.not_before
        if chat is not None:
            if chat.busy:
                return math.inf  # back in play at ``release``
            t = max(t, chat.next_ok)
            if self.is_low(item) and not item.solo:
                t = max(t, chat.next_low_ok)
        return t

    def pause_chat(self, chat_id: int, until: float) -> None:
        chat = self._chat(chat_id)
        chat.next_ok = max(chat.next_ok, until)

    def _promote(self, now: float) -> None:
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            _, priority, oid, seq, item = heapq.heappop(delayed)
            if not item.done and item.heap_seq == seq:
                heapq.heappush(self._ready, (priority, oid, seq, item))

    def next_wakeup(self) -> float | None:
        """When a delayed item may become ready (monotonic s), or None (also when only busy
        chats wait: their ``release`` wakes the sender)."""
        delayed = self._delayed
        while delayed and (delayed[0][4].done or delayed[0][4].heap_seq != delayed[0][3]):
            heapq.heappop(delayed)
        if not delayed or delayed[0][0] == math.inf:
            return None
        return delayed[0][0]

    def has_ready(self) -> bool:
        while self._ready and (self._ready[0][3].done or self._ready[0][3].heap_seq != self._ready[0][2]):
            heapq.heappop(self._ready)
        return bool(self._ready)

    def busy_chats(self) -> int:
        return sum(1 for c in self._chats.values() if c.busy)

    def release(self, chat_id: int, now: float, *, paced: bool = True) -> None:
        """The request to ``chat_id`` popped last is answered and handled: pace from ``now``
        (``paced=False``: it was refused, e.g. a 429 whose own wait is set by ``pause_chat``)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.busy:
            return
        chat.busy = False
        interval = self.group_interval_s if chat_id < 0 else self.chat_interval_s
        if paced:
            chat.next_ok = max(chat.next_ok, now + interval)
        if chat.busy_low:
            chat.next_low_ok = max(chat.next_low_ok, now + self.coalesce_window_s)
        chat.busy_low = False
        for it in chat.items:  # parked at +inf while the chat was busy
            if not it.done:
                self._enqueue(it)
        if not chat.items:
            self._forget_chat_if_idle(chat_id, now)

    # ---- taking ------------------------------------------------------------------------
    def pop_ready(self, now: float) -> list[Item] | None:
        """The next batch (one chat) that may be sent at ``now``, or None."""
        self._promote(now)
        ready = self._ready
        while ready:
            priority, oid, seq, item = ready[0]
            if item.done or item.heap_seq != seq:
                heapq.heappop(ready)
                continue
            t = self._ready_at(item)
            if t > now:
                heapq.heappop(ready)
                heapq.heappush(self._delayed, (t, priority, oid, seq, item))
                continue
            heapq.heappop(ready)
            batch = self._batch(item, now)
            for it in batch:
                self._discard(it)
            chat = self._chat(item.chat_id)
            chat.busy = True
            chat.busy_low = any(self.is_low(it) for it in batch)
            return batch
        return None

    def _batch(self, first: Item, now: float) -> list[Item]:
        if not self.is_low(first) or first.solo:
            return [first]
        chars = len(first.text)
        batch = [first]
        others = sorted(
            (it for it in self._chats[first.chat_id].items
             if it is not first and not it.done and not it.solo and self.is_low(it)
             and it.not_before <= now and it.thread_id == first.thread_id),
            key=lambda it: (it.priority, it.id),
        )
        for it in others:
            if len(batch) >= self.max_batch_items:
                break
            if chars + len(it.text) + 16 > self.max_batch_chars:
                continue  # a shorter one may still fit; this one goes in a later message
            batch.append(it)
            chars += len(it.text) + 16
        batch.sort(key=lambda it: (it.priority, it.id))
        return batch

    def _forget_chat_if_idle(self, chat_id: int, now: float) -> None:
        """Keep chat state only while it matters (bounded memory, amortised O(1) per pop)."""
        if len(self._chats) > self._chats_limit:
            for cid in [c for c, st in self._chats.items()
                        if not st.items and not st.busy and st.next_ok < now and st.next_low_ok < now]:
                del self._chats[cid]
            self._chats_limit = max(50_000, 2 * len(self._chats))

    def requeue(self, items: Iterable[Item], not_before: float) -> None:
        """Put items back (after a retryable failure), not before ``not_before``."""
        for it in items:
            it.not_before = not_before
            self.push(it)


class GlobalLimiter:
    """At most ``per_s`` messages in any window of ``1 + guard_s`` seconds, AS TELEGRAM SEES THEM.

    Telegram counts a request when it arrives, which is some time between our start of it and
    our receipt of the answer. So request k may start only when request k-N has been answered
    (and every earlier one) at least one window ago: then no N+1 arrivals can ever share a
    window, whatever the network jitter or a stalled event loop does to the timing — a limit set
    at Telegram's own figure provokes no 429. The cost is one round trip per N messages.
    ``pause_until`` honours a ``retry_after`` for every chat.
    """

    def __init__(self, per_s: float, guard_s: float = 0.05) -> None:
        if per_s <= 0:
            raise ValueError("global rate must be positive")
        self.limit = max(1, int(per_s))
        self.window = (self.limit / per_s) + guard_s
        self._slots: deque[list[float | None]] = deque()  # [answered_at | None], start order
        self._floor = float("-inf")  # latest answer among requests older than the slots
        self._paused_until = 0.0
        self.replies_waiting = 0  # command replies waiting for a slot go before any alert

    def delay(self, now: float, *, reply: bool = False) -> float:
        """Seconds until a send may start: 0 = now, ``math.inf`` = when an answer arrives.

        While a command reply waits (``replies_waiting``) alerts get ``math.inf``: the reply
        takes the next slot (the priority lane) and its answer wakes the sender."""
        if not reply and self.replies_waiting > 0:
            return math.inf
        wait = self._paused_until - now
        if len(self._slots) >= self.limit:
            answered = self._slots[0][0]
            if answered is None:
                return math.inf
            wait = max(wait, max(self._floor, answered) + self.window - now)
        return max(0.0, wait)

    def acquire(self) -> list[float | None]:
        """Take a slot for a request starting now; ``release`` it when the answer is in."""
        if len(self._slots) >= self.limit:
            old = self._slots.popleft()
            assert old[0] is not None, "acquire() without delay() == 0"
            self._floor = max(self._floor, old[0])
        token: list[float | None] = [None]
        self._slots.append(token)
        return token

    @staticmethod
    def release(token: list[float | None], now: float) -> None:
        if token[0] is None:
            token[0] = now

    def pause_until(self, until: float) -> None:
        self._paused_until = max(self._paused_until, until)
