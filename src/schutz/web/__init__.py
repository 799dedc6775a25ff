"""The HTTP edge: FastAPI routes and server-rendered pages."""
