"""Dataset readers: manifests read in place, deterministic splits, no augmented sibling across splits."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from services.contracts import EMOTIONS, EYEWEAR, MASKS
from training.data import (
    TONE_ONLY_PURPOSES,
    facemask12k_family,
    hash_split,
    holdout_paths,
    load_image,
    read_face_labels,
    read_manifest,
    samples_for_emotion,
    samples_for_eyewear,
    samples_for_fairface_faces,
    samples_for_frame,
    samples_for_mask,
    samples_for_skin_tone,
    subset,
)


def test_fer2013_counts_match_the_canonical_splits(datasets_dir: Path) -> None:
    counts = Counter(s.split for s in samples_for_emotion() if s.dataset == "fer2013")
    assert counts == {"train": 28709, "val": 3589, "test": 3589}
    assert {s.label for s in samples_for_emotion()} == set(range(len(EMOTIONS)))


def test_tfeid_trains_but_never_chooses_the_checkpoint_or_tests(datasets_dir: Path) -> None:
    tfeid = Counter(s.split for s in samples_for_emotion() if s.dataset == "tfeid")
    assert tfeid == {"train": 714, "tfeid_val": 263, "tfeid_test": 246}


def test_no_held_out_hand_labelled_face_is_in_any_training_split(datasets_dir: Path) -> None:
    held_out = holdout_paths()
    assert len(held_out) > 1000
    for samples in (samples_for_skin_tone(), samples_for_eyewear(), samples_for_frame(), samples_for_fairface_faces()):
        leaked = [s for s in samples if (s.dataset, s.path) in held_out and s.split != "test"]
        assert not leaked, leaked[:3]
    assert all(s.split == "test" for s in samples_for_skin_tone() if (s.dataset, s.path) in held_out)


def test_images_decode_in_place_from_the_zip(datasets_dir: Path) -> None:
    sample = samples_for_emotion()[0]
    gray = load_image(sample.dataset, sample.path, grayscale=True)
    assert gray.shape == (48, 48) and gray.dtype == np.uint8
    colour = load_image("fairface_train", read_manifest("fairface_train")[0]["path"])
    assert colour.ndim == 3 and colour.shape[2] == 3


def test_facemask_families_never_span_splits(datasets_dir: Path) -> None:
    rows = read_manifest("facemask12k")
    splits: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        family = facemask12k_family(r["orig_name"], r["sha1"])
        splits[family].add(hash_split("fm12k:" + family))
    assert all(len(s) == 1 for s in splits.values())
    # The given splits do mix families (the datasheet's warning), so the regrouping matters.
    given: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        given[facemask12k_family(r["orig_name"], r["sha1"])].add(r["split"])
    assert any(len(s) > 1 for s in given.values())


def test_mask_samples_cover_all_three_labels_and_every_split(datasets_dir: Path) -> None:
    samples = samples_for_mask()
    by_split = {split: Counter(s.label for s in samples if s.split == split) for split in ("train", "val", "test")}
    for split, counts in by_split.items():
        assert set(counts) == set(range(len(MASKS))), split


def test_eyewear_uses_the_eyewear_column_not_the_folder_label(datasets_dir: Path) -> None:
    samples = samples_for_eyewear()
    cmu = {s.path: s.label for s in samples if s.dataset == "cmu_faces"}
    wearers = [r for r in read_manifest("cmu_faces") if r["label"] == "none" and r["eyewear"] == "glasses"]
    assert wearers, "CMU has clear-glasses wearers labelled none"
    assert all(cmu[r["path"]] == EYEWEAR.index("glasses") for r in wearers)
    assert not any(s.dataset == "seed_attributes" and s.label < 0 for s in samples)


def test_hash_split_is_deterministic_and_roughly_80_10_10() -> None:
    keys = [f"k{i}" for i in range(5000)]
    first = [hash_split(k) for k in keys]
    assert first == [hash_split(k) for k in keys]
    shares = Counter(first)
    assert 0.75 < shares["train"] / 5000 < 0.85 and 0.07 < shares["test"] / 5000 < 0.13


def test_subset_takes_at_most_k_per_split(datasets_dir: Path) -> None:
    small = subset([s for s in samples_for_emotion() if s.dataset == "fer2013"], 10)
    assert Counter(s.split for s in small) == {"train": 10, "val": 10, "test": 10}


def test_round_five_tone_labels_are_for_the_tone_head_only_and_opt_in(datasets_dir: Path) -> None:
    everything = read_face_labels(include_tone_round=True)
    tone_only = {(r["dataset"], r["path"]) for r in everything if r["purpose"] in TONE_ONLY_PURPOSES}
    assert len(tone_only) > 500
    assert not any(r["holdout"] == "yes" for r in everything if r["purpose"] in TONE_ONLY_PURPOSES)
    assert not [r for r in read_face_labels() if r["purpose"] in TONE_ONLY_PURPOSES]
    assert sum((s.dataset, s.path) in tone_only for s in samples_for_skin_tone(include_tone_round=True)) > 500
    assert not [s for s in samples_for_skin_tone() if (s.dataset, s.path) in tone_only]  # as the shipped head
    for samples in (samples_for_eyewear(), samples_for_mask()):
        assert not [s for s in samples if (s.dataset, s.path) in tone_only and s.group == "hand"]
    assert not [s for s in samples_for_eyewear() if (s.dataset, s.path) in tone_only]
