"""Delivery channels: SMS providers, signed webhooks, DingTalk and WeCom robots."""
