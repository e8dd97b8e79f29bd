"""Pure detectors: events and per-symbol state in, Findings out. No I/O, no wall clock."""
from .cascade import CascadeDetector
from .divergence import DivergenceDetector
from .funding import FundingDetector, normalize_funding
from .orderflow import OrderFlowDetector
from .stophunt import StopHuntDetector
from .whale import WhaleWindowDetector

__all__ = ["CascadeDetector", "DivergenceDetector", "FundingDetector", "OrderFlowDetector",
           "StopHuntDetector", "WhaleWindowDetector", "normalize_funding"]
