"""Classification metrics (pure numpy) and the confusion-matrix picture (OpenCV, no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """``n x n`` counts, rows = truth, columns = prediction."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true.astype(int), y_pred.astype(int)), 1)
    return cm


def classification_report(
    y_true: np.ndarray, proba: np.ndarray, labels: Sequence[str], y_pred: np.ndarray | None = None
) -> dict:
    """Accuracy, macro-F1, per-class recall/precision/F1 and the confusion matrix, of ``y_pred`` (the answered
    labels, when a decision rule differs from the top probability) or else of ``proba``'s argmax."""
    n = len(labels)
    if y_pred is None:
        y_pred = proba.argmax(axis=1) if len(proba) else np.zeros(0, int)
    cm = confusion_matrix(y_true, y_pred, n)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    tp = np.diag(cm).astype(float)
    recall = np.divide(tp, support, out=np.zeros(n), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(n), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n), where=(precision + recall) > 0)
    present = support > 0
    return {
        "n": int(cm.sum()),
        "accuracy": float(tp.sum() / max(1, cm.sum())),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            label: {
                "recall": round(float(recall[i]), 4),
                "precision": round(float(precision[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": cm.tolist(),
    }


def save_confusion_png(cm: Sequence[Sequence[int]], labels: Sequence[str], title: str, path: Path) -> None:
    """Row-normalised confusion matrix as a PNG: darker = larger share of the true class."""
    cm_arr = np.asarray(cm, dtype=float)
    rows = cm_arr / np.maximum(1, cm_arr.sum(axis=1, keepdims=True))
    n, cell, left, top = len(labels), 64, 150, 60
    img = np.full((top + n * cell + 120, left + n * cell + 20, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, title, (10, 30), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(n):
        cv2.putText(img, labels[i][:14], (5, top + i * cell + cell // 2 + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for j in range(n):
            v = rows[i, j]
            shade = int(255 * (1 - v))
            x0, y0 = left + j * cell, top + i * cell
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), (255, shade, shade), -1)
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), (180, 180, 180), 1)
            colour = (255, 255, 255) if v > 0.5 else (0, 0, 0)
            cv2.putText(img, f"{v:.2f}", (x0 + 10, y0 + 38), font, 0.45, colour, 1, cv2.LINE_AA)
    for j in range(n):
        x0 = left + j * cell + 8
        y0 = top + n * cell + 10
        # Vertical column labels: draw on a patch and rotate.
        patch = np.full((cell - 16, 110, 3), 255, np.uint8)
        cv2.putText(patch, labels[j][:14], (2, 30), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        rotated = cv2.rotate(patch, cv2.ROTATE_90_CLOCKWISE)
        h, w = rotated.shape[:2]
        img[y0 : y0 + h, x0 : x0 + w] = np.minimum(img[y0 : y0 + h, x0 : x0 + w], rotated)
    cv2.putText(img, "rows: truth, columns: prediction", (left, img.shape[0] - 5), font, 0.4, (80, 80, 80), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """ECE of the top-class confidence: the mean |accuracy − confidence| over ``bins`` equal-width bins,
    weighted by how many answers fall in each (Guo et al. 2017, "On Calibration of Modern Neural Networks")."""
    if len(y_true) == 0:
        return 0.0
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, y_true: np.ndarray) -> float:
    """The temperature ``T`` minimising the negative log-likelihood of ``softmax(logits / T)`` (grid search)."""
    best_t, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.3), np.log(10.0), 300)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -log_p[np.arange(len(y_true)), y_true].mean()
        if nll < best_nll:
            best_t, best_nll = float(t), float(nll)
    return best_t
