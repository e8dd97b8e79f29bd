"""Scheduler, limiter and message composition: pure, time passed in."""
from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.compose import compose, fit
from bot.delivery.scheduler import GlobalLimiter, Scheduler
from storage import OutboxRow
from tests.test_delivery_support import Backlog
from locales import translator

PRIO = {"URGENT": 0, "WATCH": 1, "INFO": 2}


def item(oid, chat, tier="URGENT", text="x"):
    return OutboxRow(id=oid, user_id=chat, chat_id=chat, signal_id=f"s{oid}", tier=tier,
                     priority=PRIO[tier], text=text, silent=False, symbol="BTC", lang="en")


def drain(s: Scheduler, t0=0.0, step=0.01, until=100.0):
    out, t = [], t0
    while len(s) and t < until:
        batch = s.pop_ready(t)
        if batch is None:
            wake = s.next_wakeup()
            t = wake if wake is not None and wake > t else t + step
            continue
        out.append((round(t, 2), [it.id for it in batch]))
        s.release(batch[0].chat_id, t)  # answered at once
    return out


def test_priority_by_tier_then_fifo_across_chats():
    s = Backlog(Scheduler(coalesce_tiers=()))
    for oid, tier in [(1, "INFO"), (2, "WATCH"), (3, "URGENT"), (4, "INFO"), (5, "URGENT"), (6, "WATCH")]:
        s.push(item(oid, chat=100 + oid, tier=tier))
    order = [s.pop_ready(0.0)[0].id for _ in range(6)]
    assert order == [3, 5, 2, 6, 1, 4]
    assert s.pop_ready(0.0) is None and len(s) == 0


def test_per_chat_pacing_private_and_group():
    s = Backlog(Scheduler(chat_interval_s=1.05, group_interval_s=3.05, coalesce_tiers=()))
    for oid in range(1, 4):
        s.push(item(oid, chat=7))
        s.push(item(10 + oid, chat=-9))
    sent = drain(s)
    private = [t for t, ids in sent if ids[0] < 10]
    group = [t for t, ids in sent if ids[0] > 10]
    assert private == [0.0, 1.05, 2.1]
    assert group == [0.0, 3.05, 6.1]


def test_waiting_chat_does_not_block_other_chats():
    s = Backlog(Scheduler(coalesce_tiers=()))
    s.push(item(1, chat=1))
    s.push(item(2, chat=1))
    s.push(item(3, chat=2, tier="INFO"))
    assert s.pop_ready(0.0)[0].id == 1
    s.release(1, 0.0)
    assert s.pop_ready(0.0)[0].id == 3  # chat 1 must wait; chat 2 goes now
    assert s.pop_ready(0.5) is None
    assert s.next_wakeup() is not None
    assert s.pop_ready(1.1)[0].id == 2


def test_low_tier_alerts_within_the_window_coalesce():
    s = Backlog(Scheduler(chat_interval_s=1.05, coalesce_window_s=3.0))
    s.push(item(1, chat=5, tier="INFO"))
    assert [it.id for it in s.pop_ready(0.0)] == [1]  # the first goes at once
    s.release(5, 0.0)
    for oid in (2, 3, 4):
        s.push(item(oid, chat=5, tier="INFO" if oid != 3 else "WATCH"))
    s.push(item(9, chat=5, tier="URGENT"))
    assert [it.id for it in s.pop_ready(1.1)] == [9]  # urgent is never held for coalescing
    s.release(5, 1.1)
    assert s.pop_ready(2.9) is None  # low tiers wait out the window ...
    assert [it.id for it in s.pop_ready(3.0)] == [3, 2, 4]  # ... then go as ONE message, by tier


def test_coalescing_respects_the_character_budget_and_retry_times():
    s = Backlog(Scheduler(coalesce_window_s=0.0, max_batch_chars=3900))
    s.push(item(1, chat=5, tier="INFO", text="a" * 2000))
    s.push(item(2, chat=5, tier="INFO", text="b" * 2000))
    s.push(item(3, chat=5, tier="INFO", text="c" * 100))
    s.push(item(4, chat=5, tier="INFO", text="d"), due=50.0)  # backing off: not yet
    first = [it.id for it in s.pop_ready(0.0)]
    assert first == [1, 3]
    s.release(5, 0.0)
    assert [it.id for it in s.pop_ready(2.0)] == [2]
    s.release(5, 2.0)
    assert s.pop_ready(10.0) is None
    assert [it.id for it in s.pop_ready(50.0)] == [4]


