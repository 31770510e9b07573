"""Whole conversations as data, for the end-to-end tests and the webhook benchmark.

Each is a list of (what the person sends, a fragment the replies must contain). Nothing
here imports pytest or the fixtures, so bench/ can use it outside a test run.
"""

from __future__ import annotations

# A young person asks for a return home interview, in Welsh, by SMS.
WELSH_BY_SMS = [
    ("Shwmae", "Pa iaith hoffet ti?"),
    ("1", "Pwy sy'n ysgrifennu?"),
    ("1", "Beth hoffet ti ei wneud?"),
    ("3", "Dy ddewis di yw e"),
    ("ie", "Pryd daethost ti'n ôl?"),
    ("heddiw", "Ym mha ardal wyt ti'n byw?"),
    ("Wrecsam", "Wyt ti'n byw gartref neu mewn gofal?"),
    ("1", "Sut hoffet ti i'r gweithiwr gysylltu?"),
    ("neges destun", "Pryd mae'n amser da?"),  # by SMS: no need to ask for a number
    ("bore", "Hoffet ti gael gweithiwr sy'n siarad Cymraeg?"),
    ("ie", "Oes unrhyw beth hoffet ti i'r gweithiwr ei wybod?"),
    ("hepgor", "Ga i anfon hyn?"),
    ("anfon", "Dy gyfeirnod yw"),
]
# The same request in English, by Telegram, typed rather than pressed.
ENGLISH_BY_TELEGRAM = [
    ("/start", "Which language would you like?"),
    ("English", "Who is writing?"),
    ("I'm a young person", "What would you like to do?"),
    ("Ask for a return home interview", "It's your choice"),
    ("Yes", "When did you get back?"),
    ("Yesterday", "Which area"),
    ("Aberystwyth", "home or in care"),
    ("In care", "How would you like the worker to get in touch?"),
    ("In this chat", "When is a good time?"),
    ("Evening", "speaks Welsh"),
    ("No", "anything you'd like the worker to know"),
    ("I want to talk about school", "Shall I send this?"),
    ("Send", "Your reference is"),
]
