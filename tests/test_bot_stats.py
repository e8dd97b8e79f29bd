"""/stats through the Bot API double: live outcomes per kind / per symbol, period buttons that
edit the message in place, the empty state, Indonesian, and the admin's latency line."""
from __future__ import annotations

import time

from bot.callbacks import StatsCB
from bot.outcomes import outcome_write
from engine.outcomes import OutcomeTracker
from engine.signals import Direction, Kind
from storage import OutcomeRepo
from tests.conftest import ADMIN, buttons
from tests.test_outcomes import long_levels, signal, trade


def _outcomes(now_ms: int):
    """Two BTC stop hunts (T1, stopped), one open, a BTC cascade and an ETH stop hunt (T1)."""
    tr = OutcomeTracker(keep=True)
    t0 = now_ms - 3_600_000
    paths = {
        "win": ("BTC", [(1, 100.5), (5, 103.2)]),
        "loss": ("BTC", [(1, 100.5), (5, 97.5)]),
        "open": ("BTC", [(1, 102.0)]),
        "eth": ("ETH", [(1, 100.5), (5, 103.2)]),
    }
    for i, (sid, (symbol, path)) in enumerate(paths.items()):
        ts = t0 + i * 60_000
        lv = long_levels(expires=ts + 600_000)
        s = signal(sid=sid, symbol=symbol, ts=ts, price=102.0, levels=lv)
        s.recv_ns, s.signal_ns = ts * 1_000_000, ts * 1_000_000 + 3_000_000
        tr.on_signal(s)
        for dt, p in path:
            tr.on_trade(trade(p, ts + dt * 1000, symbol))
        tr.on_trade(trade(path[-1][1], ts + 9_000, symbol))
    old = signal(sid="old", kind=Kind.LIQUIDATION_CASCADE, direction=Direction.SHORT,
                 ts=now_ms - 10 * 86_400_000)
    tr.on_signal(old)
    return tr.outcomes


async def _received(db, user_id: int, signal_ids, state: str = "sent") -> None:
    """The alert rows delivery would have written for ``user_id`` (what /stats counts as theirs)."""
    async with db.transaction():
        for sid in signal_ids:
            await db.execute(
                "INSERT INTO outbox (user_id, chat_id, signal_id, tier, priority, text, state, enqueued_ns) "
                "VALUES (?, ?, ?, 'URGENT', 0, 'alert', ?, ?)", (user_id, user_id, sid, state, time.time_ns()))


async def test_stats_for_the_watchlist_with_period_buttons(harness):
    assert "watchlist is empty" in await harness.text(95, "/stats")
    await harness.say(95, "/add BTC")
    empty = await harness.text(95, "/stats")
    assert "No results in this period yet" in empty
    await OutcomeRepo(harness.db).save_many(outcome_write(o) for o in _outcomes(int(time.time() * 1000)))
    assert "No results in this period yet" in await harness.text(95, "/stats")  # none reached them
    await _received(harness.db, 95, ["win", "loss", "open"])

    (msg,) = [c for c in await harness.say(95, "/stats") if c.method == "sendMessage"]
    text = msg.params["text"]
    assert "your alerts · 7 days" in text
    assert "<b>STOP HUNT</b>: 2 · hit 50% (95% CI 9–91%, 1/2)" in text
    assert "avg +0.25R · best +1.50R · worst −1.00R" in text
    assert "Still open: 1" in text and "ETH" not in text and "Engine" not in text
    labels = [label for label, _ in buttons(msg)]
    assert labels == ["24 h", "· 7 days ·", "30 days", "all time"]

    replies = await harness.press(95, StatsCB(scope="mine", period="all").pack())  # on the last message
    edited = [c for c in replies if c.method == "editMessageText"]
    assert edited and "all time" in edited[0].params["text"]
    assert "LIQUIDATION CASCADE" not in edited[0].params["text"]  # unscored: open, no band

    everything = await harness.text(95, "/stats all 30d")
    assert "all signals · 30 days" in everything and "<b>STOP HUNT</b>: 3" in everything
    by_symbol = await harness.text(95, "/stats stophunt all")
    assert "<b>BTC</b>: 2" in by_symbol and "<b>ETH</b>: 1 · hit 100%" in by_symbol
    assert "No results" in await harness.text(95, "/stats SOL 24h")
    assert "is not a coin, kind or period" in await harness.text(95, "/stats ??")
    await harness.say(95, "/lang id")
    assert "kena 50%" in await harness.text(95, "/stats")

    bad = await harness.press(95, "st1:mine::1y")
    assert bad and bad[-1].method == "answerCallbackQuery"
    # only alerts that were SENT to them count as theirs: a failed one does not
    await harness.db.execute("UPDATE outbox SET state = 'failed' WHERE user_id = 95 AND signal_id = 'loss'")
    assert "kena 100%" in await harness.text(95, "/stats")


async def test_sent_alert_rows_stay_as_receipts_for_30_days_with_their_text_blanked(harness):
    from storage import OutboxRepo

    await harness.say(95, "/start")
    await _received(harness.db, 95, ["win"])
    await _received(harness.db, 95, ["gone"], state="failed")
    now = time.time_ns()
    outbox = OutboxRepo(harness.db)
    hour = 3_600 * 10**9
    assert await outbox.purge_finished(now + 1, receipts_before_ns=now - hour) == 1  # the failed row
    rows = await harness.db.fetchall("SELECT signal_id, text FROM outbox WHERE user_id = 95")
    assert [tuple(r) for r in rows] == [("win", "")]
    assert await outbox.purge_finished(now + 1, receipts_before_ns=now + 1) == 1  # receipt expired


async def test_admins_also_see_engine_latency(harness):
    await harness.say(ADMIN, "/add BTC")
    await OutcomeRepo(harness.db).save_many(outcome_write(o) for o in _outcomes(int(time.time() * 1000)))
    await _received(harness.db, ADMIN, ["win", "loss", "open"])
    text = await harness.text(ADMIN, "/stats")
    assert "Engine, receive → signal (n=3): p50 3 ms" in text
