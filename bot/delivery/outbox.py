"""Signal -> outbox rows: route by symbol, render per user, persist signal and rows atomically.

The signal row and its (user, signal) outbox rows are written in ONE transaction, so after a
crash either both exist (the rows are sent after restart) or neither does. ``UNIQUE(user_id,
signal_id)`` makes accepting the same signal twice harmless.

Alert threads: a signal that ``upgrades`` an earlier one (cascade -> stop hunt) is decided per
recipient from the outbox. A user whose row of the earlier signal was sent (or is still on its
way) gets the "update to the earlier alert" line and a Telegram reply to that message; a user
who never got the earlier alert (filtered out, or it failed) gets the alert on its own, with
neither. When the earlier row is not sent yet, the message id is looked up again at send time;
if it is still unsent then, the alert goes without a reply but keeps the line (the earlier
alert follows).

Updates (``Signal.edits`` = X, issue #9): an update of signal X's event goes to the users
whose row of X was not given up — no routing rules, no thresholds, no hourly cap — and, as a
NEW message, to the subscribers who never got X but for whom the event has now grown past their
own thresholds (routed by the usual rules; stored as a row of X, so later updates edit it too).
Per row of X: still pending -> its text is replaced (the first send carries the newest figures);
being sent or sent -> an edit row (``edit_of`` = that row) that the sender turns into
``editMessageText``; when an edit row of that message is already pending, its text is replaced
instead, so at most one edit per message waits at any time. Each text shows the reader's tier
for the newest figures (``engine.contract.check`` with their thresholds). The router handles
one signal at a time, so an update never overtakes the fan-out of the signal it updates.
"""
from __future__ import annotations

import html
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

import orjson

from bot.delivery.routing import Recipient, route, zone
from bot.delivery.stats import HOUR_NS
from bot.groups import TopicRoutes, thread_for
from bot.render import render_signal
from engine.contract import check
from engine.outcomes import Outcome, Result
from engine.thresholds import defaults_for
from engine.signals import Signal, Tier
from locales import Translator
from storage import (
    Database,
    EarlierDelivery,
    OutboxRepo,
    OutboxRow,
    SignalRepo,
    ThresholdRepo,
    WatchlistRepo,
)

log = logging.getLogger(__name__)

# outbox rows of an admin /broadcast carry signal_id BROADCAST_PREFIX + id: they are paced and
# retried like alerts but never coalesced, carry no alert buttons, and count neither towards
# the hourly alert cap nor the receive->sent latency
BROADCAST_PREFIX = "broadcast:"
NOTICE_PREFIX = "notice:"  # rows that tell a chat about delivery itself (not alerts)


# the reply in an alert's thread when its stop hunt's outcome is final: one row per recipient,
# signal_id OUTCOME_PREFIX + the signal's id (UNIQUE(user_id, signal_id): at most one per user,
# accepting it again adds nothing). Paced, retried and never coalesced like a broadcast's rows;
# no alert buttons; not counted in the hourly alert cap nor the alert latency
OUTCOME_PREFIX = BROADCAST_PREFIX + "outcome:"
# operations notices to the admins (``Delivery.notify_admins``: feeds down, storage failing ...)
OPS_PREFIX = BROADCAST_PREFIX + "ops:"
# the confirmation that a coin joined a watchlist (bot/subscriptions.py, ``Delivery.notify``
# with notice id "add:..."): retried on the INFO budget, as it is worthless hours later
ADD_PREFIX = BROADCAST_PREFIX + "add:"


def is_broadcast(signal_id: str) -> bool:
    return signal_id.startswith(BROADCAST_PREFIX)


def _r_text(r: float) -> str:
    """+1.6 / −1 / +0.8: one decimal, sign always shown, a real minus sign."""
    text = f"{r:+.1f}".removesuffix(".0")
    return "+0" if text in ("-0", "+0") else text.replace("-", "\u2212")


def _after_text(tr: Translator, lang: str, seconds: float) -> str:
    if seconds < 90:
        return tr.get(lang, "outcome-after", unit="s", n=max(0, round(seconds)))
    if seconds < 90 * 60:
        return tr.get(lang, "outcome-after", unit="min", n=round(seconds / 60))
    return tr.get(lang, "outcome-after", unit="h", n=f"{seconds / 3600:.1f}".removesuffix(".0"))


