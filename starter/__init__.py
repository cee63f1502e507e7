"""Entry points that start and talk to workflows: the HTTP API, Slack interactions, the CLI."""
