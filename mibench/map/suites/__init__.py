"""Built-in sweep suites (TOML): quick, default, full."""
