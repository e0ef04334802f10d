pytest_plugins = ["flowno_core.testing.pytest_plugin"]
