"""Memory planning: which bytes of the one static arena each activation occupies, and when.

driver.py runs the steps below in order (schedule -> patches -> kernel variants -> placement);
schedule.py picks the node order with the smallest peak (a pass run before planning);
liveness.py extracts buffers (size, first and last step) from the scheduled graph;
algorithms.py holds interchangeable placement algorithms (name -> function, one signature);
planner.py runs them, keeps the best, reports the arena size beside the live-set lower bound
and enforces a RAM budget; picture.py draws the arena over time as SVG.
"""

from .driver import plan_graph
from .planner import MemoryBudgetError, MemoryPlan, plan_memory
from .schedule import Schedule, schedule_nodes

__all__ = ["MemoryBudgetError", "MemoryPlan", "Schedule", "plan_graph", "plan_memory", "schedule_nodes"]
