"""The demo city: a city with two counties, ~30 departments, users for every role."""
