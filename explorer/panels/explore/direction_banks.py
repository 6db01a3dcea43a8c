"""Explore's three banks of sliders — named directions, main directions, raw numbers — built from a model's
analysis, and kept showing the current latent."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from explorer import texts
from explorer.panels.explore.latent_state import LatentState
from explorer.widgets.slider_bank import SliderBank, SliderSpec
from explorer.worker.requests import Analysed, ModelInfo, Step
from models.direction_effects import NAME_MIN

MAX_RAW_SLIDERS = 512  # a latent with more numbers (or shaped as a picture) gets no slider per number


class DirectionBanks(QTabWidget):
    """direction_moved(key, value) for a named or main direction; raw_moved(index, value) for a raw number —
    only when a person moves a slider."""

    direction_moved = Signal(str, float)
    raw_moved = Signal(int, float)
    handle_released = Signal()  # a person let go of a slider's handle (Explore then draws the full face)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.attribute_bank = SliderBank(texts.BANKS["attributes"])
        self.principal_bank = SliderBank(texts.BANKS["principal"])
        self.raw_bank = SliderBank(texts.BANKS["raw"])
        self.addTab(self.attribute_bank, "Named")
        self.addTab(self.principal_bank, "Main directions")
        self.addTab(self.raw_bank, "Raw numbers")
        self.setTabToolTip(0, "Directions with names: smile, glasses, skin tone…")
        self.setTabToolTip(1, "The directions in which this model's faces differ most")
        self.setTabToolTip(2, "The model's own numbers, one slider each")
        for bank in (self.attribute_bank, self.principal_bank):
            bank.value_changed.connect(self.direction_moved)
        self.raw_bank.value_changed.connect(lambda key, value: self.raw_moved.emit(int(key.split(":")[1]), value))

    def banks(self) -> tuple[SliderBank, SliderBank, SliderBank]:
        return self.attribute_bank, self.principal_bank, self.raw_bank

    def handle_held(self) -> bool:
        """A person is holding a slider's handle (dragging it, or pressing it still)."""
        return any(s.slider.isSliderDown() for bank in self.banks() for s in bank.sliders.values())

    def _watch_handles(self, bank: SliderBank) -> None:
        for slider in bank.sliders.values():  # new sliders for every analysis: each is watched once, when made
            slider.slider.sliderReleased.connect(self.handle_released)

    def set_compact(self, compact: bool) -> None:
        for bank in self.banks():
            bank.set_compact(compact)

    def label(self, key: str) -> str:
        """A slider's name ("Smile", "Number 3 · KL 0.52") for the undo step that moved it."""
        return next((bank.label(key) for bank in self.banks() if key in bank.sliders), key)

    def show_progress(self, step: Step) -> None:
        self.attribute_bank.set_intro(f"<i>Finding this model's directions… {step.progress.message} "
                                      f"({step.progress.done:,} of {step.progress.total:,})</i>")

    def set_analysis(self, info: ModelInfo, analysis: Analysed | None) -> dict[str, tuple[np.ndarray, float]]:
        """Sliders for a model's analysis (None: still being found); returns the directions, key -> (vector, scale)."""
        notes = " ".join(analysis.notes) if analysis else ""
        directions = {}
        if analysis is None:
            for bank in (self.attribute_bank, self.principal_bank):
                bank.set_specs([])
                bank.set_intro("<i>Finding this model's directions…</i>")
        else:
            for bank, found, intro in ((self.attribute_bank, analysis.attributes, "attributes"),
                                       (self.principal_bank, analysis.principal, "principal")):
                bank.set_specs([slider_spec(d) for d in found])
                self._watch_handles(bank)
                # Most properties measured not to move (or not even predicted): say why such a model is hard to steer.
                missing = analysis.missing_attributes if intro == "attributes" else ()
                lesson = texts.HARD_TO_STEER.format(missing=", ".join(missing)) if len(missing) > len(found) else ""
                bank.set_intro(texts.BANKS[intro] + (f"<br><i>{notes}</i>" if notes and not found else "")
                               + (f"<br><br>{lesson}" if lesson else ""))
                directions.update({d.key: (d.vector, d.scale) for d in found})
        self._set_raw(info, analysis)
        return directions

    def _set_raw(self, info: ModelInfo, analysis: Analysed | None) -> None:
        n = int(np.prod(info.latent_shape))
        if len(info.latent_shape) > 1 or n > MAX_RAW_SLIDERS:
            what = ("a picture of noise: {n:,} numbers, one per pixel and colour" if len(info.latent_shape) > 1
                    else "{n:,} numbers, too many for a slider each").format(n=n)
            self.raw_bank.set_intro(f"This model's own numbers are {what}. One of them alone barely changes the face, "
                                    "so they have no sliders here; use the directions instead.")
            self.raw_bank.set_specs([])
            return
        order = list(analysis.dim_order) if analysis and analysis.dim_order else list(range(n))
        kl = analysis.dim_kl if analysis else ()
        self.raw_bank.set_intro(texts.BANKS["raw"] + (texts.BANKS["raw_kl"] if kl else ""))
        specs = []
        for i in order:
            extra = f" · KL {kl[i]:.2f}" if kl else ""
            tip = (f"Number {i} of {n}" + (f"; it carries {kl[i]:.2f} nats of information about the face "
                                           "(near 0: the decoder ignores it)." if kl else "."))
            specs.append(SliderSpec(f"dim:{i}", f"Number {i}{extra}", tooltip=tip, minimum=-4.0, maximum=4.0))
        self.raw_bank.set_specs(specs)
        self._watch_handles(self.raw_bank)

    def sync(self, state: LatentState, raw_only: bool = False) -> None:
        """Every slider to what the latent is now (without emitting moves)."""
        flat = state.latent().reshape(-1)
        self.raw_bank.set_values({k: float(flat[int(k.split(":")[1])]) for k in self.raw_bank.names()})
        if not raw_only:
            for bank in (self.attribute_bank, self.principal_bank):
                bank.set_values({k: state.amounts.get(k, 0.0) for k in bank.names()})

    def show_posterior(self, report: dict | None, model: str) -> None:
        """μ and σ of a brought-in face beside the raw sliders of the VAE that encoded it (None clears them)."""
        for key in self.raw_bank.names():
            self.raw_bank.set_note(key, "")
        if report is not None and report.get("model") == model:
            for i, (mu, sigma) in enumerate(zip(report["mu"], report["sigma"])):
                self.raw_bank.set_note(f"dim:{i}", f"μ {mu:+.2f}  σ {sigma:.2f}")


