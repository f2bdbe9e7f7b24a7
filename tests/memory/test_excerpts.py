"""What a search shows, on hand-made logs: the lines that match (with their neighbours), not a
chunk's first line; overlapping chunks merged without repeating a line; weak matches dropped;
the character budget kept; and the compact text the model reads."""

import datetime as dt

from memory.excerpts import ChunkLines, Hit, idf_of, recency_factor, render, select
from memory.markdown import chunk_markdown, search_text, split_lines, terms

DAY = """# 2024-05-08

- 13:56 Caroline: Hey Mel! Good to see you! How have you been?
- 13:56 Melanie: Swamped with the kids and work. What's up with you?
- 13:57 Caroline: I went to a support group yesterday and it was so powerful.
- 13:57 Melanie: Wow, what happened there?
- 13:58 Caroline: The stories were inspiring; I felt accepted.
- 13:58 Melanie: That's great. By the way, I painted a lake sunrise last year.
- 13:59 Caroline: The colours blend nicely! Is it your own painting?
- 13:59 Melanie: Yes, painting is how I relax after a long day.
- 14:00 Caroline: I'm off to do some research for my counselling course.
- 14:00 Melanie: Talk soon, I'm taking the kids swimming.
"""


def _chunks(path: str, text: str, max_tokens: int = 400, overlap: int = 80) -> list[ChunkLines]:
    return [
        ChunkLines(path, None, c.start_line, c.text, search_text(c.heading, split_lines(c.text)))
        for c in chunk_markdown(text, max_tokens, overlap)
    ]


def _select(chunks: list[ChunkLines], query: str, budget: int = 4000, hits: int = 6) -> list[Hit]:
    words = list(dict.fromkeys(terms(query)))
    lines = [line for c in chunks for line in c.search_text.split("\n")[1:]]
    df = {w: sum(w in line.split() for line in lines) for w in words}
    return select(chunks, words, idf_of(len(lines), df), max_hits=hits, budget=budget)


def test_a_hit_shows_the_matching_line_and_its_neighbours_not_the_chunks_first_line() -> None:
    hits = _select(_chunks("memory/2024-05-08.md", DAY), "When did Melanie paint a sunrise?")
    assert [h.path for h in hits] == ["memory/2024-05-08.md"]
    assert {7, 8, 9} <= set(hits[0].lines)  # the sunrise (8) and the turns around it
    assert "I painted a lake sunrise last year." in hits[0].text
    assert "Hey Mel" not in hits[0].text


def test_overlapping_chunks_merge_into_one_hit_without_repeated_lines() -> None:
    # Small chunks with a large overlap: every line is in two chunks.
    chunks = _chunks("memory/2024-05-08.md", DAY, max_tokens=40, overlap=30)
    assert len(chunks) > 3
    hits = _select(chunks, "painting painted lake colours")
    assert len(hits) == 1
    shown = hits[0].text.splitlines()
    assert len(shown) == len(set(shown))
    assert "- 13:58 Melanie: That's great. By the way, I painted a lake sunrise last year." in shown


def test_nearby_matches_in_one_file_are_one_hit_with_a_gap_marker() -> None:
    text = DAY + "".join(f"- 15:{n:02d} Melanie: Filler line number {n}.\n" for n in range(2))
    text += "- 16:00 Caroline: Back from the support group again.\n"
    hits = _select(_chunks("memory/2024-05-08.md", text), "support group", hits=1)
    assert len(hits) == 1
    assert (hits[0].start_line, hits[0].end_line) == (4, 15)
    assert "…" in hits[0].text.splitlines()
    assert "Back from the support group again." in hits[0].text
    assert "so powerful" in hits[0].text


def test_far_apart_matches_are_separate_hits() -> None:
    text = DAY + "".join(f"- 15:{n:02d} Melanie: Filler line number {n}.\n" for n in range(20))
    text += "- 16:00 Caroline: Back from the support group again.\n"
    hits = _select(_chunks("memory/2024-05-08.md", text), "support group")
    assert len(hits) == 2
    assert all("…" not in h.text.splitlines() for h in hits)


def test_weak_matches_fall_under_the_relevance_floor() -> None:
    strong = _chunks("memory/2024-05-08.md", DAY)
    weak = _chunks("memory/2024-05-09.md", "- 09:00 Melanie: Went for a walk.\n")
    hits = _select(strong + weak, "Caroline support group powerful Melanie")
    assert [h.path for h in hits] == ["memory/2024-05-08.md"]
    assert _select(strong, "submarine") == []


def test_the_budget_bounds_the_text_and_the_best_hit_comes_first() -> None:
    logs = [
        _chunks(
            f"memory/2024-06-{n:02d}.md", f"- 10:00 Ana: The kayak trip {n} was {'great ' * n}\n"
        )
        for n in range(1, 10)
    ]
    chunks = [c for log in logs for c in log]
    for budget in (200, 600, 2000):
        hits = _select(chunks, "kayak trip", budget=budget)
        assert hits
        assert len(render(hits)) <= budget
    hits = _select(chunks, "kayak great", hits=3)
    assert len(hits) == 3
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_a_long_line_is_cut_around_its_match() -> None:
    line = "- 10:00 Ana: " + "blah " * 400 + "the kayak is blue " + "blah " * 400
    hits = _select(_chunks("memory/2024-06-01.md", line + "\n"), "kayak", budget=600)
    assert len(hits) == 1
    assert "kayak" in hits[0].text
    assert hits[0].text.startswith("…") and hits[0].text.endswith("…")
    assert len(render(hits)) <= 600


def test_render_cites_path_and_lines_then_the_lines() -> None:
    hits = _select(_chunks("memory/2024-05-08.md", DAY), "counselling research")
    assert render(hits) == "memory/2024-05-08.md:10-12\n" + "\n".join(split_lines(DAY)[9:12])


def test_recency_is_a_bounded_prior() -> None:
    today = dt.date(2024, 6, 30)
    assert recency_factor(None, today, 30) == 1.0
    assert recency_factor(today, today, 0) == 1.0
    assert recency_factor(today, today, 30) == 1.1
    assert 1.0 < recency_factor(dt.date(2024, 1, 1), today, 30) < 1.01
