"""Pure detectors: events and per-symbol state in, Findings out. No I/O, no wall clock."""
from .cascade import CascadeDetector

__all__ = ["CascadeDetector"]
