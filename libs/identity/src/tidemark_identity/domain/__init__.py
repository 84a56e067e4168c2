"""The rules of identity and access, as plain functions and data: no I/O."""
