"""``GET /_classroom/stats``: the class live, for the instructor's token only.

Answers ``{"protocols": {"ws": {"connections": n, "clients": {id: n}}, ...}, "clients": [ids],
"connections": n, "seen": {id: seconds since its last request}, "messages_per_second":
{"in": n, "out": n}, "herd": {"cause", "seconds_ago", "bucket_ms": 100, "attempts": [per
bucket], "total", "busiest"} | null, "limits": {...}}``; a student's token gets 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.routing import Route

from servers import protocols
from servers.classroom.members import INSTRUCTOR
from servers.httpjson import JSONResponse
from servers.transport import ROLE_KEY

if TYPE_CHECKING:
    from servers.app import Server

PREFIX = protocols.prefix("classroom")


def routes(server: Server) -> list[Route]:
    room = server.classroom
    if room is None:
        return []

    async def stats(request: Request) -> JSONResponse:
        if request.scope.get(ROLE_KEY) != INSTRUCTOR:
            return JSONResponse({"error": "the classroom's stats need the instructor token",
                                 "code": "INSTRUCTOR_ONLY"}, status_code=403)
        return JSONResponse(room.stats())

    return [Route(f"{PREFIX}/stats", stats, methods=["GET"])]
