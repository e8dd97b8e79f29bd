import pytest

from engine.symbols import Instrument, SymbolError, normalize_symbol, parse_instrument

GOOD = [
    ("btc", "BTC", 1),
    ("BTC", "BTC", 1),
    ("BTCUSDT", "BTC", 1),
    ("btcusdt", "BTC", 1),
    ("BTC-USDT-SWAP", "BTC", 1),
    ("BTC/USDT", "BTC", 1),
    ("btc-usdt", "BTC", 1),
    ("BTC_USDT", "BTC", 1),
    ("BTCUSD_PERP", "BTC", 1),
    ("BTC-USD", "BTC", 1),
    ("ETHUSDC", "ETH", 1),
    (" eth ", "ETH", 1),
    ("1000PEPEUSDT", "PEPE", 1000),
    ("1000PEPE", "PEPE", 1000),
    ("PEPE", "PEPE", 1),
    ("PEPE-USDT-SWAP", "PEPE", 1),
    ("1000000MOGUSDT", "MOG", 1_000_000),
    ("1MBABYDOGEUSDT", "BABYDOGE", 1_000_000),
    ("10000SATSUSDT", "SATS", 10_000),
    ("1INCHUSDT", "1INCH", 1),  # not a multiplier: the coin is called 1INCH
    ("SOLUSDT", "SOL", 1),
]


@pytest.mark.parametrize(("text", "base", "mult"), GOOD)
def test_spellings_normalise_to_one_coin(text, base, mult):
    assert parse_instrument(text) == Instrument(base, mult)
    assert normalize_symbol(text) == base


BAD = ["", "   ", "USDT", "usdt", "BTC-EUR", "'; DROP TABLE users;--", "🚀", "BTC$", "12345",
       "A" * 40, "BTC-USDT-SWAP-XYZ", "../etc", "1000"]


@pytest.mark.parametrize("text", BAD)
def test_garbage_is_rejected(text):
    with pytest.raises(SymbolError):
        normalize_symbol(text)


def test_non_text_is_rejected():
    with pytest.raises(SymbolError):
        parse_instrument(None)  # type: ignore[arg-type]


def test_a_unit_is_named_as_the_venues_spell_it_and_parses_back():
    from engine.symbols import unit_name

    assert unit_name(1000, "PEPE") == "1000PEPE"
    assert unit_name(1_000_000, "BABYDOGE") == "1MBABYDOGE"
    assert unit_name(1, "BTC") == "BTC"
    for mult, base in ((1000, "PEPE"), (1_000_000, "BABYDOGE")):  # the parsers strip what it adds
        assert normalize_symbol(unit_name(mult, base) + "USDT") == base
