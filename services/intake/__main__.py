"""`python -m services.intake`."""

from services.intake.app import IntakeSettings, build
from wijkbus.serve import main_for

if __name__ == "__main__":
    main_for(IntakeSettings, build)
