"""Monthly cost of a stack from its evaluated resources: price table, pricing rules, budget check.

Pure Python, no Pulumi engine and no network: ``make cost`` (scripts/cost.py) and the policy pack's
``stack-monthly-budget`` guard import the same code, so a preview fails on exactly the figure
``make cost`` prints.
"""

from .budget import DEFAULT_BUDGETS, Budget, budget_for_stack, over_budget
from .estimate import Estimate, Item, Line, estimate
from .prices import PRICES, Price

__all__ = [
    "DEFAULT_BUDGETS",
    "PRICES",
    "Budget",
    "Estimate",
    "Item",
    "Line",
    "Price",
    "budget_for_stack",
    "estimate",
    "over_budget",
]
