"""``python -m training.card [head ...]``: write ``models/cards/<head>.md`` from measured artefacts only.

Inputs: the manifest entry, ``runs/<head>/test_report.json``, ``runs/<head>/metrics.jsonl`` (epochs, time),
``runs/eval/<head>.json`` and ``runs/eval/fairness.json`` (``python -m training.evaluate``), and the head's
notes in ``training/cards/<head>.md`` (hand-written: data, framing, limits). Missing artefacts are said to be
missing, never filled in.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from services.settings import REPO_ROOT

from .heads import HEADS

TARGETS = {
    "emotion": "≥ 70 % accuracy on the whole FER2013 PrivateTest split, head ≤ 5 MB",
    "mask": "held-out real photos through the serving path: mask_incorrect recall ≥ 70 % at precision ≥ 70 %, mask "
    "and none recall ≥ 95 %; faces 32–48 px within 5 points of faces > 96 px; false mask ≤ 5 % in every FairFace "
    "race × gender group",
    "eyewear": "on held-out real photos through the serving path: macro-F1 ≥ 0.92, sunglasses recall ≥ 0.93, glasses "
    "recall ≥ 0.88, eyewear called on ≤ 3 % of faces without any and ≤ 5 % in every race × gender group",
    "skin_tone": "vs held-out hand labels through the serving path: exact ≥ 65 %, within one step ≥ 96 %, within one "
    "≥ 92 % in every race × gender group; with a pasted mask the tone equal on ≥ 85 % and within one on ≥ 98 %",
    "frame": "≥ 80 % accuracy on held-out seed photos, or the output stays hidden behind a setting",
}


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _group(key: str) -> str:
    """FairFace ``race|gender`` as table text (a bare ``|`` would split the Markdown cell)."""
    return key.replace("_", " ").replace("|", " · ")


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _per_class_table(report: dict) -> list[str]:
    lines = ["| class | recall | precision | F1 | support |", "|---|---|---|---|---|"]
    for label, m in report["per_class"].items():
        lines.append(f"| {label} | {_pct(m['recall'])} | {_pct(m['precision'])} | {m['f1']:.3f} | {m['support']} |")
    return lines


def _training_summary(run_dir: Path, select_on: str = "accuracy", carried: list[str] | None = None) -> list[str]:
    """The training log's summary; without a log, ``carried`` (the card's own Training lines for these very
    weights, :func:`carried_sections`), recipe line included: the spec in ``training.heads`` may since have
    moved on to a recipe not yet trained."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        if carried is None:
            return ["(no training log found)"]
        return "\n".join(carried).strip("\n").splitlines()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    best = max(rows, key=lambda r: r[f"val_{select_on}"])
    minutes = sum(r["seconds"] for r in rows) / 60
    chosen = (f"best validation macro-F1 {best['val_macro_f1']:.3f} (accuracy {_pct(best['val_accuracy'])})"
              if select_on == "macro_f1" else f"best validation accuracy {_pct(best['val_accuracy'])}")
    return [
        f"{len(rows)} epochs logged, {minutes:.0f} min of training on 2 CPU cores; {chosen} at epoch "
        f"{best['epoch'] + 1} (those weights are shipped).",
    ]


def _eval_section(evaluation: dict | None) -> list[str]:
    if not evaluation:
        return ["Not run yet: `python -m training.evaluate` writes it."]
    t = evaluation["test"]
    lines = [
        f"Test images: {t['n']}. Given crop (the dataset image as the face, `--whole-face`): accuracy "
        f"{_pct(t['given_crop']['accuracy'])}, macro-F1 {t['given_crop']['macro_f1']:.3f}.",
        f"res10 found a face in {_pct(t['res10_found_rate'])} of them. On those images: given crop "
        f"{_pct(t['given_crop_on_res10_found']['accuracy'])}; res10 path (the service's crop) "
        + ", ".join(f"margin {m}: {_pct(r['accuracy'])} (macro-F1 {r['macro_f1']:.3f})"
                    for m, r in t["res10_path"].items()) + ".",
    ]
    if "val_margin_sweep" in evaluation:
        sweep = ", ".join(f"{m}: {_pct(a)}" for m, a in evaluation["val_margin_sweep"].items())
        lines.append(f"Crop-margin sweep on FER2013 val through res10 (accuracy by margin): {sweep}.")
    return lines


