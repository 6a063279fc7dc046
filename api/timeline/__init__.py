"""The case timeline (案件流转记录): every change to a case leaves an event here, from whichever
room made it, without that room importing the cases."""
