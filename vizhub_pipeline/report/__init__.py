"""The report stage: a static HTML site of the results that opens offline (``results/report/``).

It reads what the other stages wrote (consensus, renders, generations, challenges, grades,
params) by column and key name, shows "not available" with the reason for any part that is
missing, and writes the same bytes for the same inputs.
"""