def render_outcome(tr: Translator, lang: str, outcome: Outcome) -> str | None:
    """The short reply for a final stop-hunt outcome (None: not one that gets a reply)."""
    if not outcome.has_levels or not outcome.final:
        return None
    symbol = html.escape(outcome.signal.symbol)
    result = outcome.result
    seconds = outcome.ttr_s or 0.0  # to the decision: T1 for WIN_T1, the stop for LOSS
    if result is Result.WIN_T2 and outcome.final_ts is not None:  # T1 decided it; T2 came later
        seconds = (outcome.final_ts - outcome.signal.ts) / 1000.0
    after = _after_text(tr, lang, seconds)
    if result in (Result.WIN_T1, Result.WIN_T2):
        return tr.get(lang, "outcome-win", symbol=symbol, target="T2" if result is Result.WIN_T2 else "T1",
                      after=after, r=_r_text(outcome.r or 0.0))
    if result is Result.LOSS:
        return tr.get(lang, "outcome-loss", symbol=symbol, after=after, r=_r_text(outcome.r or -1.0))
    if result is Result.EXPIRED:
        return tr.get(lang, "outcome-expired", symbol=symbol, best=_r_text(outcome.mfe_r or 0.0))
    if result is Result.NOT_FILLED:
        return tr.get(lang, "outcome-not-filled", symbol=symbol)
    return None


class HourlyCounter:
    """Alerts accepted per user in the last hour (the hourly cap), kept in memory.

    Loaded once from the outbox (``enqueued_since``), then updated as rows are accepted.
    Memory is bounded by users x their cap: a user at the cap gets no more rows.
    """

    def __init__(self, window_ns: int = HOUR_NS) -> None:
        self.window_ns = window_ns
        self._times: dict[int, deque[int]] = {}

    def load(self, rows: list[tuple[int, int]]) -> None:
        self._times.clear()
        for user_id, ts in rows:
            self.add(user_id, ts)

    def add(self, user_id: int, ts_ns: int) -> None:
        q = self._times.get(user_id)
        if q is None:
            q = self._times[user_id] = deque()
        q.append(ts_ns)

    def count(self, user_id: int, now_ns: int) -> int:
        q = self._times.get(user_id)
        if q is None:
            return 0
        horizon = now_ns - self.window_ns
        while q and q[0] < horizon:
            q.popleft()
        if not q:
            del self._times[user_id]
            return 0
        return len(q)


@dataclass(slots=True)
class Accepted:
    signal_id: str
    rows: list[OutboxRow]  # the rows it added
    skipped: Counter[str] = field(default_factory=Counter)
    recipients: int = 0


@dataclass(slots=True)
class Updated:
    """What an update signal (``Signal.edits``) did: rows rewritten in place, edit rows added."""

    signal_id: str
    edits_of: str | None  # the original signal whose messages it updates
    rows: list[OutboxRow] = field(default_factory=list)  # new edit rows (and late recipients')
    rewritten: dict[int, str] = field(default_factory=dict)  # pending row id -> its new text
    skipped: Counter[str] = field(default_factory=Counter)
    recipients: int = 0


async def inserted(outbox: OutboxRepo, ids: list[int], rows: list[OutboxRow],
                   now_ns: int) -> list[OutboxRow]:
    """The rows ``enqueue_many`` just inserted (``ids``), as stored."""
    if len(ids) == len(rows):
        return [replace(m, id=oid, enqueued_ns=m.enqueued_ns or now_ns) for oid, m in zip(ids, rows)]
    # some (user, signal) rows existed already: read back exactly the new ones
    fetched = [await outbox.get(oid) for oid in ids]
    return [row for row in fetched if row is not None]


FIRST_PAGE = 50  # recipients routed and written before the first sends start


