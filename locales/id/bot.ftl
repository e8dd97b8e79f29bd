## Teks bot (HTML Telegram). Setiap $argumen sudah di-escape HTML.
## Toast tombol (answerCallbackQuery) dan label tombol inline adalah teks biasa bagi Telegram: bot
## menampilkannya lewat Texts.plain (tag dibuang, entitas seperti &amp; diuraikan). Kunci toast:
## button-invalid, remove-ok, remove-missing, throttled, access-stranger-short, flow-refreshed,
## mute-toast-on, mute-toast-off, thr-toast, thr-limit, thr-reset-done, thr-out-of-range.

## menu perintah (setMyCommands)
cmd-start = Mulai dan tampilkan menu
cmd-help = Semua perintah dengan contoh
cmd-add = Pantau koin: /add BTC ETH
cmd-remove = Berhenti memantau koin: /remove BTC
cmd-list = Daftar pantauan Anda
cmd-flow = Order flow langsung: /flow BTC 5m
cmd-mute = Jeda alert: /mute BTC 2h
cmd-unmute = Lanjutkan alert
cmd-quiet = Jam tenang: /quiet 23:00-07:00
cmd-tz = Zona waktu Anda: /tz Asia/Jakarta
cmd-thresholds = Ambang alert: /thresholds BTC
cmd-tiers = Tingkat alert yang Anda terima
cmd-signals = Sinyal terbaru untuk koin Anda
cmd-stats = Hasil sinyal sebelumnya: /stats 30d
cmd-lang = Bahasa: /lang en atau /lang id
cmd-allow = Admin: izinkan pengguna: /allow 123456789
cmd-deny = Admin: blokir pengguna: /deny 123456789
cmd-users = Admin: daftar pengguna
cmd-health = Admin: kesehatan feed, engine, dan pengiriman
cmd-broadcast = Admin: kirim pesan ke semua pengguna: /broadcast [+groups] teks

## mulai, bantuan, bahasa
start-welcome =
    👋 Selamat datang di <b>TELEGLAS</b>, { $name }!

    Saya memantau pita likuidasi dan transaksi futures kripto secara langsung dan memberi tahu Anda dalam hitungan detik saat stop hunt, kaskade likuidasi, akumulasi whale, atau funding ekstrem terjadi pada koin yang Anda pantau.

    <b>Langkah berikutnya:</b> tambahkan koin yang Anda trading, mis. <code>/add BTC ETH SOL</code>
    Lalu coba <code>/flow BTC</code> untuk melihat order flow langsung. /help menampilkan semuanya.
    Sinyal adalah informasi untuk keputusan Anda sendiri; saya tidak pernah melakukan trading.
