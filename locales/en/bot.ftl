## Bot texts (Telegram HTML). Every $argument arrives already HTML-escaped, except whole numbers
## that plural selectors need ({ $n -> [one] … *[other] … }): those arrive as numbers.
## Button toasts (answerCallbackQuery) and inline button labels are plain text for Telegram: the
## bot shows them through Texts.plain (tags dropped, entities such as &amp; decoded). Toast keys:
## button-invalid, remove-ok, remove-missing, throttled, access-stranger-short, flow-refreshed,
## mute-toast-on, mute-toast-off, thr-toast, thr-limit, thr-reset-done, thr-out-of-range.

## command menu (setMyCommands)
cmd-start = Start and show the menu
cmd-help = Every command with an example
cmd-add = Watch coins: /add BTC ETH
cmd-remove = Stop watching a coin: /remove BTC
cmd-list = Your watchlist
cmd-flow = Live order flow: /flow BTC 5m
cmd-mute = Pause alerts: /mute BTC 2h
cmd-unmute = Resume alerts
cmd-quiet = Quiet hours: /quiet 23:00-07:00
cmd-tz = Your time zone: /tz Asia/Jakarta
cmd-thresholds = Alert thresholds: /thresholds BTC
cmd-tiers = Which alert tiers reach you
cmd-signals = Latest signals for your coins
cmd-stats = How past signals turned out: /stats 30d
cmd-lang = Language: /lang en or /lang id
cmd-allow = Admin: let a user in: /allow 123456789
cmd-deny = Admin: block a user: /deny 123456789
cmd-users = Admin: list users
cmd-health = Admin: feeds, engine and delivery health
cmd-broadcast = Admin: message every user: /broadcast [+groups] text

## start, help, language
start-welcome =
    👋 Welcome to <b>TELEGLAS</b>, { $name }!

    I watch the live liquidation and trade tape of crypto futures and tell you within a second when a stop hunt, a liquidation cascade, whale accumulation or a funding extreme hits a coin you watch.

    <b>Next step:</b> add the coins you trade, e.g. <code>/add BTC ETH SOL</code>
    Then try <code>/flow BTC</code> for a live order-flow snapshot. /help lists everything.
    Signals are information for your own decisions; I never trade.
help-title = <b>TELEGLAS commands</b>
help-admin-title = <b>Admin</b>
help-start = /start — the menu
help-help = /help — this list
help-add = /add SYMBOL… — watch coins, e.g. <code>/add BTC eth SOLUSDT</code>
help-remove = /remove SYMBOL — stop watching, e.g. <code>/remove ETH</code>
help-list = /list — your watchlist, mutes and custom thresholds
help-flow = /flow SYMBOL [1m|5m|15m|1h] — live order flow, e.g. <code>/flow BTC 15m</code>
help-mute = /mute [SYMBOL|all] [30m|2h|1d] — pause alerts, e.g. <code>/mute BTC 2h</code>, <code>/mute all 1d</code>
help-unmute = /unmute [SYMBOL|all] — resume alerts, e.g. <code>/unmute BTC</code>
help-quiet = /quiet HH:MM-HH:MM | off | urgent on|off — quiet hours in your time zone and whether urgent alerts come through them, e.g. <code>/quiet 23:00-07:00</code>, <code>/quiet 23:00-07:00 urgent off</code>, <code>/quiet urgent on</code>
help-tz = /tz ZONE — your time zone, e.g. <code>/tz Asia/Jakarta</code> or <code>/tz +7</code>
help-thresholds = /thresholds [SYMBOL] [KEY VALUE|reset] — e.g. <code>/thresholds BTC cascade 5M</code>, <code>/thresholds dominance 70%</code>
help-tiers = /tiers — which tiers reach you, which arrive silently, and stop-hunt result replies
help-signals = /signals — the latest signals for your watchlist
help-stats = /stats [SYMBOL|KIND|all] [24h|7d|30d] — how past signals turned out (hit rate, R), e.g. <code>/stats</code>, <code>/stats BTC 30d</code>, <code>/stats stophunt</code>, <code>/stats all</code>
help-lang = /lang en|id — language, e.g. <code>/lang id</code>
help-allow = /allow USER_ID — let a user in, e.g. <code>/allow 123456789</code>
help-deny = /deny USER_ID — shut a user out, e.g. <code>/deny 123456789</code>
help-users = /users — registered users
help-health = /health — feeds, engine, delivery, errors
help-broadcast = /broadcast TEXT — message every active user in their private chat, e.g. <code>/broadcast Maintenance at 02:00 UTC</code>; <code>/broadcast +groups TEXT</code> reaches subscribed groups too
menu-list = 📋 Watchlist
menu-signals = 📈 Signals
menu-thr = ⚙️ Thresholds
menu-tiers = 🔔 Tiers
menu-mute = 🔕 Mute
menu-lang = 🌐 Language
menu-help = ❓ Help
lang-name = { $code ->
    [id] 🇮🇩 Bahasa Indonesia
   *[en] 🇬🇧 English
}
lang-choose = Choose your language:
lang-set = ✅ Language set to English.
lang-unknown = Unknown language “{ $value }”. Choose one of: { $choices }

