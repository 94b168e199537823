"""The persona store's operations under /api/ (STYLE B-11): one module per subject."""

from ninja import Router

from personas.api import generate, keys, personas, scenarios

router = Router()
for module in (generate, personas, scenarios, keys):
    router.add_router("", module.router)
