"""English date formats: "14 Jul 2019" rather than Django's US "July 14, 2019" (the site
speaks to people everywhere; the day-month-year order with a month name is unambiguous)."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
