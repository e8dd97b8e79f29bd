## Pengiriman alert: tombol di bawah setiap alert dan judul pesan gabungan.

delivery-btn-flow = 📊 Flow
delivery-btn-mute = 🔕 Bisukan 1j
delivery-btn-thresholds = ⚙️ Ambang
delivery-btn-flow-symbol = 📊 Flow { $symbol }
delivery-btn-mute-symbol = 🔕 Bisukan { $symbol } 1j
delivery-coalesced-header = 🗂 <b>{ $count } alert</b> dalam beberapa detik terakhir
