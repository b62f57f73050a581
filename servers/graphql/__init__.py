"""The GraphQL demo server: ``POST/GET /graphql`` (:mod:`.endpoint`) and ``WS /graphql``
(:mod:`.ws`) over one schema (:mod:`.schema`), seeded data (:mod:`.data`), an in-process
pub/sub (:mod:`.pubsub`), presence (:mod:`.presence`), persisted queries (:mod:`.apq`) and
abuse limits (:mod:`.limits`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route, WebSocketRoute

from servers.graphql.endpoint import GraphQLEndpoint
from servers.graphql.schema import GraphQLApp, build_schema
from servers.graphql.ws import GraphQLWebSocket

if TYPE_CHECKING:
    from servers.app import Server

PATH = "/graphql"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # all answered in GraphQL JSON (405)


def routes(server: Server | None = None, app: GraphQLApp | None = None) -> list[BaseRoute]:
    """Both halves of /graphql, sharing one schema, store and pub/sub."""
    app = app or GraphQLApp()
    schema = build_schema()
    return [
        Route(PATH, GraphQLEndpoint(schema, app).handle, methods=list(METHODS)),
        WebSocketRoute(PATH, GraphQLWebSocket(schema, app)),
    ]


__all__ = ["GraphQLApp", "build_schema", "routes"]
