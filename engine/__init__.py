"""TELEGLAS streaming core: feeds (I/O edge), normalised events, state, detectors, signals."""
