"""Passwords (argon2), API tokens (random, prefixed, stored as SHA-256), Fernet field encryption, JWT."""
