"""Alert delivery: per-user routing, durable outbox, flood-controlled sender, measured latency.

See ``service.Delivery`` (the facade), ``routing`` (who gets a signal), ``outbox`` (signal ->
rows in SQLite, the only copy of each), ``scheduler`` (pacing state: which chat may get what
when), ``sender`` (pages due rows, claims them, Telegram calls and retry rules).
"""
from bot.delivery.outbox import Accepted, HourlyCounter, OutboxWriter
from bot.delivery.routing import Recipient, Skip, decide, in_quiet_window, route
from bot.delivery.scheduler import GlobalLimiter, Scheduler
from bot.delivery.clock import REAL_CLOCK, Clock, FakeClock, RealClock
from bot.delivery.sender import OUTCOMES, RetryPolicy, Sender, classify
from bot.delivery.service import Delivery, DeliveryConfig, QueueSink

__all__ = [
    "OUTCOMES",
    "REAL_CLOCK",
    "Accepted",
    "Clock",
    "FakeClock",
    "RealClock",
    "classify",
    "Delivery",
    "DeliveryConfig",
    "GlobalLimiter",
    "HourlyCounter",
    "OutboxWriter",
    "QueueSink",
    "Recipient",
    "RetryPolicy",
    "Scheduler",
    "Sender",
    "Skip",
    "decide",
    "in_quiet_window",
    "route",
]
