"""Providers, models and capabilities under /api/ (issue 5, item 4).

Any caller may read them; changing them needs the write scope (or a staff session). A
provider's secret goes in and never comes out. Deletes that rows still depend on are 409s
naming those rows (the services' Conflict).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import register_converter
from django.urls.converters import PathConverter
from ninja import Path, Query, Router, Status

from qfweb.errors import Conflict, FieldErrors, Forbidden, NotFound, QfError
from qfweb.schemas import errors
from routing.access import Caller, require_catalog_write
from routing.choices import Strength
from routing.models import Capability, Model, ModelCapability, Provider
from routing.schemas.catalog import (
    NAME,
    NO_NUL,
    CapabilityIn,
    CapabilityOut,
    CapabilityPage,
    CapabilityPatch,
    ModelFilters,
    ModelIn,
    ModelOut,
    ModelPage,
    ModelPatch,
    PageQuery,
    ProviderIn,
    ProviderOut,
    ProviderPage,
    ProviderPatch,
)
from routing.selectors import capability_find, provider_find, provider_found
from routing.services.catalog import (
    capability_delete,
    capability_upsert,
    model_delete,
    model_upsert,
    provider_delete,
    provider_upsert,
)
from routing.urlsafety import UnsafeURL, check_base_url

router = Router(tags=["catalog"])


class ModelNameConverter(PathConverter):
    """The rest of the path: model names may hold slashes (google/gemma-3-12b). Unlike
    `path`, it takes any character, so a name that cannot exist is a JSON 404 from the
    operation rather than Django's HTML page for an unmatched URL."""

    regex = r"[\s\S]+"


register_converter(ModelNameConverter, "model_name")
MODEL = "/models/{provider}/{model_name:name}"
MODEL_NAME = Path(..., max_length=200, pattern=NO_NUL)
WRITE = errors(400, 403, 404)


def _provider_or_none(name: str) -> Provider | None:
    try:
        return provider_find(name)
    except QfError:
        return None


def _found_model(provider: str, name: str) -> Model:
    model = Model.objects.filter(provider=provider_found(provider), name=name).first()
    if model is None:
        raise NotFound(f"unknown model {provider}:{name}", field="model")
    return model


def _found_capability(name: str) -> Capability:
    try:
        return capability_find(name)
    except QfError:
        raise NotFound(f"unknown capability {name!r}", field="capability") from None


# ---- providers ------------------------------------------------------------------------


def _provider_data(payload: ProviderPatch) -> tuple[dict[str, Any], str | None]:
    """The fields to set, and the secret: None keeps the stored one, "" removes it."""
    data = payload.model_dump(mode="json", exclude_unset=True, exclude={"name", "credential"})
    if "credential" not in payload.model_fields_set:
        return data, None
    return data, payload.credential.get_secret_value() if payload.credential else ""


def _check_private_network(caller: Caller, data: dict[str, Any], current: Provider | None) -> None:
    """Only a superuser may let a provider reach private addresses (RELIABILITY.md, SSRF
    control 2), and, as in the admin, other writers may not move a provider that a superuser
    allowed onto one private host to another private host (say 169.254.169.254)."""
    if caller.is_superuser:
        return
    if data.get("allow_private_network"):
        message = "only a superuser may let a provider reach private networks"
        raise Forbidden(message, field="allow_private_network")
    url = data.get("base_url")
    if not (current and current.allow_private_network and url):
        return
    try:
        check_base_url(url, allow_private_network=True)
    except UnsafeURL:
        return  # not a usable URL at all: Provider.clean() says why (422)
    try:
        check_base_url(url, allow_private_network=False)
    except UnsafeURL as exc:
        message = f"{url} {exc}; only a superuser may set a private address"
        raise Forbidden(message, field="base_url") from None


@router.get("/providers", response={200: ProviderPage, **errors()}, summary="List providers")
def provider_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    return page.of(Provider.objects.select_related("default_model"))


@router.post(
    "/providers",
    response={201: ProviderOut, **errors(400, 403, 409)},
    summary="Create a provider",
)
def provider_create(request: HttpRequest, payload: ProviderIn) -> Status[Provider]:
    require_catalog_write(request.auth)
    data, secret = _provider_data(payload)
    _check_private_network(request.auth, data, None)
    # By name or alias: upserting another provider's alias would change that provider.
    if _provider_or_none(payload.name) is not None:
        raise Conflict(f"provider {payload.name!r} exists; PATCH it instead", field="name")
    return Status(201, provider_upsert(name=payload.name, data=data, secret=secret).obj)


@router.get("/providers/{name}", response={200: ProviderOut, **errors(404)}, summary="One provider")
def provider_get(request: HttpRequest, name: str = NAME) -> Provider:
    return provider_found(name)


@router.patch(
    "/providers/{name}", response={200: ProviderOut, **WRITE}, summary="Change a provider"
)
def provider_update(request: HttpRequest, payload: ProviderPatch, name: str = NAME) -> Provider:
    require_catalog_write(request.auth)
    provider = provider_found(name)
    data, secret = _provider_data(payload)
    _check_private_network(request.auth, data, provider)
    return provider_upsert(name=provider.name, data=data, secret=secret).obj


