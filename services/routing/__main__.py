"""`python -m services.routing`."""

from services.routing.app import RoutingSettings, build
from wijkbus.serve import main_for

if __name__ == "__main__":
    main_for(RoutingSettings, build)
