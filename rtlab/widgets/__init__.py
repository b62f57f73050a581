"""rtlab's views: ipywidgets that follow a client's timeline (they never drive the client).

Every widget carries a CSS class ``rtlab-<name>``, a ``text()`` rendering
that doubles as its ``text/plain`` output, throttled redraws (about 10 Hz,
on the kernel's asyncio loop only) and bounded history.
"""

from . import svg
from .backoff_view import BackoffTimeline
from .base import TextFallback, TimelineHTML, timeline_of
from .cache_view import CacheView
from .chaos_panel import ChaosPanel
from .classroom_view import ClassroomView
from .cursors import Cursors
from .decision import DecisionHelper
from .framelog import FrameLog
from .layout import side_by_side
from .messages import MessageList, short
from .pill import StatusPill
from .query_view import QueryView
from .subscription_views import ChatRoomView, NotificationList, PresenceCount, SubscriptionFeed
from .svg import bin_counts, histogram, lanes, outages_chart, state_diagram
from .throttle import Throttle, ThrottledRedraw
from .transport_pill import TransportPill
from .wire_meter import WireMeter

__all__ = [
    "BackoffTimeline",
    "CacheView",
    "ChatRoomView",
    "ChaosPanel",
    "ClassroomView",
    "Cursors",
    "DecisionHelper",
    "FrameLog",
    "MessageList",
    "NotificationList",
    "PresenceCount",
    "QueryView",
    "StatusPill",
    "SubscriptionFeed",
    "TextFallback",
    "Throttle",
    "ThrottledRedraw",
    "TransportPill",
    "TimelineHTML",
    "WireMeter",
    "bin_counts",
    "histogram",
    "lanes",
    "outages_chart",
    "short",
    "side_by_side",
    "state_diagram",
    "svg",
    "timeline_of",
]
