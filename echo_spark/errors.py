"""Errors the user can fix by changing the command; the CLI answers them with exit code 2."""


class UsageError(ValueError):
    pass
