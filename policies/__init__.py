"""The CrossGuard pack (see README.md). A package only so tests and type checkers import ``policies.guards``."""
