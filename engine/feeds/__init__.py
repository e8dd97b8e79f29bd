"""Feeds: the I/O edge. Per-venue parse functions turn raw frames into normalised events."""
