"""British English as the portal writes it: Django's defaults, but times on the 24-hour clock."""

DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
