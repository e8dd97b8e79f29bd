## Pengiriman alert: tombol di bawah setiap alert dan judul pesan gabungan.

delivery-btn-flow = 📊 Flow
delivery-btn-mute = 🔕 Bisukan 1j
delivery-btn-thresholds = ⚙️ Ambang
delivery-btn-flow-symbol = 📊 Flow { $symbol }
delivery-btn-mute-symbol = 🔕 Bisukan { $symbol } 1j
delivery-coalesced-header = 🗂 <b>{ $count } alert</b> dalam beberapa detik terakhir

## Balasan di utas alert saat hasil stop hunt-nya final (senyap, INFO; /tiers bisa mematikannya).
outcome-win = ✅ <b>{ $symbol }</b>: { $target } tercapai setelah { $after }, { $r }R
outcome-loss = ❌ <b>{ $symbol }</b>: kena stop setelah { $after }, { $r }R
outcome-expired = ⌛ <b>{ $symbol }</b>: kedaluwarsa, terbaik { $best }R
outcome-not-filled = ⌛ <b>{ $symbol }</b>: kedaluwarsa sebelum harga entry tercapai, tanpa posisi
outcome-after = { $unit ->
    [s] { $n } dtk
    [min] { $n } mnt
   *[h] { $n } jam
}
