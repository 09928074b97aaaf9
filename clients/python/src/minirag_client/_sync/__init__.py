# Generated from ../_async by clients/python/scripts/generate_sync.py (unasync): do not edit.
