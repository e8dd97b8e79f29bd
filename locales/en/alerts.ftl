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
side-word = { $side ->
    [BUY] buys
   *[SELL] sells
}
flow-mood = { $direction ->
    [LONG] BULLISH
    [SHORT] BEARISH
   *[NEUTRAL] MIXED
}
alert-headline = { $badge } · <b>{ $kind } — { $symbol }</b>
alert-cascade-body =
    { $status ->
        [ended] ⏹ <b>Ended</b> after { $duration }s
       *[in_progress] ⏳ <b>In progress</b> — this message is updated as it grows
    }
    Liquidated in { $window }s: <b>{ $total }</b> ({ $share } { $flushed })
    Longs: { $long_usd } · Shorts: { $short_usd } · { $count } { $count ->
        [one] order
       *[other] orders
    }
    Swept range (traded): { $zone_low } – { $zone_high }
    Pressure: <b>{ $pressure ->
        [UP] UP
       *[DOWN] DOWN
    }</b> — { $flushed } { $pressure ->
        [UP] force-bought
       *[DOWN] force-sold
    }
    { $status ->
        [ended] No absorption yet — no setup.
       *[in_progress] Not a trade signal: a { $setup } setup only if absorption follows (a stop-hunt alert would reply here).
    }
alert-stophunt-body =
    Liquidations: <b>{ $total }</b> { $flushed } cleared
    Hunt zone (traded): { $zone_low } – { $zone_high }
    Absorption: { $absorb_usd } of { $absorb_side } ({ $absorb_share } of taker volume), { $large_count } large { $large_count ->
        [one] order
       *[other] orders
    } ≥ { $whale }
    Reclaimed: { $reclaim } of the zone

    ✅ <b>{ $direction } setup</b>
    Now: { $price }
    Entry: { $entry_low } – { $entry_high } ({ $entry_dist })
    SL: { $stop } ({ $stop_dist }, { $stop_where } the traded extreme)
    Targets: { $targets }
    Valid until { $expires }
alert-quoted-levels = In { $unit } ({ $venues }): entry { $entry_low } – { $entry_high } · SL { $stop } · targets { $targets }
alert-flow-body =
    { $window } analysis:
    Buy volume: <b>{ $buy_usd }</b> ({ $buy_share })
    <code>{ $buy_bar }</code>
    Sell volume: <b>{ $sell_usd }</b> ({ $sell_share })
    <code>{ $sell_bar }</code>
    Large buys: { $large_buys } { $large_buys ->
        [one] order
       *[other] orders
    } ≥ { $whale }
    Large sells: { $large_sells } { $large_sells ->
        [one] order
       *[other] orders
    } ≥ { $whale }
    Net delta: <b>{ $net_delta }</b> ({ $mood })
    Price: { $price } · VWAP { $vwap }
    Bias: <b>{ $direction }</b>
alert-whale-body =
    <b>{ $count } large { $side }</b> (each ≥ { $whale }) in { $window }s, { $cluster_usd } in total
    Other side: { $opposite } large { $opposite ->
        [one] order
       *[other] orders
    } · usual pace: { $baseline } per minute per side
    Price: { $price }
    Bias: <b>{ $direction }</b>
alert-funding-body =
    Funding (per 8 h): <b>{ $rate }</b> on average, most extreme { $max_rate }
    { $by_venue }
    { $who }
    Bias: <b>{ $direction }</b>
funding-who = { $direction ->
    [SHORT] Longs are crowded and paying shorts.
   *[LONG] Shorts are crowded and paying longs.
}
alert-divergence-price-body =
    { $venue_high } { $price_high } vs { $venue_low } { $price_low }
    Apart by <b>{ $bps } bps</b> for { $duration }s (widest { $max_bps } bps)
    Watch for the gap to close; arbitrage flows may move both.
alert-divergence-flow-body =
    Venues disagree on who is in control (5 min):
    { $venue_high } taker buys { $share_high } · { $venue_low } taker buys { $share_low }
alert-spike-body =
    Last minute: <b>{ $volume }</b> — { $ratio }× the usual { $baseline } per minute
    Buys { $buy_share } <code>{ $buy_bar }</code>
    Large orders: { $large_buys } { $large_buys ->
        [one] buy
       *[other] buys
    } · { $large_sells } { $large_sells ->
        [one] sell
       *[other] sells
    }
    Price: { $price }
    Bias: <b>{ $direction }</b>
alert-score = Score: <b>{ $score }/100</b> (a ranking, not a probability)
alert-calibrated = Past signals like this: { $rate } hit ({ $n } checked)
alert-reasons = Why: { $reasons }
alert-confluence = Agrees with: { $kinds }
alert-venues = Venues: { $venues }
alert-time = Event time: { $time }
alert-upgrade = ⬆️ Update to the earlier cascade alert
alert-binance-caveat = ⚠️ Binance sends at most one liquidation per symbol per second: liquidation totals from Binance are lower bounds.
stop-below = below
stop-above = above

## names of score components
reason-cascade-size = cascade size
reason-dominance = one-sided
reason-multi-venue = several venues
reason-absorption = absorption
reason-large-orders = large orders
reason-reclaim = zone reclaimed
reason-flow-share = buy/sell share
reason-whale-imbalance = whales on one side
reason-timeframes-agree = timeframes agree
reason-heavy-volume = heavy volume
reason-price-confirms = price confirms
reason-volume-ratio = volume vs usual
reason-one-sided = one-sided
reason-whale-cluster = whale cluster
reason-cluster-size = order sizes
reason-funding-level = funding level
reason-venues-agree = venues agree
reason-price-gap = price gap
reason-persistence = persistence
reason-flow-gap = flow gap
reason-confluence = other signals agree
