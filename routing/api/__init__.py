"""Routing's operations under /api/ (STYLE B-11): one module per subject."""

from ninja import Router

from routing.api import catalog, health, reports, tasks, usage

router = Router()
for module in (catalog, health, tasks, usage, reports):
    router.add_router("", module.router)
