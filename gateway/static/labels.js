// Words for the labels the models output (services/contracts.py vocabularies), for people to read.

export const HEADS = [
  { key: "emotion", title: "Expression" },
  { key: "eyewear", title: "Eyewear" },
  { key: "mask", title: "Mask" },
  { key: "skin_tone", title: "Skin tone" },
];

/** The skin_tone label when the classifier cannot tell the tone (services.contracts.TONE_UNKNOWN). */
export const TONE_UNKNOWN = "unknown";

const WORDS = {
  eyewear: { none: "no eyewear", glasses: "glasses", sunglasses: "sunglasses" },
  mask: { none: "no mask", mask: "mask", mask_incorrect: "mask worn incorrectly" },
  skin_tone: { [TONE_UNKNOWN]: "can't tell" },
  frame: { round: "round", rectangular: "rectangular" },
};

/** "medium_light" -> "medium light"; head-specific words for "none" and the like. */
export function labelText(head, label) {
  return WORDS[head]?.[label] ?? String(label).replaceAll("_", " ");
}

/** One sentence describing a face, used as the emoticon's alt text. */
export function describeFace(face) {
  const a = face.attributes;
  const tone = a.skin_tone.label;
  const frame = frameNote(face);
  return [
    labelText("emotion", a.emotion.label),
    frame === null ? labelText("eyewear", a.eyewear.label) : `${labelText("frame", a.frame.label)} glasses`,
    labelText("mask", a.mask.label),
    tone === TONE_UNKNOWN ? "skin tone unknown" : `${labelText("skin_tone", tone)} skin tone`,
  ].join(", ");
}

/**
 * What a face card says about a skin tone the classifier could not tell, drawn in `tone` (the tone control:
 * "auto" draws such a face yellow); null when the classifier told the tone.
 */
export function unknownToneNote(face, tone) {
  if (face.attributes.skin_tone.label !== TONE_UNKNOWN) return null;
  if (tone === "auto" || tone === "yellow") return "Skin tone: can't tell (drawn yellow)";
  return `Skin tone: can't tell (drawn ${labelText("skin_tone", tone)}, as you chose)`;
}

/**
 * What a face card says about the lens shape of clear glasses ("Frame: round" / "Frame: rectangular"); null when
 * the job has no frame output for the face (not wearing glasses, or the server's frame output is off).
 */
export function frameNote(face) {
  const frame = face.attributes.frame;
  if (!frame || face.attributes.eyewear.label !== "glasses") return null;
  return `Frame: ${labelText("frame", frame.label)}`;
}

/** Probabilities of one head as [label, p] pairs, most likely first. */
export function rankedProbabilities(head) {
  return Object.entries(head.probabilities).sort((a, b) => b[1] - a[1]);
}

export function percent(p) {
  const value = p * 100;
  return value >= 10 || value === 0 ? `${Math.round(value)}%` : `${value.toFixed(1)}%`;
}