def _fairness_section(head: str, fair: dict | None) -> list[str]:
    if not fair:
        return ["Not run yet: `python -m training.evaluate fairness` writes it."]
    if head == "emotion":
        cols, title = ["happy", "neutral", "sad", "angry"], "share predicted"
        header = "| group | n | " + " | ".join(cols) + " |"
        lines = [f"held-out FairFace faces through res10, {title} (no emotion labels exist there):", "", header,
                 "|---|---|" + "---|" * len(cols)]
        for g, r in fair.items():
            lines.append(f"| {_group(g)} | {r['n']} | " + " | ".join(_pct(r["emotion_distribution"].get(c, 0)) for c in cols)
                         + " |")
        return lines
    if head == "mask":
        lines = ["Held-out FairFace faces (nobody wears a mask): false-positive rate = share predicted mask or "
                 "mask_incorrect.", "", "| group | n | mask FPR |", "|---|---|---|"]
        lines += [f"| {_group(g)} | {r['n']} | {_pct(r['mask_positive_rate'])} |" for g, r in fair.items()]
        return lines
    if head == "eyewear":
        lines = ["Held-out FairFace faces: share predicted with eyewear (some do wear glasses: see the eyewear section for the "
                 "false-eyewear rate on faces labelled none) and predicted sunglasses.", "",
                 "| group | n | glasses or sunglasses | sunglasses |", "|---|---|---|---|"]
        lines += [f"| {_group(g)} | {r['n']} | {_pct(r['eyewear_positive_rate'])} | {_pct(r['sunglasses_rate'])} |"
                  for g, r in fair.items()]
        return lines
    tones = HEADS["skin_tone"].labels
    lines = ["Held-out FairFace faces through res10: predicted tone distribution per group and the mean tone index "
             "(0 = light … 4 = dark).", "", "| group | n | mean index | " + " | ".join(tones) + " |",
             "|---|---|---|" + "---|" * len(tones)]
    for g, r in sorted(fair.items(), key=lambda kv: kv[1]["mean_tone_index"]):
        lines.append(f"| {_group(g)} | {r['n']} | {r['mean_tone_index']:.2f} | "
                     + " | ".join(_pct(r["tone_distribution"].get(t, 0)) for t in tones) + " |")
    return lines


def _agreement_row(name: str, a: dict) -> str:
    def f(v):
        return _pct(v) if v is not None else "–"

    return (f"| {name} | {a['n']} | {f(a['exact'])} | {f(a['within_one'])} | {f(a['unknown_rate'])} | "
            f"{f(a['exact_unknown_as_miss'])} |")