help-title = <b>Perintah TELEGLAS</b>
help-admin-title = <b>Admin</b>
help-start = /start — menu
help-help = /help — daftar ini
help-add = /add SIMBOL… — pantau koin, mis. <code>/add BTC eth SOLUSDT</code>
help-remove = /remove SIMBOL — berhenti memantau, mis. <code>/remove ETH</code>
help-list = /list — daftar pantauan, mute, dan ambang khusus Anda
help-flow = /flow SIMBOL [1m|5m|15m|1h] — order flow langsung, mis. <code>/flow BTC 15m</code>
help-mute = /mute [SIMBOL|all] [30m|2h|1d] — jeda alert, mis. <code>/mute BTC 2h</code>, <code>/mute all 1d</code>
help-unmute = /unmute [SIMBOL|all] — lanjutkan alert, mis. <code>/unmute BTC</code>
help-quiet = /quiet JJ:MM-JJ:MM | off | urgent on|off — jam tenang di zona waktu Anda dan apakah alert urgent tetap masuk, mis. <code>/quiet 23:00-07:00</code>, <code>/quiet 23:00-07:00 urgent off</code>, <code>/quiet urgent on</code>
help-tz = /tz ZONA — zona waktu Anda, mis. <code>/tz Asia/Jakarta</code> atau <code>/tz +7</code>
help-thresholds = /thresholds [SIMBOL] [KUNCI NILAI|reset] — mis. <code>/thresholds BTC cascade 5M</code>, <code>/thresholds dominance 70%</code>
help-tiers = /tiers — tingkat yang Anda terima, yang datang tanpa suara, dan balasan hasil stop hunt
help-signals = /signals — sinyal terbaru untuk daftar pantauan Anda
help-stats = /stats [SIMBOL|JENIS|all] [24h|7d|30d] — hasil sinyal sebelumnya (tingkat kena, R), mis. <code>/stats</code>, <code>/stats BTC 30d</code>, <code>/stats stophunt</code>, <code>/stats all</code>
help-lang = /lang en|id — bahasa, mis. <code>/lang en</code>
help-allow = /allow USER_ID — izinkan pengguna, mis. <code>/allow 123456789</code>
help-deny = /deny USER_ID — tolak pengguna, mis. <code>/deny 123456789</code>
help-users = /users — pengguna terdaftar
help-health = /health — feed, engine, pengiriman, error
help-broadcast = /broadcast TEKS — kirim pesan ke semua pengguna aktif di chat pribadi mereka, mis. <code>/broadcast Pemeliharaan pukul 02:00 UTC</code>; <code>/broadcast +groups TEKS</code> juga ke grup yang berlangganan
menu-list = 📋 Pantauan
menu-signals = 📈 Sinyal
menu-thr = ⚙️ Ambang
menu-tiers = 🔔 Tingkat
menu-mute = 🔕 Bisukan
menu-lang = 🌐 Bahasa
menu-help = ❓ Bantuan
lang-name = { $code ->
    [id] 🇮🇩 Bahasa Indonesia
   *[en] 🇬🇧 English
}
lang-choose = Pilih bahasa Anda:
lang-set = ✅ Bahasa diatur ke Bahasa Indonesia.
lang-unknown = Bahasa “{ $value }” tidak dikenal. Pilih salah satu: { $choices }

## akses dan keamanan
access-stranger =
    🔒 Bot TELEGLAS ini bersifat privat.
    ID pengguna Telegram Anda adalah <code>{ $user_id }</code>. Kirimkan ke admin bot dan minta mereka menjalankan <code>/allow { $user_id }</code>.
access-stranger-short = Bot ini privat. Kirim /start untuk melihat cara meminta akses.
throttled = ⏳ Terlalu cepat — mohon tunggu sebentar.
error-too-long = ✂️ Terlalu panjang: saya membaca paling banyak { $limit } karakter per pesan. Perintah itu singkat, mis. <code>/add BTC ETH</code>.
error-internal = ⚠️ Terjadi kesalahan di pihak saya. Silakan coba lagi sebentar lagi.
button-invalid = Tombol ini sudah tidak berlaku.
unknown-command = Perintah { $command } tidak dikenal. /help menampilkan perintah yang saya pahami.
unknown-text = Saya hanya memahami perintah. Coba /help, atau /add BTC untuk mulai memantau koin.