@router.delete(
    "/providers/{name}",
    response={204: None, **errors(403, 404, 409)},
    summary="Delete a provider and its models",
)
def provider_remove(request: HttpRequest, name: str = NAME) -> Status[None]:
    require_catalog_write(request.auth)
    provider_delete(provider=provider_found(name))
    return Status(204, None)


# ---- models ---------------------------------------------------------------------------


def _models(filters: ModelFilters) -> QuerySet[Model]:
    links = ModelCapability.objects.select_related("capability")
    models = Model.objects.select_related("provider").prefetch_related(
        Prefetch("capabilities", queryset=links)
    )
    if filters.min_strength and not filters.capability:
        raise FieldErrors([QfError("needs a capability to compare with", field="min_strength")])
    if filters.capability:
        least = Strength.parse(filters.min_strength or "basic")
        models = models.filter(
            capabilities__capability__name=filters.capability, capabilities__strength__gte=least
        )
    if filters.modality:
        models = models.filter(modality=filters.modality)
    if filters.enabled is not None:
        models = models.filter(is_enabled=filters.enabled)
    if filters.provider:
        try:  # by name or alias, as in handles; an unknown one has no models
            models = models.filter(provider=provider_find(filters.provider))
        except QfError:
            return models.none()
    return models


@router.get(
    "/models",
    response={200: ModelPage, **errors()},
    summary="List models, by capability at a strength, modality, provider",
)
def model_list(request: HttpRequest, filters: Query[ModelFilters]) -> dict[str, Any]:
    return filters.of(_models(filters))


@router.post("/models", response={201: ModelOut, **errors(400, 403, 409)}, summary="Create a model")
def model_create(request: HttpRequest, payload: ModelIn) -> Status[Model]:
    require_catalog_write(request.auth)
    owner = _provider_or_none(payload.provider)  # unknown: model_upsert names the field
    if owner is not None and Model.objects.filter(provider=owner, name=payload.name).exists():
        message = f"model {owner.name}:{payload.name} exists; PATCH it instead"
        raise Conflict(message, field="name")
    data = payload.model_dump(mode="json", exclude_unset=True, exclude={"provider", "name"})
    return Status(201, model_upsert(provider=payload.provider, name=payload.name, data=data).obj)


@router.get(MODEL, response={200: ModelOut, **errors(404)}, summary="One model")
def model_get(request: HttpRequest, provider: str = NAME, name: str = MODEL_NAME) -> Model:
    return _found_model(provider, name)


@router.patch(MODEL, response={200: ModelOut, **WRITE}, summary="Change a model")
def model_update(
    request: HttpRequest, payload: ModelPatch, provider: str = NAME, name: str = MODEL_NAME
) -> Model:
    require_catalog_write(request.auth)
    model = _found_model(provider, name)
    data = payload.model_dump(mode="json", exclude_unset=True)
    return model_upsert(provider=model.provider.name, name=model.name, data=data).obj


@router.delete(
    MODEL,
    response={204: None, **errors(403, 404, 409)},
    summary="Delete a model",
)
def model_remove(
    request: HttpRequest, provider: str = NAME, name: str = MODEL_NAME
) -> Status[None]:
    require_catalog_write(request.auth)
    model_delete(model=_found_model(provider, name))
    return Status(204, None)


# ---- capabilities ---------------------------------------------------------------------


@router.get(
    "/capabilities", response={200: CapabilityPage, **errors()}, summary="List capabilities"
)
def capability_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    return page.of(Capability.objects.all())


@router.post(
    "/capabilities",
    response={201: CapabilityOut, **errors(400, 403, 409)},
    summary="Create a capability",
)
def capability_create(request: HttpRequest, payload: CapabilityIn) -> Status[Capability]:
    require_catalog_write(request.auth)
    if Capability.objects.filter(name=payload.name).exists():
        raise Conflict(f"capability {payload.name!r} exists; PATCH it instead", field="name")
    data = payload.model_dump(mode="json", exclude_unset=True, exclude={"name"})
    return Status(201, capability_upsert(name=payload.name, data=data).obj)


@router.get(
    "/capabilities/{name}", response={200: CapabilityOut, **errors(404)}, summary="One capability"
)
def capability_get(request: HttpRequest, name: str = NAME) -> Capability:
    return _found_capability(name)


@router.patch(
    "/capabilities/{name}", response={200: CapabilityOut, **WRITE}, summary="Change a capability"
)
def capability_update(
    request: HttpRequest, payload: CapabilityPatch, name: str = NAME
) -> Capability:
    require_catalog_write(request.auth)
    capability = _found_capability(name)
    data = payload.model_dump(mode="json", exclude_unset=True)
    return capability_upsert(name=capability.name, data=data).obj


@router.delete(
    "/capabilities/{name}",
    response={204: None, **errors(403, 404, 409)},
    summary="Delete a capability",
)
def capability_remove(request: HttpRequest, name: str = NAME) -> Status[None]:
    require_catalog_write(request.auth)
    capability_delete(capability=_found_capability(name))
    return Status(204, None)
