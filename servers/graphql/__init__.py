"""The GraphQL demo server: ``POST/GET /graphql`` (:mod:`.endpoint`) and ``WS /graphql``
(:mod:`.ws`) over one schema (:mod:`.schema`), seeded data (:mod:`.data`), an in-process
pub/sub (:mod:`.pubsub`), presence (:mod:`.presence`), persisted queries (:mod:`.apq`),
HTTP caching of GET answers (:mod:`.httpcache`) and abuse limits (:mod:`.limits`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from servers.graphql.endpoint import GraphQLEndpoint
from servers.graphql.schema import GraphQLApp, build_schema
from servers.graphql.ws import GraphQLWebSocket

if TYPE_CHECKING:
    from servers.app import Server

PATH = "/graphql"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # all answered in GraphQL JSON (405)
#: Answers of at least this many bytes are gzipped for clients that accept gzip (zlib's
#: default level 6: most of level 9's saving for much less CPU).
GZIP = Middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)


def routes(server: Server | None = None, app: GraphQLApp | None = None) -> list[BaseRoute]:
    """Both halves of /graphql, sharing one schema, store and pub/sub (through the broker
    when there is one; each worker keeps its own store, numbering new records apart)."""
    if app is None:
        app = GraphQLApp()
        broker = getattr(server, "broker", None)
        if broker is not None:
            from servers.broker.pubsub import RedisPubSub

            app.pubsub = RedisPubSub(broker)
            app.store.interleave_ids(broker.worker, broker.workers)
    schema = build_schema()
    return [
        Route(PATH, GraphQLEndpoint(schema, app).handle, methods=list(METHODS), middleware=[GZIP]),
        WebSocketRoute(PATH, GraphQLWebSocket(schema, app)),
    ]


__all__ = ["GraphQLApp", "build_schema", "routes"]
