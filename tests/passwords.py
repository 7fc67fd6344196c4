"""The test accounts' password and the cheap hash they are stored with (test accounts only).

The app refuses TEST_PASSWORD_HASH outside TESTING; a real site hashes with scrypt (0.2 s a login)."""

PASSWORD = "correct-horse-42"
# One round of PBKDF2: logins are still checked by werkzeug, which reads the method from the hash.
CHEAP_HASH = "pbkdf2:sha256:1"