def _tone_section(ev: dict | None) -> list[str]:
    if not ev:
        return ["Not run yet: `python -m training.evaluate skin_tone` writes it."]
    header = ["| faces | n | exact | within one | unknown | exact, unknown = miss |", "|---|---|---|---|---|---|"]
    lines = [f"Held-out hand-labelled faces with a judged tone: {ev['n']} (res10 found {_pct(ev['res10_found_rate'])}; "
             "the rest were given as whole-face crops). Exact and within-one are over the faces the head answered.",
             "", *header, _agreement_row("all", ev["overall"])]
    lines += [_agreement_row(k, v) for k, v in ev["masked_vs_unmasked"].items()]
    lines += ["", "Per race × gender group (FairFace) and source:", "", *header]
    lines += [_agreement_row(_group(g), a) for g, a in ev["per_group"].items()]
    lines += ["", "Invariance (the same photo changed; tone compared with the unchanged photo's answer):", "",
              "| change | n (both answered) | equal | within one | became unknown |", "|---|---|---|---|---|"]
    for name, inv in [*(("mask " + k, v) for k, v in ev["mask_invariance"].items()),
                      *(("cast " + k, v) for k, v in ev["light_invariance"].items())]:
        lines.append(f"| {name} | {inv['n_both_known']} | {_pct(inv['equal'])} | {_pct(inv['within_one'])} | "
                     f"{_pct(inv['became_unknown'])} |")
    lines += ["", f"Greyscale copies of these photos answered `unknown`: {_pct(ev['greyscale_unknown_rate'])}.", "",
              "Confusion (rows = hand label, columns = served tone; answered faces): " + ", ".join(ev["labels"]), ""]
    lines += ["| | " + " | ".join(ev["labels"]) + " |", "|---|" + "---|" * len(ev["labels"])]
    for label, row in zip(ev["labels"], ev["confusion_answered"]):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def _eyewear_section(ev: dict | None) -> list[str]:
    if not ev:
        return ["Not run yet: `python -m training.evaluate eyewear` writes it."]
    t = ev["test"]
    lines = [f"Held-out real photos: {t['n']}; res10 found a face in {_pct(t['res10_found_rate'])}.", ""]
    for path in ("res10_path", "given_crop"):
        r = t[path]
        lines += [f"**{path.replace('_', ' ')}** (n = {r['n']}): accuracy {_pct(r['accuracy'])}, macro-F1 "
                  f"{r['macro_f1']:.3f}, eyewear called on {_pct(r['false_eyewear_rate'])} of faces without any, "
                  f"ECE {r['ece']:.3f}.", "", *_per_class_table(r), "",
                  "| source | n | accuracy |", "|---|---|---|",
                  *[f"| {d} | {v['n']} | {_pct(v['accuracy'])} |" for d, v in r["per_dataset"].items()], "",
                  "False eyewear per group (faces labelled none):", "", "| group | n none | false eyewear |",
                  "|---|---|---|",
                  *[f"| {_group(g)} | {v['n_none']} | {_pct(v['rate']) if v['rate'] is not None else '–'} |"
                    for g, v in r["per_group_false_eyewear"].items()], ""]
    if ev.get("astronaut"):
        lines.append("scikit-image's astronaut (no glasses), service path: "
                     + ", ".join(f"{k} {v:.3f}" for k, v in ev["astronaut"].items()) + ".")
    return lines


def _mask_section(ev: dict | None) -> list[str]:
    if not ev or "held_out_real" not in ev:
        return ["Not run yet: `python -m training.evaluate mask` writes it."]
    r = ev["held_out_real"]
    lines = [f"Held-out hand-labelled photos (and their augmented siblings): {r['n']}; res10 missed {r['res10_missed']}. "
             f"Service path: accuracy {_pct(r['res10_path']['accuracy'])}, macro-F1 {r['res10_path']['macro_f1']:.3f}.",
             "", *_per_class_table(r["res10_path"]), "", "By face width (res10 box, pixels of the photo):", "",
             "| width | n | accuracy | recall none | recall mask | recall mask_incorrect |", "|---|---|---|---|---|---|"]
    for name, b in r["by_face_width"].items():
        rec = b["per_class_recall"]
        lines.append(f"| {name} | {b['n']} | {_pct(b['accuracy'])} | {_pct(rec['none'])} | {_pct(rec['mask'])} | "
                     f"{_pct(rec['mask_incorrect'])} |")
    if "with_fairface" in r:
        w = r["with_fairface"]
        lines += ["", f"With the held-out hand-labelled FairFace faces added ({w['n_fairface_found']} found; real "
                  "faces, almost all without a mask), so that `none` is measured on every race × gender group and "
                  f"not only on the masked sets' few covered-but-unmasked photos: {w['n_found']} faces, accuracy "
                  f"{_pct(w['res10_path']['accuracy'])}, macro-F1 {w['res10_path']['macro_f1']:.3f}.", "",
                  *_per_class_table(w["res10_path"])]
    return lines