## daftar pantauan
add-usage = Koin apa? Contoh: <code>/add BTC ETH SOL</code>
add-too-many = Paling banyak { $limit } simbol per perintah.
add-ok = ✅ { $symbol } ditambahkan.
add-ok-unverified = ⏳ { $symbol } ditambahkan, belum terverifikasi (daftar instrumen bursa sedang tidak tersedia). Saya akan mengonfirmasi setelah datanya masuk, atau menghapusnya jika tidak ada data dalam { $minutes } menit.
add-ok-offline = ⏳ { $symbol } ditambahkan. Data pasar di sini berasal dari simulator atau rekaman, jadi daftar instrumen bursa tidak diperiksa: saya akan mengonfirmasi setelah datanya masuk, atau menghapusnya jika tidak ada data dalam { $minutes } menit.
add-confirmed = ✅ { $symbol } terkonfirmasi: data langsung sudah masuk.
add-no-data = ⚠️ Tidak ada data untuk { $symbol } selama { $minutes } menit. Apakah koin ini terdaftar sebagai kontrak futures? <code>/remove { $symbol }</code> jika salah ketik.
add-no-data-removed = ❌ { $symbol }: tidak ada bursa yang mengirim data untuknya selama { $minutes } menit, jadi saya menghapusnya dari daftar pantauan Anda — periksa ejaannya (koin seperti BTC, atau pasangan seperti BTCUSDT).
add-already = ℹ️ { $symbol } sudah ada di daftar Anda.
add-invalid = ❌ “{ $text }” bukan simbol. Gunakan koin seperti BTC, atau pasangan seperti BTCUSDT.
add-invalid-suggest = ❌ “{ $text }” bukan simbol. Maksud Anda { $suggestion }?
add-unknown = ❌ { $symbol } tidak terdaftar di bursa futures yang saya ikuti.
add-unknown-suggest = ❌ { $symbol } tidak terdaftar di bursa futures yang saya ikuti. Maksud Anda { $suggestion }?
add-full = ❌ { $symbol }: daftar pantauan Anda penuh ({ $limit } koin). Hapus satu dulu.
add-registry-full = ❌ { $symbol }: layanan sedang memantau koin sebanyak yang ia mampu. Coba lagi nanti.
remove-usage = Koin apa? Contoh: <code>/remove BTC</code>
remove-ok = { $symbol } dihapus.
remove-missing = { $symbol } tidak ada di daftar Anda.
remove-confirm = Hapus { $symbol } dari daftar pantauan Anda?
list-empty = Daftar pantauan Anda kosong. Tambahkan koin dengan <code>/add BTC ETH</code>.
list-title = <b>Daftar pantauan Anda</b> ({ $count }/{ $limit })
list-line = • <b>{ $symbol }</b> { $marks }
list-line-bare = • <b>{ $symbol }</b>
list-muted-until = 🔕 dibisukan sampai { $until }
list-custom = ⚙️ khusus: { $keys }
list-all-muted = 🔕 Semua alert dibisukan sampai { $until }
list-global-custom = ⚙️ Anda punya ambang global khusus (/thresholds).
btn-remove = ✖ { $symbol }
btn-yes-remove = Ya, hapus { $symbol }
btn-no-keep = Tidak, simpan

## bisukan, jam tenang, zona waktu
mute-usage = Contoh: <code>/mute BTC 2h</code>, <code>/mute all 1d</code>, atau <code>/mute</code> untuk tombol.
mute-choose = 🔕 Bisukan { $target } berapa lama?
mute-everything = semua alert
mute-ok = 🔕 { $symbol } dibisukan selama { $duration } (sampai { $until }).
mute-all-ok = 🔕 Semua alert dibisukan selama { $duration } (sampai { $until }).
mute-not-watched = { $symbol } tidak ada di daftar pantauan Anda.
mute-bad-duration = “{ $value }” bukan durasi. Gunakan mis. 30m, 2h, atau 1d (paling lama { $max_days } hari).
mute-toast-on = Dibisukan
mute-toast-off = Suara dinyalakan
unmute-usage = Contoh: <code>/unmute BTC</code> atau <code>/unmute</code> untuk semuanya.
unmute-ok = 🔔 { $symbol } tidak dibisukan lagi.
unmute-all-ok = 🔔 Semua alert dilanjutkan.
btn-unmute = 🔔 Nyalakan
quiet-none = Belum ada jam tenang (zona waktu { $tz }). Contoh: <code>/quiet 23:00-07:00</code>
    { $urgent ->
       *[on] Setelah diatur, alert urgent tetap masuk (<code>/quiet urgent off</code> mengubahnya).
        [off] Setelah diatur, alert urgent ikut ditahan (<code>/quiet urgent on</code> mengubahnya).
    }
