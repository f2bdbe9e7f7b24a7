"""Progress bars of long commands: drawn in place on a terminal, nothing in a pipe or a log."""

from openclaw.progress import ProgressBar


def test_a_progress_bar_redraws_one_line_on_a_terminal() -> None:
    written: list[str] = []
    bar = ProgressBar(4, written.append, tty=True, width=8)
    for name in ("a", "b", "c", "d"):
        bar.step(name)
    assert [w.split("]")[0] for w in written] == [
        "\r[##------",
        "\r[####----",
        "\r[######--",
        "\r[########",
    ]
    assert all(not w.endswith("\n") for w in written[:-1]) and written[-1].endswith("\n")
    assert " 4/4 d" in written[-1]


def test_a_progress_bar_is_silent_when_the_output_is_not_a_terminal() -> None:
    written: list[str] = []
    bar = ProgressBar(3, written.append, tty=False)
    for _ in range(3):
        bar.step("x")
    assert written == []


def test_an_empty_job_and_extra_steps_do_not_break_the_bar() -> None:
    written: list[str] = []
    bar = ProgressBar(0, written.append, tty=True, width=4)
    bar.step()
    bar.step()
    assert written[0].startswith("\r[####] 1/1") and written[1].startswith("\r[####] 2/1")
