"""Pacing state: which chat may get a message when, which due rows go together, and the global rate.

The outbox (SQLite) holds every row and is the only truth about them: the sender reads the due
rows a page at a time in send order (``OutboxRepo.due``: tier priority, then FIFO) and claims
what it sends (``OutboxRepo.claim``). This module holds NO row, only pacing state, with the time
passed in (monotonic seconds), so it is tested without a clock:

- per chat: when it may receive its next message (``next_ok``) and its next coalescible one
  (``next_low_ok``), and whether a request to it is in flight (``busy``);
- coalescing decisions: which due rows of one chat leave as one message, and the rows never to
  be coalesced again (``make_solo``: their coalesced message was refused);
- ``GlobalLimiter``: the global rate as Telegram sees it.

``pick(candidates, now)`` takes due rows in send order and returns the next batch for ONE chat:
the first row whose chat may receive a message now, plus (for coalescible tiers) the other
coalescible candidates of that chat and forum topic (``thread_id``) that fit in one message.
Picking marks the chat BUSY: nothing more is picked for it until ``release(chat_id, now)`` —
called once the request's answer is in and handled — so a chat has at most one request in
flight, its messages stay in order, and a 403 is seen before the next message to it is started.
A private chat gets at most one message per ``chat_interval_s``, a group one per
``group_interval_s``, counted from the END of the previous request (``release``). A coalescible
(low-tier) message waits ``coalesce_window_s`` after the previous low-tier message to the same
chat, so alerts arriving within seconds go out together.
"""
from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from bot.delivery.outbox import BROADCAST_PREFIX, NOTICE_PREFIX
from storage import OutboxRow

# rows of these signal ids are never coalesced: broadcasts, notices (to users, admins, groups)
SOLO_PREFIXES = (BROADCAST_PREFIX, NOTICE_PREFIX)


@dataclass(slots=True)
class _Chat:
    next_ok: float = 0.0
    next_low_ok: float = 0.0
    busy: bool = False  # a request to this chat is in flight
    busy_low: bool = False  # ... and it carried a coalescible row


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
        self._chats: dict[int, _Chat] = {}
        self._chats_limit = 50_000
        self._solo: OrderedDict[int, None] = OrderedDict()  # row ids never coalesced again

    # ---- coalescing decisions ----------------------------------------------------------
    def is_low(self, row: OutboxRow) -> bool:
        return row.tier in self.coalesce_tiers

    def is_solo(self, row: OutboxRow) -> bool:
        """Never coalesced: broadcasts and notices, thread replies (a coalesced message cannot
        reply to each of its alerts' earlier messages), edits, rows of a refused coalesced
        message."""
        return (row.reply_to_signal_id is not None or row.edit_of is not None
                or row.signal_id.startswith(SOLO_PREFIXES) or row.id in self._solo)

    def make_solo(self, ids: Iterable[int]) -> None:
        """These rows go out one by one from now on (bounded memory: a restart forgets it, and
        a refused coalesced message is split again)."""
        for oid in ids:
            self._solo[oid] = None
            self._solo.move_to_end(oid)
        while len(self._solo) > 10_000:
            self._solo.popitem(last=False)

    # ---- timing ------------------------------------------------------------------------
    def ready_at(self, row: OutboxRow) -> float:
        """When ``row``'s chat may receive it (monotonic s); ``math.inf`` while a request to
        that chat is in flight (its ``release`` decides)."""
        chat = self._chats.get(row.chat_id)
        if chat is None:
            return 0.0
        if chat.busy:
            return math.inf
        if self.is_low(row) and not self.is_solo(row):
            return max(chat.next_ok, chat.next_low_ok)
        return chat.next_ok

    def wake_at(self, candidates: Iterable[OutboxRow]) -> float | None:
        """The earliest time one of ``candidates`` may go (None: only busy chats wait, and
        their ``release`` wakes the sender)."""
        t = min((self.ready_at(row) for row in candidates), default=math.inf)
        return None if t == math.inf else t

    def pause_chat(self, chat_id: int, until: float) -> None:
        chat = self._chat(chat_id)
        chat.next_ok = max(chat.next_ok, until)

    def release(self, chat_id: int, now: float, *, paced: bool = True) -> None:
        """The request to ``chat_id`` picked last is answered and handled: pace from ``now``
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
        self._forget_idle_chats(now)

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
        return chat

    def _forget_idle_chats(self, now: float) -> None:
        """Keep chat state only while it matters (bounded memory, amortised O(1) per release)."""
        if len(self._chats) > self._chats_limit:
            for cid in [c for c, st in self._chats.items()
                        if not st.busy and st.next_ok < now and st.next_low_ok < now]:
                del self._chats[cid]
            self._chats_limit = max(50_000, 2 * len(self._chats))

    # ---- picking -----------------------------------------------------------------------
    def pick(self, candidates: Collection[OutboxRow], now: float) -> list[OutboxRow] | None:
        """The next batch (one chat) that may be sent at ``now`` among ``candidates`` (due rows
        in send order), or None; its chat is busy until ``release``."""
        waiting: set[int] = set()  # chats found not ready: their later rows are not looked at
        for row in candidates:
            if row.chat_id in waiting:
                continue
            if self.ready_at(row) > now:
                # a coalescible row may wait for its window while an urgent one of the same
                # chat may go: only a chat that can take nothing is skipped as a whole
                if self.ready_at(row) == math.inf or not self.is_low(row) or self.is_solo(row):
                    waiting.add(row.chat_id)
                continue
            batch = self._batch(row, candidates)
            chat = self._chat(row.chat_id)
            chat.busy = True
            chat.busy_low = any(self.is_low(it) for it in batch)
            return batch
        return None

    def _batch(self, first: OutboxRow, candidates: Collection[OutboxRow]) -> list[OutboxRow]:
        if not self.is_low(first) or self.is_solo(first):
            return [first]
        chars = len(first.text)
        batch = [first]
        others = [row for row in candidates
                  if row.chat_id == first.chat_id and row.id != first.id and self.is_low(row)
                  and not self.is_solo(row) and row.thread_id == first.thread_id]
        others.sort(key=lambda row: (row.priority, row.id))
        for row in others:
            if len(batch) >= self.max_batch_items:
                break
            if chars + len(row.text) + 16 > self.max_batch_chars:
                continue  # a shorter one may still fit; this one goes in a later message
            batch.append(row)
            chars += len(row.text) + 16
        batch.sort(key=lambda row: (row.priority, row.id))
        return batch


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
