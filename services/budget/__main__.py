"""`python -m services.budget`."""

from services.budget.app import BudgetSettings, build
from wijkbus.serve import main_for

if __name__ == "__main__":
    main_for(BudgetSettings, build)
