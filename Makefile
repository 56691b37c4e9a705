# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test soak bench screenshots clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/rnnviz

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The reliability suite at full size: 10,000 fuzzed specs and trace files, 2,000 GUI monkey
# actions, 50 open/close cycles of the real window; ends with a table of what was tried and what held.
soak: $(STAMP)
	RNNVIZ_SOAK=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -o faulthandler_timeout=3600 -m "soak or reliability" tests/reliability

bench: $(STAMP)
	$(VENV)/bin/rnnviz bench engine
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/rnnviz bench gui

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m rnnviz.gui.render assets

clean:
	rm -rf $(VENV) build *.egg-info
