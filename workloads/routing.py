from django.urls import path

from workloads import consumers
from workloads.logs import consumers as logs_consumers

websocket_urlpatterns = [
    path("ws/live/", consumers.LiveConsumer.as_asgi()),
    path("ws/logs/", logs_consumers.LogConsumer.as_asgi()),
]
