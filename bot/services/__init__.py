"""The services: fetching, storing and scoring, posting, card state, watches and health.

Nothing here imports slack_sdk or slack_bolt; Slack is reached through `chat.ChatBackend`.
"""