class OutboxWriter:
    def __init__(self, db: Database, translator: Translator, *,
                 wall_ns: Callable[[], int] = time.time_ns, topic_routes: TopicRoutes | None = None) -> None:
        self._db = db
        # forum topic routes of group recipients (bot.groups.TopicRoutes); None: no topics
        self.topic_routes = topic_routes
        self._tr = translator
        self._wall_ns = wall_ns
        self._watchlist = WatchlistRepo(db)
        self._thresholds = ThresholdRepo(db)
        self._signals = SignalRepo(db)
        self._outbox = OutboxRepo(db)
        self.hourly = HourlyCounter()
        self._hourly_loaded = False

    async def load_hourly(self) -> None:
        now = self._wall_ns()
        self.hourly.load(await self._outbox.enqueued_since(now - self.hourly.window_ns,
                                                           exclude_prefix=BROADCAST_PREFIX))
        self._hourly_loaded = True

    def _render(self, signal: Signal, recipients: list[Recipient], threaded: list[bool],
                cache: dict[tuple[str, str, bool, Tier], str]) -> list[str]:
        """Text per recipient, rendered once per (language, time zone, update line or not, tier)."""
        texts = []
        for r, in_thread in zip(recipients, threaded):
            key = (self._tr.normalize(r.user.language), r.user.tz, in_thread, r.tier)
            text = cache.get(key)
            if text is None:
                text = cache[key] = render_signal(signal, key[0], tz=zone(key[1]), tr=self._tr,
                                                  show_upgrade=in_thread, tier=r.tier)
            texts.append(text)
        return texts

    async def _earlier(self, signal: Signal,
                       recipients: list[Recipient]) -> list[EarlierDelivery | None]:
        """Per recipient: their delivery of the signal this one upgrades, when it reached them
        or is still on its way in the same chat; None when they never got it."""
        if not signal.upgrades or not recipients:
            return [None] * len(recipients)
        found = await self._outbox.earlier_deliveries(signal.upgrades, (r.user.id for r in recipients))
        result: list[EarlierDelivery | None] = []
        for r in recipients:
            e = found.get(r.user.id)
            if e is not None and (e.state == "failed" or e.chat_id != r.user.chat_id):
                e = None  # given up, or a message in another chat: nothing to reply to
            result.append(e)
        return result

    async def _threads(self, signal: Signal, recipients: list[Recipient],
                       earlier: list[EarlierDelivery | None]) -> list[int | None]:
        """Per recipient, the forum topic of a group: a thread reply stays in the topic of the
        message it answers; otherwise the group's route for the signal's kind (``/topic``)."""
        threads: list[int | None] = []
        for r, e in zip(recipients, earlier):
            if r.user.chat_id >= 0 or self.topic_routes is None:
                threads.append(None)
            elif e is not None:
                threads.append(e.thread_id)
            else:
                threads.append(thread_for(signal.kind, await self.topic_routes.get(r.user.chat_id)))
        return threads

    async def accept(self, signal: Signal, on_rows: Callable[[list[OutboxRow]], None] | None = None,
                     *, page_size: int = 500) -> Accepted:
        """Route ``signal`` and persist it with one outbox row per recipient; returns the rows.

        Subscribers are read, routed and written ``page_size`` at a time (user-id order), each
        page in its own transaction, and ``on_rows`` gets each page's rows as soon as they are
        durable — so the first recipients are being sent to while later pages are routed. The
        first transaction stores the signal with ``fanout_done = 0``; the last sets it to 1.
        A crash in between leaves the flag at 0 and ``resume_unfinished`` routes it again
        (rows already written are skipped by ``UNIQUE(user_id, signal_id)``).
        """
        if not self._hourly_loaded:
            await self.load_hourly()
        overrides = await self._thresholds.for_watchers_of(signal.symbol)
        payload = orjson.dumps(signal.to_dict(), default=str)
        render_cache: dict[tuple[str, str, bool, Tier], str] = {}
        result = Accepted(signal.id, [])
        after, first = 0, True
        while True:
            # a small first page: the first recipients are being sent to after routing ~50 users,
            # not 500; later pages are large, for throughput
            size = min(page_size, FIRST_PAGE) if first else page_size
            subscribers = await self._watchlist.users_for_symbol_page(signal.symbol, after, size)
            last_page = len(subscribers) < size
            now_ns = self._wall_ns()
            recipients, skipped = route(
                signal, subscribers, overrides, now_s=now_ns / 1e9,
                sent_last_hour=partial(self.hourly.count, now_ns=now_ns),
            )
            result.skipped.update(skipped)
            result.recipients += len(recipients)
            earlier = await self._earlier(signal, recipients)
            threads = await self._threads(signal, recipients, earlier)
            texts = self._render(signal, recipients, [e is not None for e in earlier], render_cache)
            rows = [
                OutboxRow(
                    user_id=r.user.id, chat_id=r.user.chat_id, signal_id=signal.id,
                    tier=r.tier.value, priority=r.tier.priority, text=text, silent=r.silent, enqueued_ns=now_ns,
                    symbol=signal.symbol, lang=self._tr.normalize(r.user.language),
                    exchange_ms=signal.ts, recv_ns=signal.recv_ns or None,
                    signal_ns=signal.signal_ns or None,
                    reply_to_signal_id=None if e is None else signal.upgrades,
                    reply_to_message_id=None if e is None or e.state != "sent" else e.message_id,
                    thread_id=thread,
                )
                for r, text, e, thread in zip(recipients, texts, earlier, threads)
            ]
            async with self._db.transaction():
                if first:
                    await self._signals.insert(
                        signal.id, signal.kind, signal.symbol, signal.direction, signal.tier,
                        signal.confidence, signal.ts, signal.recv_ns or None,
                        signal.signal_ns or None, payload,
                    )
                    if not last_page:
                        await self._signals.set_fanout_done(signal.id, False)
                ids = await self._outbox.enqueue_many(rows)
                if last_page:  # also when a resumed fan-out now fits in one page
                    await self._signals.set_fanout_done(signal.id, True)
            added = await inserted(self._outbox, ids, rows, now_ns)
            for row in added:
                self.hourly.add(row.user_id, now_ns)
            result.rows.extend(added)
            if on_rows is not None and added:
                on_rows(added)
            if last_page:
                return result
            after = subscribers[-1].user.id
            first = False

    async def accept_outcome(self, outcome: Outcome) -> list[OutboxRow]:
        """Queue the reply in the alert's thread for a FINAL stop-hunt outcome: one silent INFO
        row per user whose row of that signal was sent, whose chat is still active and who has
        outcome replies on (/tiers); a reply to their message of the signal, in its forum topic.
        Durable (the outbox), never coalesced; accepting the same outcome again adds nothing."""
        signal_id = outcome.signal.id
        if render_outcome(self._tr, "en", outcome) is None:
            return []
        texts: dict[str, str] = {}
        now_ns = self._wall_ns()
        rows = []
        for row in await self._outbox.outcome_recipients(signal_id):
            lang = row.lang or self._tr.normalize(None)
            text = texts.get(lang)
            if text is None:
                text = texts[lang] = render_outcome(self._tr, lang, outcome) or ""
            rows.append(OutboxRow(
                user_id=row.user_id, chat_id=row.chat_id, signal_id=OUTCOME_PREFIX + signal_id,
                tier=Tier.INFO.value, priority=Tier.INFO.priority, text=text, silent=True,
                enqueued_ns=now_ns, lang=lang, reply_to_signal_id=signal_id,
                reply_to_message_id=row.message_id, thread_id=row.thread_id,
            ))
        if not rows:
            return []
        async with self._db.transaction():
            ids = await self._outbox.enqueue_many(rows)
        return await inserted(self._outbox, ids, rows, now_ns)

    async def _original_rows(self, signal_id: str) -> tuple[str | None, list[OutboxRow]]:
        """The new-message rows of the signal an update refers to (following a chain of
        updates back to the original: an update may name an earlier update)."""
        for _ in range(16):
            rows = await self._outbox.rows_of_signal(signal_id)
            if rows:
                return signal_id, rows
            stored = await self._signals.get(signal_id)
            if stored is None:
                return None, []
            earlier = orjson.loads(stored.payload).get("edits")
            if not earlier:
                return signal_id, []
            signal_id = earlier
        return None, []

    async def accept_update(self, signal: Signal,
                            on_rows: Callable[[list[OutboxRow]], None] | None = None) -> Updated:
        """Persist an update (``signal.edits``) and rewrite what the original's recipients got."""
        original_id, originals = await self._original_rows(signal.edits or "")
        result = Updated(signal.id, original_id)
        payload = orjson.dumps(signal.to_dict(), default=str)
        tzs = await self._time_zones({r.user_id for r in originals})
        overrides = await self._thresholds.for_watchers_of(signal.symbol) if originals else {}
        defaults = defaults_for(signal.symbol)
        cache: dict[tuple[str, str, bool, Tier], str] = {}
        now_ns = self._wall_ns()
        rows: list[OutboxRow] = []
        async with self._db.transaction():
            await self._signals.insert(
                signal.id, signal.kind, signal.symbol, signal.direction, signal.tier,
                signal.confidence, signal.ts, signal.recv_ns or None, signal.signal_ns or None,
                payload,
            )
            for r in originals:
                if r.state == "failed" or r.user_id not in tzs:
                    result.skipped["original_failed" if r.state == "failed" else "inactive"] += 1
                    continue
                lang = r.lang or self._tr.normalize("en")
                # the reader's tier for the NEWEST figures (engine.contract, their thresholds);
                # thresholds decide nothing else here: the reader got the original
                _below, tier = check(signal, overrides.get(r.user_id, {}), defaults)
                key = (lang, tzs[r.user_id], r.reply_to_signal_id is not None, tier)
                text = cache.get(key)
                if text is None:
                    text = cache[key] = render_signal(signal, lang, tz=zone(key[1]), tr=self._tr,
                                                      show_upgrade=key[2], tier=tier)
                result.recipients += 1
                if r.state == "pending" and await self._outbox.replace_pending_text(r.id, text):
                    result.rewritten[r.id] = text
                    continue
                waiting = await self._outbox.pending_edit_of(r.id)
                if waiting is not None and await self._outbox.replace_pending_text(waiting, text):
                    result.rewritten[waiting] = text
                    continue
                rows.append(OutboxRow(
                    user_id=r.user_id, chat_id=r.chat_id, signal_id=signal.id, tier=tier.value,
                    priority=tier.priority, text=text, silent=True, enqueued_ns=now_ns,
                    symbol=r.symbol, lang=r.lang, exchange_ms=signal.ts,
                    recv_ns=signal.recv_ns or None, signal_ns=signal.signal_ns or None,
                    edit_of=r.id,
                ))
            ids = await self._outbox.enqueue_many(rows)
        result.rows = await inserted(self._outbox, ids, rows, now_ns)
        if on_rows is not None and result.rows:
            on_rows(result.rows)
        if original_id is not None:
            late = await self._late_recipients(signal, original_id, {r.user_id for r in originals},
                                               on_rows)
            result.rows.extend(late)
            result.recipients += len(late)
        return result

    async def _late_recipients(self, signal: Signal, original_id: str, had: set[int],
                               on_rows: Callable[[list[OutboxRow]], None] | None) -> list[OutboxRow]:
        """Subscribers who never got the original but for whom the event has now grown past
        their own thresholds (a user at the $2M default when the cascade opened at another
        user's $500K floor): routed by the usual rules and sent a NEW message with the newest
        figures, stored as a row of the ORIGINAL signal so later updates edit it and a stop hunt
        replies to it like to anyone's."""
        overrides = await self._thresholds.for_watchers_of(signal.symbol)
        cache: dict[tuple[str, str, bool, Tier], str] = {}
        out: list[OutboxRow] = []
        after = 0
        page = 500
        while True:
            subscribers = await self._watchlist.users_for_symbol_page(signal.symbol, after, page)
            if not subscribers:
                return out
            after = subscribers[-1].user.id
            fresh = [sub for sub in subscribers if sub.user.id not in had]
            now_ns = self._wall_ns()
            recipients, _skipped = route(signal, fresh, overrides, now_s=now_ns / 1e9,
                                         sent_last_hour=partial(self.hourly.count, now_ns=now_ns))
            texts = self._render(signal, recipients, [False] * len(recipients), cache)
            rows = [
                OutboxRow(
                    user_id=r.user.id, chat_id=r.user.chat_id, signal_id=original_id,
                    tier=r.tier.value, priority=r.tier.priority, text=text, silent=r.silent,
                    enqueued_ns=now_ns, symbol=signal.symbol, lang=self._tr.normalize(r.user.language),
                    exchange_ms=signal.ts, recv_ns=signal.recv_ns or None,
                    signal_ns=signal.signal_ns or None,
                )
                for r, text in zip(recipients, texts)
            ]
            if rows:
                async with self._db.transaction():
                    ids = await self._outbox.enqueue_many(rows)
                added = await inserted(self._outbox, ids, rows, now_ns)
                for row in added:
                    self.hourly.add(row.user_id, now_ns)
                out.extend(added)
                if on_rows is not None and added:
                    on_rows(added)
            if len(subscribers) < page:
                return out

    async def _time_zones(self, user_ids: set[int]) -> dict[int, str]:
        """Time zone per ACTIVE user (an update reaches no one who blocked the bot since)."""
        found: dict[int, str] = {}
        wanted = sorted(user_ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for uid, tz in await self._db.fetchall(
                f"SELECT id, tz FROM users WHERE active = 1 AND id IN ({marks})", chunk
            ):
                found[uid] = tz
        return found

    async def resume_unfinished(self, on_rows: Callable[[list[OutboxRow]], None] | None = None,
                                *, page_size: int = 500) -> int:
        """Route again every signal whose paged fan-out a crash cut off; returns how many."""
        unfinished = await self._signals.fanout_unfinished()
        for stored in unfinished:
            signal = Signal.from_dict(orjson.loads(stored.payload))
            log.warning("signal %s: fan-out was interrupted, routing it again", signal.id)
            await self.accept(signal, on_rows, page_size=page_size)
        return len(unfinished)
