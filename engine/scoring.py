"""Score signals against the simulator's ground truth (tests, demo summary, backtests)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .signals import Signal
from .simulator import DECOYS, Episode

DETECTION_SLACK_MS = 5_000  # a detection counts until 5 s (event time) after the episode ends


@dataclass(slots=True)
class EpisodeResult:
    episode: Episode
    caught_by: Signal | None  # first signal of the right kind and direction in time
    related: list[Signal]  # other signals on the same symbol during the episode

    @property
    def caught(self) -> bool:
        return self.caught_by is not None

    @property
    def delay_ms(self) -> int | None:
        """Event-time delay from the episode's start to the catching signal."""
        return None if self.caught_by is None else self.caught_by.ts - self.episode.start_ts


def match_episodes(episodes: Iterable[Episode], signals: list[Signal],
                   slack_ms: int = DETECTION_SLACK_MS) -> list[EpisodeResult]:
    """Each real (non-decoy) episode and the first signal of its kind and direction in time.
    Updates of an earlier alert (``Signal.edits``) are not new detections."""
    results = []
    signals = [s for s in signals if s.edits is None]
    for ep in episodes:
        if ep.kind in DECOYS:
            continue
        caught = None
        related = []
        for sig in signals:
            if sig.symbol != ep.symbol or not (ep.start_ts <= sig.ts <= ep.end_ts + slack_ms):
                continue
            if caught is None and sig.kind.value == ep.kind and sig.direction.value == ep.direction:
                caught = sig
            else:
                related.append(sig)
        results.append(EpisodeResult(ep, caught, related))
    return results


def outside_episodes(episodes: Iterable[Episode], signals: list[Signal],
                     margin_ms: int = 60_000) -> list[Signal]:
    """Signals in quiet stretches: not within ``margin_ms`` of any episode on their symbol."""
    eps = list(episodes)
    out = []
    for sig in signals:
        if not any(ep.symbol == sig.symbol and ep.start_ts - margin_ms <= sig.ts <= ep.end_ts + margin_ms
                   for ep in eps):
            out.append(sig)
    return out


def decoy_alarms(episodes: Iterable[Episode], signals: list[Signal],
                 slack_ms: int = DETECTION_SLACK_MS) -> dict[Episode, list[Signal]]:
    """Per decoy episode, the signals of the kinds it imitates that fired on its symbol during
    it (an empty list: the decoy was rightly ignored)."""
    out: dict[Episode, list[Signal]] = {}
    for ep in episodes:
        imitated = DECOYS.get(ep.kind)
        if imitated is None:
            continue
        out[ep] = [s for s in signals if s.symbol == ep.symbol and s.kind.value in imitated
                   and ep.start_ts <= s.ts <= ep.end_ts + slack_ms]
    return out


def wrong_upgrades(episodes: Iterable[Episode], signals: list[Signal],
                   slack_ms: int = DETECTION_SLACK_MS) -> list[Signal]:
    """Stop hunts called during a cascade episode that had no absorption (must be none)."""
    return [s for ep in episodes if ep.kind == "LIQUIDATION_CASCADE" for s in signals
            if s.symbol == ep.symbol and s.kind.value == "STOP_HUNT"
            and ep.start_ts <= s.ts <= ep.end_ts + 60_000]
