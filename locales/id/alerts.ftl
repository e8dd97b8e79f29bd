## Teks alert (HTML Telegram). Setiap $argumen sudah di-escape HTML.

tier-badge = { $tier ->
    [URGENT] 🚨 URGENT
    [WATCH] 👀 PANTAU
   *[INFO] ℹ️ INFO
}
direction-word = { $direction ->
    [LONG] LONG
    [SHORT] SHORT
   *[NEUTRAL] NETRAL
}
kind-name = { $kind ->
    [STOP_HUNT] STOP HUNT
    [LIQUIDATION_CASCADE] KASKADE LIKUIDASI
    [ACCUMULATION] AKUMULASI WHALE
    [DISTRIBUTION] DISTRIBUSI WHALE
    [WHALE_WINDOW] JENDELA WHALE
    [FUNDING_EXTREME] FUNDING EKSTREM
    [DIVERGENCE] DIVERGENSI ANTAR-BURSA
   *[VOLUME_SPIKE] LONJAKAN VOLUME
}
position-word = { $position ->
    [LONG] posisi long
   *[SHORT] posisi short
}
alert-headline = { $badge } · <b>{ $kind } — { $symbol }</b>
alert-cascade-body =
    Terlikuidasi dalam { $window } dtk: <b>{ $total }</b> ({ $share } { $flushed })
    Long: { $long_usd } · Short: { $short_usd } · { $count } order
    Rentang tersapu: { $zone_low } – { $zone_high }
    Arah: <b>{ $direction }</b> — tunggu absorpsi sebelum entry
alert-stophunt-body =
    Likuidasi: <b>{ $total }</b> { $flushed } tersapu
    Zona hunt: { $zone_low } – { $zone_high }
    Absorpsi: { $absorb_usd } { $absorb_side } dalam { $large_count } order besar

    ✅ <b>Setup { $direction }</b>
    Entry: { $entry_low } – { $entry_high }
    SL: { $stop } ({ $stop_where } zona hunt)
    Target: { $targets }
    Berlaku sampai { $expires }
alert-generic-body = { $details }
alert-score = Skor: <b>{ $score }/100</b> (peringkat, bukan probabilitas)
alert-reasons = Alasan: { $reasons }
alert-venues = Bursa: { $venues }
alert-time = Waktu event: { $time }
alert-upgrade = ⬆️ Pembaruan dari alert kaskade sebelumnya
alert-binance-caveat = ⚠️ Binance hanya mengirim satu likuidasi per simbol per detik: total likuidasi dari Binance adalah batas bawah.
stop-below = di bawah
stop-above = di atas

## names of score components
reason-cascade-size = ukuran kaskade
reason-long-dominance = satu arah (long)
reason-short-dominance = satu arah (short)
reason-multi-venue = beberapa bursa
