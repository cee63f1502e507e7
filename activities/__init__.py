"""Every side effect of slaflow: database, email, Slack, calendars. Never imported by workflows."""
