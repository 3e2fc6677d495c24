"""Local API on loopback: health, devices, records, Server-Sent Events, Prometheus metrics."""
