"""A fixed memory corpus for search tests; the expected rankings are checked on SQLite and on
PostgreSQL, so the two CI runs prove both backends give the same top hits."""

MEMORY = """# Memory

## People
- Ana is the user's sister; she lives in Porto and works as a marine biologist.
- Bruno is the user's manager at the shipyard.

## Preferences
- The user drinks green tea, never coffee.
- Prefers short answers in the morning.
"""

LOGS = {
    "2024-05-01": """# 2024-05-01

## 09:10
Planned the kayak trip on the Douro with Ana. Kayak rental booked for Saturday.
Need to buy a dry bag for the kayak.

## 17:40
Bruno asked for the quarterly shipyard report by Friday.
""",
    "2024-05-02": """# 2024-05-02

## 08:15
Dentist appointment moved to Tuesday 14:00.

## 12:30
Lunch with Bruno: talked about the new crane at the shipyard.
""",
    "2024-05-03": """# 2024-05-03

## 10:00
Café da manhã em Porto com a Ana. Comprámos pão de ló.

## 21:00
Watched a documentary on whales; Ana knew every species.
""",
    "2024-05-04": """# 2024-05-04

## 07:30
Kayak trip cancelled because of the storm warning. Rescheduled to next weekend.
""",
    "2024-05-05": """# 2024-05-05

## 19:00
Bought green tea (sencha) and a teapot. The old teapot cracked.
""",
}

# Ordinary days that share no word with the queries: they give the rare words their weight.
for _day in range(10, 20):
    LOGS[f"2024-04-{_day}"] = (
        f"# 2024-04-{_day}\n\n## 08:00\nRoutine: walked the dog {_day % 7 + 2} km, watered the "
        f"plants, read chapter {_day} of the novel.\n"
    )

# query -> the expected hits, in order: (path, first line, last line shown). A hit shows the
# matching lines with their neighbours, not the whole chunk.
EXPECTED = {
    "kayak": [
        ("memory/2024-05-01.md", 3, 5),
        ("memory/2024-05-04.md", 3, 4),
    ],
    # Both words beat one; the rarer word (kayak) beats the commoner one (ana).
    "Ana kayak": [
        ("memory/2024-05-01.md", 3, 5),
        ("memory/2024-05-04.md", 3, 4),
        ("memory/2024-05-03.md", 3, 7),
        ("MEMORY.md", 3, 5),
    ],
    "shipyard report": [
        ("memory/2024-05-01.md", 7, 8),
        ("memory/2024-05-02.md", 6, 7),
        ("MEMORY.md", 4, 5),
    ],
    "teapot": [("memory/2024-05-05.md", 3, 4)],
    "Café PORTO": [
        ("memory/2024-05-03.md", 3, 4),
        ("MEMORY.md", 3, 5),
    ],
    # The short line that says exactly this beats the longer one.
    "green tea": [
        ("MEMORY.md", 7, 9),
        ("memory/2024-05-05.md", 3, 4),
    ],
    "what did the dentist say?": [("memory/2024-05-02.md", 3, 4)],
}
