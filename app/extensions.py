"""The Flask extensions, made here and bound to the app in create_app (flaskr style: no view imports the package)."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# No "fresh login" marks: nothing here asks for one, and the server-side sessions (sessions.py) end logins.
# (Flask-Login 0.6 still hashes address and browser on every request before it reads this setting, ~8 µs.)
login_manager.session_protection = None