def test_one_request_per_chat_in_flight_and_pacing_from_its_end():
    s = Backlog(Scheduler(chat_interval_s=1.0, coalesce_tiers=()))
    for oid in (1, 2):
        s.push(item(oid, chat=7))
    s.push(item(3, chat=8))
    assert [it.id for it in s.pop_ready(0.0)] == [1]
    assert [it.id for it in s.pop_ready(0.0)] == [3]  # another chat is not held up
    # chat 7's request is still on the wire: nothing more for it, however late it gets
    assert s.pop_ready(50.0) is None and s.next_wakeup() is None
    s.release(7, 50.0)  # answered (e.g. a slow Telegram) at t = 50
    assert s.pop_ready(50.5) is None  # paced from the END of the request ...
    assert s.next_wakeup() == 51.0
    assert [it.id for it in s.pop_ready(51.0)] == [2]  # ... not from its start
    # a retried item that comes back while its chat is busy waits for the release
    s.push(item(4, chat=8))
    assert s.pop_ready(60.0) is None
    s.release(8, 60.0)
    assert [it.id for it in s.pop_ready(61.0)] == [4]


def test_rows_of_a_refused_coalesced_message_go_one_by_one():
    sched = Scheduler(coalesce_window_s=0.0)
    s = Backlog(sched)
    for oid in (1, 2, 3):
        s.push(item(oid, chat=5, tier="INFO"))
    batch = s.pop_ready(0.0)
    assert [it.id for it in batch] == [1, 2, 3]
    sched.make_solo(it.id for it in batch)  # Telegram refused it: back, never coalesced again
    s.requeue(batch, 0.0)
    s.release(5, 0.0, paced=False)
    assert [it.id for it in s.pop_ready(0.0)] == [1]
    s.release(5, 0.0)
    assert [it.id for it in s.pop_ready(1.05)] == [2]


def test_broadcasts_replies_and_edits_are_never_coalesced():
    s = Backlog(Scheduler(coalesce_window_s=0.0))
    s.push(item(1, chat=5, tier="INFO"))
    s.push(replace(item(2, chat=5, tier="INFO"), signal_id="broadcast:news"))
    s.push(replace(item(3, chat=5, tier="INFO"), reply_to_signal_id="s1"))
    s.push(replace(item(4, chat=5, tier="INFO"), edit_of=1))
    s.push(item(5, chat=5, tier="INFO"))
    batches, t = [], 0.0
    while len(s):
        batch = s.pop_ready(t)
        if batch is None:
            t += 0.5
            continue
        batches.append([it.id for it in batch])
        s.release(5, t)
    assert batches == [[1, 5], [2], [3], [4]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.sampled_from(["URGENT", "WATCH", "INFO"])), min_size=1, max_size=60))
def test_every_item_goes_out_exactly_once_and_chats_are_paced(pairs):
    s = Backlog(Scheduler(chat_interval_s=1.0, coalesce_window_s=2.0))
    for oid, (chat, tier) in enumerate(pairs, start=1):
        s.push(item(oid, chat, tier))
    sent = drain(s, step=0.05, until=1000)
    ids = [i for _, batch in sent for i in batch]
    assert sorted(ids) == list(range(1, len(pairs) + 1))
    last: dict[int, float] = {}
    for t, batch in sent:
        chat = pairs[batch[0] - 1][0]
        assert all(pairs[i - 1][0] == chat for i in batch)
        if chat in last:
            assert t - last[chat] >= 1.0 - 1e-9
        last[chat] = t


def test_global_limiter_counts_from_answers_not_starts():
    lim = GlobalLimiter(30, guard_s=0.05)
    starts, answers, t = [], [], 0.0
    while len(starts) < 100:
        d = lim.delay(t)
        if d > 0:
            t += d
            continue
        token = lim.acquire()
        starts.append(t)
        answers.append(t + 0.02 * (len(starts) % 3))  # round trips of 0..40 ms
        lim.release(token, answers[-1])
    for i in range(len(starts) - 30):
        # request i+30 starts a full window after request i (and all before it) was answered:
        # whenever Telegram counted them, 31 can never share one window
        assert starts[i + 30] >= max(answers[: i + 1]) + 1.05 - 1e-9
    assert sum(1 for s in starts if s < 1.0) == 30  # bursts up to the limit are allowed
    lim.pause_until(t + 7)
    assert abs(lim.delay(t) - 7) < 1e-9


def test_global_limiter_waits_for_an_unanswered_request():
    lim = GlobalLimiter(2, guard_s=0.0)
    first = lim.acquire()
    lim.release(lim.acquire(), 0.0)
    assert lim.delay(5.0) == math.inf  # the oldest request is still on the wire
    lim.release(first, 5.0)
    assert lim.delay(5.0) == 1.0 and lim.delay(6.0) == 0.0


def test_compose_keeps_messages_under_4096():
    tr = translator()
    assert compose(tr, "en", ["<b>one</b>"]) == "<b>one</b>"
    many = compose(tr, "en", ["<b>alert</b> &amp; more"] * 3)
    assert many.startswith("🗂 <b>3 alerts</b>") and many.count("<b>alert</b>") == 3
    assert "alert" in compose(tr, "id", ["x", "y"])
    long = fit("<b>" + "x&amp;" * 2000 + "</b>")
    assert len(long) <= 4096 and "<b>" not in long and long.endswith("…")
