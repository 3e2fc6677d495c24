"""midas-edge daemon core: config, records, store, pipeline, normalizers, local API, CLI."""

__version__ = "0.1.0"
