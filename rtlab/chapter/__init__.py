"""Python ports of the chapter's Dart code, mistakes kept on purpose.

Only the notebooks' Pitfalls sections use these: each module's docstring lists
the mistakes it reproduces, and the course shows the fixed version beside it.
"""

from rtlab.chapter.websocket_service import ChapterWebSocketService

__all__ = ["ChapterWebSocketService"]
