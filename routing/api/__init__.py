"""Routing's operations under /api/ (STYLE B-11): one module per subject."""

from ninja import Router

from routing.api import catalog, tasks, usage

router = Router()
for module in (catalog, tasks, usage):
    router.add_router("", module.router)
