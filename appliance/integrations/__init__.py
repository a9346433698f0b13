"""Outbound integrations: the outbox, its worker, and the connectors it delivers to."""
