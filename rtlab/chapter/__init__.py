"""Python ports of the chapter's Dart code, mistakes kept on purpose.

Only the notebooks' Pitfalls sections use these: each module's docstring lists
the mistakes it reproduces, and the course shows the fixed version beside it.
"""

from rtlab.chapter.graphql_config import ChapterGraphQLConfig, ChapterSecureStorage
from rtlab.chapter.graphql_operations import ChapterUserProfile
from rtlab.chapter.socketio_service import ChapterCollaborationManager, ChapterSocketIOService
from rtlab.chapter.sse_parser import ChapterSSEEvent, ChapterSSEParser, ChapterSSEService
from rtlab.chapter.subscriptions import (
    ChapterMultiSubscriptionManager,
    ChapterResult,
    chat_builder,
    notification_builder,
)
from rtlab.chapter.websocket_service import ChapterWebSocketService

__all__ = [
    "ChapterCollaborationManager",
    "ChapterGraphQLConfig",
    "ChapterMultiSubscriptionManager",
    "ChapterResult",
    "ChapterSSEEvent",
    "ChapterSSEParser",
    "ChapterSSEService",
    "ChapterSecureStorage",
    "ChapterSocketIOService",
    "ChapterUserProfile",
    "ChapterWebSocketService",
    "chat_builder",
    "notification_builder",
]
