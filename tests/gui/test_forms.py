"""The forms follow the field tables: the bad field is framed red from SpecError.field / TrainConfigError.field."""
from __future__ import annotations

RED = "border: 2px solid #c00000"


def test_spec_form_frames_the_field_the_error_names(qtbot):
    from rnnviz.gui.spec_form import SpecForm

    form = SpecForm()
    qtbot.addWidget(form)
    loss = form.widgets["loss"]
    loss.setCurrentIndex(loss.findData("char_ce"))  # the message starts with "loss", the field is input_source
    assert form.error.text().startswith("loss 'char_ce' needs input_source")
    assert form.widgets["input_source"].styleSheet() == RED and loss.styleSheet() == ""
    assert not form.build_button.isEnabled()
    loss.setCurrentIndex(loss.findData("sum"))
    assert all(w.styleSheet() == "" for w in form.widgets.values()) and form.build_button.isEnabled()


def test_spec_form_greys_out_fields_by_kind(qtbot):
    from rnnviz.engine.spec import FIELDS
    from rnnviz.gui.spec_form import SpecForm

    form = SpecForm()
    qtbot.addWidget(form)
    kind = form.widgets["kind"]
    kind.setCurrentIndex(kind.findData("gru_cell"))
    for f in FIELDS:
        if f.kinds and f.name != "dropout":
            assert form.widgets[f.name].isEnabled() == f.applies_to("gru_cell"), f.name
    assert form.spec().kind == "gru_cell" and form.spec().nonlinearity == "tanh"


def test_training_form_frames_the_field_and_does_not_clamp(qtbot):
    from rnnviz.train.config import TrainConfig
    from rnnviz.gui.windows.training_view import TrainingView

    view = TrainingView(TrainConfig(epochs=2))
    qtbot.addWidget(view)
    settings = view.settings
    settings.text.setPlainText("abc")
    settings.seq_length.setValue(5)
    view.start()
    assert "seq_length must be at most len(text) - 1 = 2" in settings.error.text()
    assert settings.seq_length.styleSheet() == RED and settings.text.styleSheet() == ""
    assert view.trainer is None
