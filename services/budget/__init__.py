"""Budget: the buurtbudget (households, allowances, initiatives, pledges and votes)."""
