from agent.asr.agreement import (
    common_prefix,
    drop_overlap,
    join_words,
    merge_by_confidence,
    norm,
    past_committed,
    strip_repetitions,
)
from agent.asr.events import Word


def words(text: str, start: float = 0.0, step: float = 0.3) -> list[Word]:
    return [Word(f" {t}", start + i * step, start + (i + 1) * step) for i, t in enumerate(text.split())]


def test_norm_ignores_case_and_punctuation() -> None:
    assert norm(" Hello?") == norm("hello") == "hello"
    assert norm(" l'été,") == "l'été"


def test_common_prefix_is_local_agreement() -> None:
    assert common_prefix(words("the cat sat on"), words("the cat sat in the")) == 3
    assert common_prefix(words("The cat."), words("the cat sat")) == 2
    assert common_prefix([], words("a b")) == 0
    assert common_prefix(words("dog"), words("cat")) == 0


def test_drop_overlap_by_time_and_by_text() -> None:
    committed = words("we will meet")  # ends at 0.9
    hyp = words("we will meet on monday")
    assert join_words(drop_overlap(committed, hyp, 0.9)) == "on monday"
    # Boundary timestamps drift: the repeated tail word is dropped by text.
    shifted = [Word(" meet", 0.85, 1.1), *words("on monday", start=1.1)]
    assert join_words(drop_overlap(committed, shifted, 0.9)) == "on monday"


def test_a_final_adds_only_what_follows_the_committed_words() -> None:
    committed = words("portez ce vieux whisky aux juges")  # ends at 1.8
    final = words("portez ce vieux ski aux juges blancs qui fume")  # misheard one committed word
    assert join_words(past_committed(committed, final, 1.8)) == "blancs qui fume"
    # The committed tail itself misheard: cut by time.
    final = words("portez ce vieux whisky aux juge blancs qui fume")
    assert join_words(past_committed(committed, final, 1.8)) == "blancs qui fume"
    # A word said twice, the second touching the committed end, is speech.
    assert join_words(past_committed(words("hello"), words("hello hello", step=0.3), 0.3)) == "hello"
    # The same word much later is not where the committed one was heard: cut by time.
    committed = words("i need the")  # ends at 0.9
    final = words("i need a design of the room")
    assert join_words(past_committed(committed, final, 0.9)) == "design of the room"
    assert join_words(past_committed([], final, 0.0)) == join_words(final)


def test_merge_by_confidence_decides_each_differing_stretch() -> None:
    def sure(text: str, p: float) -> list[Word]:
        return [Word(w.text, w.start, w.end, p) for w in words(text)]

    committed = [*sure("portez ce vieux", 0.9), *sure("whisky", 0.8), *sure("aux", 0.9)]
    final = [*sure("portez ce vieux", 0.9), *sure("ski", 0.4), *sure("aux", 0.9)]
    assert join_words(merge_by_confidence(committed, final)) == "portez ce vieux whisky aux"
    final[3] = Word(" whiskey", 0.9, 1.2, 0.95)
    assert join_words(merge_by_confidence(committed, final)) == "portez ce vieux whiskey aux"
    # Agreed words the final dropped stay only when they were confident.
    hallucinated = [*sure("i need the", 0.9), *sure("i hate it", 0.5), *sure("i thought", 0.9)]
    merged = merge_by_confidence(hallucinated, sure("i need the i thought", 0.9))
    assert join_words(merged) == "i need the i thought"
    confident = [*sure("i need the", 0.9), *sure("design", 0.8)]
    assert join_words(merge_by_confidence(confident, sure("i need the", 0.9))) == "i need the design"


def test_strip_repetitions_keeps_legit_doubles() -> None:
    assert join_words(strip_repetitions(words("hello hello how are you"))) == "hello hello how are you"
    assert join_words(strip_repetitions(words("and and and and and and"))) == "and"
    assert join_words(strip_repetitions(words("thank you thank you thank you thank you"))) == "thank you"
    assert join_words(strip_repetitions(words("so I said no no no no"))) == "so I said no"
    looped = "I heard a beep " + "This is Diane in New Jersey. " * 5 + "I'm in New Jersey now"
    assert join_words(strip_repetitions(words(looped))) == (
        "I heard a beep This is Diane in New Jersey. I'm in New Jersey now"
    )
    twice = "we said we would do it we said we would do it and we did"
    assert join_words(strip_repetitions(words(twice))) == twice  # said twice: speech, not a loop


def test_trim_tail_drops_invented_endings() -> None:
    from agent.asr.agreement import trim_tail

    said = words("well there is not much difference")
    unsure = [*said, Word(" So", 2.0, 2.2, 0.02)]
    assert join_words(trim_tail(unsure, voice_end=2.0)) == "well there is not much difference"
    squeezed = [*said, Word(" you", 2.1, 2.1, 0.9)]
    assert join_words(trim_tail(squeezed, voice_end=2.0)) == "well there is not much difference"
    echoed = said + words("well there is not much difference", start=1.9, step=0.01)
    assert join_words(trim_tail(echoed, voice_end=2.0)) == "well there is not much difference"
    assert trim_tail(said, voice_end=2.0) == said  # clean speech is untouched
