"""Enumerations shared by the routing models, the resolver and the interfaces."""
from __future__ import annotations

from django.db import models


class Modality(models.TextChoices):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"


class Strength(models.IntegerChoices):
    """Ordered, so `strength >= Strength.STRONG` reads as it should (source document 002)."""

    NONE = 0
    BASIC = 1
    MODERATE = 2
    STRONG = 3
    EXCEPTIONAL = 4

    @classmethod
    def parse(cls, value: str | int) -> Strength:
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        if isinstance(value, str) and value.upper() in cls.names:
            return cls[value.upper()]
        raise ValueError(f"unknown strength {value!r}; expected one of {', '.join(cls.labels_lower())}")

    @classmethod
    def labels_lower(cls) -> list[str]:
        return [name.lower() for name in cls.names]


class CapabilityCategory(models.TextChoices):
    OPERATIONAL = "operational"
    TASK = "task"
    DOMAIN = "domain"


class Strategy(models.TextChoices):
    FAILOVER = "failover"
    ROUND_ROBIN = "round_robin"
    COST_OPTIMIZED = "cost_optimized"
    LOWEST_LATENCY = "lowest_latency"
    WEIGHTED = "weighted"
    CAPABILITY = "capability"


class HealthState(models.TextChoices):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"
    CREDENTIAL_INVALID = "credential_invalid"
    MODEL_MISSING = "model_missing"


class GenerationStatus(models.TextChoices):
    PENDING = "pending"
    OK = "ok"
    OK_AFTER_FALLBACK = "ok_after_fallback"
    FAILED = "failed"
    FAILED_MID_STREAM = "failed_mid_stream"
    CLIENT_DISCONNECTED = "client_disconnected"


class AttemptOutcome(models.TextChoices):
    OK = "ok"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    HTTP_ERROR = "http_error"
    RATE_LIMITED = "rate_limited"
    RATE_LIMITED_LOCALLY = "rate_limited_locally"
    CIRCUIT_OPEN = "circuit_open"
    BAD_RESPONSE = "bad_response"
    AUTH = "auth"
    UNKNOWN_MODEL = "unknown_model"
    BAD_REQUEST = "bad_request"
    CANCELLED = "cancelled"
