"""The breach register of Art. 33 and 34 GDPR: awareness, the 72-hour clock, notifications."""
