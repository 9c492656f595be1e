#!/usr/bin/env python3
"""A small Django project standing for the monolith whose tables a Soom
service takes over (tests/http/test_legacy.py): its migrations build the
schema, its ORM writes the rows and reads them back for comparison."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legacy.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
