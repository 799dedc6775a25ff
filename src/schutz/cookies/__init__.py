"""The cookie registry in force: which cookies may leave, for how long, after which consent."""
