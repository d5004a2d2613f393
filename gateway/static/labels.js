// Words for the labels the models output (services/contracts.py vocabularies), for people to read.

export const HEADS = [
  { key: "emotion", title: "Expression" },
  { key: "eyewear", title: "Eyewear" },
  { key: "mask", title: "Mask" },
  { key: "skin_tone", title: "Skin tone" },
];

const WORDS = {
  eyewear: { none: "no eyewear", glasses: "glasses", sunglasses: "sunglasses" },
  mask: { none: "no mask", mask: "mask", mask_incorrect: "mask worn incorrectly" },
};

/** "medium_light" -> "medium light"; head-specific words for "none" and the like. */
export function labelText(head, label) {
  return WORDS[head]?.[label] ?? String(label).replaceAll("_", " ");
}

/** One sentence describing a face, used as the emoticon's alt text. */
export function describeFace(face) {
  const a = face.attributes;
  return [
    labelText("emotion", a.emotion.label),
    labelText("eyewear", a.eyewear.label),
    labelText("mask", a.mask.label),
    `${labelText("skin_tone", a.skin_tone.label)} skin tone`,
  ].join(", ");
}

/** Probabilities of one head as [label, p] pairs, most likely first. */
export function rankedProbabilities(head) {
  return Object.entries(head.probabilities).sort((a, b) => b[1] - a[1]);
}

export function percent(p) {
  const value = p * 100;
  return value >= 10 || value === 0 ? `${Math.round(value)}%` : `${value.toFixed(1)}%`;
}