## access and safety
access-stranger =
    🔒 This TELEGLAS bot is private.
    Your Telegram user id is <code>{ $user_id }</code>. Send it to the bot's admin and ask them to run <code>/allow { $user_id }</code>.
access-stranger-short = This bot is private. Send /start to see how to ask for access.
throttled = ⏳ Too fast — please wait a moment.
error-too-long = ✂️ Too long: I read at most { $limit } characters per message. Commands are short, e.g. <code>/add BTC ETH</code>.
error-internal = ⚠️ Something went wrong on my side. Please try again in a moment.
button-invalid = This button is no longer valid.
unknown-command = Unknown command { $command }. /help lists what I understand.
unknown-text = I only understand commands. Try /help, or /add BTC to start watching a coin.

## watchlist
add-usage = Which coins? Example: <code>/add BTC ETH SOL</code>
add-too-many = At most { $limit } symbols per command.
add-ok = ✅ { $symbol } added.
add-ok-unverified = ⏳ { $symbol } added, not verified yet (the venues' instrument lists are unavailable right now). I'll confirm when data for it arrives, or remove it if none arrives within { $minutes } min.
add-ok-offline = ⏳ { $symbol } added. The market data here comes from the simulator or a recording, so no venue's instrument list is checked: I'll confirm when data for it arrives, or remove it if none arrives within { $minutes } min.
add-confirmed = ✅ { $symbol } confirmed: live data is arriving.
add-no-data = ⚠️ No data for { $symbol } in { $minutes } min. Is it listed as a futures contract? <code>/remove { $symbol }</code> if it was a typo.
add-no-data-removed = ❌ { $symbol }: no venue sent any data for it in { $minutes } min, so I removed it from your watchlist — check the spelling (a coin like BTC, or a pair like BTCUSDT).
add-already = ℹ️ { $symbol } is already on your list.
add-invalid = ❌ “{ $text }” is not a symbol. Use a coin like BTC, or a pair like BTCUSDT.
add-invalid-suggest = ❌ “{ $text }” is not a symbol. Did you mean { $suggestion }?
add-unknown = ❌ { $symbol } is not listed on the futures venues I follow.
add-unknown-suggest = ❌ { $symbol } is not listed on the futures venues I follow. Did you mean { $suggestion }?
add-full = ❌ { $symbol }: your watchlist is full ({ $limit } coins). Remove one first.
add-registry-full = ❌ { $symbol }: the service watches as many coins as it can right now. Try again later.
remove-usage = Which coin? Example: <code>/remove BTC</code>
remove-ok = { $symbol } removed.
remove-missing = { $symbol } was not on your list.
remove-confirm = Remove { $symbol } from your watchlist?
list-empty = Your watchlist is empty. Add coins with <code>/add BTC ETH</code>.
list-title = <b>Your watchlist</b> ({ $count }/{ $limit })
list-line = • <b>{ $symbol }</b> { $marks }
list-line-bare = • <b>{ $symbol }</b>
list-muted-until = 🔕 muted until { $until }
list-custom = ⚙️ custom: { $keys }
list-all-muted = 🔕 All alerts muted until { $until }
list-global-custom = ⚙️ You have custom global thresholds (/thresholds).
btn-remove = ✖ { $symbol }
btn-yes-remove = Yes, remove { $symbol }
btn-no-keep = No, keep it

## mute, quiet hours, time zone
mute-usage = Example: <code>/mute BTC 2h</code>, <code>/mute all 1d</code>, or <code>/mute</code> for buttons.
mute-choose = 🔕 Mute { $target } for how long?
mute-everything = all alerts
mute-ok = 🔕 { $symbol } muted for { $duration } (until { $until }).
mute-all-ok = 🔕 All alerts muted for { $duration } (until { $until }).
mute-not-watched = { $symbol } is not on your watchlist.
mute-bad-duration = “{ $value }” is not a duration. Use e.g. 30m, 2h or 1d (at most { $max_days } days).
mute-toast-on = Muted
mute-toast-off = Unmuted
unmute-usage = Example: <code>/unmute BTC</code> or <code>/unmute</code> for everything.
unmute-ok = 🔔 { $symbol } unmuted.
unmute-all-ok = 🔔 All alerts resumed.
btn-unmute = 🔔 Unmute
quiet-none = No quiet hours set (time zone { $tz }). Example: <code>/quiet 23:00-07:00</code>
    { $urgent ->
       *[on] Once set, urgent alerts still come through them (<code>/quiet urgent off</code> changes that).
        [off] Once set, urgent alerts wait too (<code>/quiet urgent on</code> changes that).
    }
quiet-current = 🌙 Quiet hours { $start }–{ $end } ({ $tz }). { $urgent ->
   *[on] Urgent alerts still come through (<code>/quiet urgent off</code> holds them too).
    [off] Urgent alerts wait too (<code>/quiet urgent on</code> lets them through).
} <code>/quiet off</code> removes the quiet hours.
quiet-set = 🌙 Quiet hours set: { $start }–{ $end } ({ $tz }). { $urgent ->
   *[on] Urgent alerts still come through.
    [off] Urgent alerts wait too.
}
quiet-off = Quiet hours removed.
quiet-urgent-set = ✅ { $urgent ->
   *[on] Urgent alerts come through quiet hours.
    [off] Urgent alerts wait during quiet hours too.
}
quiet-bad = “{ $value }” is not a time range. Example: <code>/quiet 23:00-07:00</code>, <code>/quiet 23:00-07:00 urgent off</code>, <code>/quiet urgent on</code> or <code>/quiet off</code>
tz-current = Your time zone is { $tz } (now { $now }). Change it with e.g. <code>/tz Asia/Jakarta</code> or <code>/tz +7</code>.
tz-set = ✅ Time zone set to { $tz } (now { $now }).
tz-bad = “{ $value }” is not a time zone I know. Use a name like Asia/Jakarta or a whole-hour offset like +7.

## order flow
flow-usage = Example: <code>/flow BTC</code> or <code>/flow ETH 15m</code> (windows: { $windows }).
flow-bad-window = “{ $value }” is not a window. Use one of: { $windows }
flow-no-data = No order-flow data for { $symbol }. Add it to your watchlist to start streaming it: <code>/add { $symbol }</code>
flow-no-data-watched = No trades for { $symbol } have arrived yet. Try <code>/flow { $symbol }</code> again in a minute.
flow-title = 📊 <b>{ $symbol } order flow · { $window }</b>
flow-price = Last { $price } · VWAP { $vwap }
flow-price-quoted = Last { $price } · VWAP { $vwap } per { $unit } ({ $venues })
flow-buy = 🟢 Buy  { $usd } ({ $share }) <code>{ $bar }</code>
flow-sell = 🔴 Sell { $usd } ({ $share }) <code>{ $bar }</code>
flow-delta = Net delta <b>{ $delta }</b> · CVD { $cvd }
flow-large = Large orders (≥ { $threshold }): { $buys ->
    [one] { $buys } buy
   *[other] { $buys } buys
} · { $sells ->
    [one] { $sells } sell
   *[other] { $sells } sells
}
flow-liq = Liquidations: longs { $longs } · shorts { $shorts }
flow-funding = Funding (8 h): { $rates }
flow-funding-none = Funding: no data yet
flow-trades = Trades { $trades } · venues { $venues }
flow-binance-caveat = ⚠️ Binance reports at most one liquidation per symbol per second: its totals are lower bounds.
flow-time = Data as of { $time }
flow-refreshed = Updated
flow-details = 📄 Details
flow-caption-more = … (tap Details for the full text)
chart-price = Price
chart-vwap = VWAP
chart-buy = Buy
chart-sell = Sell
chart-cvd = CVD
chart-large-buy = Large buy
chart-large-sell = Large sell
chart-liq-long = Longs liquidated
chart-liq-short = Shorts liquidated
chart-zone = Hunt zone
chart-entry = Entry
chart-stop = Stop
chart-target = Target
chart-absorbed = Absorbed
chart-hunt-title = { $symbol } · stop hunt
btn-refresh = 🔄 Refresh

## thresholds
thr-title-global = ⚙️ <b>Your thresholds — all coins</b>
thr-title-symbol = ⚙️ <b>Your thresholds — { $symbol }</b>
thr-key-name = { $what ->
    [cascade] Cascade size
    [whale] Whale order
    [dominance] Dominance
    [score] Minimum score
   *[funding] Funding extreme
}
thr-line = • { $what }: <b>{ $value }</b> { $source ->
    [symbol] (custom for this coin; default { $default })
    [global] (your value for all coins; default { $default })
    [classes] (default for BTC/ETH; smaller coins lower: { $default })
   *[default] (default)
}
thr-default-classes = { $major } for BTC/ETH, { $mid } large caps, { $small } others
thr-default-smaller = { $mid } large caps, { $small } others
thr-contract = 📏 <b>The rule:</b> an event at or above your threshold for its kind reaches you — cascades and stop hunts by cascade size and one-sidedness, whale windows and accumulation/distribution by whale size and one-sidedness, funding by its rate — whatever its score, unless you muted it, it is your quiet hours or you turned its tier off. The minimum score filters only divergences and volume spikes. Tier: a cascade ≥ 3× your cascade value is 🚨 URGENT, ≥ 1× 👀 WATCH; a stop hunt is always URGENT; funding ≥ 2× yours is WATCH, else INFO.
thr-note-global = These values apply to every coin that has none of its own (<code>/thresholds BTC</code> shows one coin's).
thr-note-symbol = Values here apply to { $symbol } only and win over your all-coins values.
thr-hint = Tap − or + to step a value down or up, or the middle button to pick a preset. You can also type e.g. <code>/thresholds BTC cascade 5M</code>.
thr-usage = Examples: <code>/thresholds</code>, <code>/thresholds BTC</code>, <code>/thresholds BTC cascade 5M</code>, <code>/thresholds dominance 70%</code>, <code>/thresholds BTC reset</code>
thr-bad-target = “{ $value }” is neither a coin nor a threshold name.
thr-bad-key = “{ $value }” is not a threshold. Choose one of: { $keys }
thr-bad-value = “{ $value }” is not a valid value for { $what }. Example: { $example }
thr-example = { $what ->
    [cascade] <code>5M</code> or <code>500k</code>
    [whale] <code>50k</code>
    [dominance] <code>70%</code>
    [score] <code>75</code>
   *[funding] <code>0.05%</code>
}
thr-out-of-range = { $what } must be between { $low } and { $high }.
thr-set = ✅ { $what } set to <b>{ $value }</b> for { $target }.
thr-key-reset = ✅ { $what } back to default for { $target }.
thr-target-all = all coins
thr-target-symbol = { $symbol }
thr-presets = { $what } for { $target }: now <b>{ $value }</b> (allowed { $low } – { $high }). Choose:
thr-toast = { $what }: { $value }
thr-limit = Already at the limit.
thr-reset-done = Thresholds reset to defaults.
btn-thr-key = { $what ->
    [cascade] Cascade
    [whale] Whale
    [dominance] Dominance
    [score] Score
   *[funding] Funding
} { $value }
btn-reset = ↩️ Reset to defaults
btn-default = Default
btn-back = ⬅️ Back

## tiers
tiers-title = 🔔 <b>Alert tiers</b>
tiers-line = { $badge }: { $status ->
    [off] off
    [silent] on, silent
   *[sound] on, with sound
}
tiers-none = ⚠️ All tiers are off: you will receive no alerts.
tiers-hint = Left button: receive this tier or not. Right button: with or without sound.
btn-tier-on = { $on ->
    [yes] ✅ { $tier }
   *[no] ⬜ { $tier }
}
btn-tier-sound = { $sound ->
    [yes] 🔔 sound
   *[no] 🔕 silent
}
tiers-outcomes = 📈 Stop-hunt results: { $on ->
    [yes] on, a silent reply under the alert (✅ T1 reached / ❌ stopped out / ⌛ expired)
   *[no] off
}
btn-tier-outcomes = { $on ->
    [yes] ✅ Stop-hunt results
   *[no] ⬜ Stop-hunt results
}

## signals
signals-no-watchlist = Your watchlist is empty, so there are no signals to show. <code>/add BTC</code>
signals-none = No signals yet for { $symbols }.
signals-title = <b>{ $count ->
    [one] The latest signal
   *[other] Latest { $count } signals
}</b>
signals-line = { $time } · { $badge } · { $kind } · <b>{ $symbol }</b> { $direction } · score { $score }

## admin
admin-allow-usage = Example: <code>/allow 123456789</code> (a numeric Telegram user id, or a group's chat id such as <code>-1001234567890</code>).
admin-deny-usage = Example: <code>/deny 123456789</code> (a numeric Telegram user id, or a group's chat id such as <code>-1001234567890</code>).
admin-allowed = ✅ User { $user_id } may use the bot now. They should send /start.
admin-already-allowed = User { $user_id } was already allowed.
admin-denied = ⛔ User { $user_id } is shut out and gets no more alerts.
admin-deny-admin = User { $user_id } is an admin (ADMIN_IDS) and cannot be denied here.
admin-users-title = <b>Users</b>: { $total } registered, { $active } active · access { $access }
admin-users-line = <code>{ $user_id }</code> · { $role ->
    [admin] admin
   *[user] user
} · { $language } · { $active ->
    [yes] active
   *[no] inactive (blocked the bot or denied)
} · { $symbols ->
    [one] { $symbols } coin
   *[other] { $symbols } coins
}
admin-users-more = … and { $more } more
admin-users-allowed = Allowed, not started yet: { $ids }
admin-users-blocked = Denied: { $ids }
admin-broadcast-usage =
    Example: <code>/broadcast Maintenance at 02:00 UTC</code> (private chats: users who started the bot).
    To subscribed groups as well: <code>/broadcast +groups Maintenance at 02:00 UTC</code>
admin-broadcast-body = 📣 { $text }
admin-broadcast-started = Sending to { $count ->
    [one] { $count } active user…
   *[other] { $count } active users…
} (private chats; groups only with <code>/broadcast +groups</code>)
admin-broadcast-started-groups = Sending to { $count ->
    [one] { $count } active subscriber…
   *[other] { $count } active subscribers…
} (private chats and groups)
admin-broadcast-done = 📣 Broadcast finished: { $sent } sent, { $failed } failed.
admin-broadcast-unavailable = Broadcasts go through alert delivery, which is not running in this process.
health-title = 🩺 <b>Health</b> · up { $uptime }
health-feed = • <b>{ $name }</b> { $status } · lag { $lag } ms · last msg { $age } ago · frames { $frames } · events { $events } · parse errors { $errors } · reconnects { $reconnects }
health-feed-error =   last error: { $error }
health-feed-silent = • <b>{ $name }</b> reports no figures
health-no-feeds = • no feeds running
health-engine = Engine: events { $events } · { $rate }/s · queue { $queue } · symbols { $symbols }
health-delivery = Delivery: queue { $queue } · routing { $inbox } · in flight { $inflight } · since start: sent { $sent } (alerts and broadcasts) · failed { $failed } · retried { $retried } · 429s { $limited }
health-delivery-outcomes = Telegram answers: ok { $ok } · 5xx { $server } · not JSON { $undecodable } · unreachable { $network } · timeout { $timeout } · 403 { $blocked } · 400 { $bad } · given up after the retry budget { $expired } · edits { $edits } · command replies { $replies } (retried { $replies_retried })
health-latency = Alert receive→sent, last hour: alerts { $count } (broadcasts not timed) · p50 { $p50 } · p95 { $p95 } · p99 { $p99 }
health-delivery-stopped = ⚠️ Delivery is not running: alerts wait in the outbox.
health-delivery-error = Delivery: no figures ({ $error })
health-no-delivery = Delivery: not wired
health-bot = Bot: updates { $updates } · errors { $errors } · last error: { $last }

# operations notices to the admins (bot/ops.py) and the same incidents in /health
ops-feed-down = ⚠️ Feed <b>{ $feed }</b> has been { $state } for { $minutes } min: no market data from it. Last error: { $error }
ops-feed-recovered = ✅ Feed <b>{ $feed }</b> is live again (the incident lasted { $minutes } min).
ops-engine-down = ⚠️ The engine has not advanced for { $minutes } min ({ $queue } event batches waiting). The watchdog restarts the service if this goes on.
ops-engine-recovered = ✅ The engine advances again (stalled { $minutes } min).
ops-delivery-down = ⚠️ Delivery has been failing for { $minutes } min: nothing sent, { $retries } failed attempts, { $queued } alerts queued. They stay in the outbox and go out when Telegram answers again.
ops-delivery-recovered = ✅ Delivery works again (it failed for { $minutes } min).
ops-storage-down = ⚠️ Database errors for { $minutes } min: { $error }. Signals wait in memory and are routed when storage returns.
ops-storage-recovered = ✅ The database works again (errors for { $minutes } min).
health-incidents = Incidents:
health-engine-errors = Engine: rejected { $rejected } ({ $reasons }) · failed events { $failed } ({ $components })

## /stats: outcomes of past signals
stats-title = 📈 <b>Signal outcomes</b> · { $scope } · { $period }
stats-period-24h = 24 h
stats-period-7d = 7 days
stats-period-30d = 30 days
stats-period-all = all time
stats-scope-mine = your alerts
stats-scope-all = all signals
stats-no-watchlist = Your watchlist is empty. <code>/add BTC</code>, or see every signal with <code>/stats all</code>.
stats-empty = No results in this period yet. Results appear as signals resolve: a stop hunt when it reaches a target, its stop or its expiry; other signals 5 min to 1 h after they fire.
stats-empty-open = No results in this period yet; { $open } signals are still being followed. A stop hunt resolves at a target, its stop or its expiry; other signals 5 min to 1 h after they fire.
stats-line = <b>{ $name }</b>: { $count } · { $hit }
stats-hit = hit { $rate } (95% CI { $low }–{ $high }%, { $hits }/{ $scored })
stats-hit-none = not scored yet
stats-r = avg { $avg } · best { $best } · worst { $worst }
stats-open = Still open: { $open }
stats-footnote = <i>Hit: a stop hunt reached T1 before its stop; other signals moved in their direction by more than the coin's usual move. Past results, not a promise.</i>
stats-latency = Engine, receive → signal (n={ $n }): p50 { $p50 } ms · p95 { $p95 } ms · p99 { $p99 } ms
stats-usage = “{ $value }” is not a coin, kind or period. Examples: <code>/stats</code>, <code>/stats BTC 30d</code>, <code>/stats stophunt</code>, <code>/stats all 24h</code>

## groups and forum topics (issue 14)
cmd-topic = Group admins: alerts to this forum topic: /topic here
help-topic = /topic here | KIND here | off — in a forum group: all alerts (or one kind: stophunt, cascade, flow, whale, funding, divergence, volume) go to the topic you write this in, e.g. <code>/topic stophunt here</code>, <code>/topic off</code>
group-help =
    <b>In a group</b> the group is the subscriber: one watchlist, thresholds, tiers, mutes, quiet hours, time zone and language for everyone here.
    Group administrators (and the bot's admins) change them; every member may read: /list, /flow, /signals, /stats.
start-group =
    👋 <b>TELEGLAS</b> is in { $title } now.
    I post alerts for the coins this group watches: stop hunts, liquidation cascades, whale accumulation, funding extremes.

    <b>Group administrators</b> set it up: <code>/add BTC ETH</code>, /thresholds, /tiers, /mute, /quiet, /tz, /lang, and in a forum <code>/topic here</code>.
    <b>Every member</b> may read: /list, /flow, /signals, /stats. /help lists everything.
    Signals are information for your own decisions; I never trade.
group-stranger =
    🔒 This TELEGLAS bot is private.
    This group's chat id is <code>{ $chat_id }</code>. Ask the bot's admin to run <code>/allow { $chat_id }</code>, or have an allowed user add the bot or send /start here. (I say this once, then stay quiet here until then.)
group-admins-only = 🔒 Only this group's administrators can change its settings. Everyone may read: /list, /flow, /signals, /stats. (I say this once.)
group-admins-only-short = Only this group's administrators can change its settings.
topic-not-forum = /topic works in a group with topics (a forum): alerts can then go to a chosen topic.
topic-usage = Examples: <code>/topic here</code> (all alerts to this topic), <code>/topic stophunt here</code>, <code>/topic off</code>. Kinds: { $routes }
topic-off = ✅ Topic routing off: alerts go to the general topic.
topic-set = ✅ { $route } alerts go to this topic now.
topic-set-general = ✅ { $route } alerts go to the general topic now.
topic-all = All
topic-none = Alerts go to the general topic. Write <code>/topic here</code> in a topic to send them there.
topic-title = <b>Alert topics</b>
topic-line = { $route } → topic { $thread }
topic-gone = ⚠️ Admins: the topic alerts were routed to (topic { $thread }) was deleted or closed, so alerts go to the general topic now. Write <code>/topic here</code> in another topic to choose again.
