"""The ``pgy`` command: thin commands over the layers.

Machine-readable output goes to stdout, messages to stderr, and failures exit non-zero.
"""
