"""Working-day calendar domain (工作日, public holidays and make-up workdays 调休)."""
