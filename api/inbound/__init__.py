"""Inbound messages: SMS replies from officials phones, acknowledgement links."""
