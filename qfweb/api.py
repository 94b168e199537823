"""The REST API under /api/ (django-ninja): authentication, the error shape, the routers.

Every error is `{"error": {"code", "message", "field", "errors", "request_id", ...}}` with the
status `qfweb.problems` decides; the request id is also the `X-Request-ID` header.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from personas.auth import api_auth
from qfweb.middleware import request_id_of
from qfweb.problems import RENDERED, Problem, api_body, problem_of
from qfweb.schemas import errors
from routing.access import Caller
from routing.schemas import CallerOut

api = NinjaAPI(
    title="qfweb",
    version="1",
    description=(
        "Run generations as a persona or for a task, explain which models serve them, manage "
        "the store and read usage. Authenticate with `Authorization: Bearer qf_...`."
    ),
    urls_namespace="api",
    auth=api_auth,
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def render_problem(request: HttpRequest, problem: Problem) -> HttpResponse:
    response = api.create_response(request, api_body(problem, request_id_of(request)), status=problem.status)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """A path under /api/ that names no operation: JSON, like every answer here."""
    return render_problem(request, Problem(404, "not_found", "no such operation"))


def on_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    return render_problem(request, problem_of(exc))


for _error in RENDERED:
    api.add_exception_handler(_error, on_error)


@api.get("/me", response={200: CallerOut, **errors()}, tags=["keys"], summary="What this key may do")
def me(request: HttpRequest) -> Caller:
    return request.auth


api.add_router("/", "personas.api.router")
api.add_router("/", "routing.api.router")
