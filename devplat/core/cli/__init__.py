"""The CLI base: `manage.py devplat <noun> <verb>`. Apps register their nouns in `AppConfig.ready()`."""
