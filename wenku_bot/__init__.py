"""NoneBot glue shared by the plugins: configuration, runtime, the outgoing message path."""
