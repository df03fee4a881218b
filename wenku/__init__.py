"""文库 core: documents, import and cleaning, search, membership and the rest.

This package never imports nonebot: the bot, the command line and the tests
all drive it the same way, passing the current time in as an argument.
"""
