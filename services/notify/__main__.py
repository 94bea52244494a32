"""`python -m services.notify`."""

from services.notify.app import NotifySettings, build
from wijkbus.serve import main_for

if __name__ == "__main__":
    main_for(NotifySettings, build)
