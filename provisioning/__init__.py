"""Technician tooling: discovery, configuration, identity, installation and self-test."""
