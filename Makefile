# The README's commands. Each installs what is missing first (a quick no-op when up to date).
#   make demo   generate hardshapes, train the demo DeepLabV3+ on CPU, evaluate, draw PNG panels
#   make test   run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CONFIG := configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml
DEMO_OUTPUT := output/demo

.PHONY: install demo test

install:
	$(PYTHON) dev/install.py --venv $(VENV)

demo: install
	$(PY) tools/train_net.py --config-file $(DEMO_CONFIG) OUTPUT_DIR $(DEMO_OUTPUT)
	$(PY) tools/visualize_predictions.py --config-file $(DEMO_CONFIG) \
		OUTPUT_DIR $(DEMO_OUTPUT) MODEL.WEIGHTS $(DEMO_OUTPUT)/model_final.pth

test: install
	$(PY) -m pytest tests
