"""Device drivers: the driver contract, the registry, transports, framers and simulators.

Never imports `edge` or `agent`.
"""