quiet-current = 🌙 Jam tenang { $start }–{ $end } ({ $tz }). { $urgent ->
   *[on] Alert urgent tetap masuk (<code>/quiet urgent off</code> ikut menahannya).
    [off] Alert urgent ikut ditahan (<code>/quiet urgent on</code> meloloskannya).
} <code>/quiet off</code> menghapus jam tenang.
quiet-set = 🌙 Jam tenang diatur: { $start }–{ $end } ({ $tz }). { $urgent ->
   *[on] Alert urgent tetap masuk.
    [off] Alert urgent ikut ditahan.
}
quiet-off = Jam tenang dihapus.
quiet-urgent-set = ✅ { $urgent ->
   *[on] Alert urgent tetap masuk saat jam tenang.
    [off] Alert urgent ikut ditahan saat jam tenang.
}
quiet-bad = “{ $value }” bukan rentang waktu. Contoh: <code>/quiet 23:00-07:00</code>, <code>/quiet 23:00-07:00 urgent off</code>, <code>/quiet urgent on</code> atau <code>/quiet off</code>
tz-current = Zona waktu Anda { $tz } (sekarang { $now }). Ubah dengan mis. <code>/tz Asia/Jakarta</code> atau <code>/tz +7</code>.
tz-set = ✅ Zona waktu diatur ke { $tz } (sekarang { $now }).
tz-bad = “{ $value }” bukan zona waktu yang saya kenal. Gunakan nama seperti Asia/Jakarta atau selisih jam bulat seperti +7.

## order flow
flow-usage = Contoh: <code>/flow BTC</code> atau <code>/flow ETH 15m</code> (jendela: { $windows }).
flow-bad-window = “{ $value }” bukan jendela waktu. Gunakan salah satu: { $windows }
flow-no-data = Tidak ada data order flow untuk { $symbol }. Tambahkan ke daftar pantauan agar datanya mulai dialirkan: <code>/add { $symbol }</code>
flow-no-data-watched = Belum ada transaksi { $symbol } yang masuk. Coba <code>/flow { $symbol }</code> lagi dalam semenit.
flow-title = 📊 <b>Order flow { $symbol } · { $window }</b>
flow-price = Terakhir { $price } · VWAP { $vwap }
flow-price-quoted = Terakhir { $price } · VWAP { $vwap } per { $unit } ({ $venues })
flow-buy = 🟢 Beli { $usd } ({ $share }) <code>{ $bar }</code>
flow-sell = 🔴 Jual { $usd } ({ $share }) <code>{ $bar }</code>
flow-delta = Delta bersih <b>{ $delta }</b> · CVD { $cvd }
flow-large = Order besar (≥ { $threshold }): { $buys } beli · { $sells } jual
flow-liq = Likuidasi: long { $longs } · short { $shorts }
flow-funding = Funding (8 jam): { $rates }
flow-funding-none = Funding: belum ada data
flow-trades = Transaksi { $trades } · bursa { $venues }
flow-binance-caveat = ⚠️ Binance melaporkan paling banyak satu likuidasi per simbol per detik: totalnya adalah batas bawah.
flow-time = Data per { $time }
flow-refreshed = Diperbarui
flow-details = 📄 Detail
flow-caption-more = … (ketuk Detail untuk teks lengkap)
chart-price = Harga
chart-vwap = VWAP
chart-buy = Beli
chart-sell = Jual
chart-cvd = CVD
chart-large-buy = Beli besar
chart-large-sell = Jual besar
chart-liq-long = Long terlikuidasi
chart-liq-short = Short terlikuidasi
chart-zone = Zona perburuan
chart-entry = Entri
chart-stop = Stop
chart-target = Target
chart-absorbed = Terserap
chart-hunt-title = { $symbol } · perburuan stop
btn-refresh = 🔄 Perbarui

