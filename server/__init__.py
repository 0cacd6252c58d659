"""The daiban API server: Litestar app, Piccolo tables and migrations, routes, jobs."""
