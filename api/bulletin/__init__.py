"""The monthly bulletin (每月通报, seed 000 rule 9): figures per unit, praise and criticism."""