## ambang
thr-title-global = ⚙️ <b>Ambang Anda — semua koin</b>
thr-title-symbol = ⚙️ <b>Ambang Anda — { $symbol }</b>
thr-key-name = { $what ->
    [cascade] Ukuran kaskade
    [whale] Order whale
    [dominance] Dominasi
    [score] Skor minimum
   *[funding] Funding ekstrem
}
thr-line = • { $what }: <b>{ $value }</b> { $source ->
    [symbol] (khusus koin ini; bawaan { $default })
    [global] (nilai Anda untuk semua koin; bawaan { $default })
    [classes] (bawaan untuk BTC/ETH; koin lebih kecil lebih rendah: { $default })
   *[default] (bawaan)
}
thr-default-classes = { $major } untuk BTC/ETH, { $mid } kapitalisasi besar, { $small } lainnya
thr-default-smaller = { $mid } kapitalisasi besar, { $small } lainnya
thr-contract = 📏 <b>Aturannya:</b> peristiwa yang mencapai ambang Anda untuk jenisnya sampai ke Anda — kaskade dan stop hunt menurut ukuran kaskade dan dominasi satu sisi, jendela whale dan akumulasi/distribusi menurut ukuran whale dan dominasi, funding menurut tarifnya — berapa pun skornya, kecuali Anda membisukannya, sedang jam tenang, atau tingkatnya Anda matikan. Skor minimum hanya menyaring divergensi dan lonjakan volume. Tingkat: kaskade ≥ 3× nilai kaskade Anda 🚨 URGENT, ≥ 1× 👀 WATCH; stop hunt selalu URGENT; funding ≥ 2× nilai Anda WATCH, selain itu INFO.
thr-note-global = Nilai ini berlaku untuk setiap koin yang tidak punya nilai sendiri (<code>/thresholds BTC</code> menampilkan nilai satu koin).
thr-note-symbol = Nilai di sini hanya berlaku untuk { $symbol } dan mengalahkan nilai semua-koin Anda.
thr-hint = Ketuk − atau + untuk menurunkan atau menaikkan nilai, atau tombol tengah untuk memilih nilai siap pakai. Bisa juga ketik mis. <code>/thresholds BTC cascade 5M</code>.
thr-usage = Contoh: <code>/thresholds</code>, <code>/thresholds BTC</code>, <code>/thresholds BTC cascade 5M</code>, <code>/thresholds dominance 70%</code>, <code>/thresholds BTC reset</code>
thr-bad-target = “{ $value }” bukan koin dan bukan nama ambang.
thr-bad-key = “{ $value }” bukan ambang. Pilih salah satu: { $keys }
thr-bad-value = “{ $value }” bukan nilai yang valid untuk { $what }. Contoh: { $example }
thr-example = { $what ->
    [cascade] <code>5M</code> atau <code>500k</code>
    [whale] <code>50k</code>
    [dominance] <code>70%</code>
    [score] <code>75</code>
   *[funding] <code>0.05%</code>
}
thr-out-of-range = { $what } harus antara { $low } dan { $high }.
thr-set = ✅ { $what } diatur ke <b>{ $value }</b> untuk { $target }.
thr-key-reset = ✅ { $what } kembali ke bawaan untuk { $target }.
thr-target-all = semua koin
thr-target-symbol = { $symbol }
thr-presets = { $what } untuk { $target }: sekarang <b>{ $value }</b> (boleh { $low } – { $high }). Pilih:
thr-toast = { $what }: { $value }
thr-limit = Sudah di batas.
thr-reset-done = Ambang dikembalikan ke bawaan.
btn-thr-key = { $what ->
    [cascade] Kaskade
    [whale] Whale
    [dominance] Dominasi
    [score] Skor
   *[funding] Funding
} { $value }
btn-reset = ↩️ Kembalikan ke bawaan
btn-default = Bawaan
btn-back = ⬅️ Kembali

