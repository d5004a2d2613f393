"""A Unicode emoji string that approximates a face's emoticon: ``emoji_for(attrs, tone)``.

The string is ``face [+ accessory] [+ person]``:

1. **Face.** The expression is blended exactly as the drawing blends it (``blend_expression``) and the nearest
   entry of ``FACE_EMOJI`` in expression space (``expression_distance``) is taken. Each pure emotion is an entry:
   angry 😠, disgust 🤢, fear 😨, happy 😄, neutral 😐, sad 😢, surprise 😮; so are a few half-and-half blends:
   happy+neutral 🙂, happy+surprise 😃, sad+neutral 😞, sad+fear 😟, fear+surprise 😧, disgust+neutral 😒,
   angry+disgust 😤.
2. **Mask and eyewear** (top labels). A mask, worn correctly or not, makes the face 😷 (no emoji shows a mask
   below the nose); eyewear then follows as an accessory: 👓 glasses, 🕶️ sunglasses. Without a mask, when the
   face is happy or neutral-ish (🙂 😄 😃 😐), sunglasses make it 😎 and glasses 🤓; any other face keeps its emoji
   and gets 🕶️ or 👓 after it. The frame shape of clear glasses (``attrs.frame``) changes the drawing's lenses,
   not the string: no emoji shows a lens shape.
3. **Person.** When the render's tone is a human one (``tone`` override, or for "auto" the classifier's skin-tone
   label), 🧑 with the skin-tone modifier follows: 🧑🏻 light, 🧑🏼 medium-light, 🧑🏽 medium, 🧑🏾 medium-dark,
   🧑🏿 dark. ``tone="yellow"`` adds no person, and neither does "auto" when the classifier's label is "unknown"
   (it could not tell the tone: the emoticon is drawn yellow and the string carries no skin-tone modifier).

Examples: happy, no eyewear, no mask, auto tone "medium" -> "😄🧑🏽"; sad with sunglasses, tone "yellow" ->
"😢🕶️"; surprise with a mask and glasses, "dark" -> "😷👓🧑🏿"; happy, auto tone "unknown" -> "😄".
"""

from __future__ import annotations

from services.contracts import FaceAttributes, ToneChoice

from .expression import EMOTION_POINTS, Expression, blend_expression, expression_distance, mix_expressions
from .palette import TONE_MODIFIERS, resolve_tone

MASK_FACE = "\U0001f637"  # 😷
SUNGLASSES_FACE = "\U0001f60e"  # 😎
GLASSES_FACE = "\U0001f913"  # 🤓
GLASSES = "\U0001f453"  # 👓
SUNGLASSES = "\U0001f576\ufe0f"  # 🕶️
PERSON = "\U0001f9d1"  # 🧑


def _half(a: str, b: str) -> Expression:
    return mix_expressions({a: 0.5, b: 0.5})


# Face emoji and the expression each one stands for.
FACE_EMOJI: dict[str, Expression] = {
    "\U0001f620": EMOTION_POINTS["angry"],  # 😠
    "\U0001f922": EMOTION_POINTS["disgust"],  # 🤢
    "\U0001f628": EMOTION_POINTS["fear"],  # 😨
    "\U0001f604": EMOTION_POINTS["happy"],  # 😄
    "\U0001f610": EMOTION_POINTS["neutral"],  # 😐
    "\U0001f622": EMOTION_POINTS["sad"],  # 😢
    "\U0001f62e": EMOTION_POINTS["surprise"],  # 😮
    "\U0001f642": _half("happy", "neutral"),  # 🙂
    "\U0001f603": _half("happy", "surprise"),  # 😃
    "\U0001f61e": _half("sad", "neutral"),  # 😞
    "\U0001f61f": _half("sad", "fear"),  # 😟
    "\U0001f627": _half("fear", "surprise"),  # 😧
    "\U0001f612": _half("disgust", "neutral"),  # 😒
    "\U0001f624": _half("angry", "disgust"),  # 😤
}

# Faces calm or cheerful enough to be replaced by 😎 / 🤓.
_EASY_FACES = frozenset({"\U0001f642", "\U0001f604", "\U0001f603", "\U0001f610"})


def nearest_face_emoji(expression: Expression) -> str:
    """The FACE_EMOJI entry closest to ``expression`` (ties: catalogue order)."""
    return min(FACE_EMOJI, key=lambda emoji: expression_distance(FACE_EMOJI[emoji], expression))


def emoji_for(attrs: FaceAttributes, tone: ToneChoice = "auto") -> str:
    """A face's attributes -> a short emoji string (face, then accessory, then toned person; see module doc)."""
    face = nearest_face_emoji(blend_expression(attrs.emotion.probabilities, attrs.emotion.label))
    eyewear = attrs.eyewear.label
    accessory = ""
    if attrs.mask.label in ("mask", "mask_incorrect"):
        face = MASK_FACE
        accessory = {"glasses": GLASSES, "sunglasses": SUNGLASSES}.get(eyewear, "")
    elif eyewear == "sunglasses":
        face, accessory = (SUNGLASSES_FACE, "") if face in _EASY_FACES else (face, SUNGLASSES)
    elif eyewear == "glasses":
        face, accessory = (GLASSES_FACE, "") if face in _EASY_FACES else (face, GLASSES)
    palette = resolve_tone(attrs, tone)
    person = PERSON + TONE_MODIFIERS[palette] if palette in TONE_MODIFIERS else ""
    return face + accessory + person
