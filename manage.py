#!/usr/bin/env python
"""Django's command-line utility for Spacetime.

`platform/` is a source folder (never a package: a package named `platform` would shadow the
standard library module that uuid, Django and Celery import), so it is put on sys.path here.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    for path in (str(ROOT / "platform"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
