"""Plugins the tests load through ASSISTANT_PLUGINS, as a bank's own package would."""