def slider_spec(d) -> SliderSpec:
    """A slider for a direction; its tooltip says what moving along it was measured to do to the model's faces."""
    score = f" (fit {d.score:.2f})" if d.score is not None else ""
    tip = (f"Moves the face along one direction through the model's numbers{score}. "
           "One step on the slider is a typical distance between faces in that direction.")
    if d.effects:
        ends = {"amount": f"+{d.effect_amount:g}", "minus": f"−{d.effect_amount:g}"}
        own = d.effects[0] if d.effects[0].values is not None and d.key.endswith(":" + d.effects[0].quantity) else None
        others = [e for e in d.effects if e is not own and e.size >= NAME_MIN][: 2 if own else 3]  # worth a word
        changes = ", ".join(f"{e.low_words} → {e.high_words} ({e.size:.1f}×)" for e in others)
        if own is not None:
            low, base, high = own.values
            said = (texts.EFFECT_SHARE if own.share else texts.EFFECT_VALUE).format(
                label=own.label, low=low, base=base, high=high, size=own.size, scale=own.scale, **ends)
            said += " " + texts.EFFECT_ALSO.format(changes=changes) if changes else ""
        else:
            said = (texts.EFFECT_MAIN.format(changes=changes, **ends) if changes
                    else texts.EFFECT_NONE.format(least=NAME_MIN, **ends))
        measured = texts.MEASURED_ON.format(faces=d.effect_faces) + (texts.SPREAD if "×" in said else "")
        tip = f"{said}\n{measured}\n\n{tip}"
    # A main direction told apart from an alike one by a second effect has two-part words: one part per line,
    # so the words stay narrow beside the slider.
    return SliderSpec(d.key, d.label, d.low_words.replace(", ", ",\n"), d.high_words.replace(", ", ",\n"),
                      tooltip=tip)