## tingkat
tiers-title = 🔔 <b>Tingkat alert</b>
tiers-line = { $badge }: { $status ->
    [off] mati
    [silent] aktif, tanpa suara
   *[sound] aktif, dengan suara
}
tiers-none = ⚠️ Semua tingkat mati: Anda tidak akan menerima alert.
tiers-hint = Tombol kiri: terima tingkat ini atau tidak. Tombol kanan: dengan atau tanpa suara.
btn-tier-on = { $on ->
    [yes] ✅ { $tier }
   *[no] ⬜ { $tier }
}
btn-tier-sound = { $sound ->
    [yes] 🔔 bersuara
   *[no] 🔕 senyap
}
tiers-outcomes = 📈 Hasil stop hunt: { $on ->
    [yes] aktif, balasan senyap di bawah alert (✅ T1 tercapai / ❌ kena stop / ⌛ kedaluwarsa)
   *[no] mati
}
btn-tier-outcomes = { $on ->
    [yes] ✅ Hasil stop hunt
   *[no] ⬜ Hasil stop hunt
}

## sinyal
signals-no-watchlist = Daftar pantauan Anda kosong, jadi belum ada sinyal. <code>/add BTC</code>
signals-none = Belum ada sinyal untuk { $symbols }.
signals-title = <b>{ $count } sinyal terbaru</b>
signals-line = { $time } · { $badge } · { $kind } · <b>{ $symbol }</b> { $direction } · skor { $score }

## admin
admin-allow-usage = Contoh: <code>/allow 123456789</code> (ID pengguna Telegram berupa angka, atau ID chat grup seperti <code>-1001234567890</code>).
admin-deny-usage = Contoh: <code>/deny 123456789</code> (ID pengguna Telegram berupa angka, atau ID chat grup seperti <code>-1001234567890</code>).
admin-allowed = ✅ Pengguna { $user_id } sekarang boleh memakai bot. Minta mereka mengirim /start.
admin-already-allowed = Pengguna { $user_id } sudah diizinkan sebelumnya.
admin-denied = ⛔ Pengguna { $user_id } ditolak dan tidak menerima alert lagi.
admin-deny-admin = Pengguna { $user_id } adalah admin (ADMIN_IDS) dan tidak bisa ditolak di sini.
admin-users-title = <b>Pengguna</b>: { $total } terdaftar, { $active } aktif · akses { $access }
admin-users-line = <code>{ $user_id }</code> · { $role ->
    [admin] admin
   *[user] pengguna
} · { $language } · { $active ->
    [yes] aktif
   *[no] nonaktif (memblokir bot atau ditolak)
} · { $symbols } koin
admin-users-more = … dan { $more } lainnya
admin-users-allowed = Diizinkan, belum /start: { $ids }
admin-users-blocked = Ditolak: { $ids }
admin-broadcast-usage =
    Contoh: <code>/broadcast Pemeliharaan pukul 02:00 UTC</code> (chat pribadi: pengguna yang memulai bot).
    Juga ke grup yang berlangganan: <code>/broadcast +groups Pemeliharaan pukul 02:00 UTC</code>