def card_sections(text: str) -> dict[str, list[str]]:
    """A card's ``## `` sections by heading: the lines under each heading, up to the next one."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif current is not None:
            current.append(line)
    return sections


def carried_sections(card_path: Path, entry: dict | None) -> dict[str, list[str]]:
    """The current card's sections, when it describes the very weights the manifest ships (same sha256 prefix):
    a later session that re-evaluates a head without its training run (kept outside the work tree) keeps the
    training record and the training-time test results instead of losing them. Else {}."""
    if entry is None or not card_path.exists():
        return {}
    text = card_path.read_text()
    # An int8 head (training.quantize) keeps the training record of the fp32 weights it was made from.
    shas = [entry["sha256"], *([entry["quantized"]["from_sha256"]] if entry.get("quantized") else [])]
    if not any(f"sha256 `{sha[:16]}…`" in text for sha in shas):
        return {}
    return {name: [*"\n".join(lines).strip("\n").splitlines(), ""] for name, lines in card_sections(text).items()}


def _quantized_line(q: dict) -> str:
    agree = q["test_vs_fp32"]
    return (f"- Shipped as int8 ({q['scheme']}; {q['calibration']}; `python -m training.quantize`), made from "
            f"`{q['from']}` (sha256 `{q['from_sha256'][:16]}…`, the training run's fp32 export, kept beside it): on "
            f"the {agree['n']} test images its answer equals the fp32 file's on {_pct(agree['argmax_agreement'])}, "
            f"max |Δ softmax| {agree['max_abs_softmax_diff']:.3f}.")


def write_card(head: str, models_dir: Path, runs_dir: Path) -> Path:
    manifest = _load(models_dir / "manifest.json") or {"heads": {}}
    entry = manifest["heads"].get(head)
    report = _load(runs_dir / head / "test_report.json")
    carried = carried_sections(models_dir / "cards" / f"{head}.md", entry)
    notes_path = REPO_ROOT / "training" / "cards" / f"{head}.md"
    notes = notes_path.read_text().strip() if notes_path.exists() else ""
    spec = HEADS[head]
    lines = [f"# Model card: `{head}` head", ""]
    if entry:
        lines += [
            f"- File: `{entry['file']}` ({entry['bytes'] / 1e6:.2f} MB, {entry['parameters']:,} parameters), "
            f"sha256 `{entry['sha256'][:16]}…`, ONNX opset {entry['opset']}, dynamic batch.",
            f"- Input: {entry['input']['size']}×{entry['input']['size']} {entry['input']['colour']}, NCHW, "
            f"(x/255 − {entry['input']['mean']}) / {entry['input']['std']}; face crop = `services.crop.crop_face` "
            f"with margin {entry['crop_margin']}.",
            f"- Labels: {', '.join(entry['labels'])}.",
            *([f"- Looks at the region {entry['region']} of the face box (`services.crop.region_box`), margin 0."]
              if entry.get("region") else []),
            *([f"- Calibrated: temperature {entry['calibration']['temperature']} fitted on val (real photos), baked "
               f"into the ONNX; test ECE {entry['calibration']['test_ece_before']:.3f} → "
               f"{entry['calibration']['test_ece_after']:.3f}."] if entry.get("calibration") else []),
            *([f"- Decision: a present label ({', '.join(entry['labels'][1:])}) is answered only when their summed "
               f"probability ≥ {entry['decision']['min_present']} (`services.classifier.heads.decide`), chosen on "
               f"{entry['decision']['chosen_on']} (best macro-F1 keeping recall ≥ {entry['decision']['min_recall']}"
               + (f" and every FairFace group's false-present rate ≤ {_pct(entry['decision']['max_group_false_present'])}"
                  if entry["decision"].get("max_group_false_present") is not None else "") + "): "
               f"val macro-F1 {entry['decision']['val_argmax']['macro_f1']:.3f} → {entry['decision']['val']['macro_f1']:.3f}, "
               f"false-present rate {_pct(entry['decision']['val_argmax']['false_present_rate'])} → "
               f"{_pct(entry['decision']['val']['false_present_rate'])}."] if entry.get("decision") else []),
            *([f"- `unknown` when colourfulness < {entry['unknown_rule']['min_colourfulness']} or the within-one-step confidence < "
               f"{entry['unknown_rule']['min_confidence']} (`services.classifier.tone`)."]
              if entry.get("unknown_rule") else []),
            f"- Parity PyTorch ↔ onnxruntime on real test images: max |Δ softmax| = "
            f"{entry['parity_max_abs_softmax_diff']:.1e}" + (" (the fp32 export)." if entry.get("quantized") else "."),
            *([_quantized_line(entry["quantized"])] if entry.get("quantized") else []),
            f"- Trained {entry['trained_at']} on: " + "; ".join(entry["training_data"]) + ".",
            "",
        ]
    lines += ["## Target", "", TARGETS[head], ""]
    training = _training_summary(runs_dir / head, spec.select_on, carried.get("Training"))
    lines += ["## Training", "", *training, ""]
    if not any(x.startswith("Recipe:") for x in training):
        lines += [f"Recipe: `python -m training {head}` — {spec.epochs} epochs, batch {spec.batch_size}, SGD "
                  f"(Nesterov, momentum 0.9, weight decay 5e-4), 1 warm-up epoch then cosine from lr {spec.lr}, label "
                  f"smoothing {spec.label_smoothing}, {'class-balanced sampling, ' if spec.balanced else ''}"
                  f"augmentation {spec.augment}.", ""]
    lines += ["## Test results", ""]
    if report:
        lines += [f"Accuracy {_pct(report['accuracy'])}, macro-F1 {report['macro_f1']:.3f} on {report['n']} test "
                  "images" + (f" (the int8 file; the fp32 export: {_pct(report['fp32']['accuracy'])}, macro-F1 "
                              f"{report['fp32']['macro_f1']:.3f})." if report.get("fp32") else "."), ""]
        targets = report.get("targets", {})
        for k, v in targets.items():
            if k != "per_dataset_accuracy":
                lines.append(f"- {k.replace('_', ' ')}: {_pct(v)}")
        for d, v in targets.get("per_dataset_accuracy", {}).items():
            lines.append(f"- accuracy on {d} test images: {_pct(v)}")
        lines += ["", *_per_class_table(report), "", f"![confusion matrix]({head}_confusion.png)", ""]
    elif "Test results" in carried:
        lines += carried["Test results"]
    else:
        lines += ["No test report found.", ""]
    if head == "skin_tone":
        lines += ["## Against the held-out hand labels, through the serving path", "",
                  *_tone_section(_load(runs_dir / "eval" / "skin_tone.json")), ""]
    elif head == "eyewear":
        lines += ["## Held-out real photos, through the serving path", "",
                  *_eyewear_section(_load(runs_dir / "eval" / "eyewear.json")), ""]
    elif head != "frame":
        lines += ["## Pre-cropped test set vs faces cropped by res10", "",
                  *_eval_section(_load(runs_dir / "eval" / f"{head}.json")), ""]
    if head == "mask":
        lines += ["## Held-out real photos (hand labels), through the serving path", "",
                  *_mask_section(_load(runs_dir / "eval" / "mask.json")), ""]
    if head != "frame":
        lines += ["## Fairness (FairFace race × gender)", "",
                  *_fairness_section(head, _load(runs_dir / "eval" / "fairness.json")), ""]
    if notes:
        lines += [notes, ""]
    lines += ["## Licence", "", entry["licence"] if entry else "", ""]
    out = models_dir / "cards" / f"{head}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.card")
    parser.add_argument("heads", nargs="*", default=list(HEADS))
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--runs-dir", type=Path, default=REPO_ROOT / "runs")
    args = parser.parse_args(argv)
    for head in args.heads:
        print(write_card(head, args.models_dir, args.runs_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
