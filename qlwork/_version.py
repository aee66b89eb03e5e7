"""The package version (its own module: importable even when ``qlwork`` resolves as a namespace
portion, e.g. next to an empty ``qlwork/`` folder in a project root)."""
__version__ = "0.1.0"
