"""The composition root: the CLI, the app config, and the wiring of ``run``; the only package
that imports every other."""
