"""One router per resource: tickets, the agreement, health."""
