"""WebSocket routes."""

from django.urls import path

from gateway.consumers import GatewayConsumer

websocket_urlpatterns = [path("ws/gateway/", GatewayConsumer.as_asgi())]
