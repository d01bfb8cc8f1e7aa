import pytest

from generation.dit import text


@pytest.fixture(scope="module")
def normalizer():
    return text.PromptNormalizer()  # loads MiniLM (~8 s) on the first unknown word


@pytest.mark.parametrize("word,meaning", [("crimson", "red"), ("navy", "blue"), ("backdrop", "background"),
                                          ("tiny", "small"), ("huge", "big"), ("ball", "circle")])
def test_synonyms(normalizer, word, meaning):
    assert normalizer.match(word) == meaning


def test_normalized_prompt_reads_in_flatland_words(normalizer):
    r = normalizer.normalize("a tiny crimson ball moving left over a navy backdrop")
    assert r.text == "a small red circle moving left over a blue background"
    assert ("crimson", "red") in r.replaced


def test_known_words_need_no_model():
    n = text.PromptNormalizer()
    assert n.normalize("a red circle moving left on a blue background").words[:3] == ["a", "red", "circle"]
    assert n._model is None
    ids = text.tokenize(["a", "red", "circle"])
    assert len(ids) == text.MAX_TOKENS and ids[0] == text.BOS and ids[4:] == [text.PAD] * (text.MAX_TOKENS - 4)
