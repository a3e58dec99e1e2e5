"""Documents in: files read, cleaned, validated and cut into passages."""
