"""Routing's operations under /api/ (STYLE B-11): one module per subject."""

from ninja import Router

router = Router()
