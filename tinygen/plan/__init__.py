"""Memory planning: which bytes of the one static arena each activation occupies, and when.

liveness.py extracts buffers (size, first and last step) from a scheduled graph; algorithms.py
holds interchangeable placement algorithms (name -> function, one signature); planner.py runs
them, keeps the best, and reports the arena size beside the live-set lower bound.
"""

from .planner import MemoryPlan, plan_memory

__all__ = ["MemoryPlan", "plan_memory"]
