## Alert delivery: buttons under every alert and the header of a coalesced message.

delivery-btn-flow = 📊 Flow
delivery-btn-mute = 🔕 Mute 1h
delivery-btn-thresholds = ⚙️ Thresholds
delivery-btn-flow-symbol = 📊 { $symbol } flow
delivery-btn-mute-symbol = 🔕 Mute { $symbol } 1h
delivery-coalesced-header = 🗂 <b>{ $count } alerts</b> in the last seconds

## The reply in an alert's thread when its stop hunt's outcome is final (silent, INFO; /tiers
## turns these off). $r and $best are signed R multiples, e.g. +1.6 or −1.
outcome-win = ✅ <b>{ $symbol }</b>: { $target } reached after { $after }, { $r }R
outcome-loss = ❌ <b>{ $symbol }</b>: stopped out after { $after }, { $r }R
outcome-expired = ⌛ <b>{ $symbol }</b>: expired, best { $best }R
outcome-not-filled = ⌛ <b>{ $symbol }</b>: expired before the entry was reached, no trade
outcome-after = { $unit ->
    [s] { $n } s
    [min] { $n } min
   *[h] { $n } h
}
