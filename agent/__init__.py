"""Forwarding agent: sinks (NAS, regional server), delivery scheduling, record signing."""
