"""From a pretrained BiLM to a tagger: `surgery` maps BiLM variables into a tagger's encoder
(and finds shipped BiLMs by name); `packaging` writes a BiLM as a shippable package."""
