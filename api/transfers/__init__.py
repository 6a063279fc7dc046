"""Cases handed down by higher offices\x27 systems (上级转送、交办) and what they hear back."""
