from django.urls import path

from workloads import consumers, live_bus

websocket_urlpatterns = [
    path("ws/live/", live_bus.guard(consumers.LiveConsumer.as_asgi())),
]
