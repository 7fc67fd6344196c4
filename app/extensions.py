"""The Flask extensions, made here and bound to the app in create_app (flaskr style: no view imports the package)."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
