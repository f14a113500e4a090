"""Slack: Block Kit builders, the chat backends, the Web API clients and the HTTP server."""
