"""The decision rule of a head with an absent class (pure function): when a present label is answered."""

from __future__ import annotations

import numpy as np

from services.classifier.heads import decide


def test_without_a_rule_the_top_label_is_answered() -> None:
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    assert decide(p).tolist() == [1, 0]


def test_a_near_tie_with_none_answers_none() -> None:
    p = np.array([[0.47, 0.48, 0.05], [0.30, 0.40, 0.30], [0.10, 0.20, 0.70]])
    # present sums: 0.53, 0.70, 0.90
    assert decide(p, 0.65).tolist() == [0, 1, 2]


def test_present_labels_pool_their_probability_before_the_best_of_them_is_answered() -> None:
    p = np.array([[0.40, 0.32, 0.28]])  # none is the top label, but glasses and sunglasses together are 0.6
    assert decide(p, 0.55).tolist() == [1]
    assert decide(p).tolist() == [0]


def test_flip_averaging_answers_a_face_and_its_mirror_alike(tmp_path) -> None:
    import dataclasses

    import skimage.data

    from services.classifier import FaceClassifier
    from services.contracts import FaceBox
    from services.settings import Settings

    tone = FaceClassifier(Settings()).heads["skin_tone"]
    assert tone.flip_average  # the shipped manifest turns it on for skin tone
    image = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
    box = FaceBox.from_pixels(170, 30, 120, 140, image.shape[1], image.shape[0], 1.0)
    mirrored = np.ascontiguousarray(image[:, ::-1])
    mbox = FaceBox.from_pixels(image.shape[1] - 290, 30, 120, 140, image.shape[1], image.shape[0], 1.0)
    gray = image[..., 0]
    a = tone.predict(tone.batch(image, gray, [box]))
    b = tone.predict(tone.batch(mirrored, gray[:, ::-1], [mbox]))
    assert np.allclose(a, b, atol=1e-5) and np.isclose(a.sum(), 1.0)
    plain = dataclasses.replace(tone, flip_average=False)
    one, other = plain.predict(plain.batch(image, gray, [box])), plain.predict(plain.batch(mirrored, gray[:, ::-1], [mbox]))
    assert np.allclose(a, (one + other) / 2, atol=1e-5)
    assert not np.allclose(one, other, atol=1e-5)  # without it a mirror changes the answer, so the test can fail
