"""Suggestions that fit the customer: suitability rules, the advisor, signed customer claims."""
