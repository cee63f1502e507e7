"""Local stand-ins for the outside world (SMTP server, Slack Web API) for development and tests.

Nothing here runs in production: the stand-ins exist so every notification path can be exercised
over real SMTP and HTTP on 127.0.0.1 without the internet.
"""
