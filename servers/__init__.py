"""rtlab's demo servers: one ASGI app in one uvicorn process (``python -m servers``)."""
