"""Voice (acoustic) emotion: per-utterance label probabilities and arousal from how something is said.

    from engine.emotion.voice import VoiceEmotionModel, VoiceFeatureExtractor

    head = VoiceEmotionModel.load()                      # the shipped head
    extractor = VoiceFeatureExtractor.for_head(head)     # same encoder and blocks as the head
    features = extractor.turns(channel_audio, [(t.start, t.end) for t in turns])
    baseline = head.baseline_for(features)               # or SpeakerBaseline.from_json(agent_profile)
    predictions = head.predict(features, language="en", baseline=baseline)

Without a baseline each utterance is scored clip by clip against its language's population.
"""

from engine.emotion.voice.baseline import PopulationBaseline, SpeakerBaseline
from engine.emotion.voice.encoder import ChannelFrames, EncoderConfig, EncoderFeatures
from engine.emotion.voice.features import VoiceFeatureExtractor, VoiceFeatures
from engine.emotion.voice.head import LABELS, VoiceEmotionModel, VoicePrediction
from engine.emotion.voice.prosody import ProsodyConfig

__all__ = [
    "LABELS",
    "ChannelFrames",
    "EncoderConfig",
    "EncoderFeatures",
    "PopulationBaseline",
    "ProsodyConfig",
    "SpeakerBaseline",
    "VoiceEmotionModel",
    "VoiceFeatureExtractor",
    "VoiceFeatures",
    "VoicePrediction",
]
