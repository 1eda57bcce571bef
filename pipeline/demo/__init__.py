"""The bundled sample site and the `wirewatch demo` command."""
