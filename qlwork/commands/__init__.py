"""One module per ``qlwork`` sub-command; each defines ``register(subparsers)``."""
