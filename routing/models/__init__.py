from routing.models.budgets import BudgetAlert
from routing.models.catalog import Capability, Model, ModelCapability, Provider
from routing.models.health import HealthCheck
from routing.models.reports import CostReport, DailyRollup, ReportPeriod
from routing.models.tasks import Default, Task, TaskFallback, TaskRequirement
from routing.models.usage import Attempt, Generation

__all__ = [
    "Attempt",
    "BudgetAlert",
    "Capability",
    "CostReport",
    "DailyRollup",
    "Default",
    "Generation",
    "HealthCheck",
    "Model",
    "ModelCapability",
    "Provider",
    "ReportPeriod",
    "Task",
    "TaskFallback",
    "TaskRequirement",
]
