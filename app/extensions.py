"""The Flask extensions, made here and bound to the app in create_app (flaskr style: no view imports the package)."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# No "fresh login" marks: nothing here asks for one, and the server-side sessions (sessions.py) end logins.
# Flask-Login's "basic" protection would hash address and browser on every request only to set that mark.
login_manager.session_protection = None
