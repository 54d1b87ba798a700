"""Command-line interface of territory (the only package that imports click)."""
