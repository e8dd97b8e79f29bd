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
side-word = { $side ->
    [BUY] beli
   *[SELL] jual
}
flow-mood = { $direction ->
    [LONG] BULLISH
    [SHORT] BEARISH
   *[NEUTRAL] CAMPURAN
}
alert-headline = { $badge } · <b>{ $kind } — { $symbol }</b>
alert-cascade-body =
    { $status ->
        [ended] ⏹ <b>Selesai</b> setelah { $duration } dtk
       *[in_progress] ⏳ <b>Sedang berlangsung</b> — pesan ini diperbarui selama kaskade membesar
    }
    Terlikuidasi dalam { $window } dtk: <b>{ $total }</b> ({ $share } { $flushed })
    Long: { $long_usd } · Short: { $short_usd } · { $count } order
    Rentang tersapu (harga transaksi): { $zone_low } – { $zone_high }
    Tekanan: <b>{ $pressure ->
        [UP] NAIK
       *[DOWN] TURUN
    }</b> — { $flushed } { $pressure ->
        [UP] dibeli paksa
       *[DOWN] dijual paksa
    }
    { $status ->
        [ended] Belum ada absorpsi — tidak ada setup.
       *[in_progress] Bukan sinyal trading: setup { $setup } hanya jika absorpsi menyusul (peringatan stop hunt akan membalas di sini).
    }
alert-stophunt-body =
    Likuidasi: <b>{ $total }</b> { $flushed } tersapu
    Zona hunt (harga transaksi): { $zone_low } – { $zone_high }
    Absorpsi: { $absorb_usd } { $absorb_side } ({ $absorb_share } volume taker), { $large_count } order besar ≥ { $whale }
    Direbut kembali: { $reclaim } dari zona

    ✅ <b>Setup { $direction }</b>
    Sekarang: { $price }
    Entry: { $entry_low } – { $entry_high } ({ $entry_dist })
    SL: { $stop } ({ $stop_dist }, { $stop_where } titik ekstrem transaksi)
    Target: { $targets }
    Berlaku sampai { $expires }
alert-quoted-levels = Dalam { $unit } ({ $venues }): entry { $entry_low } – { $entry_high } · SL { $stop } · target { $targets }
alert-flow-body =
    Analisis { $window }:
    Volume beli: <b>{ $buy_usd }</b> ({ $buy_share })
    <code>{ $buy_bar }</code>
    Volume jual: <b>{ $sell_usd }</b> ({ $sell_share })
    <code>{ $sell_bar }</code>
    Beli besar: { $large_buys } order ≥ { $whale }
    Jual besar: { $large_sells } order ≥ { $whale }
    Delta bersih: <b>{ $net_delta }</b> ({ $mood })
    Harga: { $price } · VWAP { $vwap }
    Arah: <b>{ $direction }</b>
alert-whale-body =
    <b>{ $count } order { $side } besar</b> (masing-masing ≥ { $whale }) dalam { $window } dtk, total { $cluster_usd }
    Sisi lawan: { $opposite } order besar · laju biasa: { $baseline } per menit per sisi
    Harga: { $price }
    Arah: <b>{ $direction }</b>
alert-funding-body =
    Funding (per 8 jam): rata-rata <b>{ $rate }</b>, paling ekstrem { $max_rate }
    { $by_venue }
    { $who }
    Arah: <b>{ $direction }</b>
funding-who = { $direction ->
    [SHORT] Posisi long terlalu ramai dan membayar short.
   *[LONG] Posisi short terlalu ramai dan membayar long.
}
alert-divergence-price-body =
    { $venue_high } { $price_high } vs { $venue_low } { $price_low }
    Selisih <b>{ $bps } bps</b> selama { $duration } dtk (terlebar { $max_bps } bps)
    Perhatikan celahnya menutup; arus arbitrase bisa menggerakkan keduanya.
alert-divergence-flow-body =
    Bursa tidak sepakat siapa yang menguasai (5 menit):
    { $venue_high } beli taker { $share_high } · { $venue_low } beli taker { $share_low }
alert-spike-body =
    Menit terakhir: <b>{ $volume }</b> — { $ratio }× dari biasanya { $baseline } per menit
    Beli { $buy_share } <code>{ $buy_bar }</code>
    Order besar: { $large_buys } beli · { $large_sells } jual
    Harga: { $price }
    Arah: <b>{ $direction }</b>
alert-score = Skor: <b>{ $score }/100</b> (peringkat, bukan probabilitas)
alert-calibrated = Sinyal serupa sebelumnya: { $rate } kena ({ $n } diperiksa)
alert-reasons = Alasan: { $reasons }
alert-confluence = Sejalan dengan: { $kinds }
alert-venues = Bursa: { $venues }
alert-time = Waktu kejadian: { $time }
alert-upgrade = ⬆️ Pembaruan dari alert kaskade sebelumnya
alert-binance-caveat = ⚠️ Binance hanya mengirim satu likuidasi per simbol per detik: total likuidasi dari Binance adalah batas bawah.
stop-below = di bawah
stop-above = di atas

## names of score components
reason-cascade-size = ukuran kaskade
reason-dominance = satu arah
reason-multi-venue = beberapa bursa
reason-absorption = absorpsi
reason-large-orders = order besar
reason-reclaim = zona direbut kembali
reason-flow-share = porsi beli/jual
reason-whale-imbalance = whale di satu sisi
reason-timeframes-agree = timeframe sejalan
reason-heavy-volume = volume besar
reason-price-confirms = harga mengonfirmasi
reason-volume-ratio = volume vs biasanya
reason-one-sided = satu arah
reason-whale-cluster = kluster whale
reason-cluster-size = ukuran order
reason-funding-level = level funding
reason-venues-agree = bursa sepakat
reason-price-gap = selisih harga
reason-persistence = bertahan lama
reason-flow-gap = selisih arus
reason-confluence = sinyal lain sejalan
