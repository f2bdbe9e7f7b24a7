"""GET /v1/models and /v1/models/<id>: the enabled agents, as models named `openclaw:<slug>`
(the gateway token, as for completions)."""

from channels.db import database_sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from agents.models import Agent
from gateway.httpapi import openai_shapes as shapes
from gateway.httpapi.auth import api_authorised
from gateway.httpapi.chat_request import BadRequest, agent_of

UNAUTHORISED = "Send the gateway token as `Authorization: Bearer <token>`."


def enabled_agents() -> list[tuple[str, int]]:
    """(slug, created as a Unix time) of every enabled agent, by slug."""
    found = Agent.objects.filter(enabled=True).order_by("slug").values_list("slug", "created_at")
    return [(slug, int(created.timestamp())) for slug, created in found]


@require_GET
async def list_models(request: HttpRequest) -> HttpResponse:
    if not api_authorised(request):
        return shapes.error(401, UNAUTHORISED, code="invalid_api_key")
    agents = await database_sync_to_async(enabled_agents)()
    data = [shapes.model_entry(slug, created) for slug, created in agents]
    return JsonResponse({"object": "list", "data": data})


@require_GET
async def get_model(request: HttpRequest, model: str) -> HttpResponse:
    if not api_authorised(request):
        return shapes.error(401, UNAUTHORISED, code="invalid_api_key")
    try:
        slug = agent_of(model, "")
    except BadRequest as bad:
        return shapes.error(bad.status, bad.message, code=bad.code, param=bad.param)
    for known, created in await database_sync_to_async(enabled_agents)():
        if known == slug:
            return JsonResponse(shapes.model_entry(slug, created))
    return shapes.error(404, f"The model {model!r} does not exist.", code="model_not_found")
