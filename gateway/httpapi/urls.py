"""Routes of the HTTP API (mounted at /v1/ when OPENCLAW_HTTP_API is on) and of the hooks
(mounted at /hooks/ when OPENCLAW_HOOKS_TOKEN is set); see openclaw/urls.py."""

from django.urls import path

from gateway.httpapi import completions, hooks, model_list

v1 = [
    path("chat/completions", completions.chat_completions, name="v1-chat-completions"),
    path("models", model_list.list_models, name="v1-models"),
    path("models/<str:model>", model_list.get_model, name="v1-model"),
]

hook_routes = [
    path("agent", hooks.agent_hook, name="hooks-agent"),
    path("wake", hooks.wake_hook, name="hooks-wake"),
]