admin-broadcast-body = 📣 { $text }
admin-broadcast-started = Mengirim ke { $count } pengguna aktif… (chat pribadi; grup hanya dengan <code>/broadcast +groups</code>)
admin-broadcast-started-groups = Mengirim ke { $count } pelanggan aktif… (chat pribadi dan grup)
admin-broadcast-done = 📣 Siaran selesai: { $sent } terkirim, { $failed } gagal.
admin-broadcast-unavailable = Siaran dikirim lewat pengiriman alert, yang tidak berjalan di proses ini.
health-title = 🩺 <b>Kesehatan</b> · aktif { $uptime }
health-feed = • <b>{ $name }</b> { $status } · lag { $lag } ms · pesan terakhir { $age } lalu · frame { $frames } · event { $events } · error parse { $errors } · sambung ulang { $reconnects }
health-feed-error =   error terakhir: { $error }
health-feed-silent = • <b>{ $name }</b> tidak melaporkan angka
health-no-feeds = • tidak ada feed yang berjalan
health-engine = Engine: event { $events } · { $rate }/dtk · antrean { $queue } · simbol { $symbols }
health-delivery = Pengiriman: antrean { $queue } · routing { $inbox } · sedang dikirim { $inflight } · sejak mulai: terkirim { $sent } (alert dan broadcast) · gagal { $failed } · diulang { $retried } · 429 { $limited }
health-delivery-outcomes = Jawaban Telegram: ok { $ok } · 5xx { $server } · bukan JSON { $undecodable } · tak terjangkau { $network } · timeout { $timeout } · 403 { $blocked } · 400 { $bad } · menyerah setelah batas waktu ulang { $expired } · edit { $edits } · balasan perintah { $replies } (diulang { $replies_retried })
health-latency = Alert terima→terkirim, satu jam terakhir: alert { $count } (broadcast tidak diukur) · p50 { $p50 } · p95 { $p95 } · p99 { $p99 }
health-delivery-stopped = ⚠️ Pengiriman tidak berjalan: alert menunggu di outbox.
health-delivery-error = Pengiriman: tidak ada angka ({ $error })
health-no-delivery = Pengiriman: belum terpasang
health-bot = Bot: update { $updates } · error { $errors } · error terakhir: { $last }

# pemberitahuan operasional untuk admin (bot/ops.py) dan insiden yang sama di /health
ops-feed-down = ⚠️ Feed <b>{ $feed }</b> sudah { $state } selama { $minutes } mnt: tidak ada data pasar darinya. Error terakhir: { $error }
ops-feed-recovered = ✅ Feed <b>{ $feed }</b> aktif lagi (insiden berlangsung { $minutes } mnt).
ops-engine-down = ⚠️ Engine tidak berjalan maju selama { $minutes } mnt ({ $queue } batch event menunggu). Watchdog me-restart layanan jika ini berlanjut.
ops-engine-recovered = ✅ Engine berjalan lagi (macet { $minutes } mnt).
ops-delivery-down = ⚠️ Pengiriman gagal selama { $minutes } mnt: tidak ada yang terkirim, { $retries } percobaan gagal, { $queued } alert dalam antrean. Alert tetap di outbox dan dikirim begitu Telegram menjawab lagi.
ops-delivery-recovered = ✅ Pengiriman berjalan lagi (gagal selama { $minutes } mnt).
ops-storage-down = ⚠️ Error database selama { $minutes } mnt: { $error }. Sinyal menunggu di memori dan dirouting begitu penyimpanan pulih.
ops-storage-recovered = ✅ Database berjalan lagi (error selama { $minutes } mnt).
health-incidents = Insiden:
health-engine-errors = Engine: ditolak { $rejected } ({ $reasons }) · event gagal { $failed } ({ $components })

## /stats: hasil sinyal sebelumnya
stats-title = 📈 <b>Hasil sinyal</b> · { $scope } · { $period }
stats-period-24h = 24 jam
stats-period-7d = 7 hari
stats-period-30d = 30 hari
stats-period-all = semua waktu
stats-scope-mine = peringatan Anda
stats-scope-all = semua sinyal
stats-no-watchlist = Daftar pantauan Anda kosong. <code>/add BTC</code>, atau lihat semua sinyal dengan <code>/stats all</code>.
stats-empty = Belum ada hasil pada periode ini. Hasil muncul saat sinyal selesai: stop hunt saat mencapai target, stop, atau kedaluwarsa; sinyal lain 5 menit sampai 1 jam setelah muncul.
stats-empty-open = Belum ada hasil pada periode ini; { $open } sinyal masih dipantau. Stop hunt selesai di target, stop, atau kedaluwarsa; sinyal lain 5 menit sampai 1 jam setelah muncul.
stats-line = <b>{ $name }</b>: { $count } · { $hit }
stats-hit = kena { $rate } (IK 95% { $low }–{ $high }%, { $hits }/{ $scored })
stats-hit-none = belum dinilai
stats-r = rata-rata { $avg } · terbaik { $best } · terburuk { $worst }
stats-open = Masih terbuka: { $open }
stats-footnote = <i>Kena: stop hunt mencapai T1 sebelum stop; sinyal lain bergerak searah lebih dari gerak biasa koin itu. Hasil lalu, bukan janji.</i>
stats-latency = Mesin, terima → sinyal (n={ $n }): p50 { $p50 } ms · p95 { $p95 } ms · p99 { $p99 } ms
stats-usage = “{ $value }” bukan koin, jenis, atau periode. Contoh: <code>/stats</code>, <code>/stats BTC 30d</code>, <code>/stats stophunt</code>, <code>/stats all 24h</code>

