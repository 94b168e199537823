from routing.models.budgets import BudgetAlert
from routing.models.catalog import Capability, Model, ModelCapability, Provider
from routing.models.health import HealthCheck
from routing.models.tasks import Default, Task, TaskFallback, TaskRequirement
from routing.models.usage import Attempt, Generation

__all__ = [
    "Attempt",
    "BudgetAlert",
    "Capability",
    "Default",
    "Generation",
    "HealthCheck",
    "Model",
    "ModelCapability",
    "Provider",
    "Task",
    "TaskFallback",
    "TaskRequirement",
]
