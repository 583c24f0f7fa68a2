from django.urls import path

from workloads.live import bus as live_bus
from workloads.live import consumers
from workloads.logs import consumers as logs_consumers

websocket_urlpatterns = [
    path("ws/live/", live_bus.guard(consumers.LiveConsumer.as_asgi())),
    # Logs stream from the cluster through this process, not through Redis: no bus to guard.
    path("ws/logs/", logs_consumers.LogConsumer.as_asgi()),
]