## groups and forum topics (issue 14)
cmd-topic = Admin grup: alert ke topik forum ini: /topic here
help-topic = /topic here | JENIS here | off — di grup forum: semua alert (atau satu jenis: stophunt, cascade, flow, whale, funding, divergence, volume) dikirim ke topik tempat Anda menulis ini, mis. <code>/topic stophunt here</code>, <code>/topic off</code>
group-help =
    <b>Di grup</b> grup adalah pelanggannya: satu watchlist, ambang, tier, mute, jam tenang, zona waktu, dan bahasa untuk semua orang di sini.
    Administrator grup (dan admin bot) yang mengubahnya; setiap anggota boleh membaca: /list, /flow, /signals, /stats.
start-group =
    👋 <b>TELEGLAS</b> sekarang ada di { $title }.
    Saya mengirim alert untuk koin yang dipantau grup ini: stop hunt, kaskade likuidasi, akumulasi whale, funding ekstrem.

    <b>Administrator grup</b> yang mengatur: <code>/add BTC ETH</code>, /thresholds, /tiers, /mute, /quiet, /tz, /lang, dan di forum <code>/topic here</code>.
    <b>Setiap anggota</b> boleh membaca: /list, /flow, /signals, /stats. /help menampilkan semuanya.
    Sinyal adalah informasi untuk keputusan Anda sendiri; saya tidak pernah melakukan trading.
group-stranger =
    🔒 Bot TELEGLAS ini privat.
    ID chat grup ini adalah <code>{ $chat_id }</code>. Minta admin bot menjalankan <code>/allow { $chat_id }</code>, atau minta pengguna yang diizinkan menambahkan bot atau mengirim /start di sini. (Saya mengatakan ini sekali, lalu diam di sini sampai saat itu.)
group-admins-only = 🔒 Hanya administrator grup ini yang dapat mengubah pengaturannya. Semua orang boleh membaca: /list, /flow, /signals, /stats. (Saya mengatakan ini sekali.)
group-admins-only-short = Hanya administrator grup ini yang dapat mengubah pengaturannya.
topic-not-forum = /topic berfungsi di grup bertopik (forum): alert lalu dapat dikirim ke topik pilihan.
topic-usage = Contoh: <code>/topic here</code> (semua alert ke topik ini), <code>/topic stophunt here</code>, <code>/topic off</code>. Jenis: { $routes }
topic-off = ✅ Rute topik mati: alert dikirim ke topik umum.
topic-set = ✅ Alert { $route } sekarang dikirim ke topik ini.
topic-set-general = ✅ Alert { $route } sekarang dikirim ke topik umum.
topic-all = Semua
topic-none = Alert dikirim ke topik umum. Tulis <code>/topic here</code> di sebuah topik untuk mengirimnya ke sana.
topic-title = <b>Topik alert</b>
topic-line = { $route } → topik { $thread }
topic-gone = ⚠️ Admin: topik tujuan alert (topik { $thread }) telah dihapus atau ditutup, jadi alert sekarang dikirim ke topik umum. Tulis <code>/topic here</code> di topik lain untuk memilih lagi.
