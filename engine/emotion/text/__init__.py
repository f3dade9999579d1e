"""Text emotion per turn, English and Mandarin, offline.

    from engine.emotion.text import TextEmotionClassifier

    classifier = TextEmotionClassifier.load(config)          # a TextEmotionConfig
    results = classifier.predict([t.text for t in turns], language="en")
    results[0].label, results[0].scores, results[0].valence, results[0].lexicon_valence
"""

from engine.emotion.text.classifier import TextEmotion, TextEmotionClassifier
from engine.emotion.text.embeddings import SentenceEncoder, load_encoder
from engine.emotion.text.examples import ExampleSet, load_examples

__all__ = ["ExampleSet", "SentenceEncoder", "TextEmotion", "TextEmotionClassifier", "load_encoder", "load_examples"]
