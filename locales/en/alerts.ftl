## Alert texts (Telegram HTML). Every $argument arrives already HTML-escaped.

tier-badge = { $tier ->
    [URGENT] 🚨 URGENT
    [WATCH] 👀 WATCH
   *[INFO] ℹ️ INFO
}
direction-word = { $direction ->
    [LONG] LONG
    [SHORT] SHORT
   *[NEUTRAL] NEUTRAL
}
kind-name = { $kind ->
    [STOP_HUNT] STOP HUNT
    [LIQUIDATION_CASCADE] LIQUIDATION CASCADE
    [ACCUMULATION] WHALE ACCUMULATION
    [DISTRIBUTION] WHALE DISTRIBUTION
    [WHALE_WINDOW] WHALE WINDOW
    [FUNDING_EXTREME] FUNDING EXTREME
    [DIVERGENCE] CROSS-EXCHANGE DIVERGENCE
   *[VOLUME_SPIKE] VOLUME SPIKE
}
position-word = { $position ->
    [LONG] longs
   *[SHORT] shorts
}
alert-headline = { $badge } · <b>{ $kind } — { $symbol }</b>
alert-cascade-body =
    Liquidated in { $window }s: <b>{ $total }</b> ({ $share } { $flushed })
    Longs: { $long_usd } · Shorts: { $short_usd } · { $count } orders
    Swept range: { $zone_low } – { $zone_high }
    Bias: <b>{ $direction }</b> — wait for absorption before entering
alert-stophunt-body =
    Liquidations: <b>{ $total }</b> { $flushed } cleared
    Hunt zone: { $zone_low } – { $zone_high }
    Absorption: { $absorb_usd } of { $absorb_side } in { $large_count } large orders

    ✅ <b>{ $direction } setup</b>
    Entry: { $entry_low } – { $entry_high }
    SL: { $stop } ({ $stop_where } the hunt zone)
    Targets: { $targets }
    Valid until { $expires }
alert-generic-body = { $details }
alert-score = Score: <b>{ $score }/100</b> (a ranking, not a probability)
alert-reasons = Why: { $reasons }
alert-venues = Venues: { $venues }
alert-time = Event time: { $time }
alert-upgrade = ⬆️ Update to the earlier cascade alert
alert-binance-caveat = ⚠️ Binance sends at most one liquidation per symbol per second: liquidation totals from Binance are lower bounds.
stop-below = below
stop-above = above

## names of score components
reason-cascade-size = cascade size
reason-long-dominance = one-sided (longs)
reason-short-dominance = one-sided (shorts)
reason-multi-venue = several venues
