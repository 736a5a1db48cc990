"""Story 4's build-vs-buy TCO model for the feature store (`starlab features tco`).

Backs "built a TCO model: 12-month horizon, engineering hours, infra, egress,
and support", the weighted criteria (cost 35 / reliability 25 / time to value
25 / maintainability 15), the sensitivity follow-up (labor +-20%, egress
growth) and the result "TCO -22% at 12 months, breakeven vs. build at ~18
months; delivery ~6 months vs 6 weeks". Modules:

- `inputs`: the YAML of named assumptions, validated (one-line errors);
- `model`: monthly and cumulative cost, TCO, breakeven, weighted decision;
- `sensitivity`: one input at a time, change in saving, decision flips;
- `plot`: tornado and cumulative cost curves (Agg, PNG);
- `report`: rich tables and the JSON result;
- `evidence`: the story's figures as claims beside the model's values;
- `command`: the Typer command.
"""
